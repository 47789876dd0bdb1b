"""Feature maps as heat maps, and showing windows where none can open."""

import time

import cv2
import numpy as np
import pytest
import torch

from loomcv.visualization import Visualizer, convert_overlay_heatmap


def heat(image):
    """How 'hot' each pixel of a JET heat map is: red minus blue."""
    return image[..., 0].astype(int) - image[..., 2].astype(int)


def peak(image):
    return np.unravel_index(heat(image).argmax(), image.shape[:2])


def test_heat_map_peaks_where_the_feature_map_peaks():
    featmap = torch.zeros(3, 12, 16)
    featmap[:, 3, 11] = 4.0
    drawn = Visualizer.draw_featmap(featmap)                  # a static method: no instance needed
    assert drawn.shape == (12, 16, 3) and drawn.dtype == np.uint8
    assert peak(drawn) == (3, 11)
    hottest, coldest = (cv2.applyColorMap(np.array([[v]], np.uint8), cv2.COLORMAP_JET)[0, 0, ::-1]
                        for v in (255, 0))
    assert drawn[3, 11].tolist() == hottest.tolist() and drawn[0, 0].tolist() == coldest.tolist()


def test_overlay_takes_the_image_size_and_blends():
    image = np.full((48, 64, 3), 200, np.uint8)
    featmap = torch.zeros(2, 12, 16)
    featmap[:, 9, 2] = 1.0
    with pytest.warns(UserWarning, match=r"feature map \(12x16\) and overlaid_image \(48x64\) differ"):
        drawn = Visualizer.draw_featmap(featmap, image, alpha=0.5)
    assert drawn.shape == image.shape
    y, x = peak(drawn)
    assert 34 <= y <= 40 and 6 <= x <= 12                      # row 9, col 2 scaled by 4
    coldest = cv2.applyColorMap(np.zeros((1, 1), np.uint8), cv2.COLORMAP_JET)[0, 0, ::-1].astype(float)
    np.testing.assert_allclose(drawn[0, 0], 0.5 * 200 + 0.5 * coldest, atol=1)
    with pytest.warns(UserWarning, match="differ in size"):
        small = Visualizer.draw_featmap(featmap, image, resize_shape=(24, 32))
    assert small.shape == (24, 32, 3)


def test_select_max_draws_the_strongest_channel():
    featmap = torch.zeros(3, 10, 10)
    featmap[0, 2, 2] = 1.0
    featmap[2, 7, 6] = 5.0                                      # largest sum
    assert peak(Visualizer.draw_featmap(featmap, channel_reduction="select_max")) == (7, 6)
    assert peak(Visualizer.draw_featmap(featmap.numpy(), channel_reduction="select_max")) == (7, 6)


def test_topk_channels_in_a_grid():
    featmap = torch.rand(6, 30, 80)             # wide cells, so each "channel: i" label fits its cell
    grid = Visualizer.draw_featmap(featmap, channel_reduction=None, topk=4, arrangement=(2, 3))
    assert grid.shape == (2 * 30, 3 * 80, 3)
    drawn = (grid != 255).any(axis=-1)
    assert drawn[:30].mean() > 0.9 and drawn[30:, :80].mean() > 0.9   # cells 1-3, then 4 (row-major)
    assert not drawn[30:, 80:].any()                                  # the 5th and 6th stay blank
    as_image = Visualizer.draw_featmap(featmap[:1], channel_reduction=None, topk=0)
    assert as_image.shape == (30, 80, 3)


def test_featmap_errors():
    with pytest.raises(ValueError, match=r"CxHxW \(3 dims\), got shape \(4, 4\)"):
        Visualizer.draw_featmap(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="channel_reduction must be one of"):
        Visualizer.draw_featmap(torch.zeros(2, 4, 4), channel_reduction="max")
    with pytest.raises(ValueError, match=r"arrangement \(2, 2\) has 4 cells, fewer than topk=5"):
        Visualizer.draw_featmap(torch.zeros(8, 4, 4), channel_reduction=None, topk=5, arrangement=(2, 2))
    with pytest.raises(ValueError, match="must have 1 or 3 channels, got 4"):
        Visualizer.draw_featmap(torch.zeros(4, 4, 4), channel_reduction=None, topk=0)
    with pytest.raises(TypeError, match="featmap must be a CxHxW torch.Tensor"):
        Visualizer.draw_featmap([[1.0]])
    with pytest.raises(ValueError, match="takes an HxW, 1xHxW or 3xHxW map"):
        convert_overlay_heatmap(np.zeros((2, 4, 4)))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", ["matplotlib", "cv2"])
@pytest.mark.parametrize("display", [None, ":99"])
def test_show_without_a_display_warns_and_returns(backend, display, monkeypatch):
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if display is None:
        monkeypatch.delenv("DISPLAY", raising=False)
    else:                                       # a display that is named but cannot be reached
        monkeypatch.setenv("DISPLAY", display)
        monkeypatch.setenv("MPLBACKEND", "agg")
    vis = Visualizer("show_test", image=np.zeros((8, 8, 3), np.uint8))
    start = time.monotonic()
    with pytest.warns(UserWarning, match="Visualizer.show: cannot open a window"):
        vis.show(wait_time=0, backend=backend)                 # 0 would wait forever on a real window
    assert time.monotonic() - start < 30
    vis.close()


def test_show_rejects_unknown_backend():
    vis = Visualizer("show_bad", image=np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="backend must be 'matplotlib' or 'cv2', got 'tk'"):
        vis.show(backend="tk")


def test_add_datasample_shows_nothing_by_default_and_logs_the_image(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    vis = Visualizer("sample_vis", vis_backends=dict(type="LocalVisBackend"), save_dir=str(tmp_path))
    vis.add_datasample("val_img", image, step=5)
    saved = cv2.imread(str(tmp_path / "vis_data" / "vis_image" / "val_img_5.png"))[..., ::-1]
    np.testing.assert_array_equal(saved, image)


def test_docs_picture_is_what_the_example_draws(tmp_path, monkeypatch):
    """docs/logging_and_visualization.md shows a picture; it must match what its example writes."""
    import re
    import warnings
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs"
    page = (docs / "logging_and_visualization.md").read_text(encoding="utf-8")
    picture = re.search(r"!\[drawing example\]\((.+?)\)", page).group(1)
    example = next(b for b in re.findall(r"```python\n(.*?)```", page, flags=re.S) if "demo_0.png" in b)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(example, "logging_and_visualization.md", "exec"), {})
    written = cv2.imread(str(tmp_path / "run2" / "vis_data" / "vis_image" / "demo_0.png"))
    shown = cv2.imread(str(docs / picture))
    assert shown is not None and shown.shape == written.shape
    # fonts may differ from machine to machine; everything else is the same pixels
    assert np.abs(shown.astype(int) - written.astype(int)).mean() < 2
