"""The pure-Python config style (``with read_base():``, ``type=ResNet``): load, provenance, errors, dump, train."""

import os.path as osp
import sys
import textwrap

import pytest

from loomcv.config import Config, LazyAttr, LazyObject
from loomcv.errors import ConfigError, ConfigKeyError, ConfigSyntaxError

FIXTURES = osp.join(osp.dirname(osp.dirname(__file__)), "fixtures", "configs", "mmpretrain_pure")

MODEL_PURE = """\
from mmpretrain.models import ClsHead, CrossEntropyLoss, ImageClassifier, LeNet5

model = dict(
    type=ImageClassifier,
    backbone=dict(type=LeNet5, num_classes=10),
    neck=None,
    head=dict(type=ClsHead, loss=dict(type=CrossEntropyLoss, loss_weight=1.0)))
"""
MODEL_TEXT = MODEL_PURE.split("\n", 2)[2].replace("type=ImageClassifier", "type='ImageClassifier'") \
    .replace("type=LeNet5", "type='LeNet5'").replace("type=ClsHead", "type='ClsHead'") \
    .replace("type=CrossEntropyLoss", "type='CrossEntropyLoss'")
SCHEDULE = """\
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001))
param_scheduler = dict(type='MultiStepLR', by_epoch=False, milestones=[2], gamma=0.1)
train_cfg = dict(by_epoch=False, max_iters=40, val_interval=1000)
val_cfg = dict()
test_cfg = dict()
"""
CHILD_PURE = """\
from mmengine.config import read_base

with read_base():
    from ._base_.model import *
    from ._base_.schedule import *
    from mmpretrain.configs._base_.datasets.digits_bs64 import *
    from loomcls.configs._base_.default_runtime import *

optim_wrapper.optimizer.lr = 0.05
model.head.update(loss=dict(loss_weight=0.5))
train_cfg.update(max_iters=3)
default_hooks.logger.interval = 1
train_dataloader.batch_size = 16
"""
CHILD_TEXT = """\
_base_ = ['./model.py', '../pure/_base_/schedule.py', 'mmpretrain::_base_/datasets/digits_bs64.py',
          'loomcls::_base_/default_runtime.py']
optim_wrapper = dict(optimizer=dict(lr=0.05))
model = dict(head=dict(loss=dict(loss_weight=0.5)))
train_cfg = dict(max_iters=3)
default_hooks = dict(logger=dict(interval=1))
train_dataloader = dict(batch_size=16)
"""


def _write(folder, files):
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


def _twins(tmp_path):
    _write(tmp_path / "pure", {"_base_/model.py": MODEL_PURE, "_base_/schedule.py": SCHEDULE, "lenet.py": CHILD_PURE})
    _write(tmp_path / "text", {"model.py": MODEL_TEXT, "lenet.py": CHILD_TEXT})
    return str(tmp_path / "pure" / "lenet.py"), str(tmp_path / "text" / "lenet.py")


def _named(value):
    """Class values by name: what a text-style config spells as a string."""
    if isinstance(value, dict):
        return {k: _named(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_named(v) for v in value)
    return value.__name__ if isinstance(value, type) else value


def test_pure_python_tree_loads_to_the_dict_of_its_text_twin(tmp_path):
    pure_path, text_path = _twins(tmp_path)
    pure, text = Config.fromfile(pure_path), Config.fromfile(text_path)
    from loomcls.models import ClsHead, ImageClassifier
    assert pure.model.type is ImageClassifier and pure.model.head.type is ClsHead  # mmpretrain -> loomcls
    assert _named(pure.to_dict()) == text.to_dict()
    assert pure.model.head.loss == dict(type=pure.model.head.loss.type, loss_weight=0.5)  # update merged
    assert pure.optim_wrapper.optimizer == dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=0.0001)
    assert "ClsHead" not in pure and "read_base" not in pure  # imported names are not keys
    assert "mmpretrain" not in sys.modules or not hasattr(sys.modules["mmpretrain"], "__loom_targets__")


def test_provenance_names_the_file_and_line_that_set_each_value(tmp_path):
    pure_path, _ = _twins(tmp_path)
    cfg = Config.fromfile(pure_path)
    base = osp.join(osp.dirname(pure_path), "_base_")
    assert cfg.source_of("optim_wrapper.optimizer.lr") == f"{pure_path}:9"
    assert cfg.source_of("optim_wrapper.optimizer.momentum") == f"{base}/schedule.py:1"
    assert cfg.source_of("model.head.loss.loss_weight") == f"{pure_path}:10"
    assert cfg.source_of("model.head.loss.type") == f"{base}/model.py:7"
    assert cfg.source_of("model.backbone.num_classes") == f"{base}/model.py:5"
    assert cfg.source_of("train_cfg.max_iters") == f"{pure_path}:11"
    assert cfg.source_of("train_cfg.val_interval") == f"{base}/schedule.py:3"
    assert cfg.source_of("default_hooks.logger.interval") == f"{pure_path}:12"
    assert cfg.source_of("train_dataloader.batch_size") == f"{pure_path}:13"
    assert cfg.source_of("default_scope").endswith("loomcls/configs/_base_/default_runtime.py:2")
    assert f"# {osp.relpath(pure_path)}:9" in cfg.explain_text or f"{pure_path}:9" in cfg.explain_text


def test_pure_python_config_trains_a_few_iterations(tmp_path):
    from loomcv.runner import Runner
    pure_path, _ = _twins(tmp_path)
    cfg = Config.fromfile(pure_path)
    cfg.work_dir = str(tmp_path / "wd")
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=1000)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 3
    assert runner.optim_wrapper.get_lr()["lr"] == [pytest.approx(0.005)]  # 0.05, x0.1 at iteration 2


def test_dump_writes_a_pure_python_file_that_loads_back(tmp_path):
    pure_path, _ = _twins(tmp_path)
    cfg = Config.fromfile(pure_path)
    out = tmp_path / "dumped.py"
    cfg.dump(str(out))
    text = out.read_text()
    assert "from loomcls.models.classifiers.image import ImageClassifier" in text
    assert "type=ImageClassifier" in text
    again = Config.fromfile(str(out))
    assert again.to_dict() == cfg.to_dict()
    assert again.model.type is cfg.model.type
    with pytest.raises(ConfigError, match="holds Python objects.*model.type.*dump to .py"):
        cfg.dump(str(tmp_path / "dumped.yaml"))


def test_stock_mmpretrain_pure_python_config_resolves_to_loomcls():
    cfg = Config.fromfile(osp.join(FIXTURES, "resnet", "resnet18_8xb32_in1k.py"))
    from loomcls.datasets import ImageNet
    from loomcls.datasets.transforms import PackInputs, ResizeEdge
    from loomcls.engine.hooks import VisualizationHook
    from loomcls.evaluation import Accuracy
    from loomcls.models import ImageClassifier, LinearClsHead, ResNet
    from loomcv.dataset import DefaultSampler
    from loomcv.hooks import CheckpointHook
    from loomcv.optim import MultiStepLR
    from loomcv.transforms import CenterCrop, LoadImageFromFile
    model = cfg.model
    assert (model.type, model.backbone.type, model.head.type) == (ImageClassifier, ResNet, LinearClsHead)
    assert model.backbone.depth == 18 and model.head.topk == (1, 5)
    assert cfg.dataset_type is ImageNet and cfg.train_dataloader.dataset.type is ImageNet
    assert [t["type"] for t in cfg.test_pipeline] == [LoadImageFromFile, ResizeEdge, CenterCrop, PackInputs]
    assert cfg.train_dataloader.sampler.type is DefaultSampler and cfg.val_evaluator.type is Accuracy
    assert cfg.param_scheduler.type is MultiStepLR and cfg.default_hooks.checkpoint.type is CheckpointHook
    assert cfg.default_hooks.visualization.type is VisualizationHook
    import torch
    assert cfg.optim_wrapper.optimizer.type is torch.optim.SGD
    assert cfg.default_scope is None and cfg.test_dataloader == cfg.val_dataloader
    assert cfg.source_of("model.backbone.depth").endswith("_base_/models/resnet18.py:7")
    # the model builds from the classes in the config
    from loomcls.registry import MODELS
    built = MODELS.build(dict(cfg.model, head=dict(cfg.model.head, num_classes=5)))
    assert type(built) is ImageClassifier and built.head.fc.out_features == 5


@pytest.mark.parametrize("files, message", [
    ({"c.py": "from mmpretrain.models import NoSuchNet\nmodel = dict(type=NoSuchNet)\n"},
     r"c.py:1: cannot import 'NoSuchNet' from 'mmpretrain.models'"),
    ({"c.py": "from mmengine.config import read_base\nwith read_base():\n    from .missing import *\n"},
     r"c.py:3: base config .missing not found"),
    ({"b.py": "a = 1\n", "c.py": "from mmengine.config import read_base\nwith read_base():\n"
      "    from .b import a, nope\n"}, r"c.py:3: base config .*b.py defines no 'nope'"),
    ({"c.py": "from loomcls.models import ResNet\nmodel = dict(type=ResNet)\nx = 1 / 0\n"},
     r"c.py:3: ZeroDivisionError"),
    ({"c.py": "from loomcls.models import ResNet\nnet = ResNet(depth=18)\n"},
     r"c.py:1: ResNet is imported lazily .* cannot be called"),
    ({"c.py": "from loomcls.models import *\n"}, r"c.py:1: `from loomcls.models import \*` is only allowed inside"),
    ({"c.py": "from loomcls.models import ResNet\nwith open('x') as f:\n    pass\n"},
     r"c.py:2: only the `with read_base\(\):` block may appear"),
])
def test_errors_name_the_file_and_line(tmp_path, files, message):
    _write(tmp_path, files)
    with pytest.raises((ConfigError, ConfigKeyError, ConfigSyntaxError), match=message):
        Config.fromfile(str(tmp_path / "c.py"))


def test_style_detection_follows_mmengine(tmp_path):
    _write(tmp_path, {
        "text.py": "import os.path as osp\nname = osp.join('a', 'b')\n",  # standard-library import: text style
        "base.py": "from loomcls.models import ResNet\nbackbone = dict(type=ResNet, depth=18)\n",
        "lazy.py": "import loomcls.models\nbackbone = dict(type=loomcls.models.ResNet)\n",
        "attr.py": "from loomcls import models\nbackbone = dict(type=models.ResNet)\n",
        "child.py": "_base_ = './base.py'\nbackbone = dict(depth=50)\n",  # text style may inherit a pure file
    })
    from loomcls.models import ResNet
    assert Config.fromfile(str(tmp_path / "text.py")).name == osp.join("a", "b")
    assert Config.fromfile(str(tmp_path / "lazy.py")).backbone.type is ResNet
    assert Config.fromfile(str(tmp_path / "attr.py")).backbone.type is ResNet
    child = Config.fromfile(str(tmp_path / "child.py"))
    assert child.backbone == dict(type=ResNet, depth=50)
    assert child.source_of("backbone.type") == f"{tmp_path / 'base.py'}:2"
    # lazy_import=False runs the imports for real, as the text style does
    assert Config.fromfile(str(tmp_path / "base.py"), lazy_import=False).backbone.type is ResNet
    with pytest.raises(ConfigSyntaxError, match=r"child.py:1: a pure-Python config reads its bases with"):
        Config.fromfile(str(tmp_path / "child.py"), lazy_import=True)


def test_lazy_object_and_attr():
    obj = LazyObject("loomcls.models", "ResNet", location="x.py:1")
    from loomcls.models import ResNet
    assert obj.build() is ResNet and str(obj) == "ResNet" and obj.module == "loomcls.models"
    attr = LazyObject(["loomcls.models"]).models.ResNet
    assert isinstance(attr, LazyAttr) and attr.build() is ResNet and attr.module == "loomcls.models"
    with pytest.raises(TypeError, match="module must be a str or a list of str"):
        LazyObject(3)


def test_torch_and_mmcv_classes_as_types_build(tmp_path):
    _write(tmp_path, {"c.py": """\
        from mmcv.cnn import ConvModule
        from torch.nn import GELU, BatchNorm2d

        conv = dict(type=ConvModule, in_channels=3, out_channels=4, kernel_size=3,
                    norm_cfg=dict(type=BatchNorm2d), act_cfg=dict(type=GELU))
        """})
    from torch import nn

    from loomcv.model.bricks import ConvModule
    from loomcv.registry import MODELS
    cfg = Config.fromfile(str(tmp_path / "c.py"))
    assert cfg.conv.type is ConvModule
    conv = MODELS.build(cfg.conv)
    assert isinstance(conv.activate, nn.GELU) and isinstance(conv.bn, nn.BatchNorm2d)


def test_merge_honours_delete_as_mmdetection_configs_use_it(tmp_path):
    _write(tmp_path, {
        "base.py": "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9), clip_grad=None)\n",
        "c.py": """\
            from mmengine.config import read_base
            from torch.optim import AdamW

            with read_base():
                from .base import *

            optim_wrapper.merge(dict(optimizer=dict(_delete_=True, type=AdamW, lr=1e-3)))
            optim_wrapper.update(dict(clip_grad=dict(max_norm=1.0)))
            """})
    import torch
    cfg = Config.fromfile(str(tmp_path / "c.py"))
    assert cfg.optim_wrapper.to_dict() == dict(optimizer=dict(type=torch.optim.AdamW, lr=1e-3),
                                               clip_grad=dict(max_norm=1.0))
    assert cfg.source_of("optim_wrapper.optimizer.lr") == f"{tmp_path / 'c.py'}:7"
    assert cfg.source_of("optim_wrapper.clip_grad.max_norm") == f"{tmp_path / 'c.py'}:8"
