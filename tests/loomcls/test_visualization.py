"""UniversalVisualizer: the labels it writes, the pixels it changes (and only those), sizes, outputs."""

import cv2
import numpy as np
import pytest

from loomcls.structures import DataSample
from loomcls.visualization import UniversalVisualizer, adaptive_scale

GRAY = 200
CLASSES = ("cat", "dog", "bird")


def gray(h=224, w=224):
    return np.full((h, w, 3), GRAY, np.uint8)


def sample(gt=1, pred=2, scores=(0.1, 0.2, 0.7)):
    s = DataSample()
    if gt is not None:
        s.set_gt_label(gt)
    if pred is not None:
        s.set_pred_label(pred).set_pred_score(list(scores))
    return s


def drawn_text(vis):
    return vis.ax_save.texts[-1].get_text()


def test_label_text_as_mmpretrain_writes_it():
    vis = UniversalVisualizer("text", min_short_edge=None)
    vis.visualize_cls(gray(), sample(), classes=CLASSES)
    assert drawn_text(vis) == "Ground truth: 1 (dog)\nPrediction: 2, 0.70 (bird)"
    vis.visualize_cls(gray(), sample(), classes=CLASSES, draw_score=False)
    assert drawn_text(vis) == "Ground truth: 1 (dog)\nPrediction: 2 (bird)"
    vis.visualize_cls(gray(), sample())                         # no class names
    assert drawn_text(vis) == "Ground truth: 1\nPrediction: 2, 0.70"
    vis.visualize_cls(gray(), sample(), classes=CLASSES, draw_gt=False)
    assert drawn_text(vis) == "Prediction: 2, 0.70 (bird)"
    multi = DataSample().set_gt_label([0, 2])                  # several labels: one per line, aligned
    vis.visualize_cls(gray(), multi, classes=CLASSES)
    assert drawn_text(vis) == "Ground truth: 0 (cat)\n              2 (bird)"
    vis.dataset_meta = dict(classes=CLASSES)                   # class names from the dataset by default
    vis.visualize_cls(gray(), sample(pred=None))
    assert drawn_text(vis) == "Ground truth: 1 (dog)"


def test_pixels_change_only_inside_the_text_box_and_the_box_halves_the_background():
    vis = UniversalVisualizer("pixels", min_short_edge=None)
    image = gray()
    drawn = vis.visualize_cls(image, sample(), classes=CLASSES)
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    # where matplotlib put the box (display y grows upwards; image rows grow downwards)
    box = vis.ax_save.texts[-1].get_bbox_patch().get_window_extent(vis.fig_save_canvas.get_renderer())
    x0, x1 = int(np.floor(box.x0)) - 1, int(np.ceil(box.x1)) + 1
    r0, r1 = 224 - int(np.ceil(box.y1)) - 1, 224 - int(np.floor(box.y0)) + 1
    assert 0 <= x0 < 5 and 0 <= r0 < 5 and 100 < x1 < 224 and 20 < r1 < 60  # top-left, two lines of 7 pt
    changed = (drawn != image).any(axis=-1)
    rows, cols = np.nonzero(changed)
    assert rows.min() >= r0 and rows.max() <= r1 and cols.min() >= x0 and cols.max() <= x1
    inside = drawn[r0 + 3:r1 - 3, x0 + 3:x1 - 3].reshape(-1, 3).astype(int)
    values, counts = np.unique(inside, axis=0, return_counts=True)
    background = values[counts.argmax()]
    np.testing.assert_allclose(background, [GRAY * 0.5] * 3, atol=1)   # black box at alpha 0.5
    assert (inside.min(axis=1) > 230).sum() > 50                         # white glyphs on it
    outside = ~np.zeros_like(changed)
    outside[r0:r1 + 1, x0:x1 + 1] = False
    assert (drawn[outside] == GRAY).all()


def test_nothing_to_draw_leaves_the_image_unchanged_and_text_cfg_overrides():
    vis = UniversalVisualizer("blank", min_short_edge=None)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    drawn = vis.visualize_cls(image, sample(), draw_gt=False, draw_pred=False)
    np.testing.assert_array_equal(drawn, image)
    red = vis.visualize_cls(gray(), sample(), classes=CLASSES, text_cfg=dict(color="red", bbox=None))
    glyphs = (red != GRAY).any(axis=-1)
    assert glyphs.sum() > 50 and (red[glyphs][:, 0] >= red[glyphs][:, 1]).all()   # red text, no box
    assert (red[..., 1][glyphs] < GRAY).all()


def test_sizes_resize_rescale_and_small_images_enlarged():
    vis = UniversalVisualizer("sizes", min_short_edge=None)
    assert vis.visualize_cls(gray(50, 80), sample(), resize=100).shape == (100, 160, 3)
    assert vis.visualize_cls(gray(80, 50), sample(), resize=100).shape == (160, 100, 3)
    assert vis.visualize_cls(gray(50, 80), sample(), rescale_factor=2).shape == (100, 160, 3)
    assert vis.visualize_cls(gray(32, 48), sample()).shape == (32, 48, 3)
    assert adaptive_scale((32, 48)) == 0.3 and adaptive_scale((448, 600)) == 2.0 and adaptive_scale((9999, 9999)) == 3
    # by default a CIFAR-sized picture is enlarged (nearest) to a 224-pixel short edge
    tiny = np.zeros((32, 48, 3), np.uint8)
    tiny[16:, 24:] = (10, 200, 30)
    big = UniversalVisualizer("enlarge").visualize_cls(tiny, sample())
    assert big.shape == (224, 336, 3)
    np.testing.assert_array_equal(big[112:, 168:].reshape(-1, 3), np.tile([10, 200, 30], (112 * 168, 1)))
    np.testing.assert_array_equal(big[200:, :168], 0)


def test_out_file_or_backends(tmp_path):
    vis = UniversalVisualizer("outputs", vis_backends=[dict(type="LocalVisBackend")], save_dir=str(tmp_path / "log"))
    drawn = vis.visualize_cls(gray(), sample(), name="img7.png", step=3)
    saved = tmp_path / "log" / "vis_data" / "vis_image" / "img7.png_3.png"
    np.testing.assert_array_equal(cv2.imread(str(saved))[..., ::-1], drawn)
    out = tmp_path / "pics" / "one.png"
    drawn = vis.add_datasample("ignored", gray(), sample(), out_file=str(out))
    np.testing.assert_array_equal(cv2.imread(str(out))[..., ::-1], drawn)   # RGB drawing, BGR file
    assert sorted(p.name for p in saved.parent.iterdir()) == ["img7.png_3.png"]   # out_file skips backends


def test_bad_arguments_are_named():
    vis = UniversalVisualizer("errors")
    with pytest.raises(ValueError, match=r"gt_label 1 has no class name: there are 1 classes \(cat\)"):
        vis.visualize_cls(gray(), sample(), classes=["cat"])
    with pytest.raises(ValueError, match="resize must be a positive int"):
        vis.visualize_cls(gray(), sample(), resize=0)
    with pytest.raises(ValueError, match="rescale_factor must be a positive number"):
        vis.visualize_cls(gray(), sample(), rescale_factor=-1)
    with pytest.raises(TypeError, match="text_cfg must be a dict"):
        vis.visualize_cls(gray(), sample(), text_cfg="red")
    with pytest.raises(ValueError, match="min_short_edge must be a positive int or None"):
        UniversalVisualizer("bad", min_short_edge=0)


def test_registered_under_mmpretrain_and_mmcls_names():
    from loomcv.registry import VISUALIZERS, init_default_scope
    init_default_scope("mmpretrain")
    assert VISUALIZERS.get("UniversalVisualizer") is UniversalVisualizer
    assert VISUALIZERS.get("ClsVisualizer") is UniversalVisualizer
    assert VISUALIZERS.get("mmcls.ClsVisualizer") is UniversalVisualizer
    built = VISUALIZERS.build(dict(type="mmpretrain.UniversalVisualizer", name="built"))
    assert isinstance(built, UniversalVisualizer)


def test_the_docs_picture_is_what_the_docs_example_draws(tmp_path, monkeypatch):
    import re
    from pathlib import Path
    docs = Path(__file__).parents[2] / "docs"
    blocks = re.findall(r"```python\n(.*?)```", (docs / "classification.md").read_text(), flags=re.S)
    example = next(b for b in blocks if "cls_visualizer_demo.png" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "classification.md", "exec"), {})
    drawn = cv2.imread(str(tmp_path / "cls_visualizer_demo.png"))
    shown = cv2.imread(str(docs / "images" / "cls_visualizer_demo.png"))
    assert drawn.shape == shown.shape == (224, 336, 3)
    # the same picture (a few glyph-edge pixels may differ between font rasterizer versions)
    assert (np.abs(drawn.astype(int) - shown.astype(int)).max(axis=-1) > 8).mean() < 0.002
    sky, grass = shown[80, 300], shown[200, 300]     # the boundary is at row 32 x 3.5 = 112
    assert tuple(sky[::-1]) == (120, 170, 230) and tuple(grass[::-1]) == (70, 150, 60)
    assert tuple(shown[0, 300][::-1]) == (120, 170, 230)       # the box covers only the text's corner
