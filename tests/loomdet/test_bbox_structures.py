"""Box overlaps and box conversions on hand-checked boxes and random ones."""

import types

import pytest
import torch

from loomdet.structures.bbox import (bbox2distance, bbox2roi, bbox_cxcywh_to_xyxy, bbox_flip, bbox_mapping,
                                     bbox_mapping_back, bbox_overlaps, bbox_rescale, bbox_xyxy_to_cxcywh,
                                     distance2bbox, empty_box_as, find_inside_bboxes, get_box_tensor, roi2bbox,
                                     scale_boxes)


def random_boxes(n, scale=100.0, seed=0, batch=()):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(*batch, n, 2, generator=g) * scale
    wh = torch.rand(*batch, n, 2, generator=g) * scale / 2 + 1
    return torch.cat([xy, xy + wh], -1)


A = torch.tensor([[0., 0., 10., 10.]])
B = torch.tensor([[5., 5., 15., 15.]])
C = torch.tensor([[20., 20., 30., 30.]])


def test_iou_iof_giou_of_known_boxes():
    # A and B share a 5x5 square: 25 / (100 + 100 - 25).
    assert bbox_overlaps(A, B).item() == pytest.approx(25 / 175)
    assert bbox_overlaps(A, B, mode="iof").item() == pytest.approx(25 / 100)
    # Enclosing box of A and B is 15x15 = 225.
    assert bbox_overlaps(A, B, mode="giou").item() == pytest.approx(25 / 175 - (225 - 175) / 225)
    # Disjoint boxes: IoU 0, GIoU -(900 - 200) / 900.
    assert bbox_overlaps(A, C).item() == 0
    assert bbox_overlaps(A, C, mode="giou").item() == pytest.approx(-700 / 900)
    assert bbox_overlaps(A, A).item() == pytest.approx(1.0)


def test_pairwise_matrix_matches_hand_values():
    bboxes1 = torch.tensor([[0., 0., 10., 10.], [10., 10., 20., 20.], [32., 32., 38., 42.]])
    bboxes2 = torch.tensor([[0., 0., 10., 20.], [0., 10., 10., 19.], [10., 10., 20., 20.]])
    expected = torch.tensor([[0.5, 0., 0.], [0., 0., 1.], [0., 0., 0.]])
    assert torch.allclose(bbox_overlaps(bboxes1, bboxes2), expected)
    assert torch.allclose(bbox_overlaps(bboxes1, bboxes2, is_aligned=True), torch.tensor([0.5, 0., 0.]))


@pytest.mark.parametrize("mode", ["iou", "iof", "giou"])
def test_aligned_is_the_diagonal_and_batches_are_independent(mode):
    b1, b2 = random_boxes(6, seed=1, batch=(2, 3)), random_boxes(6, seed=2, batch=(2, 3))
    full = bbox_overlaps(b1, b2, mode=mode)
    assert full.shape == (2, 3, 6, 6)
    assert torch.allclose(bbox_overlaps(b1, b2, mode=mode, is_aligned=True), full.diagonal(dim1=-2, dim2=-1))
    assert torch.allclose(full[1, 2], bbox_overlaps(b1[1, 2], b2[1, 2], mode=mode))


def test_giou_never_exceeds_iou_and_stays_in_range():
    b1, b2 = random_boxes(40, seed=3), random_boxes(30, seed=4)
    iou, giou = bbox_overlaps(b1, b2), bbox_overlaps(b1, b2, mode="giou")
    assert (giou <= iou + 1e-6).all()
    assert (giou >= -1).all() and (iou >= 0).all() and (iou <= 1).all()
    assert torch.allclose(iou, bbox_overlaps(b2, b1).T)


def test_empty_inputs_give_empty_outputs():
    empty, one = torch.empty(0, 4), torch.tensor([[0., 0., 10., 9.]])
    assert bbox_overlaps(empty, one).shape == (0, 1)
    assert bbox_overlaps(one, empty).shape == (1, 0)
    assert bbox_overlaps(empty, empty, is_aligned=True).shape == (0,)


def test_degenerate_boxes_do_not_produce_nan():
    point = torch.tensor([[5., 5., 5., 5.]])
    assert bbox_overlaps(point, point).item() == 0
    assert not torch.isnan(bbox_overlaps(point, point, mode="giou")).any()


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match="mode must be one of"):
        bbox_overlaps(A, B, mode="dice")
    with pytest.raises(ValueError, match="is_aligned"):
        bbox_overlaps(random_boxes(3), random_boxes(2), is_aligned=True)
    with pytest.raises(ValueError, match="bboxes2"):
        bbox_overlaps(A, torch.ones(2, 3))


def test_center_size_round_trip():
    boxes = random_boxes(10, seed=5)
    cxcywh = bbox_xyxy_to_cxcywh(boxes)
    assert torch.allclose(cxcywh[0], torch.stack([(boxes[0, 0] + boxes[0, 2]) / 2, (boxes[0, 1] + boxes[0, 3]) / 2,
                                                  boxes[0, 2] - boxes[0, 0], boxes[0, 3] - boxes[0, 1]]))
    assert torch.allclose(bbox_cxcywh_to_xyxy(cxcywh), boxes, atol=1e-5)


def test_flip_directions_on_a_known_box():
    box = torch.tensor([[1., 2., 5., 8.]])
    shape = (20, 30)  # h, w
    assert bbox_flip(box, shape, "horizontal").tolist() == [[25., 2., 29., 8.]]
    assert bbox_flip(box, shape, "vertical").tolist() == [[1., 12., 5., 18.]]
    assert bbox_flip(box, shape, "diagonal").tolist() == [[25., 12., 29., 18.]]
    assert torch.equal(bbox_flip(bbox_flip(box, shape), shape), box)
    with pytest.raises(ValueError, match="direction"):
        bbox_flip(box, shape, "sideways")


def test_mapping_back_inverts_mapping():
    boxes = random_boxes(5, seed=6)
    mapped = bbox_mapping(boxes, (300, 400), 1.5, flip=True)
    assert torch.allclose(bbox_mapping_back(mapped, (300, 400), 1.5, flip=True), boxes, atol=1e-4)


def test_rois_carry_the_image_index():
    rois = bbox2roi([torch.tensor([[0., 0., 1., 1.]]), torch.tensor([[2., 2., 3., 3.], [4., 4., 5., 5.]])])
    assert rois[:, 0].tolist() == [0., 1., 1.]
    back = roi2bbox(rois)
    assert [b.shape[0] for b in back] == [1, 2]
    assert bbox_rescale(rois, 2.0)[1].tolist() == [1., 1.5, 1.5, 3.5, 3.5]


def test_distances_round_trip_and_clip():
    points = torch.tensor([[5., 5.], [20., 10.]])
    boxes = torch.tensor([[0., 1., 8., 9.], [12., 4., 30., 14.]])
    dists = bbox2distance(points, boxes)
    assert dists[0].tolist() == [5., 4., 3., 4.]
    assert torch.equal(distance2bbox(points, dists), boxes)
    assert distance2bbox(points, dists, max_shape=(12, 25))[1].tolist() == [12., 4., 25., 12.]
    assert bbox2distance(points, boxes, max_dis=4.0)[0].tolist() == pytest.approx([3.9, 3.9, 3., 3.9])
    # One (h, w) per image for batched points.
    batched = distance2bbox(points.expand(2, 2, 2), dists.expand(2, 2, 4), max_shape=[(12, 25), (100, 100)])
    assert batched[0, 1].tolist() == [12., 4., 25., 12.]
    assert torch.equal(batched[1], boxes)


def test_scale_inside_and_box_list_helpers():
    boxes = torch.tensor([[1., 2., 3., 4.]])
    assert scale_boxes(boxes, (2., 3.)).tolist() == [[2., 6., 6., 12.]]
    inside = find_inside_bboxes(torch.tensor([[-5., -5., -1., -1.], [-5., -5., 1., 1.], [9., 9., 12., 12.]]), 10, 10)
    assert inside.tolist() == [False, True, True]
    box_list = types.SimpleNamespace(tensor=boxes)
    assert get_box_tensor(box_list) is boxes
    assert get_box_tensor(boxes) is boxes
    empty = empty_box_as(boxes.double())
    assert empty.shape == (0, 4) and empty.dtype == torch.float64
