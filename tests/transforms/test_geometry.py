"""Property tests: geometric transforms keep the image, boxes, masks, maps and keypoints aligned.

Every sample is random (seeded): boxes with integer corners, a bitmap mask drawn
from each box, a label map, keypoints inside the boxes, and an image whose
channel 0 is bright exactly where some mask is.
"""

import numpy as np
import pytest

from loomcv.registry import TRANSFORMS
from loomcv.transforms import Compose
from loomcv.transforms.annotations import masks_to_bboxes, polygons_to_bitmaps

SEEDS = range(12)


def build(**cfg):
    return TRANSFORMS.build(cfg)


def sample(seed, h=None, w=None, n=None, polygons=False):
    rng = np.random.RandomState(seed)
    h = h or int(rng.randint(20, 60))
    w = w or int(rng.randint(20, 60))
    n = int(rng.randint(1, 6)) if n is None else n
    x1 = rng.randint(0, w - 4, n)
    y1 = rng.randint(0, h - 4, n)
    x2 = np.minimum(x1 + rng.randint(3, 20, n), w)
    y2 = np.minimum(y1 + rng.randint(3, 20, n), h)
    boxes = np.stack([x1, y1, x2, y2], 1).astype(np.float32)
    masks = np.zeros((n, h, w), np.uint8)
    for i, (a, b, c, d) in enumerate(boxes.astype(int)):
        masks[i, b:d, a:c] = 1
    img = rng.randint(0, 100, (h, w, 3)).astype(np.uint8)
    img[..., 0] = np.where(masks.any(0), 255, 0)
    kx = rng.uniform(boxes[:, :1], boxes[:, 2:3], (n, 4))
    ky = rng.uniform(boxes[:, 1:2], boxes[:, 3:4], (n, 4))
    keypoints = np.stack([kx, ky, np.full((n, 4), 2.0)], -1).astype(np.float32)
    results = dict(img=img, img_shape=(h, w), ori_shape=(h, w), gt_bboxes=boxes,
                   gt_bboxes_labels=np.arange(n, dtype=np.int64), gt_ignore_flags=rng.rand(n) < 0.3,
                   gt_masks=masks, gt_seg_map=rng.randint(0, 6, (h, w)).astype(np.uint8), gt_keypoints=keypoints,
                   flip_indices=[1, 0, 3, 2])
    if polygons:
        results["gt_masks"] = [[np.array([a, b, c, b, c, d, a, d], np.float32)] for a, b, c, d in boxes]
    return results


def copy(results):
    return {k: (v.copy() if isinstance(v, np.ndarray) else list(v) if isinstance(v, list) else v)
            for k, v in results.items()}


def assert_aligned(out, tol=1.0):
    """Each mask's tight box is its box (within ``tol``); bright image pixels cover the masks' interiors."""
    masks, boxes = out["gt_masks"], out["gt_bboxes"]
    h, w = out["img"].shape[:2]
    assert masks.shape[1:] == (h, w) and tuple(out["img_shape"]) == (h, w)
    if out.get("gt_seg_map") is not None:
        assert out["gt_seg_map"].shape == (h, w)
    for mask, box in zip(masks, boxes):
        if mask.any():
            assert np.abs(masks_to_bboxes(mask[None], (h, w))[0] - box).max() <= tol + 1e-4
        inner = np.zeros_like(mask)
        x1, y1, x2, y2 = np.round(box).astype(int)
        inner[y1 + 1:y2 - 1, x1 + 1:x2 - 1] = 1
        assert mask[inner.astype(bool)].all(), "the mask must cover the box's interior"
        assert (out["img"][..., 0][inner.astype(bool)] > 128).all(), "the image must stay under its boxes"


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_flip_twice_is_identity_for_every_annotation(direction):
    flip = build(type="RandomFlip", prob=1.0, direction=direction, swap_seg_labels=[(1, 2), (3, 5)])
    for seed in SEEDS:
        for polygons in (False, True):
            original = sample(seed, polygons=polygons)
            once = flip(copy(original))
            assert once["flip"] and once["flip_direction"] == direction
            twice = flip(copy(once))
            assert np.array_equal(twice["img"], original["img"])
            assert np.allclose(twice["gt_bboxes"], original["gt_bboxes"])
            assert np.allclose(twice["gt_keypoints"], original["gt_keypoints"])
            assert np.array_equal(twice["gt_seg_map"], original["gt_seg_map"])
            assert np.allclose(twice["homography_matrix"], np.eye(3))
            if polygons:
                for a, b in zip(twice["gt_masks"], original["gt_masks"]):
                    assert np.allclose(a[0], b[0])
            else:
                assert np.array_equal(twice["gt_masks"], original["gt_masks"])
                assert_aligned(once, tol=0)


def test_flip_moves_each_annotation_where_the_pixels_go():
    r = sample(3)
    h, w = r["img"].shape[:2]
    out = build(type="RandomFlip", prob=1.0)(copy(r))
    assert np.array_equal(out["gt_masks"], r["gt_masks"][:, :, ::-1])
    assert np.array_equal(out["gt_bboxes"][:, [0, 2]], w - r["gt_bboxes"][:, [2, 0]])
    # flip_indices swaps left/right twins on a mirror ...
    assert np.allclose(out["gt_keypoints"][:, 0, 0], w - r["gt_keypoints"][:, 1, 0])
    # ... but a diagonal flip is a rotation: no swap
    diag = build(type="RandomFlip", prob=1.0, direction="diagonal")(copy(r))
    assert np.allclose(diag["gt_keypoints"][:, 0, 1], h - r["gt_keypoints"][:, 0, 1])
    swapped = build(type="RandomFlip", prob=1.0, swap_seg_labels=[(1, 2)])(copy(r))["gt_seg_map"]
    flipped = r["gt_seg_map"][:, ::-1]
    assert (swapped[flipped == 1] == 2).all() and (swapped[flipped == 2] == 1).all()
    assert np.array_equal(swapped[flipped > 2], flipped[flipped > 2])


@pytest.mark.parametrize("keep_ratio", [False, True])
def test_resize_then_inverse_recovers_boxes_within_a_pixel(keep_ratio):
    for seed in SEEDS:
        r = sample(seed)
        h, w = r["img"].shape[:2]
        rng = np.random.RandomState(100 + seed)
        target = (int(rng.randint(10, 120)), int(rng.randint(10, 120)))
        out = build(type="Resize", scale=target, keep_ratio=keep_ratio)(copy(r))
        nh, nw = out["img"].shape[:2]
        assert out["img_shape"] == (nh, nw) and out["scale_factor"] == (nw / w, nh / h)
        if keep_ratio:
            assert nw <= max(target) and nh <= max(target) and min(nw, nh) <= min(target)
        else:
            assert (nw, nh) == target
        assert out["gt_masks"].shape == (len(r["gt_bboxes"]), nh, nw) and out["gt_seg_map"].shape == (nh, nw)
        assert set(np.unique(out["gt_seg_map"])) <= set(np.unique(r["gt_seg_map"]))
        back = build(type="Resize", scale=(w, h))(copy(out))
        assert back["img"].shape[:2] == (h, w)
        assert np.abs(back["gt_bboxes"] - r["gt_bboxes"]).max() <= 1.0
        assert np.abs(back["gt_keypoints"][..., :2] - r["gt_keypoints"][..., :2]).max() <= 1.0
        assert np.allclose(back["homography_matrix"], np.eye(3), atol=1e-5)
        if min(nh, nw) >= 2 * max(h, w) / min(h, w):  # not shrunk to a few pixels: alignment within a pixel
            assert_aligned(out, tol=1.0)


def test_resize_by_factor_clip_and_sizes():
    r = sample(5, h=30, w=40)
    out = build(type="Resize", scale_factor=1.5)(copy(r))
    assert out["img_shape"] == (45, 60) and out["scale"] == (60, 45)
    assert np.allclose(out["gt_bboxes"], r["gt_bboxes"] * 1.5)
    wide = dict(img=np.zeros((10, 20, 3), np.uint8), gt_bboxes=np.array([[-5, 2, 25, 8]], np.float32),
                gt_keypoints=np.array([[[30, 4, 1]]], np.float32))
    clipped = build(type="Resize", scale=(40, 20))(dict(wide))
    assert clipped["gt_bboxes"].tolist() == [[0, 4, 40, 16]] and clipped["gt_keypoints"][0, 0, 0] == 40
    kept = build(type="Resize", scale=(40, 20), clip_object_border=False)(dict(wide))
    assert kept["gt_bboxes"].tolist() == [[-10, 4, 50, 16]]


def test_resize_family_works_on_whatever_keys_are_present():
    no_image = dict(img_shape=(30, 40), gt_bboxes=np.array([[4, 6, 20, 16]], np.float32),
                    gt_seg_map=np.zeros((30, 40), np.uint8))
    out = build(type="RandomResize", scale=(80, 60), ratio_range=(1.0, 1.0))(dict(no_image))
    assert out["img_shape"] == (60, 80) and out["gt_seg_map"].shape == (60, 80) and "img" not in out
    assert out["gt_bboxes"].tolist() == [[8, 12, 40, 32]]
    only_map = dict(gt_seg_map=np.ones((30, 40), np.uint8))
    assert build(type="Resize", scale=(20, 15))(only_map)["gt_seg_map"].shape == (15, 20)
    with pytest.raises(KeyError, match="img_shape"):
        build(type="Resize", scale=(20, 15))(dict(gt_bboxes=np.zeros((0, 4), np.float32)))
    np.random.seed(0)
    choice = build(type="RandomChoiceResize", scales=[(20, 10), (40, 30)], keep_ratio=False)
    seen = {}
    for _ in range(20):
        out = choice(sample(1, h=30, w=40))
        seen[out["scale_idx"]] = out["img_shape"]
        assert_aligned(out, tol=1.0)
    assert seen == {0: (10, 20), 1: (30, 40)}
    assert build(type="RandomChoiceResize", scales=(24, 18))(sample(1))["img_shape"] == (18, 24)


def test_pad_keeps_boxes_and_extends_maps_with_seg_pad_val():
    for seed in SEEDS:
        r = sample(seed)
        h, w = r["img"].shape[:2]
        out = build(type="Pad", size_divisor=16, pad_val=dict(img=7, seg=200, masks=0))(copy(r))
        ph, pw = out["img"].shape[:2]
        assert ph % 16 == 0 and pw % 16 == 0 and ph - h < 16 and pw - w < 16
        assert out["pad_shape"] == out["img"].shape and out["img_shape"] == (ph, pw)
        assert np.array_equal(out["gt_bboxes"], r["gt_bboxes"])
        assert np.array_equal(out["gt_keypoints"], r["gt_keypoints"])
        assert np.array_equal(out["gt_seg_map"][:h, :w], r["gt_seg_map"])
        assert (out["gt_seg_map"][h:] == 200).all() and (out["gt_seg_map"][:, w:] == 200).all()
        assert np.array_equal(out["gt_masks"][:, :h, :w], r["gt_masks"]) and not out["gt_masks"][:, h:].any()
        assert (out["img"][h:] == 7).all() and np.array_equal(out["img"][:h, :w], r["img"])
        assert_aligned(out, tol=0)
    square = build(type="Pad", pad_to_square=True, pad_val=3)(sample(0, h=20, w=36))
    assert square["img_shape"] == (36, 36) and (square["gt_seg_map"][20:] == 255).all()


def _expected_keep(boxes, x1, y1, x2, y2):
    iw = np.minimum(boxes[:, 2], x2) - np.maximum(boxes[:, 0], x1)
    ih = np.minimum(boxes[:, 3], y2) - np.maximum(boxes[:, 1], y1)
    return (iw > 0) & (ih > 0)


@pytest.mark.parametrize("crop_type,crop_size", [("absolute", (24, 18)), ("absolute_range", (10, 30)),
                                                 ("relative", (0.5, 0.7)), ("relative_range", (0.3, 0.4))])
def test_crop_keeps_exactly_the_boxes_with_area_inside(crop_type, crop_size):
    crop = build(type="RandomCrop", crop_size=crop_size, crop_type=crop_type, allow_negative_crop=True)
    for seed in SEEDS:
        np.random.seed(seed)
        r = sample(seed)
        out = crop(copy(r))
        x1, y1 = -out["homography_matrix"][:2, 2].astype(int)
        h, w = out["img"].shape[:2]
        assert np.array_equal(out["img"], r["img"][y1:y1 + h, x1:x1 + w])
        keep = _expected_keep(r["gt_bboxes"], x1, y1, x1 + w, y1 + h)
        assert out["gt_bboxes_labels"].tolist() == np.nonzero(keep)[0].tolist()
        assert np.array_equal(out["gt_ignore_flags"], r["gt_ignore_flags"][keep])
        assert np.array_equal(out["gt_masks"], r["gt_masks"][keep][:, y1:y1 + h, x1:x1 + w])
        moved = r["gt_bboxes"][keep] - [x1, y1, x1, y1]
        assert np.allclose(out["gt_bboxes"], np.clip(moved, 0, [w, h, w, h]))
        kps = r["gt_keypoints"][keep]
        inside = ((kps[..., 0] >= x1) & (kps[..., 0] < x1 + w) & (kps[..., 1] >= y1) & (kps[..., 1] < y1 + h))
        assert np.array_equal(out["gt_keypoints"][..., 2] > 0, inside)
        assert np.allclose(out["gt_keypoints"][inside][:, :2], kps[inside][:, :2] - [x1, y1])
        assert np.array_equal(out["gt_seg_map"], r["gt_seg_map"][y1:y1 + h, x1:x1 + w])
        assert_aligned(out, tol=0)


def test_crop_options():
    r = sample(2, h=40, w=40, n=1)
    r["gt_bboxes"] = np.array([[30, 30, 38, 38]], np.float32)
    np.random.seed(0)
    crop = build(type="RandomCrop", crop_size=(10, 10))
    results = [crop(copy(r)) for _ in range(30)]
    assert any(o is None for o in results), "a crop missing every box drops the sample"
    assert all(o is None or len(o["gt_bboxes"]) == 1 for o in results)
    unclipped = build(type="RandomCrop", crop_size=(36, 36), bbox_clip_border=False)
    np.random.seed(1)
    out = unclipped(copy(r))
    x1, y1 = -out["homography_matrix"][:2, 2]
    assert np.allclose(out["gt_bboxes"], r["gt_bboxes"] - [x1, y1, x1, y1])
    # recompute_bbox: boxes from the cropped masks (here a mask smaller than its box)
    r = sample(2, h=40, w=40, n=1)
    r["gt_masks"][:] = 0
    r["gt_masks"][0, 12:15, 5:9] = 1
    r["gt_bboxes"] = np.array([[2, 10, 20, 20]], np.float32)
    out = build(type="RandomCrop", crop_size=(40, 40), recompute_bbox=True)(copy(r))
    assert out["gt_bboxes"].tolist() == [[5, 12, 9, 15]]
    big = build(type="RandomCrop", crop_size=(100, 100))(copy(r))
    assert big["img"].shape[:2] == (40, 40)
    with pytest.raises(ValueError, match="crop_type='relativ'"):
        build(type="RandomCrop", crop_size=(0.5, 0.5), crop_type="relativ")
    with pytest.raises(ValueError, match="fractions in"):
        build(type="RandomCrop", crop_size=(0.5, 2), crop_type="relative")
    with pytest.raises(ValueError, match="min <= max"):
        build(type="RandomCrop", crop_size=(30, 10), crop_type="absolute_range")


def test_center_crop_moves_annotations_and_drops_emptied_boxes():
    r = sample(4, h=40, w=50, n=3)
    r["gt_bboxes"] = np.array([[0, 0, 6, 6], [10, 10, 30, 30], [44, 2, 50, 8]], np.float32)
    r["gt_masks"] = np.zeros((3, 40, 50), np.uint8)
    for i, (a, b, c, d) in enumerate(r["gt_bboxes"].astype(int)):
        r["gt_masks"][i, b:d, a:c] = 1
    out = build(type="CenterCrop", crop_size=(30, 20))(copy(r))  # window x 10..40, y 10..30
    assert out["img_shape"] == (20, 30) and out["pad_shape"] == (20, 30)
    assert out["gt_bboxes"].tolist() == [[0, 0, 20, 20]] and out["gt_bboxes_labels"].tolist() == [1]
    assert out["gt_masks"].shape == (1, 20, 30) and out["gt_masks"][0].sum() == 400
    assert out["gt_keypoints"].shape[0] == 1


def test_polygon_masks_follow_the_same_geometry_as_bitmaps():
    pipeline = [dict(type="Resize", scale=(64, 48)), dict(type="RandomFlip", prob=1.0),
                dict(type="RandomCrop", crop_size=(40, 30), allow_negative_crop=True), dict(type="Pad", size=(48, 32))]
    for seed in SEEDS:
        np.random.seed(seed)
        poly = Compose(pipeline)(sample(seed, polygons=True))
        np.random.seed(seed)
        bitmap = Compose(pipeline)(sample(seed))
        assert len(poly["gt_masks"]) == len(bitmap["gt_masks"])
        drawn = polygons_to_bitmaps(poly["gt_masks"], *bitmap["img"].shape[:2])
        assert (drawn != bitmap["gt_masks"]).sum() <= 2 * bitmap["gt_masks"].shape[1] * max(len(drawn), 1) + 1
        for mask, box in zip(drawn, bitmap["gt_bboxes"]):
            if mask.any():
                assert np.abs(masks_to_bboxes(mask[None], mask.shape)[0] - box).max() <= 1.0


def test_a_detection_pipeline_keeps_everything_aligned_and_homography_maps_boxes():
    pipeline = Compose([
        dict(type="RandomResize", scale=(80, 60), ratio_range=(0.8, 1.25), keep_ratio=True),
        dict(type="RandomFlip", prob=0.5, direction=["horizontal", "vertical"]),
        dict(type="RandomCrop", crop_size=(0.6, 0.6), crop_type="relative_range", allow_negative_crop=True,
             bbox_clip_border=False),
    ])
    pad = build(type="Pad", size_divisor=8)
    for seed in SEEDS:
        np.random.seed(seed)
        r = sample(seed)
        out = pipeline(copy(r))
        kept = out["gt_bboxes_labels"]
        assert np.array_equal(out["gt_ignore_flags"], r["gt_ignore_flags"][kept])
        corners = np.concatenate([r["gt_bboxes"][kept][:, :2], r["gt_bboxes"][kept][:, 2:]])
        mapped = (out["homography_matrix"] @ np.c_[corners, np.ones(len(corners))].T).T[:, :2]
        n = len(kept)
        expect = np.c_[np.minimum(mapped[:n], mapped[n:]), np.maximum(mapped[:n], mapped[n:])]
        assert np.allclose(out["gt_bboxes"], expect, atol=1e-3)
        out["gt_bboxes"] = np.clip(out["gt_bboxes"], 0, [*out["img_shape"][::-1]] * 2)
        assert_aligned(out, tol=1.0)
        padded = pad(copy(out))
        assert np.array_equal(padded["gt_bboxes"], out["gt_bboxes"]) and padded["img_shape"][0] % 8 == 0
        assert_aligned(padded, tol=1.0)


def test_argument_errors_name_the_class_and_the_valid_values():
    with pytest.raises(ValueError, match="RandomFlip: direction must be one of"):
        build(type="RandomFlip", prob=0.1, direction=1)  # the MMCV RandomFlip(0.1, 1) mistake
    with pytest.raises(ValueError, match="RandomFlip: swap_seg_labels"):
        build(type="RandomFlip", prob=0.5, swap_seg_labels=[1, 2])
    with pytest.raises(ValueError, match="Pad: pad_val key must be one of"):
        build(type="Pad", size=(4, 4), pad_val=dict(image=0))
    with pytest.raises(ValueError, match="RandomResize: the scale is drawn"):
        build(type="RandomResize", scale=(10, 10), ratio_range=(1, 2), scale_factor=2.0)
    bad = sample(0, n=3)
    bad["gt_bboxes_labels"] = bad["gt_bboxes_labels"][:2]
    with pytest.raises(ValueError, match="gt_bboxes_labels has 2 entries for 3 boxes"):
        build(type="RandomCrop", crop_size=(10, 10))(bad)
    with pytest.raises(ValueError, match="gt_bboxes must be an \\(N, 4\\)"):
        build(type="RandomFlip", prob=1.0)(dict(img=np.zeros((4, 4, 3), np.uint8), gt_bboxes=np.zeros((2, 5))))
