"""LoadAnnotations on MMDetection-style ``instances``; polygons and RLE decoded without pycocotools,
checked against pycocotools."""

import warnings

import cv2
import numpy as np
import pytest

from loomcv.registry import TRANSFORMS
from loomcv.transforms.annotations import polygons_to_bitmap, rle_to_bitmap

try:  # the reference decoder; the comparisons skip without it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pycocotools.mask as coco_mask
except ImportError:  # pragma: no cover - pycocotools is installed with the test setup
    coco_mask = None
needs_coco = pytest.mark.skipif(coco_mask is None, reason="pycocotools is the reference to compare with")


def build(**cfg):
    return TRANSFORMS.build(cfg)


def random_polygon(rng, size):
    centre, radius, n = rng.uniform(8, size - 8, 2), rng.uniform(3, 10), rng.randint(3, 10)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * rng.uniform(0.5, 1, n)
    return list(np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], 1).ravel())


def test_polygon_pixels_are_those_whose_centre_is_inside():
    from matplotlib.path import Path
    rng = np.random.RandomState(2)
    ys, xs = np.mgrid[0:30, 0:40]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], 1)
    for _ in range(60):
        parts = [random_polygon(rng, 40)]
        if rng.rand() < 0.4:  # a second part, possibly self-intersecting and reaching out of the image
            parts.append(list(rng.uniform(-5, 45, 2 * rng.randint(3, 8))))
        expected = np.zeros(30 * 40, bool)
        for part in parts:
            expected |= Path(np.reshape(part, (-1, 2))).contains_points(centres)
        assert np.array_equal(polygons_to_bitmap(parts, 30, 40), expected.reshape(30, 40))


@needs_coco
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' numpy-2 copy= warning
def test_polygons_rasterize_like_pycocotools():
    rng = np.random.RandomState(0)
    ious = []
    for _ in range(30):
        parts = [random_polygon(rng, 48) for _ in range(rng.randint(1, 3))]
        ref = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects(parts, 40, 48)))
        ours = polygons_to_bitmap(parts, 40, 48)
        assert ours.shape == (40, 48) and ours.dtype == np.uint8
        assert (ref != ours).sum() <= 6  # a few boundary pixels (COCO rasterizes its own way)
        ious.append((ref & ours).sum() / max((ref | ours).sum(), 1))
    assert np.mean(ious) > 0.95
    box = polygons_to_bitmap([[2, 3, 10, 3, 10, 9, 2, 9]], 12, 12)  # pixel-edge corners: columns 2..9, rows 3..8
    assert box.sum() == 48 and box[3:9, 2:10].all()


@needs_coco
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rle_decodes_like_pycocotools():
    rng = np.random.RandomState(1)
    for _ in range(20):
        h, w = (int(v) for v in rng.randint(1, 30, 2))
        mask = (rng.rand(h, w) > rng.rand()).astype(np.uint8)
        rle = coco_mask.encode(np.asfortranarray(mask))
        assert np.array_equal(rle_to_bitmap(rle), mask)                                   # compressed, bytes
        assert np.array_equal(rle_to_bitmap(dict(size=[h, w], counts=rle["counts"].decode())), mask)
    uncompressed = dict(size=[2, 3], counts=[1, 2, 3])  # column-major: 0, then 1 1, then 0 0 0
    assert rle_to_bitmap(uncompressed).tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="RLE runs cover 5 pixels"):
        rle_to_bitmap(dict(size=[2, 3], counts=[1, 4]))


def uncompressed_rle(mask):
    """COCO's uncompressed RLE: alternating background/foreground run lengths, column-major."""
    flat = mask.T.ravel()
    changes = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.r_[0, changes, flat.size]).tolist()
    return dict(size=list(mask.shape), counts=([0] + runs) if flat[0] else runs)


def instances():
    rle = uncompressed_rle(np.pad(np.ones((4, 5), np.uint8), ((6, 10), (2, 13))))
    return [
        dict(bbox=[2, 3, 10, 9], bbox_label=1, ignore_flag=0, mask=[[2, 3, 10, 3, 10, 9, 2, 9]],
             keypoints=[[4, 5, 2], [8, 6, 1]]),
        dict(bbox=[2, 6, 7, 10], bbox_label=4, ignore_flag=1, mask=rle, keypoints=[[3, 7, 2], [6, 9, 0]]),
        dict(bbox=[0, 0, 3, 3], bbox_label=0, ignore_flag=0, mask=[[1, 1, 2]], keypoints=[[1, 1, 1], [2, 2, 1]]),
    ]


def test_load_annotations_reads_instances():
    results = dict(instances=instances(), ori_shape=(20, 20))
    out = build(type="LoadAnnotations", with_mask=True, with_keypoints=True)(results)
    assert out["gt_bboxes"].dtype == np.float32 and out["gt_bboxes"].shape == (3, 4)
    assert out["gt_bboxes_labels"].tolist() == [1, 4, 0] and out["gt_bboxes_labels"].dtype == np.int64
    # the third instance's only polygon has 3 numbers: unusable, so the instance is ignored (as MMDetection)
    assert out["gt_ignore_flags"].tolist() == [False, True, True]
    masks = out["gt_masks"]
    assert masks.shape == (3, 20, 20) and masks.dtype == np.uint8
    assert masks[0].sum() == 48 and masks[1].sum() == 20 and masks[1][6:10, 2:7].all() and not masks[2].any()
    assert out["gt_keypoints"].shape == (3, 2, 3) and out["gt_keypoints"][1, 1].tolist() == [6, 9, 0]
    polys = build(type="LoadAnnotations", with_mask=True, poly2mask=False)(dict(instances=instances(),
                                                                                  ori_shape=(20, 20)))
    assert isinstance(polys["gt_masks"], list) and polys["gt_masks"][0][0].tolist() == [2, 3, 10, 3, 10, 9, 2, 9]
    assert polys["gt_ignore_flags"].tolist() == [False, True, True]  # RLE cannot stay a polygon
    empty = build(type="LoadAnnotations", with_mask=True)(dict(instances=[], ori_shape=(5, 6)))
    assert empty["gt_bboxes"].shape == (0, 4) and empty["gt_masks"].shape == (0, 5, 6)


def test_load_annotations_seg_map_and_errors(tmp_path):
    seg = np.random.RandomState(0).randint(0, 5, (7, 9)).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "seg.png"), seg)
    out = build(type="LoadAnnotations", with_bbox=False, with_label=False, with_seg=True)(
        dict(seg_map_path=str(tmp_path / "seg.png")))
    assert np.array_equal(out["gt_seg_map"], seg) and "gt_bboxes" not in out
    with pytest.raises(KeyError, match=r"instances\[0\] has no 'bbox_label'"):
        build(type="LoadAnnotations")(dict(instances=[dict(bbox=[0, 0, 1, 1])]))
    with pytest.raises(KeyError, match="ori_shape"):
        build(type="LoadAnnotations", with_mask=True)(dict(instances=instances()))
    with pytest.raises(ValueError, match="imdecode_backend='cv3'"):
        build(type="LoadAnnotations", imdecode_backend="cv3")
    assert repr(build(type="LoadAnnotations", with_mask=True)).startswith(
        "LoadAnnotations(with_bbox=True, with_label=True, with_seg=False, with_keypoints=False")


def test_loaded_annotations_go_through_a_detection_pipeline(tmp_path):
    img = np.zeros((20, 20, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    from loomcv.transforms import Compose
    pipeline = Compose([dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_mask=True),
                        dict(type="Resize", scale=(40, 40)), dict(type="RandomFlip", prob=1.0),
                        dict(type="Pad", size_divisor=32)])
    out = pipeline(dict(img_path=str(tmp_path / "a.png"), instances=instances()))
    assert out["img"].shape == (64, 64, 3) and out["gt_masks"].shape == (3, 64, 64)
    assert out["gt_bboxes"][0].tolist() == [20, 6, 36, 18]          # x: 40 - 2 * (10, 2); y: 2 * (3, 9)
    assert out["gt_masks"][0][6:18, 20:36].all() and out["gt_masks"][0].sum() == 16 * 12
