"""Broken data: verify-dataset lists the corrupt files; skip_broken trains past them and logs the count;
the eval loops show a progress bar when asked."""

import json
import re

import cv2
import numpy as np
import pytest

from loomcv.cli.main import main

CONFIG = """
default_scope = 'loomcls'
model = dict(type='ImageClassifier', backbone=dict(type='LeNet5', num_classes=2), neck=None,
             head=dict(type='ClsHead', loss=dict(type='CrossEntropyLoss')))
data_preprocessor = dict(num_classes=2, mean=[128.0], std=[64.0], to_rgb=False)
pipeline = [dict(type='LoadImageFromFile', color_type='grayscale'), dict(type='Resize', scale=32),
            dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, num_workers=2, persistent_workers=False,
                        sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(type='CustomDataset', data_root={root!r}, pipeline=pipeline,
                                     skip_broken={skip}, max_broken_ratio=0.3))
val_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='CustomDataset', data_root={good!r}, pipeline=pipeline))
val_evaluator = dict(type='Accuracy', topk=(1,))
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=2)
val_cfg = dict()
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
default_hooks = dict(logger=dict(type='LoggerHook', interval=1), checkpoint=dict(type='CheckpointHook', interval=2))
randomness = dict(seed=0)
"""


@pytest.fixture
def image_folders(tmp_path):
    """A class-per-folder set of 12 JPEGs of which two are corrupt (garbage bytes, an empty file),
    and a clean copy for validation."""
    rng = np.random.default_rng(0)
    roots = {}
    for name in ("data", "clean"):
        for k, cls in enumerate(("cats", "dogs")):
            folder = tmp_path / name / cls
            folder.mkdir(parents=True)
            for i in range(6):
                image = rng.integers(0, 80, (24, 24), dtype=np.uint8) + 150 * k
                cv2.imwrite(str(folder / f"{cls}_{i}.jpg"), image)
        roots[name] = tmp_path / name
    (roots["data"] / "cats" / "cats_2.jpg").write_bytes(b"\xff\xd8 not really a jpeg" * 3)
    (roots["data"] / "dogs" / "dogs_4.jpg").write_bytes(b"")
    return roots


def _config(tmp_path, roots, skip):
    path = tmp_path / f"cfg_skip_{skip}.py"
    path.write_text(CONFIG.format(root=str(roots["data"]), good=str(roots["clean"]), skip=skip))
    return str(path)


def test_verify_dataset_lists_the_corrupt_files(tmp_path, image_folders, capsys):
    cfg = _config(tmp_path, image_folders, False)
    out = tmp_path / "broken.json"
    assert main(["verify-dataset", cfg, "--num-workers", "2", "--out", str(out)]) == 1
    broken = json.loads(out.read_text())
    assert sorted(b["file"].rsplit("/", 1)[1] for b in broken) == ["cats_2.jpg", "dogs_4.jpg"]
    assert all("cannot" in b["reason"] or "empty" in b["reason"].lower() for b in broken), broken
    text = capsys.readouterr().out
    assert "2 of 12 samples are broken" in text and "cats_2.jpg" in text
    clean = tmp_path / "clean.py"
    clean.write_text(CONFIG.format(root=str(image_folders["clean"]), good=str(image_folders["clean"]), skip=False))
    assert main(["verify-dataset", str(clean), "--num-workers", "0"]) == 0


def test_training_skips_two_corrupt_images_and_logs_the_count(tmp_path, image_folders, capsys):
    work = tmp_path / "work"
    assert main(["train", _config(tmp_path, image_folders, True), "--work-dir", str(work)]) == 0
    assert (work / "epoch_2.pth").is_file()
    log = next(work.glob("*/*.log")).read_text()
    assert "cats_2.jpg" in log and "dogs_4.jpg" in log
    assert log.count("skipped broken sample") == 2  # each file is reported once, over two epochs
    # a random replacement may be broken too, so the skips are at least one per file and epoch
    summary = re.search(r"CustomDataset: 2 broken sample\(s\) of 12 \(16\.67%\) skipped (\d+) time", log)
    assert summary and int(summary.group(1)) >= 4


def test_without_skip_broken_the_error_names_the_file(tmp_path, image_folders, capsys):
    cfg = _config(tmp_path, image_folders, False)
    assert main(["train", cfg, "--work-dir", str(tmp_path / "w2"),
                 "--cfg-options", "train_dataloader.num_workers=0"]) == 1
    err = capsys.readouterr().err
    assert "while loading sample" in err and (".jpg" in err)


def test_too_many_broken_samples_stop_the_run(tmp_path, image_folders, capsys):
    cfg = _config(tmp_path, image_folders, True)
    assert main(["train", cfg, "--work-dir", str(tmp_path / "w3"), "--cfg-options",
                 "train_dataloader.dataset.max_broken_ratio=0.1", "train_dataloader.num_workers=0"]) == 1
    assert "more than max_broken_ratio=10.00%" in capsys.readouterr().err


def test_eval_loops_show_a_progress_bar_when_asked(tmp_path, image_folders, capsys):
    cfg = tmp_path / "bar.py"
    cfg.write_text(CONFIG.format(root=str(image_folders["clean"]), good=str(image_folders["clean"]), skip=False)
                   + "default_hooks['logger']['progress_bar'] = True\n"
                   + "test_dataloader = val_dataloader\ntest_evaluator = val_evaluator\ntest_cfg = dict()\n")
    work = tmp_path / "bar_work"
    assert main(["train", str(cfg), "--work-dir", str(work), "--cfg-options", "train_cfg.max_epochs=1",
                 "train_cfg.val_interval=1", "default_hooks.checkpoint.interval=1"]) == 0
    out = capsys.readouterr().out
    assert "train" in out and "val" in out and "3/3" in out  # the 12 images in batches of 4
    assert main(["test", str(cfg), str(work / "epoch_1.pth"), "--work-dir", str(work)]) == 0
    assert "test" in capsys.readouterr().out
