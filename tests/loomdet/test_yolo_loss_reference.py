"""YOLOv3's losses against a reference written from MMDetection's definition, element by element:
YOLO anchors at cell centres, responsible cells (the cell of each ground-truth centre, per level),
GridAssigner(pos 0.5, neg 0.5, min_pos 0) with negatives decided on the IoU of every anchor and
positives only among responsible ones, YOLOBBoxCoder targets, sigmoid cross-entropy for class,
objectness and centre, MSE for size, reductions 'sum' and the loss weights of the shipped configs."""

import math

import torch

from loomcv.structures import InstanceData
from loomdet.registry import MODELS

BASE_SIZES = [[(21, 26), (20, 27), (23, 27)], [(18, 22), (17, 25), (20, 25)], [(10, 14), (13, 17), (15, 20)]]
STRIDES = [32, 16, 8]
EPS = 1e-6


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def bce(logit, target):
    return max(logit, 0.0) - logit * target + math.log1p(math.exp(-abs(logit)))


def reference_losses(pred_maps, boxes, labels, num_classes):
    priors = []  # (anchor box, stride, responsible, prediction vector)
    for pred, stride, sizes in zip(pred_maps, STRIDES, BASE_SIZES):
        height, width = pred.shape[-2:]
        for y in range(height):
            for x in range(width):
                cx, cy = x * stride + stride / 2, y * stride + stride / 2
                responsible = any(math.floor((g[0] + g[2]) / 2 / stride) == x
                                  and math.floor((g[1] + g[3]) / 2 / stride) == y for g in boxes)
                for k, (w, h) in enumerate(sizes):
                    vector = pred[0, k * (5 + num_classes):(k + 1) * (5 + num_classes), y, x].tolist()
                    priors.append(((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), stride, responsible, vector))
    assigned = [-1] * len(priors)
    for a, (anchor, _, responsible, _) in enumerate(priors):
        overlaps = [iou(anchor, g) for g in boxes]
        if max(overlaps) <= 0.5:
            assigned[a] = 0  # negative: judged on every anchor, responsible or not
        masked = [o if responsible else -1.0 for o in overlaps]
        if responsible and max(masked) > 0.5:
            assigned[a] = masked.index(max(masked)) + 1
    for g, gt in enumerate(boxes):  # each ground truth takes its best responsible anchor(s)
        masked = [iou(p[0], gt) if p[2] else -1.0 for p in priors]
        best = max(masked)
        if best > 0:
            for a, value in enumerate(masked):
                if value == best:
                    assigned[a] = g + 1
    cls = conf = xy = wh = 0.0
    for (anchor, stride, _, vector), gt_index in zip(priors, assigned):
        if gt_index == -1:
            continue
        conf += bce(vector[4], 1.0 if gt_index > 0 else 0.0)
        if gt_index == 0:
            continue
        gt = boxes[gt_index - 1]
        acx, acy = (anchor[0] + anchor[2]) / 2, (anchor[1] + anchor[3]) / 2
        aw, ah = anchor[2] - anchor[0], anchor[3] - anchor[1]
        gcx, gcy, gw, gh = (gt[0] + gt[2]) / 2, (gt[1] + gt[3]) / 2, gt[2] - gt[0], gt[3] - gt[1]
        tx = min(max((gcx - acx) / stride + 0.5, EPS), 1 - EPS)
        ty = min(max((gcy - acy) / stride + 0.5, EPS), 1 - EPS)
        tw, th = math.log(max(gw / aw, EPS)), math.log(max(gh / ah, EPS))
        xy += bce(vector[0], tx) + bce(vector[1], ty)
        wh += (vector[2] - tw) ** 2 + (vector[3] - th) ** 2
        cls += sum(bce(v, 1.0 if c == labels[gt_index - 1] else 0.0) for c, v in enumerate(vector[5:]))
    return dict(loss_cls=cls, loss_conf=conf, loss_xy=2.0 * xy, loss_wh=2.0 * wh)


def test_yolov3_losses_equal_the_reference():
    num_classes = 3
    head = MODELS.build(dict(
        type="YOLOV3Head", num_classes=num_classes, in_channels=[8, 8, 8], out_channels=[8, 8, 8],
        anchor_generator=dict(type="YOLOAnchorGenerator", base_sizes=BASE_SIZES, strides=STRIDES),
        bbox_coder=dict(type="YOLOBBoxCoder"), featmap_strides=STRIDES,
        loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0, reduction="sum"),
        loss_conf=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0, reduction="sum"),
        loss_xy=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=2.0, reduction="sum"),
        loss_wh=dict(type="MSELoss", loss_weight=2.0, reduction="sum"),
        train_cfg=dict(assigner=dict(type="GridAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0))))
    gen = torch.Generator().manual_seed(3)
    pred_maps = [torch.randn(1, 3 * (5 + num_classes), 96 // s, 96 // s, generator=gen) for s in STRIDES]
    boxes = [[10.0, 12.0, 30.0, 40.0], [50.0, 44.0, 71.0, 70.0], [60.0, 8.0, 74.0, 22.0]]
    labels = [2, 0, 1]
    gt = InstanceData(bboxes=torch.tensor(boxes), labels=torch.tensor(labels))
    ours = head.loss_by_feat(pred_maps, [gt], [dict(img_shape=(96, 96), batch_input_shape=(96, 96))])
    expected = reference_losses(pred_maps, boxes, labels, num_classes)
    for name, value in expected.items():
        total = float(sum(ours[name]))
        assert math.isclose(total, value, rel_tol=1e-5), (name, total, value)
    assert expected["loss_xy"] > 0 and expected["loss_cls"] > 0  # positives were found
