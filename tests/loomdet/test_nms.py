"""NMS against a slow reference, per-class separation and the multiclass wrapper."""

import numpy as np
import pytest
import torch

from loomdet.models.layers import batched_nms, multiclass_nms, nms


def reference_nms(boxes, scores, iou_threshold, offset=0):
    """Textbook greedy NMS in plain Python: visit boxes by score (ties by index), keep one
    unless it overlaps an already kept box by more than the threshold."""
    boxes, scores = boxes.tolist(), scores.tolist()
    order = sorted(range(len(scores)), key=lambda i: -scores[i])

    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]) + offset)
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]) + offset)
        inter = w * h
        area_a = (a[2] - a[0] + offset) * (a[3] - a[1] + offset)
        area_b = (b[2] - b[0] + offset) * (b[3] - b[1] + offset)
        return inter / (area_a + area_b - inter)

    keep = []
    for i in order:
        if all(not iou(boxes[k], boxes[i]) > iou_threshold for k in keep):
            keep.append(i)
    return keep


def clustered_boxes(n, seed, low=0.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * 40 + low
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * 40 + 5
    return torch.cat([xy, xy + wh], 1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("iou_threshold", [0.3, 0.5, 0.7])
def test_matches_the_reference_on_random_boxes_with_ties(seed, iou_threshold):
    boxes = clustered_boxes(150, seed)
    g = torch.Generator().manual_seed(100 + seed)
    # Few distinct values, so many scores tie and the tie order matters.
    scores = torch.randint(0, 6, (150,), generator=g).double() / 5
    offset = seed % 2
    dets, keep = nms(boxes, scores, iou_threshold, offset=offset)
    assert keep.tolist() == reference_nms(boxes, scores, iou_threshold, offset)
    assert torch.equal(dets, torch.cat([boxes[keep], scores[keep, None]], 1))


def test_known_example_and_numpy_round_trip():
    boxes = np.array([[49.1, 32.4, 51.0, 35.9], [49.3, 32.9, 51.0, 35.3], [49.2, 31.8, 51.0, 35.4],
                      [35.1, 11.5, 39.1, 15.7], [35.6, 11.8, 39.3, 14.2], [35.3, 11.5, 39.9, 14.5],
                      [35.2, 11.7, 39.7, 15.7]], dtype=np.float32)
    scores = np.array([0.9, 0.9, 0.5, 0.5, 0.5, 0.4, 0.3], dtype=np.float32)
    dets, inds = nms(boxes, scores, 0.6)
    assert isinstance(dets, np.ndarray) and isinstance(inds, np.ndarray)
    # Box 0 (first of the tied 0.9s) swallows 1 and 2; in the second cluster box 3
    # keeps, 4 (IoU 0.53) survives, 5 and 6 overlap 3 by more than 0.6.
    assert inds.tolist() == [0, 3, 4]
    assert dets.shape == (3, 5)


def test_score_threshold_and_max_num():
    boxes = torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.], [40., 40., 50., 50.], [60., 60., 70., 70.]])
    scores = torch.tensor([0.9, 0.05, 0.5, 0.7])
    _, keep = nms(boxes, scores, 0.5, score_threshold=0.1)
    assert keep.tolist() == [0, 3, 2]  # indices into the unfiltered input
    _, keep = nms(boxes, scores, 0.5, max_num=2)
    assert keep.tolist() == [0, 3]
    _, keep = nms(boxes[:0], scores[:0], 0.5)
    assert keep.numel() == 0


def test_boxes_at_exactly_the_threshold_are_kept():
    # IoU of these two is exactly 0.5: only strictly higher overlaps suppress.
    boxes = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 5.]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0, 1]
    _, keep = nms(boxes, torch.tensor([0.9, 0.8]), 0.49)
    assert keep.tolist() == [0]


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        nms(torch.zeros(3, 5), torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="scores"):
        nms(torch.zeros(3, 4), torch.zeros(2), 0.5)
    with pytest.raises(ValueError, match="offset"):
        nms(torch.zeros(3, 4), torch.zeros(3), 0.5, offset=2)


def per_class_reference(boxes, scores, labels, iou_threshold):
    kept = []
    for c in labels.unique().tolist():
        idx = (labels == c).nonzero().view(-1)
        kept += [idx[i].item() for i in reference_nms(boxes[idx], scores[idx], iou_threshold)]
    return sorted(kept, key=lambda i: -scores[i].item())


@pytest.mark.parametrize("low", [0.0, -80.0])
@pytest.mark.parametrize("split_thr", [10000, 10])
def test_batched_nms_never_suppresses_across_classes(low, split_thr):
    boxes = clustered_boxes(120, seed=7, low=low)
    scores = torch.rand(120, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    labels = torch.randint(0, 4, (120,), generator=torch.Generator().manual_seed(9))
    dets, keep = batched_nms(boxes, scores, labels, dict(type="nms", iou_threshold=0.4, split_thr=split_thr))
    assert keep.tolist() == per_class_reference(boxes, scores, labels, 0.4)
    assert torch.equal(dets[:, :4], boxes[keep]) and torch.equal(dets[:, 4], scores[keep])


def test_identical_boxes_of_different_classes_all_survive():
    boxes = torch.tensor([[0., 0., 10., 10.]] * 3)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = batched_nms(boxes, scores, torch.tensor([0, 1, 2]), dict(iou_threshold=0.5))
    assert keep.tolist() == [0, 1, 2]
    _, keep = batched_nms(boxes, scores, torch.tensor([0, 1, 2]), dict(iou_threshold=0.5), class_agnostic=True)
    assert keep.tolist() == [0]
    _, keep = batched_nms(boxes, scores, torch.tensor([0, 1, 2]), dict(iou_threshold=0.5, class_agnostic=True))
    assert keep.tolist() == [0]


def test_batched_nms_config_variants():
    boxes = clustered_boxes(60, seed=10)
    scores = torch.rand(60, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    labels = torch.randint(0, 3, (60,), generator=torch.Generator().manual_seed(12))
    dets, keep = batched_nms(boxes, scores, labels, None)
    assert torch.equal(keep, scores.argsort(descending=True)) and dets.shape == (60, 5)
    _, full = batched_nms(boxes, scores, labels, dict(iou_threshold=0.5))
    _, capped = batched_nms(boxes, scores, labels, dict(iou_threshold=0.5, split_thr=5, max_num=4))
    assert capped.tolist() == full[:4].tolist()
    _, small = batched_nms(boxes, scores, labels, dict(iou_threshold=0.5, max_num=4))
    assert small.tolist() == full[:4].tolist()
    with pytest.warns(DeprecationWarning, match="iou_thr"):
        _, legacy = batched_nms(boxes, scores, labels, dict(iou_thr=0.5))
    assert torch.equal(legacy, full)
    with pytest.raises(ValueError, match="type must be one of"):
        batched_nms(boxes, scores, labels, dict(type="soft_nms_x", iou_threshold=0.5))
    dets, keep = batched_nms(boxes[:0], scores[:0], labels[:0], dict(iou_threshold=0.5))
    assert dets.shape == (0, 5) and keep.numel() == 0


def test_multiclass_nms_thresholds_scales_and_labels():
    bboxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]])
    # Columns: class 0, class 1, background.
    scores = torch.tensor([[0.9, 0.6, 0.1], [0.8, 0.05, 0.1], [0.2, 0.7, 0.1]])
    dets, labels, inds = multiclass_nms(bboxes, scores, 0.3, dict(type="nms", iou_threshold=0.5), return_inds=True)
    # Box 1 loses class 0 to box 0; box 2's class 0 score is below 0.3.
    assert labels.tolist() == [0, 1, 1]
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.7, 0.6])
    assert inds.tolist() == [0 * 2 + 0, 2 * 2 + 1, 0 * 2 + 1]  # flat index: box * num_classes + class
    dets, labels = multiclass_nms(bboxes, scores, 0.3, dict(iou_threshold=0.5), max_num=2)
    assert dets.shape == (2, 5)
    # Factors apply after thresholding: box 0's class-1 score survives as 0.6 * 0.1,
    # and its class-0 score (now 0.09) loses to box 1 (0.8, IoU 81 / 119).
    dets, labels = multiclass_nms(bboxes, scores, 0.3, dict(iou_threshold=0.5),
                                  score_factors=torch.tensor([0.1, 1.0, 1.0]))
    assert dets[:, 4].tolist() == pytest.approx([0.8, 0.7, 0.06])
    assert labels.tolist() == [0, 1, 1]
    dets, labels = multiclass_nms(bboxes, scores, 0.95, dict(iou_threshold=0.5))
    assert dets.shape == (0, 5) and labels.shape == (0,)


def test_multiclass_nms_with_a_box_per_class():
    per_class = torch.tensor([[0., 0., 10., 10., 100., 100., 110., 110.],
                              [0., 0., 10., 10., 0., 0., 10., 10.]])
    scores = torch.tensor([[0.9, 0.8, 0.0], [0.7, 0.6, 0.0]])
    dets, labels = multiclass_nms(per_class, scores, 0.1, dict(iou_threshold=0.5))
    # Class 0: both boxes are the same square, one survives. Class 1: they are far apart.
    assert labels.tolist() == [0, 1, 1]
    assert dets[:, :4].tolist() == [[0., 0., 10., 10.], [100., 100., 110., 110.], [0., 0., 10., 10.]]
