"""loomdet declares itself to loomcv here (entry point ``loomcv.toolboxes``).

Kept free of heavy imports: loomcv reads it to learn scopes, configs and
commands before anything of loomdet is needed.
"""

from loomcv.registry.toolbox import Toolbox

TOOLBOX = Toolbox(
    scope="loomdet",
    aliases=("mmdet",),
    commands={
        "infer": ("loomdet.cli.infer", "detect objects in images with a config and checkpoint; prints and draws "
                                       "boxes, labels and scores"),
    },
    export_specs="loomdet.apis.deploy",  # registers how detectors are exported (loomcv export)
    # the detectors of MMDetection 2.x-era (MMCV 1.x) configs this toolbox runs
    legacy_model_types=("RetinaNet", "YOLOV3", "FCOS"),
    # MMDetection 2.x kept its transforms in datasets.pipelines
    compat_imports={"mmdet.datasets.pipelines": "loomdet.datasets.transforms"},
)
