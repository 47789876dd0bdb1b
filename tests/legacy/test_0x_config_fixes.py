"""MMCV 1.x configs that were refused or mistranslated: dataset lists, optimizer constructors,
deprecated checkpoint options, BatchResizeMix, and RegNet's BGR normalization."""

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from loomcv.config import Config
from loomcv.errors import ConfigError

PIPELINE = ("[dict(type='LoadImageFromFile'), dict(type='Normalize', mean=[1, 2, 3], std=[4, 5, 6], "
            "to_rgb=True), dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img', "
            "'gt_label'])]")


def _folders(root, classes=("a", "b"), per_class=2):
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(root / c / f"{i}.png"), np.full((8, 8, 3), i * 40, np.uint8))
    return root


def test_a_list_of_training_datasets_becomes_a_concat_dataset(tmp_path):
    first, second = _folders(tmp_path / "one"), _folders(tmp_path / "two", per_class=3)
    cfg = Config.fromstring(
        f"data = dict(samples_per_gpu=2, workers_per_gpu=0, train=[\n"
        f"    dict(type='CustomDataset', data_prefix='{first}', pipeline={PIPELINE}),\n"
        f"    dict(type='CustomDataset', data_prefix='{second}', pipeline={PIPELINE})])\n"
        "model = dict(type='ImageClassifier', backbone=dict(type='LeNet5'))\n", ".py")
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == "ConcatDataset" and len(dataset.datasets) == 2
    assert dataset.datasets[1].pipeline[-1] == dict(type="PackInputs")
    assert cfg.data_preprocessor == dict(mean=[1, 2, 3], std=[4, 5, 6], to_rgb=True)
    import loomcls.datasets  # noqa: F401  (registers)
    from loomcls.registry import DATASETS
    from loomcv.registry import init_default_scope
    init_default_scope("loomcls")
    built = DATASETS.build(dataset)
    assert len(built) == 4 + 6 and built[5]["data_samples"].gt_label.item() == 0
    with pytest.raises(ConfigError, match="legacy config key data.train: an empty list"):
        Config.fromstring("data = dict(samples_per_gpu=2, train=[])\n", ".py")


def test_an_optimizer_constructor_and_paramwise_cfg_move_to_the_optim_wrapper():
    cfg = Config.fromstring(
        "optimizer = dict(type='SGD', lr=0.1, weight_decay=1e-4, constructor='DefaultOptimWrapperConstructor',\n"
        "                 paramwise_cfg=dict(norm_decay_mult=0.0))\n", ".py")
    assert cfg.optim_wrapper == dict(type="OptimWrapper", constructor="DefaultOptimWrapperConstructor",
                                     paramwise_cfg=dict(norm_decay_mult=0.0),
                                     optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4))
    from loomcv.optim import build_optim_wrapper
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {id(p): g["weight_decay"] for g in wrapper.param_groups for p in g["params"]}
    assert decay[id(model[0].weight)] == 1e-4 and decay[id(model[1].weight)] == 0.0


def test_checkpoint_config_sync_buffer_and_file_client_args_are_accepted_with_a_note():
    with pytest.warns(FutureWarning) as caught:
        cfg = Config.fromstring("checkpoint_config = dict(interval=2, sync_buffer=True, "
                                "file_client_args=dict(backend='disk'))\n", ".py")
    notes = " ".join(str(w.message) for w in caught)
    assert "custom_hooks=[dict(type='SyncBuffersHook')]" in notes and "backend_args" in notes
    assert cfg.default_hooks.checkpoint == dict(type="CheckpointHook", interval=2)
    assert cfg.custom_hooks == [dict(type="SyncBuffersHook")]
    with pytest.warns(FutureWarning, match="no effect; remove it"):
        quiet = Config.fromstring("checkpoint_config = dict(interval=1, sync_buffer=False)\n", ".py")
    assert "custom_hooks" not in quiet
    with pytest.raises(ConfigError, match="file_client_args: backend 'petrel'"):
        Config.fromstring("checkpoint_config = dict(file_client_args=dict(backend='petrel'))\n", ".py")
    # the native hook takes MMEngine's deprecated argument too
    from loomcv.hooks import CheckpointHook
    with pytest.warns(FutureWarning, match="backend_args"):
        CheckpointHook(interval=1, file_client_args=dict(backend="disk"))


def test_batch_resize_mix_translates_to_a_registered_resize_mix():
    cfg = Config.fromstring(
        "model = dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18),\n"
        "             train_cfg=dict(augments=[dict(type='BatchResizeMix', alpha=1.0, num_classes=4, prob=0.5,\n"
        "                                           lam_min=0.2, lam_max=0.6),\n"
        "                                      dict(type='BatchMixup', alpha=0.2, num_classes=4, prob=0.5)]))\n"
        "optimizer = dict(type='SGD', lr=0.1)\n", ".py")
    assert cfg.data_preprocessor.batch_augments == dict(
        augments=[dict(type="ResizeMix", alpha=1.0, lam_min=0.2, lam_max=0.6), dict(type="Mixup", alpha=0.2)],
        probs=[0.5, 0.5])
    from loomcls.registry import MODELS
    preprocessor = MODELS.build(dict(type="ClsDataPreprocessor", **cfg.data_preprocessor))
    assert [type(a).__name__ for a in preprocessor.batch_augments.augments] == ["ResizeMix", "Mixup"]


def test_resize_mix_pastes_the_whole_shrunk_image_and_mixes_scores_by_area():
    from loomcls.models.batch_augments import ResizeMix
    inputs = torch.arange(2 * 3 * 16 * 16, dtype=torch.float32).reshape(2, 3, 16, 16)
    scores = torch.eye(2)
    aug = ResizeMix(alpha=1.0, lam_min=0.1, lam_max=0.8)
    np.random.seed(3)
    torch.manual_seed(3)
    mixed, mixed_scores = aug(inputs.clone(), scores)
    # the same draws, in MMPretrain's order: lam, the permutation, the box centre
    np.random.seed(3)
    torch.manual_seed(3)
    lam = np.random.beta(1.0, 1.0) * 0.7 + 0.1
    perm = torch.randperm(2)
    cut = int(16 * np.sqrt(1 - lam))
    cy, cx = np.random.randint(16), np.random.randint(16)
    y1, y2 = np.clip([cy - cut // 2, cy + cut // 2], 0, 16)
    x1, x2 = np.clip([cx - cut // 2, cx + cut // 2], 0, 16)
    expected = inputs.clone()
    expected[..., y1:y2, x1:x2] = torch.nn.functional.interpolate(
        inputs[perm], size=(int(y2 - y1), int(x2 - x1)), mode="bilinear", align_corners=False)
    assert torch.allclose(mixed, expected)
    area_lam = 1 - (y2 - y1) * (x2 - x1) / 256.0
    assert torch.allclose(mixed_scores, area_lam * scores + (1 - area_lam) * scores[perm])
    with pytest.raises(ConfigError, match="lam_min <= lam_max"):
        ResizeMix(alpha=1.0, lam_min=0.9, lam_max=0.2)
    with pytest.raises(ConfigError, match="interpolation"):
        ResizeMix(alpha=1.0, interpolation="trilinear")


# MMClassification 0.25's configs/regnet/regnetx-400mf_8xb128_in1k.py, data part, unchanged
REGNET = """
NORM_MEAN = [103.53, 116.28, 123.675]
NORM_STD = [57.375, 57.12, 58.395]
EIGVAL = [0.2175, 0.0188, 0.0045]
EIGVEC = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', size=224),
    dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
    dict(type='Lighting', eigval=EIGVAL, eigvec=EIGVEC, alphastd=25.5, to_rgb=True),
    dict(type='Normalize', mean=NORM_MEAN, std=NORM_STD, to_rgb=True),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='ToTensor', keys=['gt_label']),
    dict(type='Collect', keys=['img', 'gt_label'])
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', size=(256, -1)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='Normalize', mean=NORM_MEAN, std=NORM_STD, to_rgb=False),
    dict(type='ImageToTensor', keys=['img']),
    dict(type='Collect', keys=['img'])
]
data = dict(samples_per_gpu=128, workers_per_gpu=8,
            train=dict(type='ImageNet', data_prefix='data/imagenet/train', pipeline=train_pipeline),
            val=dict(type='ImageNet', data_prefix='data/imagenet/val', pipeline=test_pipeline),
            test=dict(type='ImageNet', data_prefix='data/imagenet/val', pipeline=test_pipeline))
"""


def test_regnet_lighting_then_rgb_normalize_is_one_bgr_normalization():
    cfg = Config.fromstring(REGNET, ".py")
    assert cfg.data_preprocessor == dict(mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395],
                                         to_rgb=False)
    lighting = cfg.train_dataloader.dataset.pipeline[3]
    assert lighting["type"] == "Lighting" and lighting["to_rgb"] is False
    assert lighting["eigvec"][0] == [-0.5836, -0.6948, 0.4203]  # rows in BGR order, as MMPretrain 1.x writes
    # same noise on the same pixels: 1.x (BGR->RGB, lighting, RGB->BGR, normalize) vs. native
    from loomcls.datasets.transforms import Lighting
    image = np.random.RandomState(0).randint(0, 255, (5, 6, 3)).astype(np.uint8)
    np.random.seed(7)
    native = Lighting(**{k: v for k, v in lighting.items() if k != "type"}).transform(dict(img=image))["img"]
    native = (np.asarray(native, np.float32) - cfg.data_preprocessor.mean) / cfg.data_preprocessor.std
    np.random.seed(7)
    alpha = np.random.normal(0, 25.5, 3)
    eigvec, eigval = np.array(cfg.EIGVEC), np.array(cfg.EIGVAL)
    rgb = image[..., ::-1].astype(np.float32) + (eigvec * alpha * eigval).sum(axis=1)
    legacy = (rgb[..., ::-1] - cfg.NORM_MEAN) / cfg.NORM_STD
    assert np.allclose(native, legacy, atol=1e-3)


def test_normalize_swaps_channels_by_default_as_in_mmcls_0x_and_real_conflicts_still_fail():
    # without to_rgb the 1.x test Normalize swaps to RGB: then train (BGR) and test (RGB) disagree
    with pytest.raises(ConfigError, match="Normalize steps differ"):
        Config.fromstring(REGNET.replace("NORM_STD, to_rgb=False)", "NORM_STD)"), ".py")
    lone = REGNET.replace("    dict(type='Normalize', mean=NORM_MEAN, std=NORM_STD, to_rgb=True),\n", "")
    with pytest.raises(ConfigError, match="ends with an RGB image but has no Normalize"):
        Config.fromstring(lone, ".py")
