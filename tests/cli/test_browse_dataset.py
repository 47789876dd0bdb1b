"""``loomcv browse-dataset`` over a generated JPEG folder writes readable PNG grids."""

import json

import cv2
import numpy as np
import pytest

from loomcv.cli.browse_dataset import make_grid
from loomcv.cli.main import main

CONFIG = """
default_scope = 'mmpretrain'  # a classification pipeline: PackInputs is MMPretrain's
data_root = '{{fileDirname}}'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=96, crop_ratio_range=(0.3, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),
    dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='BaseDataset', data_root=data_root, ann_file='ann.json',
                 data_prefix=dict(img_path='imgs'), pipeline=train_pipeline))
"""


def make_fixture(root, n=3):
    """Photos stand-ins: a gradient, a coloured disc and the class name, so each step is easy to read."""
    (root / "imgs").mkdir()
    entries = []
    for i in range(n):
        img = np.zeros((120, 160, 3), np.uint8)
        img[..., 0] = np.linspace(60, 200, 160, dtype=np.uint8)[None]
        img[..., 1] = np.linspace(40, 160, 120, dtype=np.uint8)[:, None]
        color = [(0, 0, 255), (0, 200, 0), (255, 0, 0)][i % 3]
        cv2.circle(img, (50 + 20 * i, 60), 30, color, -1)
        cv2.putText(img, f"cls{i % 2}", (90, 110), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        cv2.imwrite(str(root / "imgs" / f"img{i}.jpg"), img)
        entries.append(dict(img_path=f"img{i}.jpg", gt_label=i % 2))
    (root / "ann.json").write_text(json.dumps(dict(metainfo=dict(classes=["left", "right"]), data_list=entries)))
    (root / "cfg.py").write_text(CONFIG)
    return root / "cfg.py"


@pytest.mark.parametrize("mode,cells", [("pipeline", 6), ("transformed", 2), ("original", 1)])
def test_browse_dataset_writes_grids(tmp_path, mode, cells, capsys):
    cfg = make_fixture(tmp_path)
    out = tmp_path / f"out_{mode}"
    assert main(["browse-dataset", str(cfg), "--mode", mode, "--out-dir", str(out), "--show-number", "2",
                 "--seed", "0", "--cell-size", "160"]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["0000_img0.png", "0001_img1.png"]
    grid = cv2.imread(str(out / files[0]))
    columns = min(cells, 4)
    rows = -(-cells // 4)
    assert grid.shape == (30 + rows * (200 + 8) + 8, columns * (160 + 8) + 8, 3)
    assert "wrote 2" in capsys.readouterr().out


def test_browse_dataset_pipeline_cells_show_each_step(tmp_path):
    cfg = make_fixture(tmp_path)
    out = tmp_path / "out"
    main(["browse-dataset", str(cfg), "--mode", "pipeline", "--out-dir", str(out), "--show-number", "1",
          "--cell-size", "160", "--seed", "1"])
    grid = cv2.imread(str(out / "0000_img0.png"))
    first = grid[30 + 8 + 40:30 + 8 + 200, 8:168]  # LoadImageFromFile cell: the whole 160x120 image
    src = cv2.imread(str(tmp_path / "imgs" / "img0.jpg"))
    assert np.abs(first[20:140].astype(int) - src.astype(int)).mean() < 3
    assert (first[:20] == 255).all()  # white letterbox above the 4:3 image


def test_browse_dataset_errors(tmp_path, capsys):
    cfg = make_fixture(tmp_path)
    assert main(["browse-dataset", str(cfg), "--phase", "val", "--out-dir", str(tmp_path / "o")]) == 1
    assert "val_dataloader.dataset" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no images"):
        make_grid([])


def test_detection_boxes_are_drawn_and_follow_each_step(tmp_path):
    """On a detection config the boxes move with the image at each step, and the PNG shows them."""
    from loomcv.cli.browse_dataset import _PALETTE, boxes_of, trace
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    from loomcv.registry import DATASETS, init_default_scope

    options = [f"train_dataloader.dataset.data_root={tmp_path / 'digits'}", "train_dataloader.dataset.num_images=2",
               "train_dataloader.dataset.pipeline.2.scale=(48,48)"]
    out = tmp_path / "out"
    assert main(["browse-dataset", "yolov3_mobilenetv2_1xb16_digitsdet", "--mode", "pipeline", "--show-number", "1",
                 "--out-dir", str(out), "--cell-size", "96", "--cfg-options", *options]) == 0

    cfg = Config.fromfile(find_config("yolov3_mobilenetv2_1xb16_digitsdet"))
    cfg.merge_from_dict({"train_dataloader.dataset.data_root": str(tmp_path / "digits"),
                         "train_dataloader.dataset.num_images": 2})
    cfg.train_dataloader.dataset.pipeline[2].scale = (48, 48)
    init_default_scope(cfg.default_scope)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    shots = trace(dataset, 0)
    assert [s[0] for s in shots] == ["LoadImageFromFile", "LoadAnnotations", "Resize", "PackDetInputs"]
    assert shots[0][2] is None  # no boxes before they are loaded
    loaded, resized, packed = (s[2] for s in shots[1:])
    np.testing.assert_allclose(resized[0], loaded[0] * 0.5, atol=1e-4)  # 96 -> 48 moves the boxes too
    np.testing.assert_array_equal(packed[0], resized[0])
    np.testing.assert_array_equal(packed[1], loaded[1])
    assert boxes_of({"img": np.zeros((4, 4, 3))}) is None

    grid = cv2.imread(str(next(out.glob("*.png"))))
    color = _PALETTE[int(loaded[1][0]) % len(_PALETTE)]
    assert (np.abs(grid.astype(int) - color).sum(-1) < 40).sum() > 20  # the first box's colour is on the PNG
