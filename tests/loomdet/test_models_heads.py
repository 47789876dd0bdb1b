"""Dense heads on tiny feature maps: losses that train, predictions, rescaling and test_cfg's NMS."""

import math

import pytest
import torch

import loomdet.models  # noqa: F401  (registers)
from loomcv.structures import InstanceData
from loomdet.models.dense_heads import filter_scores_and_topk, images_to_levels, multi_apply, unmap
from loomdet.registry import MODELS
from loomdet.structures import DetDataSample
from loomdet.structures.bbox import bbox_overlaps

TEST_CFG = dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5),
                max_per_img=100)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run faster on one thread, and far faster when other processes load the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def retina_head(**kw):
    cfg = dict(type="RetinaHead", num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1,
               anchor_generator=dict(type="AnchorGenerator", octave_base_scale=2, scales_per_octave=2,
                                     ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
               bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.] * 4, target_stds=[1.] * 4),
               loss_cls=dict(type="FocalLoss", use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
               loss_bbox=dict(type="L1Loss", loss_weight=1.0),
               train_cfg=dict(assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0,
                                            ignore_iof_thr=-1),
                              sampler=dict(type="PseudoSampler"), allowed_border=-1, pos_weight=-1, debug=False),
               test_cfg=dict(TEST_CFG))
    cfg.update(kw)
    return MODELS.build(cfg)


def yolo_head(**kw):
    cfg = dict(type="YOLOV3Head", num_classes=3, in_channels=[8, 8], out_channels=[8, 8],
               anchor_generator=dict(type="YOLOAnchorGenerator", strides=[16, 8],
                                     base_sizes=[[(32, 32), (48, 40)], [(12, 12), (20, 16)]]),
               featmap_strides=[16, 8],
               loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0, reduction="sum"),
               loss_conf=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0, reduction="sum"),
               loss_xy=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=2.0, reduction="sum"),
               loss_wh=dict(type="MSELoss", loss_weight=2.0, reduction="sum"),
               train_cfg=dict(assigner=dict(type="GridAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0)),
               test_cfg=dict(TEST_CFG, conf_thr=0.005))
    cfg.update(kw)
    return MODELS.build(cfg)


def fcos_head(**kw):
    cfg = dict(type="FCOSHead", num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1, strides=[8, 16],
               regress_ranges=((-1, 24), (24, 1e8)), norm_cfg=dict(type="GN", num_groups=4, requires_grad=True),
               test_cfg=dict(TEST_CFG))
    cfg.update(kw)
    return MODELS.build(cfg)


HEADS = {"retina": (retina_head, (8, 16)), "yolo": (yolo_head, (16, 8)), "fcos": (fcos_head, (8, 16))}


def sample(img_shape=(64, 64), scale_factor=(1., 1.), boxes=((8., 8., 40., 36.), (40., 36., 60., 60.)),
           labels=(0, 2)):
    s = DetDataSample(metainfo=dict(img_shape=img_shape, pad_shape=img_shape, ori_shape=img_shape,
                                    scale_factor=scale_factor, batch_input_shape=img_shape))
    s.gt_instances = InstanceData(bboxes=torch.tensor(boxes).reshape(-1, 4), labels=torch.tensor(labels))
    return s


def feats(strides, size=64, channels=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(1, channels, size // s, size // s, generator=g) for s in strides)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_head_loss_is_finite_and_decreases_on_one_image(name):
    torch.manual_seed(0)
    build, strides = HEADS[name]
    head = build()
    head.init_weights()
    x, samples = feats(strides), [sample()]
    opt = torch.optim.SGD(head.parameters(), lr={"retina": 0.05, "fcos": 0.02, "yolo": 0.002}[name], momentum=0.9)
    totals = []
    for _ in range(12):
        losses = head.loss(x, samples)
        total = sum(sum(v) if isinstance(v, list) else v for v in losses.values())
        assert torch.isfinite(total)
        totals.append(total.item())
        opt.zero_grad()
        total.backward()
        opt.step()
    assert totals[-1] < 0.8 * totals[0], totals
    expected = {"retina": {"loss_cls", "loss_bbox"}, "yolo": {"loss_cls", "loss_conf", "loss_xy", "loss_wh"},
                "fcos": {"loss_cls", "loss_bbox", "loss_centerness"}}[name]
    assert set(losses) == expected


@pytest.mark.parametrize("name", sorted(HEADS))
def test_head_predict_fields_and_rescaling(name):
    build, strides = HEADS[name]
    head = build(test_cfg=dict(TEST_CFG, score_thr=0.0, min_bbox_size=-1))
    head.init_weights()
    head.eval()
    x = feats(strides, seed=1)
    with torch.no_grad():
        plain = head.predict(x, [sample(scale_factor=(2., 0.5))], rescale=False)[0]
        scaled = head.predict(x, [sample(scale_factor=(2., 0.5))], rescale=True)[0]
    assert len(plain) > 0 and plain.bboxes.shape == (len(plain), 4)
    assert plain.scores.shape == plain.labels.shape == (len(plain),) and plain.labels.dtype == torch.long
    assert plain.labels.max() < 3 and torch.all(plain.scores[:-1] >= plain.scores[1:])
    # the same detections, in the original image's pixels: x divided by 2, y by 0.5
    torch.testing.assert_close(scaled.bboxes * torch.tensor([2., 0.5, 2., 0.5]), plain.bboxes)
    torch.testing.assert_close(scaled.scores, plain.scores)
    with pytest.raises(KeyError, match="scale_factor"):
        no_factor = sample()
        no_factor.set_metainfo(dict(scale_factor=None))
        head.predict(x, [no_factor], rescale=True)


def test_predict_applies_test_cfg_score_thr_nms_and_max_per_img():
    head = retina_head()
    levels = [(8, 8), (4, 4)]
    num_anchors = head.num_base_priors  # 6 per cell
    # every anchor predicts exactly itself (zero deltas); scores vary by anchor
    g = torch.Generator().manual_seed(3)
    cls_scores = [torch.randn(1, num_anchors * 3, h, w, generator=g) * 3 for h, w in levels]
    bbox_preds = [torch.zeros(1, num_anchors * 4, h, w) for h, w in levels]
    meta = dict(img_shape=(64, 64), scale_factor=(1., 1.))

    def run(**cfg):
        cfg = {**TEST_CFG, "max_per_img": 1000, **cfg}
        return head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=[meta], cfg=cfg)[0]

    base = run()
    assert torch.all(base.scores > 0.05)
    for label in base.labels.unique():
        boxes = base.bboxes[base.labels == label]
        iou = bbox_overlaps(boxes, boxes)
        assert torch.all(iou.triu(1) <= 0.5 + 1e-6), "two kept boxes of one class overlap above iou_threshold"
    loose = run(nms=dict(type="nms", iou_threshold=0.95))
    assert len(loose) > len(base)
    assert len(run(max_per_img=5)) == 5
    assert torch.all(run(score_thr=0.5).scores > 0.5)
    raw = run(score_thr=0.0, nms_pre=7)
    unfiltered = head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=[meta],
                                      cfg=dict(TEST_CFG, score_thr=0.0, nms_pre=7), with_nms=False)[0]
    assert len(unfiltered) == 14 and len(raw) <= 14  # nms_pre best (prior, class) pairs per level


def test_yolo_head_objectness_scales_scores_and_conf_thr_filters():
    head = yolo_head(test_cfg=dict(TEST_CFG, score_thr=0.0, conf_thr=0.6, min_bbox_size=-1))
    pred_maps = [torch.zeros(1, 2 * 8, 4, 4), torch.zeros(1, 2 * 8, 8, 8)]
    pred_maps[1][0, 4, 2, 3] = 5.  # anchor 0 of cell (2, 3) at stride 8: confident object...
    pred_maps[1][0, 6, 2, 3] = 4.  # ... of class 1
    out = head.predict_by_feat(pred_maps, [dict(img_shape=(64, 64), scale_factor=(1., 1.))])[0]
    assert len(out) == 3  # only that anchor passes conf_thr; one detection per class
    top = out[0]
    assert top.labels.item() == 1
    assert top.scores.item() == pytest.approx(torch.sigmoid(torch.tensor(5.)) * torch.sigmoid(torch.tensor(4.)))
    # zero offsets: the anchor itself, centered in its cell (28, 20)
    torch.testing.assert_close(top.bboxes, torch.tensor([[22., 14., 34., 26.]]))


def test_heads_need_train_cfg_for_losses_and_check_arguments():
    with pytest.raises(ValueError, match="needs train_cfg"):
        retina_head(train_cfg=None).loss(feats((8, 16)), [sample()])
    with pytest.raises(ValueError, match="needs train_cfg"):
        yolo_head(train_cfg=None).loss(feats((16, 8)), [sample()])
    with pytest.raises(ValueError, match="num_classes must be"):
        retina_head(num_classes=0)
    with pytest.raises(ValueError, match="deformable"):
        fcos_head(dcn_on_last_conv=True)
    with pytest.raises(ValueError, match="need one entry per scale"):
        yolo_head(in_channels=[8])
    with pytest.raises(KeyError, match="gt_instances"):
        retina_head().loss(feats((8, 16)), [DetDataSample(metainfo=dict(img_shape=(64, 64)))])


def test_fcos_targets_by_hand():
    head = fcos_head()
    points = head.prior_generator.grid_priors([(2, 2), (1, 1)], device="cpu")  # (4,4) (12,4) (4,12) (12,12); (8,8)
    gt = InstanceData(bboxes=torch.tensor([[0., 0., 10., 10.]]), labels=torch.tensor([2]))
    labels, targets = head.get_targets(points, [gt])
    # max distance of (4, 4) is 6 (level 0 range [-1, 24]); (12, y) lie outside the box
    assert labels[0].tolist() == [2, 3, 3, 3] and labels[1].tolist() == [3]
    torch.testing.assert_close(targets[0][0], torch.tensor([4., 4., 6., 6.]))
    centerness = head.centerness_target(torch.tensor([[4., 4., 6., 6.]]))
    assert centerness.item() == pytest.approx(math.sqrt(4 / 6 * 4 / 6))


def test_level_helpers():
    assert multi_apply(lambda a, b, k=0: (a + b + k, a * b), [1, 2], [3, 4], k=1) == ([5, 7], [3, 8])
    levels = images_to_levels([torch.arange(5), torch.arange(5) + 10], [2, 3])
    assert [t.tolist() for t in levels] == [[[0, 1], [10, 11]], [[2, 3, 4], [12, 13, 14]]]
    assert unmap(torch.tensor([7, 8]), 4, torch.tensor([False, True, False, True]), fill=-1).tolist() == [-1, 7, -1, 8]
    scores = torch.tensor([[0.1, 0.9], [0.6, 0.2], [0.7, 0.05]])
    s, labels, idx, kept = filter_scores_and_topk(scores, 0.15, 2, dict(p=torch.tensor([10, 11, 12])))
    assert s.tolist() == pytest.approx([0.9, 0.7]) and labels.tolist() == [1, 0] and idx.tolist() == [0, 2]
    assert kept["p"].tolist() == [10, 12]
    assert len(filter_scores_and_topk(scores, 0.15, -1)[0]) == 4  # topk <= 0 keeps all above the threshold


def test_heads_initialize_classifier_biases_at_their_priors():
    prior_001 = -math.log((1 - 0.01) / 0.01)
    retina, fcos, yolo = retina_head(), fcos_head(), yolo_head()
    for head in (retina, fcos, yolo):
        head.init_weights()
    torch.testing.assert_close(retina.retina_cls.bias, torch.full_like(retina.retina_cls.bias, prior_001))
    torch.testing.assert_close(fcos.conv_cls.bias, torch.full_like(fcos.conv_cls.bias, prior_001))
    assert retina.retina_reg.bias.abs().max() == 0 and retina.cls_convs[0].conv.weight.std() < 0.02
    bias = yolo.convs_pred[1].bias.reshape(2, 8)  # stride 8: 8 objects per 76x76 cells
    torch.testing.assert_close(bias[:, 4], torch.full((2,), -math.log((1 - 8 / 76 ** 2) / (8 / 76 ** 2))))
    torch.testing.assert_close(bias[:, 5:], torch.full((2, 3), prior_001))
