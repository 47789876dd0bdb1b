"""The detection core gives the same answers on a CUDA device as on the CPU.

Skipped where no GPU is present (CI); run on a GPU machine with
``pytest tests/loomdet/test_det_cuda.py``.
"""

from types import SimpleNamespace

import pytest
import torch

from loomdet.models.layers import batched_nms, multiclass_nms, nms
from loomdet.models.losses import CrossEntropyLoss, FocalLoss, GIoULoss, SmoothL1Loss
from loomdet.models.task_modules import (AnchorGenerator, BboxOverlaps2D, DeltaXYWHBBoxCoder, MaxIoUAssigner,
                                         PseudoSampler, RandomSampler)
from loomdet.structures.bbox import bbox_overlaps

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = torch.device("cuda")


def boxes(n, seed, scale=400.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * scale
    return torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 80 + 4], 1)


def scores(n, seed, classes=None):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=g) if classes is None else torch.rand(n, classes, generator=g)


@pytest.mark.parametrize("iou_threshold", [0.3, 0.5, 0.7])
def test_nms_keeps_the_same_boxes_on_the_device(iou_threshold):
    b, s = boxes(3000, 0), scores(3000, 1)
    dets, keep = nms(b, s, iou_threshold)
    dets_gpu, keep_gpu = nms(b.to(CUDA), s.to(CUDA), iou_threshold)
    assert keep_gpu.is_cuda and dets_gpu.is_cuda
    assert torch.equal(keep_gpu.cpu(), keep) and torch.equal(dets_gpu.cpu(), dets)


@pytest.mark.parametrize("cfg", [dict(iou_threshold=0.5), dict(iou_threshold=0.5, split_thr=100, max_num=50)])
def test_batched_and_multiclass_nms_on_the_device(cfg):
    b, s = boxes(3000, 0), scores(3000, 1)
    labels = torch.randint(0, 20, (3000,), generator=torch.Generator().manual_seed(2))
    dets, keep = batched_nms(b, s, labels, cfg)
    dets_gpu, keep_gpu = batched_nms(b.to(CUDA), s.to(CUDA), labels.to(CUDA), cfg)
    assert torch.equal(keep_gpu.cpu(), keep) and torch.allclose(dets_gpu.cpu(), dets)
    multi = scores(3000, 3, classes=6)
    out = multiclass_nms(b, multi, 0.3, cfg, max_num=100, return_inds=True)
    out_gpu = multiclass_nms(b.to(CUDA), multi.to(CUDA), 0.3, cfg, max_num=100, return_inds=True)
    assert torch.allclose(out_gpu[0].cpu(), out[0])
    assert torch.equal(out_gpu[1].cpu(), out[1]) and torch.equal(out_gpu[2].cpu(), out[2])


def retinanet_anchors(device):
    gen = AnchorGenerator(strides=[8, 16, 32, 64, 128], ratios=[0.5, 1., 2.], octave_base_scale=4,
                          scales_per_octave=3)
    sizes = [(100, 152), (50, 76), (25, 38), (13, 19), (7, 10)]
    return gen, sizes, gen.grid_priors(sizes, device=device)


def test_anchors_valid_flags_and_sparse_priors_on_the_device():
    gen, sizes, cpu = retinanet_anchors("cpu")
    _, _, gpu = retinanet_anchors(CUDA)
    assert len(gpu) == len(cpu) == 5
    assert all(g.is_cuda and torch.equal(g.cpu(), c) for g, c in zip(gpu, cpu))  # noqa: B905 (py3.9)
    flags = gen.valid_flags(sizes, (797, 1199, 3), device=CUDA)
    assert all(f.is_cuda for f in flags)
    assert torch.equal(flags[0].cpu(), gen.valid_flags(sizes, (797, 1199, 3), device="cpu")[0])
    idx = torch.tensor([0, 17, 999, 5000], device=CUDA)
    assert torch.equal(gen.sparse_priors(idx, sizes[0], 0, device=CUDA), gpu[0][idx])


def test_coder_on_the_device():
    coder = DeltaXYWHBBoxCoder(target_stds=(0.1, 0.1, 0.2, 0.2))
    priors, gts = boxes(500, 4), boxes(500, 5)
    deltas = coder.encode(priors, gts)
    assert torch.allclose(coder.encode(priors.to(CUDA), gts.to(CUDA)).cpu(), deltas, atol=1e-5)
    decoded = coder.decode(torch.stack([priors, priors]).to(CUDA), torch.stack([deltas, deltas]).to(CUDA),
                           max_shape=[(300, 300), (500, 520)])
    assert decoded.is_cuda
    assert torch.allclose(decoded[1].cpu(), coder.decode(priors, deltas, max_shape=(500, 520)), atol=1e-3)


def test_assigner_and_samplers_on_the_device():
    _, _, cpu_anchors = retinanet_anchors("cpu")
    anchors = torch.cat(cpu_anchors)
    gt_bboxes, gt_labels = boxes(30, 6, 1000.0), torch.randint(0, 80, (30,), generator=torch.Generator().manual_seed(7))
    pred = SimpleNamespace(priors=anchors.to(CUDA))
    gt = SimpleNamespace(bboxes=gt_bboxes.to(CUDA), labels=gt_labels.to(CUDA))
    on_cpu = MaxIoUAssigner(0.5, 0.4).assign(SimpleNamespace(priors=anchors),
                                             SimpleNamespace(bboxes=gt_bboxes, labels=gt_labels))
    on_gpu = MaxIoUAssigner(0.5, 0.4).assign(pred, gt)
    assert torch.equal(on_gpu.gt_inds.cpu(), on_cpu.gt_inds) and torch.equal(on_gpu.labels.cpu(), on_cpu.labels)
    fallback = MaxIoUAssigner(0.5, 0.4, gpu_assign_thr=5).assign(pred, gt)
    assert fallback.gt_inds.is_cuda and fallback.labels.is_cuda
    assert torch.equal(fallback.gt_inds.cpu(), on_cpu.gt_inds)
    kept = PseudoSampler().sample(on_gpu, pred, gt)
    assert kept.pos_gt_bboxes.is_cuda and kept.pos_inds.numel() == int((on_cpu.gt_inds > 0).sum())
    drawn = RandomSampler(512, 0.25, rng=0).sample(on_gpu, pred, gt)
    assert drawn.pos_inds.is_cuda and drawn.pos_inds.numel() + drawn.neg_inds.numel() == 512


def test_losses_and_fp16_overlaps_on_the_device():
    logits = torch.randn(2000, 80, generator=torch.Generator().manual_seed(8))
    labels = torch.randint(0, 81, (2000,), generator=torch.Generator().manual_seed(9))
    priors, gts = boxes(500, 4), boxes(500, 5)
    cases = [(FocalLoss(), (logits, labels)), (CrossEntropyLoss(use_sigmoid=True), (logits, labels)),
             (GIoULoss(), (priors, gts)), (SmoothL1Loss(beta=1 / 9), (priors / 100, gts / 100))]
    for loss, args in cases:
        expected = loss(*args, avg_factor=100)
        assert torch.allclose(loss(*[a.to(CUDA) for a in args], avg_factor=100).cpu(), expected, rtol=1e-4)
    gt_bboxes = boxes(30, 6, 1000.0)
    anchors = torch.cat(retinanet_anchors("cpu")[2])
    half = BboxOverlaps2D(scale=512.0, dtype="fp16")(gt_bboxes.to(CUDA), anchors.to(CUDA))
    assert half.dtype == torch.float16  # kept in half on the GPU, where the memory saving matters
    assert torch.allclose(half.float().cpu(), bbox_overlaps(gt_bboxes, anchors), atol=3e-2)
