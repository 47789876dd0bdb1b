"""A config in MMPretrain 1.x's layout, with MMPretrain's default_runtime.py copied unchanged
(UniversalVisualizer, VisualizationHook, env_cfg, randomness, ...), trains, validates and tests
on generated images; ``loomcv test --show-dir`` draws its predictions."""

import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from loomcv.cli.main import main
from loomcv.config import Config

STOCK = osp.join(osp.dirname(osp.dirname(__file__)), "fixtures", "configs", "mmpretrain_stock")
CONFIG = osp.join(STOCK, "resnet18_1xb4_tiny.py")
TRAIN_PER_CLASS, VAL_PER_CLASS = 4, 2


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run far faster on one thread when other processes load the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_folders(tmp_path, monkeypatch):
    """data/tiny_folders/{train,val}/{a,b,c}/*.png under the working directory, as the config expects."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for split, count in (("train", TRAIN_PER_CLASS), ("val", VAL_PER_CLASS)):
        for label, name in enumerate("abc"):
            folder = tmp_path / "data" / "tiny_folders" / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                image = rng.integers(0, 60, (40, 48, 3), dtype=np.uint8)
                image[..., label] += 180                       # learnable: the class is the bright channel
                cv2.imwrite(str(folder / f"{name}{i}.png"), image)
    return tmp_path


def test_the_runtime_lines_are_mmpretrains():
    cfg = Config.fromfile(CONFIG)
    assert cfg.default_scope == "mmpretrain"
    assert cfg.visualizer == dict(type="UniversalVisualizer", vis_backends=[dict(type="LocalVisBackend")])
    assert cfg.default_hooks.visualization == dict(type="VisualizationHook", enable=False)
    assert cfg.env_cfg.mp_cfg == dict(mp_start_method="fork", opencv_num_threads=0)
    assert cfg.randomness == dict(seed=None, deterministic=False)


def test_train_val_test_then_show_dir(tiny_folders, capsys):
    from loomcls.engine import VisualizationHook
    from loomcls.visualization import UniversalVisualizer
    from loomcv.runner import Runner

    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tiny_folders / "work")
    runner = Runner.from_cfg(cfg)
    assert isinstance(runner.visualizer, UniversalVisualizer)
    hook = next(h for h in runner.hooks if isinstance(h, VisualizationHook))
    assert hook.enable is False and hook.interval == 5000
    runner.train()
    metrics = runner.test()
    assert set(metrics) == {"accuracy/top1"}
    assert not list((tiny_folders / "work").glob("*/vis_data/vis_image/*"))   # the hook is off: nothing drawn
    assert runner.visualizer.dataset_meta["classes"] == ("a", "b", "c")

    show = tiny_folders / "shown"
    ckpt = tiny_folders / "work" / "epoch_2.pth"
    assert main(["test", CONFIG, str(ckpt), "--work-dir", str(tiny_folders / "t"), "--show-dir", str(show)]) == 0
    assert f"predictions drawn to {show}" in capsys.readouterr().out
    files = sorted(p.name for p in show.iterdir())
    expected = sorted(f"{c}{i}.png_0.png" for c in "abc" for i in range(VAL_PER_CLASS))
    assert files == expected                                     # every test image, step 0, as MMPretrain names them
    for name in files:
        picture = cv2.imread(str(show / name))
        assert picture is not None and picture.shape == (224, 269, 3)   # 40x48 enlarged to a 224 short edge
    # the left of the top rows holds the translucent box; the rest is the (enlarged) image
    original = cv2.resize(cv2.imread(str(tiny_folders / "data/tiny_folders/val/a/a0.png")), (269, 224),
                          interpolation=cv2.INTER_NEAREST)
    drawn = cv2.imread(str(show / "a0.png_0.png"))
    np.testing.assert_array_equal(drawn[120:], original[120:])
    assert (drawn[8:30, 8:100] != original[8:30, 8:100]).any()

    assert main(["test", CONFIG, str(ckpt), "--work-dir", str(tiny_folders / "t2"), "--show-dir",
                 str(tiny_folders / "every2"), "--interval", "2"]) == 0
    assert len(list((tiny_folders / "every2").iterdir())) == 3   # samples 0, 2, 4 of 6


def test_show_dir_needs_a_visualization_hook(tiny_folders, tmp_path, capsys):
    ckpt = tmp_path / "missing_hook.pth"
    ckpt.write_bytes(b"")
    assert main(["test", CONFIG, str(ckpt), "--show-dir", str(tmp_path / "x"),
                 "--cfg-options", "default_hooks.visualization=None"]) != 0
    assert ("--show/--show-dir need a visualization hook in the config: add default_hooks=dict("
            "visualization=dict(type='VisualizationHook'))") in capsys.readouterr().err


def test_num_batch_per_epoch_cuts_every_epoch(tiny_folders):
    from loomcv.runner import Runner
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tiny_folders / "cut")
    cfg.train_dataloader.num_batch_per_epoch = 1
    cfg.val_dataloader.num_batch_per_epoch = 1
    cfg.train_cfg.max_epochs = 1
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert len(runner.train_dataloader) == 1 and runner.iter == 1       # 12 images, 1 batch of 4 per epoch
    assert len(runner.val_dataloader.dataset) == 4
    assert runner.val_dataloader.dataset.metainfo["classes"] == ("a", "b", "c")
