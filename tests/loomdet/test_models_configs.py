"""Shipped MMDetection 3.x configs load, build, and have MMDetection's state-dict keys; seed 000's example."""

import ast
import glob
import os.path as osp
from pathlib import Path

import pytest
import torch

from loomcv.config import Config
from loomcv.config.loader import find_config
from loomcv.registry import MODELS, init_default_scope

COMPAT = Path(__file__).parents[1] / "fixtures" / "compat"
SHIPPED = ["yolo/yolov3_d53_8xb8-ms-608-273e_coco.py", "yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py",
           "retinanet/retinanet_r50_fpn_1x_coco.py", "retinanet/retinanet_r18_fpn_1x_coco.py",
           "fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run faster on one thread, and far faster when other processes load the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_model(cfg):
    init_default_scope(cfg.get("default_scope", "loomdet"))
    return MODELS.build(cfg.model)


def read_fixture(name):
    lines = (COMPAT / f"mmdet3_{name}.statedict.txt").read_text().splitlines()
    config = lines[1].split("config: ", 1)[1]
    return config, {k: tuple(ast.literal_eval(s)) for k, s in (line.split("\t") for line in lines[2:] if line)}


@pytest.mark.parametrize("config", SHIPPED)
def test_shipped_config_builds_with_mmdet_state_dict(config):
    name = osp.splitext(osp.basename(config))[0]
    fixture_config, want = read_fixture(name)
    assert fixture_config == f"mmdet::{config}"
    cfg = Config.fromfile(find_config(fixture_config))
    assert cfg.default_scope == "mmdet" and cfg.model.type in ("YOLOV3", "RetinaNet", "FCOS")
    assert find_config(name) == find_config(fixture_config)  # found by bare name too
    got = {k: tuple(v.shape) for k, v in build_model(cfg).state_dict().items()}
    assert got == want


def test_every_state_dict_fixture_names_a_shipped_config():
    fixtures = sorted(osp.basename(p) for p in glob.glob(str(COMPAT / "mmdet3_*.statedict.txt")))
    assert fixtures == sorted(f"mmdet3_{osp.splitext(osp.basename(c))[0]}.statedict.txt" for c in SHIPPED)


def test_config_values_follow_mmdetection():
    yolo = Config.fromfile(find_config("mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py"))
    assert yolo.model.backbone.out_indices == (2, 4, 6) and yolo.model.neck.in_channels == [320, 96, 32]
    assert yolo.model.bbox_head.anchor_generator.base_sizes[2] == [(10, 15), (24, 36), (72, 42)]
    assert yolo.train_dataloader.dataset.type == "RepeatDataset"
    assert yolo.train_dataloader.dataset.dataset.pipeline[4] == dict(type="Resize", scale=(320, 320), keep_ratio=True)
    assert yolo.train_pipeline[0]["backend_args"] is None  # {{_base_.backend_args}}
    r18 = Config.fromfile(find_config("retinanet_r18_fpn_1x_coco"))
    assert r18.model.backbone.depth == 18 and r18.optim_wrapper.optimizer.lr == 0.01
    assert r18.model.test_cfg.nms.iou_threshold == 0.5 and r18.param_scheduler[1].milestones == [8, 11]
    r50 = Config.fromfile(find_config("retinanet_r50_fpn_1x_coco"))
    assert r50.tta_model.type == "DetTTAModel" and r50.model.train_cfg.assigner.neg_iou_thr == 0.4
    fcos = Config.fromfile(find_config("fcos_r50-caffe_fpn_gn-head_1x_coco"))
    assert fcos.model.backbone.style == "caffe" and fcos.optim_wrapper.paramwise_cfg.bias_lr_mult == 2.
    assert fcos.optim_wrapper.optimizer == dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0001)


def test_digits_default_config_builds_a_small_yolov3():
    cfg = Config.fromfile(find_config("yolov3_mobilenetv2_1xb16_digitsdet"))
    assert cfg.train_dataloader.dataset.type == "DigitsDetDataset" and cfg.val_evaluator.type == "CocoMetric"
    model = build_model(cfg)
    assert type(model).__name__ == "YOLOV3" and model.bbox_head.num_classes == 10
    assert sum(p.numel() for p in model.parameters()) < 1_500_000
    model.eval()
    with torch.no_grad():
        maps = model(torch.zeros(1, 3, 96, 96), mode="tensor")[0]
    assert [tuple(m.shape) for m in maps] == [(1, 45, 3, 3), (1, 45, 6, 6), (1, 45, 12, 12)]
    assert cfg.train_dataloader.dataset.img_size == 96 and cfg.train_dataloader.batch_size == 16
    variant = Config.fromfile(find_config("yolov3_mobilenetv2_1xb32_digitsdet"))
    assert variant.train_dataloader.batch_size == 32 and variant.model == cfg.model


# Seed 000 (the article on registries and cross-library calls), as written: only the missing closing
# parenthesis of model=dict(...) is added, and _base_ names the shipped config by its 3.x name.
SEED_000_CONFIG = '''
_base_ = "mmdet::yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py"
custom_imports=dict(imports='mmcls.models', allow_failed_imports=False)
model = dict(
backbone=dict(
type='mmcls.MobileNetV3',
arch='large',
out_indices=(5, 11, 14),
init_cfg=dict(
type='Pretrained',
checkpoint='mmcls://mobilenet_v3_large'),
_delete_=True),
neck=dict(in_channels=[160, 112, 40]))
'''


@pytest.fixture
def seed_000_cfg(tmp_path):
    path = tmp_path / "yolov3_mobilenetv3_large.py"
    path.write_text(SEED_000_CONFIG)
    return Config.fromfile(str(path))


def test_seed_000_builds_yolov3_on_loomcls_mobilenet_v3(seed_000_cfg):
    from loomcls.models.backbones import MobileNetV3
    from loomdet.structures import DetDataSample
    from loomcv.structures import InstanceData

    cfg = seed_000_cfg
    assert cfg.custom_imports == dict(imports="mmcls.models", allow_failed_imports=False)
    assert dict(cfg.model.backbone) == dict(type="mmcls.MobileNetV3", arch="large", out_indices=(5, 11, 14),
                                            init_cfg=dict(type="Pretrained", checkpoint="mmcls://mobilenet_v3_large"))
    model = build_model(cfg)  # init_weights() would load the mmcls:// weights: see the test below
    assert type(model.backbone) is MobileNetV3 and model.neck.in_channels == [160, 112, 40]
    assert type(model.bbox_head).__name__ == "YOLOV3Head" and model.bbox_head.num_classes == 80
    img = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), scale_factor=(1., 1.)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[8., 8., 40., 48.]]), labels=torch.tensor([3]))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), True)
    losses = model(**data, mode="loss")
    assert set(losses) == {"loss_cls", "loss_conf", "loss_xy", "loss_wh"}
    assert all(torch.isfinite(v) for vals in losses.values() for v in vals)
    assert [m.shape[1:] for m in model(data["inputs"], mode="tensor")[0]] == [(255, 2, 2), (255, 4, 4), (255, 8, 8)]


def test_seed_000_loads_mmcls_mobilenet_v3_large_weights_if_cached(seed_000_cfg):
    """Runs where torch.hub's cache holds MMClassification's mobilenet_v3_large checkpoint."""
    cached = glob.glob(osp.join(torch.hub.get_dir(), "checkpoints", "mobilenet_v3_large*.pth"))
    if not cached:
        pytest.skip("mmcls://mobilenet_v3_large is not in torch.hub's cache (no download here)")
    model = build_model(seed_000_cfg)
    before = model.backbone.layer1.depthwise_conv.conv.weight.clone()
    model.init_weights()
    assert not torch.equal(before, model.backbone.layer1.depthwise_conv.conv.weight)
