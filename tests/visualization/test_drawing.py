"""Drawing on an image: each call changes the pixels it should, and only those."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from loomcv.visualization import Visualizer, color_val_matplotlib

H, W = 40, 60
BG = (10, 60, 110)


def background():
    image = np.zeros((H, W, 3), np.uint8)
    image[:] = BG
    return image


def canvas(name="draw_test"):
    return Visualizer(name, image=background())


def changed(before, after):
    return (before != after).any(axis=-1)


def test_get_image_is_the_set_image_pixel_for_pixel():
    rng = np.random.default_rng(0)
    for shape in [(37, 53, 3), (5, 7, 3), (64, 48, 3)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        vis = Visualizer("roundtrip")
        vis.set_image(image)
        drawn = vis.get_image()
        assert drawn.dtype == np.uint8 and drawn.shape == shape
        np.testing.assert_array_equal(drawn, image)
    gray = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    vis.set_image(gray)                                     # gray becomes RGB
    np.testing.assert_array_equal(vis.get_image(), np.repeat(gray[..., None], 3, axis=2))
    vis.set_image(torch.from_numpy(image))                  # an HWC uint8 tensor works too
    np.testing.assert_array_equal(vis.get_image(), image)


def test_image_checks():
    vis = Visualizer("no_image")
    with pytest.raises(RuntimeError, match="call set_image"):
        vis.get_image()
    with pytest.raises(RuntimeError, match="draw_bboxes: no image to draw on"):
        vis.draw_bboxes(np.array([0, 0, 1, 1]))
    with pytest.raises(TypeError, match="image must be uint8 RGB, got dtype float32"):
        vis.set_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"HxW or HxWxC .* got shape \(4, 4, 2\)"):
        vis.set_image(np.zeros((4, 4, 2), np.uint8))


def test_red_box_edges_turn_red_and_inside_stays():
    vis = canvas()
    before = vis.get_image()
    assert vis.draw_bboxes(np.array([10, 5, 40, 30]), edge_colors=(255, 0, 0), alpha=1.0) is vis
    after = vis.get_image()
    for y, x in [(5, 25), (30, 25), (18, 10), (18, 40)]:           # on each of the four edges
        assert after[y, x].tolist() == [255, 0, 0]
    assert not changed(before, after)[9:27, 14:37].any()          # face_colors='none': inside untouched
    assert not changed(before, after)[34:, :].any() and not changed(before, after)[:, 45:].any()


def test_box_alpha_blends_edge_with_the_image():
    vis = canvas()
    vis.draw_bboxes(torch.tensor([[10., 5., 40., 30.]]), edge_colors="r")   # default alpha 0.8
    expected = [0.8 * 255 + 0.2 * BG[0], 0.2 * BG[1], 0.2 * BG[2]]
    np.testing.assert_allclose(vis.get_image()[5, 25], expected, atol=2)


def test_filled_box_and_one_color_per_box():
    vis = canvas()
    vis.draw_bboxes(np.array([[2, 2, 20, 20], [30, 10, 55, 35]]), edge_colors=["r", (0, 0, 255)],
                    face_colors=[(255, 255, 0), "none"], alpha=1.0)
    drawn = vis.get_image()
    assert drawn[2, 10].tolist() == [255, 0, 0] and drawn[10, 30].tolist() == [0, 0, 255]
    assert drawn[11, 11].tolist() == [255, 255, 0]                # first box filled yellow
    assert drawn[22, 42].tolist() == list(BG)                     # second box hollow


def test_bbox_argument_errors():
    vis = canvas()
    with pytest.raises(ValueError, match=r"bboxes must have shape \(N, 4\).*got \(2, 3\)"):
        vis.draw_bboxes(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x2 >= x1 and y2 >= y1.*box 1 is \[30.0, 5.0, 10.0, 8.0\]"):
        vis.draw_bboxes(np.array([[0, 0, 5, 5], [30, 5, 10, 8]]))
    with pytest.raises(TypeError, match="bboxes must be a numpy array or a torch tensor, got str"):
        vis.draw_bboxes("0 0 5 5")
    with pytest.raises(ValueError, match="got 1 colors for 2 items"):
        vis.draw_bboxes(np.array([[0, 0, 5, 5], [1, 1, 6, 6]]), edge_colors=["r"])
    with pytest.raises(ValueError, match="unknown color 'rojo'"):
        vis.draw_bboxes(np.array([0, 0, 5, 5]), edge_colors="rojo")
    with pytest.raises(ValueError, match="RGB color values must lie in 0-255"):
        vis.draw_bboxes(np.array([0, 0, 5, 5]), edge_colors=(300, 0, 0))
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\], got 1.5"):
        vis.draw_bboxes(np.array([0, 0, 5, 5]), alpha=1.5)


def test_shapes_outside_warn_and_never_move_the_view():
    vis = canvas()
    with pytest.warns(UserWarning, match="outside the 60x40 image"):
        vis.draw_bboxes(np.array([50, 30, 500, 300]), edge_colors="r", alpha=1.0)
    drawn = vis.get_image()
    assert drawn.shape == (H, W, 3)
    assert drawn[30, 55].tolist() == [255, 0, 0]                  # the visible part, still at scale 1
    assert drawn[0, 0].tolist() == list(BG) and drawn[35, 40].tolist() == list(BG)


def test_binary_mask_tints_exactly_the_mask():
    vis = canvas()
    mask = np.zeros((H, W), bool)
    mask[8:20, 30:45] = True
    mask[25, 3] = True
    before = vis.get_image()
    vis.draw_binary_masks(mask, colors=(255, 0, 0), alphas=0.5)
    after = vis.get_image()
    np.testing.assert_array_equal(changed(before, after), mask)
    np.testing.assert_allclose(after[mask], np.tile([132.5, 30, 55], (mask.sum(), 1)), atol=1)
    # two masks, one color each (names work too); 0/1 integer masks are accepted
    masks = np.zeros((2, H, W), np.uint8)
    masks[0, :5, :5] = 1
    masks[1, -5:, -5:] = 1
    vis.set_image(background())
    vis.draw_binary_masks(masks, colors=["blue", (0, 255, 0)], alphas=[1.0, 1.0])
    drawn = vis.get_image()
    assert drawn[2, 2].tolist() == [0, 0, 255] and drawn[-2, -2].tolist() == [0, 255, 0]
    assert drawn[20, 30].tolist() == list(BG)


def test_mask_drawn_after_a_box_keeps_the_box_once():
    vis = canvas()
    vis.draw_bboxes(np.array([5, 5, 50, 35]), edge_colors="r")
    boxed = vis.get_image()
    mask = np.zeros((H, W), bool)
    mask[15:25, 20:30] = True
    vis.draw_binary_masks(mask)
    after = vis.get_image()
    np.testing.assert_array_equal(changed(boxed, after), mask)    # the box is not drawn a second time


def test_binary_mask_errors():
    vis = canvas()
    with pytest.raises(ValueError, match=r"\(N, H, W\) = \(N, 40, 60\) like the image, got \(1, 10, 10\)"):
        vis.draw_binary_masks(np.ones((1, 10, 10), bool))
    with pytest.raises(TypeError, match="binary_masks must be bool"):
        vis.draw_binary_masks(np.full((H, W), 0.5))
    with pytest.raises(ValueError, match="alphas must be a number in"):
        vis.draw_binary_masks(np.ones((H, W), bool), alphas=2.0)


def test_texts_change_pixels_near_their_position():
    vis = canvas()
    before = vis.get_image()
    vis.draw_texts("Hi", np.array([5, 5]), colors="white", font_sizes=12)
    diff = changed(before, vis.get_image())
    ys, xs = np.nonzero(diff)
    assert len(ys) > 10
    assert ys.min() >= 4 and xs.min() >= 4 and ys.max() < 5 + 20 and xs.max() < 5 + 25
    # several texts, each with its own color, anchored by alignment
    vis.set_image(background())
    vis.draw_texts(["a", "b"], torch.tensor([[10, 10], [50, 30]]), colors=["r", (0, 255, 0)],
                   horizontal_alignments="center", vertical_alignments=["center", "bottom"],
                   bboxes=dict(facecolor="black", pad=1))
    diff = changed(background(), vis.get_image())
    assert diff[5:15, 5:15].any() and diff[20:31, 45:55].any() and not diff[30:, :30].any()


def test_text_argument_errors():
    vis = canvas()
    with pytest.raises(ValueError, match=r"positions must have shape \(2, 2\) for 2 texts"):
        vis.draw_texts(["a", "b"], np.array([1, 1]))
    with pytest.raises(ValueError, match="vertical_alignments must be one of"):
        vis.draw_texts("a", np.array([1, 1]), vertical_alignments="middle")
    with pytest.raises(TypeError, match="texts must be a str or a list of str"):
        vis.draw_texts(3, np.array([1, 1]))


def test_points_lines_circles_polygons_land_where_asked():
    vis = canvas()
    vis.draw_points(np.array([[10, 10], [50, 30]]), colors=["r", "b"], sizes=30)
    drawn = vis.get_image()
    assert drawn[10, 10, 0] > 200 and drawn[30, 50, 2] > 200 and drawn[10, 10, 2] < 100

    vis.set_image(background())
    vis.draw_lines(np.array([0, 60]), np.array([20, 20]), colors=(255, 255, 255), line_widths=2)
    drawn = vis.get_image()
    assert (drawn[20, 5:55] == 255).all() and drawn[10, 30].tolist() == list(BG)

    vis.set_image(background())
    vis.draw_circles(np.array([30, 20]), np.array([10]), edge_colors="w", alpha=1.0)
    drawn = vis.get_image()
    assert drawn[20, 40].tolist() == [255, 255, 255] and drawn[10, 30].tolist() == [255, 255, 255]
    assert drawn[20, 30].tolist() == list(BG)                    # hollow by default

    vis.set_image(background())
    triangle = np.array([[5, 35], [25, 35], [15, 5]])
    vis.draw_polygons([triangle], edge_colors="w", face_colors=(0, 255, 0), alpha=1.0)
    drawn = vis.get_image()
    assert drawn[28, 15].tolist() == [0, 255, 0] and drawn[10, 50].tolist() == list(BG)


def test_line_circle_polygon_errors():
    vis = canvas()
    with pytest.raises(ValueError, match="x_datas and y_datas must have the same shape"):
        vis.draw_lines(np.array([0, 1]), np.array([[0, 1]]))
    with pytest.raises(ValueError, match="one radius per circle"):
        vis.draw_circles(np.array([[1, 1], [2, 2]]), np.array([1]))
    with pytest.raises(ValueError, match=r"polygon 1 has shape \(3,\)"):
        vis.draw_polygons([np.zeros((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match=r"positions must have shape \(N, 2\)"):
        vis.draw_points(np.zeros((2, 3)))


def test_colors_in_matplotlib_form():
    assert color_val_matplotlib("g") == "g"
    assert color_val_matplotlib((255, 0, 51)) == (1.0, 0.0, 0.2)
    assert color_val_matplotlib(["red", (0, 255, 0)]) == ["red", (0.0, 1.0, 0.0)]
    with pytest.raises(ValueError, match="RGB tuple of three 0-255 numbers"):
        color_val_matplotlib((1, 2))
    with pytest.raises(TypeError, match="or a list of those"):
        color_val_matplotlib(3)


def test_drawing_imports_matplotlib_only_when_drawing(tmp_path):
    code = ("import sys, numpy as np\n"
            "from loomcv.visualization import Visualizer\n"
            f"vis = Visualizer('lazy', vis_backends=[dict(type='LocalVisBackend')], save_dir={str(tmp_path)!r})\n"
            "vis.add_scalars({'loss': 1.0})\n"
            "print('matplotlib' in sys.modules)\n"
            "vis.set_image(np.zeros((4, 4, 3), np.uint8))\n"
            "print('matplotlib' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]
