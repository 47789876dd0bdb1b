"""MMDetection's detection transforms with boxes: Expand, MinIoURandomCrop, PhotoMetricDistortion,
YOLOXHSVRandomAug, PackDetInputs, LoadImageFromNDArray."""

import cv2
import numpy as np
import pytest
import torch

from loomcv.errors import ConfigError
from loomcv.structures import InstanceData
from loomcv.transforms import cache_random_params
from loomdet.registry import TRANSFORMS
from loomdet.structures import DetDataSample


def coord_image(h=60, w=80):
    """Every pixel unique: B = x, G = y, R = 7 (so a crop tells where it came from)."""
    ys, xs = np.mgrid[0:h, 0:w]
    return np.stack([xs, ys, np.full_like(xs, 7)], axis=-1).astype(np.uint8)


SMALL_BOXES = [[5, 5, 25, 20], [30, 10, 70, 50], [60, 40, 78, 58], [2, 30, 12, 55]]
ONE_BIG_BOX = [[10, 5, 72, 55]]


def results_with_boxes(h=60, w=80, boxes=SMALL_BOXES):
    boxes = np.array(boxes, np.float32)
    n = len(boxes)
    masks = np.zeros((n, h, w), np.uint8)
    for m, (x1, y1, x2, y2) in zip(masks, boxes.astype(int)):
        m[y1:y2, x1:x2] = 1
    return dict(img=coord_image(h, w), img_shape=(h, w), ori_shape=(h, w), gt_bboxes=boxes,
                gt_bboxes_labels=np.arange(n, dtype=np.int64),
                gt_ignore_flags=np.arange(n) == 2, gt_masks=masks)


def build(cfg):
    return TRANSFORMS.build(cfg)


# ---------------------------------------------------------------- Expand
@pytest.mark.parametrize("seed", range(5))
def test_expand_keeps_boxes_and_masks_on_the_same_pixels(seed):
    np.random.seed(seed)
    res = results_with_boxes()
    before = {k: v.copy() for k, v in res.items() if isinstance(v, np.ndarray)}
    out = build(dict(type="Expand", mean=(1, 2, 3), to_rgb=True, ratio_range=(1.5, 3), prob=1.0))(res)
    img = out["img"]
    h, w = img.shape[:2]
    assert out["img_shape"] == (h, w) and 1.5 * 60 - 1 <= h <= 3 * 60 and 1.5 * 80 - 1 <= w <= 3 * 80
    for old, new in zip(before["gt_bboxes"].astype(int), out["gt_bboxes"]):
        assert float(new[0]) == int(new[0])  # a whole-pixel shift
        x1, y1, x2, y2 = new.astype(int)
        ox1, oy1, ox2, oy2 = old
        np.testing.assert_array_equal(img[y1:y2, x1:x2], before["img"][oy1:oy2, ox1:ox2])
    left, top = (out["gt_bboxes"][0, :2] - before["gt_bboxes"][0, :2]).astype(int)
    np.testing.assert_array_equal(img[top:top + 60, left:left + 80], before["img"])
    outside = np.ones((h, w), bool)
    outside[top:top + 60, left:left + 80] = False
    assert (img[outside] == [3, 2, 1]).all()  # the RGB mean, reversed for a BGR image
    np.testing.assert_array_equal(out["gt_masks"][:, top:top + 60, left:left + 80], before["gt_masks"])
    assert out["gt_masks"].sum() == before["gt_masks"].sum()
    np.testing.assert_array_equal(out["gt_bboxes_labels"], before["gt_bboxes_labels"])


def test_expand_with_prob_zero_changes_nothing_and_bad_args_are_named():
    res = results_with_boxes()
    out = build(dict(type="Expand", prob=0.0))(dict(res))
    assert out["img"] is res["img"]
    with pytest.raises(ConfigError, match="Expand: ratio_range"):
        build(dict(type="Expand", ratio_range=(0.5, 2)))
    seg = dict(results_with_boxes(), gt_seg_map=np.zeros((60, 80), np.uint8))
    with pytest.raises(ConfigError, match="seg_ignore_label"):
        build(dict(type="Expand", prob=1.0))(seg)
    seg = dict(results_with_boxes(), gt_seg_map=np.zeros((60, 80), np.uint8))
    out = build(dict(type="Expand", prob=1.0, seg_ignore_label=255, ratio_range=(2, 2)))(seg)
    assert out["gt_seg_map"].shape == (120, 160) and (out["gt_seg_map"] == 255).sum() == 120 * 160 - 60 * 80


# ---------------------------------------------------------------- MinIoURandomCrop
def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("boxes, min_ious", [(SMALL_BOXES, (0.1, 0.3, 0.5)), (ONE_BIG_BOX, (0.5, 0.7))])
@pytest.mark.parametrize("seed", range(10))
def test_min_iou_random_crop_keeps_the_boxes_centred_in_the_crop_that_meets_the_iou(seed, boxes, min_ious):
    np.random.seed(seed)
    t = build(dict(type="MinIoURandomCrop", min_ious=min_ious, min_crop_size=0.3))
    res = results_with_boxes(boxes=boxes)
    before = {k: v.copy() for k, v in res.items() if isinstance(v, np.ndarray)}
    out = t(res)
    img = out["img"]
    if t.mode == 1:  # 'keep the image' was drawn
        np.testing.assert_array_equal(img, before["img"])
        return
    # where the crop came from: the coordinate image says it
    left, top = int(img[0, 0, 0]), int(img[0, 0, 1])
    ch, cw = img.shape[:2]
    np.testing.assert_array_equal(img, before["img"][top:top + ch, left:left + cw])
    patch = (left, top, left + cw, top + ch)
    assert out["img_shape"] == (ch, cw)
    assert all(iou(patch, b) >= t.mode for b in before["gt_bboxes"])
    cx = (before["gt_bboxes"][:, 0] + before["gt_bboxes"][:, 2]) / 2
    cy = (before["gt_bboxes"][:, 1] + before["gt_bboxes"][:, 3]) / 2
    inside = (cx > patch[0]) & (cx < patch[2]) & (cy > patch[1]) & (cy < patch[3])
    assert inside.any()
    np.testing.assert_array_equal(out["gt_bboxes_labels"], before["gt_bboxes_labels"][inside])
    np.testing.assert_array_equal(out["gt_ignore_flags"], before["gt_ignore_flags"][inside])
    expected = before["gt_bboxes"][inside] - np.array([left, top, left, top], np.float32)
    expected[:, 0::2] = expected[:, 0::2].clip(0, cw)
    expected[:, 1::2] = expected[:, 1::2].clip(0, ch)
    np.testing.assert_array_equal(out["gt_bboxes"], expected)
    np.testing.assert_array_equal(out["gt_masks"], before["gt_masks"][inside][:, top:top + ch, left:left + cw])


def test_the_seeds_above_crop_at_real_iou_thresholds():
    t = build(dict(type="MinIoURandomCrop", min_ious=(0.5, 0.7), min_crop_size=0.3))
    seen = set()
    for seed in range(10):
        np.random.seed(seed)
        t(results_with_boxes(boxes=ONE_BIG_BOX))
        seen.add(float(t.mode))
    assert {0.5, 0.7} & seen and 0.0 in seen and 1.0 in seen


def test_min_iou_random_crop_needs_boxes():
    with pytest.raises(KeyError, match="gt_bboxes"):
        build(dict(type="MinIoURandomCrop"))(dict(img=coord_image()))
    with pytest.raises(ConfigError, match="min_ious"):
        build(dict(type="MinIoURandomCrop", min_ious=(0.5, 2)))


# ---------------------------------------------------------------- photometric
def test_photometric_distortion_follows_its_draw_and_leaves_boxes():
    rng = np.random.RandomState(0)
    img = rng.randint(0, 256, (20, 30, 3)).astype(np.uint8)
    boxes = np.array([[1, 2, 10, 12]], np.float32)
    t = build(dict(type="PhotoMetricDistortion"))
    for seed in range(6):
        np.random.seed(seed)
        res = dict(img=img.copy(), gt_bboxes=boxes, gt_bboxes_labels=np.array([3]))
        with cache_random_params(t):
            (mode, b_flag, c_flag, s_flag, h_flag, swap_flag, delta, alpha, sat, hue, swap) = t._random_flags()
            out = t(res)
        expected = img.astype(np.float32)
        if b_flag:
            expected = expected + delta
        if mode == 1 and c_flag:
            expected = expected * alpha
        hsv = cv2.cvtColor(expected, cv2.COLOR_BGR2HSV)
        if s_flag:
            hsv[..., 1] *= sat
        if h_flag:
            hsv[..., 0] = (hsv[..., 0] + hue) % 360
        expected = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        if mode == 0 and c_flag:
            expected = expected * alpha
        if swap_flag:
            expected = expected[..., swap]
        assert out["img"].dtype == np.float32
        np.testing.assert_allclose(out["img"], expected, rtol=1e-5, atol=1e-3)
        assert out["gt_bboxes"] is boxes and out["gt_bboxes_labels"].tolist() == [3]


def test_photometric_distortion_changes_pixels_and_refuses_gray():
    np.random.seed(1)
    img = np.random.RandomState(1).randint(0, 256, (20, 30, 3)).astype(np.uint8)
    changed = [not np.allclose(build(dict(type="PhotoMetricDistortion"))(dict(img=img.copy()))["img"], img)
               for _ in range(5)]
    assert any(changed)
    with pytest.raises(ValueError, match="3-channel"):
        build(dict(type="PhotoMetricDistortion"))(dict(img=np.zeros((4, 4), np.uint8)))
    with pytest.raises(ConfigError, match="contrast_range"):
        build(dict(type="PhotoMetricDistortion", contrast_range=(2, 1)))


def test_yolox_hsv_aug_is_uint8_and_keeps_boxes():
    np.random.seed(0)
    img = np.random.RandomState(2).randint(0, 256, (16, 16, 3)).astype(np.uint8)
    boxes = np.array([[0, 0, 4, 4]], np.float32)
    out = build(dict(type="YOLOXHSVRandomAug"))(dict(img=img.copy(), gt_bboxes=boxes))
    assert out["img"].dtype == np.uint8 and out["img"].shape == img.shape and out["gt_bboxes"] is boxes
    t = build(dict(type="YOLOXHSVRandomAug", hue_delta=0, saturation_delta=0, value_delta=0))
    np.testing.assert_array_equal(t(dict(img=img.copy()))["img"],
                                  cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2HSV), cv2.COLOR_HSV2BGR))


# ---------------------------------------------------------------- PackDetInputs
def test_pack_det_inputs_types_shapes_and_the_ignored_split():
    res = results_with_boxes()
    res.update(img_id=3, img_path="x.png", scale_factor=(1.0, 1.0), flip=False, flip_direction=None,
               gt_seg_map=np.ones((60, 80), np.uint8))
    out = build(dict(type="PackDetInputs"))(res)
    assert set(out) == {"inputs", "data_samples"}
    inputs, sample = out["inputs"], out["data_samples"]
    assert inputs.shape == (3, 60, 80) and inputs.dtype == torch.uint8 and inputs.is_contiguous()
    assert torch.equal(inputs[:, 7, 9], torch.tensor([9, 7, 7], dtype=torch.uint8))
    assert isinstance(sample, DetDataSample)
    gt, ignored = sample.gt_instances, sample.ignored_instances
    assert isinstance(gt, InstanceData) and len(gt) == 3 and len(ignored) == 1
    assert gt.bboxes.dtype == torch.float32 and gt.bboxes.shape == (3, 4)
    assert gt.labels.dtype == torch.int64 and gt.labels.tolist() == [0, 1, 3]  # box 2 is ignored
    assert ignored.labels.tolist() == [2] and ignored.bboxes.tolist() == [[60, 40, 78, 58]]
    assert gt.masks.dtype == torch.bool and gt.masks.shape == (3, 60, 80)
    assert sample.gt_sem_seg.sem_seg.shape == (1, 60, 80)
    assert sample.metainfo == dict(img_id=3, img_path="x.png", ori_shape=(60, 80), img_shape=(60, 80),
                                   scale_factor=(1.0, 1.0), flip=False, flip_direction=None)


def test_pack_det_inputs_without_ignore_flags_gray_images_and_missing_meta_keys():
    res = dict(img=np.zeros((5, 6), np.uint8), gt_bboxes=np.zeros((0, 4), np.float32),
               gt_bboxes_labels=np.zeros(0, np.int64), img_id=0)
    out = build(dict(type="PackDetInputs", meta_keys=("img_id",)))(res)
    assert out["inputs"].shape == (1, 5, 6)
    assert out["data_samples"].gt_instances.bboxes.shape == (0, 4)
    assert "ignored_instances" in out["data_samples"] and len(out["data_samples"].ignored_instances) == 0
    with pytest.raises(KeyError, match=r"meta_keys \['flip', 'flip_direction'\].*RandomFlip"):
        build(dict(type="PackDetInputs", meta_keys=("img_id", "flip", "flip_direction")))(
            dict(img=np.zeros((5, 6, 3), np.uint8), img_id=0))
    bad = dict(img=np.zeros((5, 6, 3), np.uint8), gt_bboxes=np.zeros((2, 4), np.float32),
               gt_bboxes_labels=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="different lengths"):
        build(dict(type="PackDetInputs", meta_keys=()))(bad)


def test_load_image_from_ndarray_and_scope_lookup():
    img = np.zeros((7, 9, 3), np.uint8)
    out = TRANSFORMS.build(dict(type="mmdet.LoadImageFromNDArray"))(dict(img=img))
    assert out["img_path"] is None and out["img_shape"] == (7, 9) and out["ori_shape"] == (7, 9)
    with pytest.raises(TypeError, match="numpy array"):
        TRANSFORMS.build(dict(type="LoadImageFromNDArray"))(dict(img="x.png"))


# ---------------------------------------------------------------- RandomAffine
def test_random_affine_identity_keeps_image_and_boxes():
    res = results_with_boxes()
    res.pop("gt_masks")
    img, boxes = res["img"].copy(), res["gt_bboxes"].copy()
    t = build(dict(type="RandomAffine", max_rotate_degree=0, max_translate_ratio=0, scaling_ratio_range=(1, 1),
                   max_shear_degree=0))
    out = t(res)
    np.testing.assert_array_equal(out["img"], img)
    np.testing.assert_allclose(out["gt_bboxes"], boxes)


@pytest.mark.parametrize("seed", range(4))
def test_random_affine_boxes_follow_the_warped_pixels(seed):
    np.random.seed(seed)
    img = np.zeros((120, 160, 3), np.uint8)
    img[40:70, 50:110] = 255
    res = dict(img=img, gt_bboxes=np.array([[50, 40, 110, 70]], np.float32), gt_bboxes_labels=np.array([4]),
               gt_ignore_flags=np.array([False]))
    t = build(dict(type="RandomAffine", max_rotate_degree=15, scaling_ratio_range=(0.8, 1.2), border_val=(0, 0, 0)))
    out = t(res)
    ys, xs = np.nonzero(out["img"][..., 0] > 127)
    warped = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
    assert out["img_shape"] == (120, 160) and out["gt_bboxes_labels"].tolist() == [4]
    np.testing.assert_allclose(out["gt_bboxes"][0], warped, atol=2.0)


def test_random_affine_drops_boxes_that_leave_the_output_and_refuses_masks():
    res = results_with_boxes()
    res.pop("gt_masks")
    t = build(dict(type="RandomAffine", max_rotate_degree=0, max_translate_ratio=0, scaling_ratio_range=(1, 1),
                   max_shear_degree=0, border=(-10, -20)))  # output 40 x 40: the top-left corner
    out = t(res)
    assert out["img"].shape[:2] == (40, 40)
    # boxes starting right of x = 40 or below y = 40 are gone, with their labels and flags
    assert out["gt_bboxes_labels"].tolist() == [0, 1, 3] and out["gt_ignore_flags"].tolist() == [False] * 3
    np.testing.assert_array_equal(out["gt_bboxes"][1], [30, 10, 40, 40])
    with pytest.raises(NotImplementedError, match="boxes only"):
        t(results_with_boxes())
