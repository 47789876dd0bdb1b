"""YOLO/FCOS task modules against hand-computed cases: coders, prior generators, GridAssigner, MSELoss."""

import math

import pytest
import torch

import loomdet.models  # noqa: F401  (registers)
from loomcv.structures import InstanceData
from loomdet.models.task_modules.prior_generators import anchor_inside_flags
from loomdet.registry import MODELS, TASK_UTILS


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run faster on one thread, and far faster when other processes load the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_yolo_bbox_coder_encode_decode_by_hand():
    coder = TASK_UTILS.build(dict(type="YOLOBBoxCoder"))
    anchors = torch.tensor([[0., 0., 10., 20.]])  # center (5, 10), 10 x 20
    gt = torch.tensor([[2., 4., 22., 24.]])  # center (12, 14), 20 x 20
    target = coder.encode(anchors, gt, 16)
    torch.testing.assert_close(target, torch.tensor([[7 / 16 + 0.5, 4 / 16 + 0.5, math.log(2.), 0.]]))
    torch.testing.assert_close(coder.decode(anchors, target, 16), gt)
    # a center more than half a stride away is clamped into (0, 1)
    far = coder.encode(anchors, torch.tensor([[100., 0., 110., 20.]]), 16)
    assert far[0, 0] == pytest.approx(1 - 1e-6) and far[0, 1] == pytest.approx(0.5)
    # per-box strides broadcast (the head decodes all levels at once)
    boxes = coder.decode(anchors.repeat(2, 1), torch.tensor([[1., 0., 0., 0.], [1., 0., 0., 0.]]),
                         torch.tensor([[8.], [32.]]))
    torch.testing.assert_close(boxes[:, 0], torch.tensor([4., 16.]))
    with pytest.raises(ValueError, match="YOLOBBoxCoder.encode"):
        coder.encode(anchors, torch.zeros(2, 4), 16)


def test_distance_point_bbox_coder_by_hand():
    coder = TASK_UTILS.build(dict(type="DistancePointBBoxCoder"))
    points, box = torch.tensor([[10., 10.]]), torch.tensor([[4., 6., 20., 13.]])
    torch.testing.assert_close(coder.encode(points, box), torch.tensor([[6., 4., 10., 3.]]))
    torch.testing.assert_close(coder.encode(points, box, max_dis=8), torch.tensor([[6., 4., 7.9, 3.]]))
    dist = torch.tensor([[6., 4., 10., 3.]])
    torch.testing.assert_close(coder.decode(points, dist), box)
    torch.testing.assert_close(coder.decode(points, dist, max_shape=(12, 15)), torch.tensor([[4., 6., 15., 12.]]))
    no_clip = TASK_UTILS.build(dict(type="DistancePointBBoxCoder", clip_border=False))
    torch.testing.assert_close(no_clip.decode(points, dist, max_shape=(12, 15)), box)
    with pytest.raises(ValueError, match="points must be"):
        coder.decode(torch.zeros(1, 4), dist)


def test_mlvl_point_generator_by_hand():
    gen = TASK_UTILS.build(dict(type="MlvlPointGenerator", strides=[8, 16]))
    assert gen.num_levels == 2 and gen.num_base_priors == [1, 1]
    points = gen.grid_priors([(2, 3), (1, 2)], device="cpu")
    torch.testing.assert_close(points[0], torch.tensor([[4., 4.], [12., 4.], [20., 4.], [4., 12.], [12., 12.],
                                                        [20., 12.]]))
    torch.testing.assert_close(points[1], torch.tensor([[8., 8.], [24., 8.]]))
    with_stride = gen.grid_priors([(2, 3), (1, 2)], device="cpu", with_stride=True)
    assert with_stride[1].tolist() == [[8., 8., 16., 16.], [24., 8., 16., 16.]]
    flags = gen.valid_flags([(2, 3), (1, 2)], (7, 9), device="cpu")
    assert flags[0].tolist() == [True, True, False, False, False, False]
    assert flags[1].tolist() == [True, False]
    assert gen.sparse_priors(torch.tensor([4, 2]), (2, 3), 0, device="cpu").tolist() == [[12., 12.], [20., 4.]]
    corner = TASK_UTILS.build(dict(type="MlvlPointGenerator", strides=[8], offset=0.))
    assert corner.grid_priors([(1, 2)], device="cpu")[0].tolist() == [[0., 0.], [8., 0.]]
    with pytest.raises(ValueError, match="one \\(h, w\\) per level"):
        gen.grid_priors([(2, 3)], device="cpu")


def test_yolo_anchor_generator_by_hand():
    gen = TASK_UTILS.build(dict(type="YOLOAnchorGenerator", strides=[32, 16],
                                base_sizes=[[(116, 90), (156, 198)], [(30, 61), (62, 45)]]))
    assert gen.num_levels == 2 and gen.num_base_priors == [2, 2]
    torch.testing.assert_close(gen.base_anchors[0], torch.tensor([[-42., -29., 74., 61.], [-62., -83., 94., 115.]]))
    torch.testing.assert_close(gen.base_anchors[1], torch.tensor([[-7., -22.5, 23., 38.5], [-23., -14.5, 39., 30.5]]))
    level0 = gen.grid_priors([(1, 2), (2, 4)], device="cpu")[0]
    torch.testing.assert_close(level0[2:], gen.base_anchors[0] + torch.tensor([32., 0., 32., 0.]))
    # the cell (row 0, col 1) of the stride-32 map holds the center (50, 10)
    flags = gen.responsible_flags([(1, 2), (2, 4)], torch.tensor([[40., 0., 60., 20.]]), device="cpu")
    assert flags[0].tolist() == [0, 0, 1, 1]
    assert flags[1].tolist() == [0, 0, 0, 0, 0, 0, 1, 1] + [0] * 8
    with pytest.raises(ValueError, match="same number of base sizes"):
        TASK_UTILS.build(dict(type="YOLOAnchorGenerator", strides=[32, 16], base_sizes=[[(1, 1)], [(1, 1), (2, 2)]]))


def test_anchor_inside_flags():
    anchors = torch.tensor([[-2., 0., 5., 5.], [0., 0., 10., 10.], [0., 0., 11., 4.]])
    valid = torch.tensor([True, True, True])
    assert anchor_inside_flags(anchors, valid, (10, 10), 0).tolist() == [False, False, False]
    assert anchor_inside_flags(anchors, valid, (10, 10), 2).tolist() == [True, True, True]
    assert anchor_inside_flags(anchors, valid, (10, 10), -1).tolist() == [True, True, True]


def _grid_case(responsible):
    priors = torch.tensor([[0., 0., 10., 10.], [0., 0., 20., 20.], [20., 0., 30., 10.], [20., 0., 40., 20.]])
    return (InstanceData(priors=priors, responsible_flags=torch.tensor(responsible, dtype=torch.uint8)),
            InstanceData(bboxes=torch.tensor([[20., 0., 30., 10.]]), labels=torch.tensor([7])))


def test_grid_assigner_by_hand():
    assigner = TASK_UTILS.build(dict(type="GridAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0))
    # IoUs with the ground truth: 0, 0, 1.0, 0.25
    result = assigner.assign(*_grid_case([0, 0, 1, 1]))
    assert result.gt_inds.tolist() == [0, 0, 1, 0]
    assert result.labels.tolist() == [-1, -1, 7, -1]
    # prior 2 overlaps fully but lies outside the responsible cell: ignored, not negative; the best
    # responsible prior (IoU 0.25) becomes positive through step 4
    result = assigner.assign(*_grid_case([0, 0, 0, 1]))
    assert result.gt_inds.tolist() == [0, 0, -1, 1]
    assert result.max_overlaps.tolist() == [-1., -1., -1., 0.25]
    ranged = TASK_UTILS.build(dict(type="GridAssigner", pos_iou_thr=0.5, neg_iou_thr=(0.1, 0.5)))
    assert ranged.assign(*_grid_case([0, 0, 1, 1])).gt_inds.tolist() == [-1, -1, 1, 0]
    empty_gt = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    assert assigner.assign(_grid_case([1, 1, 1, 1])[0], empty_gt).gt_inds.tolist() == [0, 0, 0, 0]
    with pytest.raises(KeyError, match="responsible_flags"):
        assigner.assign(InstanceData(priors=torch.zeros(1, 4)), _grid_case([1, 1, 1, 1])[1])


def test_grid_assigner_later_ground_truth_wins_a_shared_prior():
    assigner = TASK_UTILS.build(dict(type="GridAssigner", pos_iou_thr=0.9, neg_iou_thr=0.1, min_pos_iou=0))
    priors = InstanceData(priors=torch.tensor([[0., 0., 10., 10.], [100., 100., 110., 110.]]),
                          responsible_flags=torch.tensor([1, 0], dtype=torch.uint8))
    gts = InstanceData(bboxes=torch.tensor([[0., 0., 10., 5.], [0., 5., 10., 10.]]), labels=torch.tensor([1, 2]))
    result = assigner.assign(priors, gts)  # both ground truths' best responsible prior is prior 0
    assert result.gt_inds.tolist() == [2, 0] and result.labels.tolist() == [2, -1]


def test_mse_loss_by_hand():
    loss = MODELS.build(dict(type="MSELoss"))
    pred, target = torch.tensor([1., 2.]), torch.tensor([0., 0.])
    assert loss(pred, target).item() == pytest.approx(2.5)
    assert loss(pred, target, reduction_override="sum").item() == pytest.approx(5.)
    assert loss(pred, target, weight=torch.tensor([1., 0.])).item() == pytest.approx(0.5)
    assert loss(pred, target, weight=torch.tensor([0., 1.]), avg_factor=2).item() == pytest.approx(2.)
    assert MODELS.build(dict(type="MSELoss", loss_weight=2., reduction="sum"))(pred, target).item() == 10.
    with pytest.raises(ValueError, match="shapes differ"):
        loss(pred, torch.zeros(3))
