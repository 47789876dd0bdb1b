"""MaxIoUAssigner on a hand-made scene, and the samplers built on its result."""

from types import SimpleNamespace

import pytest
import torch

from loomdet.models.task_modules import (AssignResult, BboxOverlaps2D, MaxIoUAssigner, PseudoSampler,
                                         RandomSampler, SamplingResult)

PRIORS = torch.tensor([
    [0., 0., 10., 10.],        # p0: IoU 0.9 with g0
    [10., 10., 20., 20.],      # p1: IoU 64/136 = 0.47 with g2, its best
    [5., 5., 15., 15.],        # p2: IoU 20/170 = 0.12 with g0, 9/191 with g2
    [30., 30., 40., 40.],      # p3: IoU 81/119 = 0.68 with g1
    [100., 100., 110., 110.],  # p4: overlaps nothing
])
GT_BBOXES = torch.tensor([[0., 0., 10., 9.], [31., 31., 41., 41.], [12., 12., 22., 22.]])
GT_LABELS = torch.tensor([2, 5, 7])


def instances():
    return SimpleNamespace(priors=PRIORS.clone()), SimpleNamespace(bboxes=GT_BBOXES, labels=GT_LABELS)


def test_thresholds_and_low_quality_matches():
    pred, gt = instances()
    result = MaxIoUAssigner(pos_iou_thr=0.5, neg_iou_thr=0.4).assign(pred, gt)
    # p1 is below pos_iou_thr but is g2's best prior, so the low-quality match gives it g2.
    assert result.gt_inds.tolist() == [1, 3, 0, 2, 0]
    assert result.labels.tolist() == [2, 7, -1, 5, -1]
    assert result.num_gts == 3 and result.num_preds == 5
    assert result.max_overlaps.tolist() == pytest.approx([0.9, 64 / 136, 20 / 170, 81 / 119, 0.0], abs=1e-6)

    strict = MaxIoUAssigner(0.5, 0.4, match_low_quality=False).assign(pred, gt)
    assert strict.gt_inds.tolist() == [1, -1, 0, 2, 0]  # p1 sits between the thresholds: ignored
    high_floor = MaxIoUAssigner(0.5, 0.4, min_pos_iou=0.5).assign(pred, gt)
    assert high_floor.gt_inds.tolist() == [1, -1, 0, 2, 0]


def test_negative_range():
    pred, gt = instances()
    result = MaxIoUAssigner(0.5, (0.0, 0.1), match_low_quality=False).assign(pred, gt)
    # p2's best IoU (0.12) is outside [0, 0.1): neither positive nor negative.
    assert result.gt_inds.tolist() == [1, -1, -1, 2, 0]


def test_ignore_regions():
    pred, gt = instances()
    ignore = SimpleNamespace(bboxes=torch.tensor([[90., 90., 120., 120.]]))
    # p4 lies fully inside the ignore box: IoF w.r.t. the prior is 1.
    result = MaxIoUAssigner(0.5, 0.4, ignore_iof_thr=0.5).assign(pred, gt, ignore)
    assert result.gt_inds.tolist() == [1, 3, 0, 2, -1]
    # Relative to the (much larger) ignore box the cover is only 100 / 900.
    wrt_ignore = MaxIoUAssigner(0.5, 0.4, ignore_iof_thr=0.5, ignore_wrt_candidates=False)
    assert wrt_ignore.assign(pred, gt, ignore).gt_inds.tolist() == [1, 3, 0, 2, 0]
    disabled = MaxIoUAssigner(0.5, 0.4)
    assert disabled.assign(pred, gt, ignore).gt_inds.tolist() == [1, 3, 0, 2, 0]


def test_later_ground_truth_wins_a_shared_best_prior():
    pred = SimpleNamespace(priors=torch.tensor([[0., 0., 10., 10.], [50., 50., 60., 60.]]))
    gt = SimpleNamespace(bboxes=torch.tensor([[0., 0., 4., 4.], [6., 6., 10., 10.]]), labels=torch.tensor([0, 1]))
    result = MaxIoUAssigner(0.5, 0.1).assign(pred, gt)
    assert result.gt_inds.tolist() == [2, 0]
    assert result.labels.tolist() == [1, -1]


def test_ties_at_the_best_iou():
    pred = SimpleNamespace(priors=torch.tensor([[0., 0., 10., 10.], [10., 0., 20., 10.], [40., 0., 50., 10.]]))
    gt = SimpleNamespace(bboxes=torch.tensor([[5., 0., 15., 10.]]), labels=torch.tensor([3]))
    assert MaxIoUAssigner(0.5, 0.2).assign(pred, gt).gt_inds.tolist() == [1, 1, 0]
    one = MaxIoUAssigner(0.5, 0.2, gt_max_assign_all=False).assign(pred, gt).gt_inds
    assert (one[:2] == 1).sum().item() == 1 and one[2].item() == 0


def test_no_ground_truth_or_no_prior():
    pred, _ = instances()
    none = SimpleNamespace(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    result = MaxIoUAssigner(0.5, 0.4).assign(pred, none)
    assert result.gt_inds.tolist() == [0] * 5 and result.labels.tolist() == [-1] * 5
    empty = MaxIoUAssigner(0.5, 0.4).assign(SimpleNamespace(priors=torch.zeros(0, 4)), instances()[1])
    assert empty.gt_inds.shape == (0,)


def test_cpu_fallback_gives_the_same_answer():
    pred, gt = instances()
    assert MaxIoUAssigner(0.5, 0.4, gpu_assign_thr=1).assign(pred, gt).gt_inds.tolist() == [1, 3, 0, 2, 0]


def test_assigner_argument_errors():
    with pytest.raises(ValueError, match="neg_iou_thr"):
        MaxIoUAssigner(0.5, (0.1, 0.2, 0.3))
    with pytest.raises(TypeError, match="neg_iou_thr"):
        MaxIoUAssigner(0.5, "0.4")
    with pytest.raises(ValueError, match="dtype"):
        BboxOverlaps2D(dtype="bf16")


def test_overlap_calculator_drops_scores_and_supports_fp16():
    calc = BboxOverlaps2D()
    with_scores = torch.cat([GT_BBOXES, torch.ones(3, 1)], 1)
    assert torch.allclose(calc(with_scores, PRIORS), calc(GT_BBOXES, PRIORS))
    half = BboxOverlaps2D(scale=8.0, dtype="fp16")(GT_BBOXES, PRIORS)
    assert half.dtype == torch.float32
    assert torch.allclose(half, calc(GT_BBOXES, PRIORS), atol=2e-3)
    assert calc(GT_BBOXES, PRIORS, mode="iof").shape == (3, 5)


def test_add_gt_prepends_perfect_matches():
    result = AssignResult(2, torch.tensor([0, 1, -1]), torch.tensor([0.1, 0.8, 0.3]), torch.tensor([-1, 4, -1]))
    result.add_gt_(torch.tensor([4, 6]))
    assert result.gt_inds.tolist() == [1, 2, 0, 1, -1]
    assert result.max_overlaps.tolist() == pytest.approx([1., 1., 0.1, 0.8, 0.3])
    assert result.labels.tolist() == [4, 6, -1, 4, -1]
    result.set_extra_property("centerness", 1)
    assert result.get_extra_property("centerness") == 1 and result.info["centerness"] == 1
    with pytest.raises(KeyError):
        result.set_extra_property("gt_inds", 0)


def test_pseudo_sampler_keeps_every_assigned_prior():
    pred, gt = instances()
    assign = MaxIoUAssigner(0.5, 0.4).assign(pred, gt)
    res = PseudoSampler().sample(assign, pred, gt)
    assert isinstance(res, SamplingResult)
    assert res.pos_inds.tolist() == [0, 1, 3] and res.neg_inds.tolist() == [2, 4]
    assert res.pos_assigned_gt_inds.tolist() == [0, 2, 1]
    assert torch.equal(res.pos_gt_bboxes, GT_BBOXES[[0, 2, 1]])
    assert res.pos_gt_labels.tolist() == [2, 7, 5]
    assert torch.equal(res.pos_priors, PRIORS[[0, 1, 3]]) and torch.equal(res.neg_priors, PRIORS[[2, 4]])
    assert res.avg_factor == 3  # positives only
    assert res.priors.shape == (5, 4)


def many_priors_assign(num_pos=6, num_neg=12):
    gt_inds = torch.tensor([1] * num_pos + [0] * num_neg + [-1] * 3)
    labels = torch.where(gt_inds > 0, 9, -1)
    result = AssignResult(1, gt_inds, torch.zeros(len(gt_inds)), labels)
    priors = torch.arange(len(gt_inds), dtype=torch.float32)[:, None].repeat(1, 4)
    gt = SimpleNamespace(bboxes=torch.tensor([[0., 0., 5., 5.]]), labels=torch.tensor([9]))
    return result, SimpleNamespace(priors=priors), gt


def test_random_sampler_budget_and_membership():
    assign, pred, gt = many_priors_assign()
    res = RandomSampler(num=8, pos_fraction=0.25, add_gt_as_proposals=False, rng=0).sample(assign, pred, gt)
    assert res.pos_inds.numel() == 2 and res.neg_inds.numel() == 6
    assert (res.pos_inds < 6).all() and ((res.neg_inds >= 6) & (res.neg_inds < 18)).all()
    assert res.avg_factor == 8
    # Too few positives: negatives fill the budget.
    assign, pred, gt = many_priors_assign(num_pos=1)
    res = RandomSampler(num=8, pos_fraction=0.5, add_gt_as_proposals=False).sample(assign, pred, gt)
    assert res.pos_inds.numel() == 1 and res.neg_inds.numel() == 7
    # neg_pos_ub bounds negatives per positive.
    assign, pred, gt = many_priors_assign(num_pos=1)
    res = RandomSampler(num=8, pos_fraction=0.5, neg_pos_ub=3, add_gt_as_proposals=False).sample(assign, pred, gt)
    assert res.neg_inds.numel() == 3


def test_random_sampler_seed_and_gt_proposals():
    draws = []
    for _ in range(2):
        assign, pred, gt = many_priors_assign()
        draws.append(RandomSampler(num=6, pos_fraction=0.5, rng=7).sample(assign, pred, gt))
    assert torch.equal(draws[0].pos_inds, draws[1].pos_inds) and torch.equal(draws[0].neg_inds, draws[1].neg_inds)
    res = draws[0]
    # The ground truth was prepended as prior 0 and counts as a positive.
    assert res.pos_priors.shape[1] == 4
    assert res.pos_is_gt.sum().item() == int((res.pos_inds == 0).any())
    assert (res.pos_gt_labels == 9).all()


def test_random_choice_returns_the_gallery_type():
    sampler = RandomSampler(num=4, pos_fraction=0.5, rng=1)
    picked = sampler.random_choice([3, 5, 7, 9], 2)
    assert picked.shape == (2,) and set(picked.tolist()) <= {3, 5, 7, 9}
    with pytest.raises(ValueError, match="cannot draw"):
        sampler.random_choice(torch.arange(2), 3)


def test_sampling_without_ground_truth():
    pred = SimpleNamespace(priors=PRIORS)
    gt = SimpleNamespace(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    assign = MaxIoUAssigner(0.5, 0.4).assign(pred, gt)
    res = PseudoSampler().sample(assign, pred, gt)
    assert res.pos_inds.numel() == 0 and res.pos_gt_bboxes.shape == (0, 4)
    assert res.num_pos == 1 and res.avg_factor == 1  # floored so losses never divide by zero
