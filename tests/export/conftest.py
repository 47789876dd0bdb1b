"""Fixtures for export tests: a LeNet-5 digits checkpoint, a tiny RGB ResNet config, digit PNGs."""

import textwrap

import cv2
import pytest
import torch

DIGIT_CLASSES = [f"digit-{i}" for i in range(10)]


@pytest.fixture(scope="package")
def lenet_ckpt(tmp_path_factory):
    """The default config's LeNet-5 with seeded initial weights, saved with class names in its meta."""
    from loomcls.apis import init_model
    from loomcv.checkpoint import save_checkpoint
    torch.manual_seed(0)
    model = init_model("lenet5_1xb64_digits")
    path = tmp_path_factory.mktemp("lenet") / "lenet.pth"
    save_checkpoint(dict(meta=dict(dataset_meta=dict(classes=DIGIT_CLASSES)), state_dict=model.state_dict()),
                    str(path))
    return path


@pytest.fixture(scope="package")
def digit_pngs(tmp_path_factory):
    """Eight test-split digits written as grey PNG files."""
    from loomcls.datasets import load_digits
    folder = tmp_path_factory.mktemp("digits_png")
    images, _ = load_digits("test")
    paths = []
    for i, image in enumerate(images[:8]):
        paths.append(str(folder / f"digit_{i}.png"))
        cv2.imwrite(paths[-1], image)
    return paths


TINY_RESNET = textwrap.dedent("""
    default_scope = 'loomcls'
    model = dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=64))
    data_preprocessor = dict(num_classes=3, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                             to_rgb=True)
    test_dataloader = dict(batch_size=2, dataset=dict(
        type='CustomDataset', data_root='unused', pipeline=[
            dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=40, edge='short'),
            dict(type='CenterCrop', crop_size=32), dict(type='PackInputs')]))
""")


@pytest.fixture(scope="package")
def tiny_resnet(tmp_path_factory):
    """(config path, checkpoint path) of a 3-class RGB ResNet-18 with 8-channel stem, 32x32 inputs."""
    from loomcls.apis import init_model
    from loomcv.checkpoint import save_checkpoint
    folder = tmp_path_factory.mktemp("tiny_resnet")
    config = folder / "tiny_resnet.py"
    config.write_text(TINY_RESNET)
    torch.manual_seed(0)
    model = init_model(str(config))
    ckpt = folder / "tiny_resnet.pth"
    save_checkpoint(dict(meta=dict(dataset_meta=dict(classes=["cat", "dog", "bird"])),
                        state_dict=model.state_dict()), str(ckpt))
    return config, ckpt
