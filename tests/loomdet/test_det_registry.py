"""loomdet's registries: one child of every loomcv root, found lazily by configs."""

import subprocess
import sys

import pytest

import loomdet.registry as det_registry
from loomcv.registry import ROOT_REGISTRIES


@pytest.mark.parametrize("name", sorted(ROOT_REGISTRIES))
def test_every_root_has_a_loomdet_child(name):
    child = getattr(det_registry, name)
    assert child.parent is ROOT_REGISTRIES[name]
    assert child.scope == "loomdet"
    assert child.name == ROOT_REGISTRIES[name].name
    assert name in det_registry.__all__


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_importing_the_registry_does_not_load_torch():
    assert _run("import sys, loomdet.registry; print('torch' in sys.modules)") == "False"


def test_config_names_resolve_without_importing_models_by_hand():
    code = (
        "from loomdet.registry import MODELS, TASK_UTILS\n"
        "a = TASK_UTILS.build(dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4))\n"
        "g = TASK_UTILS.build(dict(type='AnchorGenerator', strides=[8], ratios=[1.0], scales=[4]))\n"
        "l = MODELS.build(dict(type='FocalLoss', gamma=1.5))\n"
        "print(type(a).__name__, type(a.iou_calculator).__name__, type(g).__name__, l.gamma)\n"
    )
    assert _run(code) == "MaxIoUAssigner BboxOverlaps2D AnchorGenerator 1.5"


def test_scoped_names_reach_loomdet_from_the_root():
    from loomcv.registry import MODELS as ROOT_MODELS
    from loomcv.registry import TASK_UTILS as ROOT_TASK_UTILS
    from loomdet.models.losses import GIoULoss
    from loomdet.models.task_modules import DeltaXYWHBBoxCoder

    assert ROOT_MODELS.get("loomdet.GIoULoss") is GIoULoss
    assert ROOT_TASK_UTILS.get("loomdet.DeltaXYWHBBoxCoder") is DeltaXYWHBBoxCoder
