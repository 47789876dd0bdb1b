"""loomcls declares itself to loomcv here (entry point ``loomcv.toolboxes``).

Kept free of heavy imports: loomcv reads it to learn scopes, configs and
commands before anything of loomcls is needed.
"""

from loomcv.registry.toolbox import Toolbox

#: the classification transforms that loomcv.transforms used to hold (kept importable from there)
_MOVED_TRANSFORMS = (
    "PackInputs", "RandomResizedCrop", "ResizeEdge", "ColorJitter", "Lighting", "RandomErasing", "BaseAugTransform",
    "AutoAugment", "RandAugment", "AUTOAUG_POLICIES", "RANDAUG_POLICIES", "Shear",
    "Translate", "Rotate", "AutoContrast", "Invert", "Equalize", "Solarize", "SolarizeAdd", "Posterize",
    "Contrast", "ColorTransform", "Brightness", "Sharpness", "Cutout", "GaussianBlur",
)

TOOLBOX = Toolbox(
    scope="loomcls",
    aliases=("mmpretrain", "mmcls"),
    commands={
        "infer": ("loomcls.cli.infer", "classify images with a config and checkpoint; prints class names"),
        "plot-confusion": ("loomcls.cli.plot_confusion",
                           "draw the test-set confusion matrix of a checkpoint to a PNG"),
        "analyze-results": ("loomcls.cli.analyze_results",
                            "galleries of the most confident correct and wrong test predictions"),
        "vis-cam": ("loomcls.cli.vis_cam", "class-activation map (Grad-CAM / Grad-CAM++) of an image"),
    },
    export_specs="loomcls.apis.deploy",  # registers how classifiers are exported (loomcv export)
    legacy_model_types=("ImageClassifier",),
    checkpoint_urls={"mmcls": "loomcls.hub:MMCLS_URLS"},
    # MMPretrain's datasets package re-exports its transforms (configs import them from there);
    # MMClassification 0.x kept them in datasets.pipelines and called the data sample ClsDataSample
    compat_imports={
        **{f"{alias}.datasets": ("loomcls.datasets", "loomcls.datasets.transforms")
           for alias in ("mmpretrain", "mmcls")},
        "mmcls.datasets.pipelines": "loomcls.datasets.transforms",
        "mmcls.structures.ClsDataSample": "loomcls.structures.DataSample",
    },
    moved={
        **{f"loomcv.structures.{name}": f"loomcls.structures.{name}"
           for name in ("DataSample", "format_label", "format_score")},
        **{f"loomcv.transforms.{name}": f"loomcls.datasets.transforms.{name}" for name in _MOVED_TRANSFORMS},
    },
)
