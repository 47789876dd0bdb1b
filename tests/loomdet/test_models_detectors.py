"""DetDataPreprocessor and the one-stage detectors end to end on synthetic images."""

import pytest
import torch

import loomdet.models  # noqa: F401  (registers)
from loomcv.registry import init_default_scope
from loomcv.structures import InstanceData
from loomdet.models.data_preprocessors import DetDataPreprocessor
from loomdet.registry import MODELS
from loomdet.structures import DetDataSample
from loomdet.structures.bbox import bbox_overlaps


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run faster on one thread, and far faster when other processes load the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_preprocessor_pads_variable_sizes_and_records_shapes():
    pre = DetDataPreprocessor(mean=[10., 20., 30.], std=[2., 4., 5.], bgr_to_rgb=True, pad_size_divisor=32,
                              pad_value=-1)
    a = torch.full((3, 30, 40), 50, dtype=torch.uint8)
    a[0] = 90  # blue in BGR
    b = torch.full((3, 64, 33), 70, dtype=torch.uint8)
    samples = [DetDataSample(metainfo=dict(img_shape=(30, 40))), DetDataSample(metainfo=dict(img_shape=(64, 33)))]
    out = pre(dict(inputs=[a, b], data_samples=samples), training=True)
    inputs = out["inputs"]
    assert inputs.shape == (2, 3, 64, 64)
    assert [s.batch_input_shape for s in samples] == [(64, 64), (64, 64)]
    assert [s.pad_shape for s in samples] == [(32, 64), (64, 64)]
    # BGR -> RGB then (x - mean) / std: channel 2 holds the former blue
    torch.testing.assert_close(inputs[0, :, 0, 0], torch.tensor([(50 - 10) / 2, (50 - 20) / 4, (90 - 30) / 5]))
    assert torch.all(inputs[0, :, 30:, :] == -1) and torch.all(inputs[1, :, :, 33:] == -1)
    stacked = pre(dict(inputs=torch.zeros(2, 3, 40, 40, dtype=torch.uint8), data_samples=None))
    assert stacked["inputs"].shape == (2, 3, 64, 64) and stacked["data_samples"] is None
    with pytest.raises(ValueError, match="pad_mask"):
        DetDataPreprocessor(pad_mask=True)
    with pytest.raises(ValueError, match="2 data samples for 1 images"):
        pre(dict(inputs=[a], data_samples=samples))


class _Shift(torch.nn.Module):
    def forward(self, inputs, data_samples):
        return inputs + 1, data_samples


def test_preprocessor_batch_augments_only_in_training():
    MODELS.register_module("TestShiftBatchAug", module=_Shift, force=True)
    pre = DetDataPreprocessor(batch_augments=[dict(type="TestShiftBatchAug")])
    data = dict(inputs=[torch.zeros(3, 4, 4, dtype=torch.uint8)], data_samples=[DetDataSample()])
    assert pre(data, training=True)["inputs"].max() == 1
    assert pre(data, training=False)["inputs"].max() == 0


COLORS = {0: (255, 0, 0), 1: (0, 255, 0), 2: (0, 0, 255)}  # BGR squares, one color per class


def synthetic(boxes_labels, size=64):
    img = torch.full((3, size, size), 20, dtype=torch.uint8)
    for (x1, y1, x2, y2), label in boxes_labels:
        img[:, y1:y2, x1:x2] = torch.tensor(COLORS[label], dtype=torch.uint8)[:, None, None]
    sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1., 1.)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([b for b, _ in boxes_labels], dtype=torch.float32),
                                       labels=torch.tensor([lab for _, lab in boxes_labels]))
    return img, sample


def tiny_yolo():
    return dict(
        type="YOLOV3",
        data_preprocessor=dict(type="DetDataPreprocessor", mean=[0, 0, 0], std=[255., 255., 255.], bgr_to_rgb=True,
                               pad_size_divisor=32),
        backbone=dict(type="MobileNetV2", widen_factor=0.25, out_indices=(2, 4, 6),
                      act_cfg=dict(type="LeakyReLU", negative_slope=0.1)),
        neck=dict(type="YOLOV3Neck", num_scales=3, in_channels=[80, 24, 8], out_channels=[16, 16, 16]),
        bbox_head=dict(type="YOLOV3Head", num_classes=3, in_channels=[16, 16, 16], out_channels=[16, 16, 16],
                       anchor_generator=dict(type="YOLOAnchorGenerator", strides=[32, 16, 8],
                                             base_sizes=[[(40, 40), (48, 48), (56, 56)], [(20, 20), (26, 26),
                                                                                          (32, 32)],
                                                         [(8, 8), (12, 12), (16, 16)]]),
                       loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, reduction="sum"),
                       loss_conf=dict(type="CrossEntropyLoss", use_sigmoid=True, reduction="sum"),
                       loss_xy=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=2.0, reduction="sum"),
                       loss_wh=dict(type="MSELoss", loss_weight=2.0, reduction="sum")),
        train_cfg=dict(assigner=dict(type="GridAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0)),
        test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, conf_thr=0.005,
                      nms=dict(type="nms", iou_threshold=0.45), max_per_img=100))


def test_yolov3_overfits_a_few_synthetic_images():
    init_default_scope("loomdet")
    torch.manual_seed(0)
    model = MODELS.build(tiny_yolo())
    model.init_weights()
    scenes = [[((8, 8, 30, 30), 0), ((36, 20, 60, 44), 2)], [((20, 30, 44, 58), 1)]]
    imgs, samples = zip(*[synthetic(s) for s in scenes])
    data = dict(inputs=list(imgs), data_samples=list(samples))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    first = None
    for _ in range(80):
        loss, _ = model.parse_losses(model(**model.data_preprocessor(data, True), mode="loss"))
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.15 * first, (first, loss.item())
    model.eval()
    with torch.no_grad():
        results = model.val_step(data)
    for result, sample in zip(results, samples):
        pred, gt = result.pred_instances, sample.gt_instances
        for box, label in zip(gt.bboxes, gt.labels):
            same = pred.labels == label
            assert same.any()
            best = bbox_overlaps(box[None], pred.bboxes[same]).max()
            assert best > 0.7, (box, pred.bboxes[same][:3])
        assert pred.scores[0] > 0.5


@pytest.mark.parametrize("detector", ["RetinaNet", "FCOS"])
def test_retinanet_and_fcos_modes_on_tiny_inputs(detector):
    init_default_scope("loomdet")
    torch.manual_seed(0)
    backbone = dict(type="ResNet", depth=18, base_channels=4, num_stages=4, out_indices=(1, 2, 3), norm_eval=False)
    neck = dict(type="FPN", in_channels=[8, 16, 32], out_channels=8, start_level=0, add_extra_convs="on_output",
                num_outs=4)
    test_cfg = dict(nms_pre=50, min_bbox_size=0, score_thr=0.0, nms=dict(type="nms", iou_threshold=0.5),
                    max_per_img=7)
    if detector == "RetinaNet":
        head = dict(type="RetinaHead", num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1,
                    anchor_generator=dict(type="AnchorGenerator", octave_base_scale=4, scales_per_octave=1,
                                          ratios=[1.0], strides=[8, 16, 32, 64]),
                    loss_cls=dict(type="FocalLoss", use_sigmoid=True), loss_bbox=dict(type="L1Loss"))
        train_cfg = dict(assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.4, min_pos_iou=0),
                         allowed_border=-1, pos_weight=-1)
    else:
        head = dict(type="FCOSHead", num_classes=2, in_channels=8, feat_channels=8, stacked_convs=1,
                    strides=[8, 16, 32, 64], regress_ranges=((-1, 16), (16, 32), (32, 64), (64, 1e8)),
                    norm_cfg=dict(type="GN", num_groups=4))
        train_cfg = None
    model = MODELS.build(dict(type=detector, backbone=backbone, neck=neck, bbox_head=head, train_cfg=train_cfg,
                              test_cfg=test_cfg, data_preprocessor=dict(type="DetDataPreprocessor",
                                                                        pad_size_divisor=32)))
    model.init_weights()
    img, sample = synthetic([((8, 8, 40, 40), 1)])
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), True)
    losses = model(**data, mode="loss")
    values = [v for vals in losses.values() for v in (vals if isinstance(vals, list) else [vals])]
    assert all(torch.isfinite(v).all() for v in values)
    raw = model(data["inputs"], mode="tensor")
    assert [tuple(t.shape[2:]) for t in raw[0]] == [(8, 8), (4, 4), (2, 2), (1, 1)]
    model.eval()
    sample.set_metainfo(dict(scale_factor=(2., 2.)))
    with torch.no_grad():
        out = model(**model.data_preprocessor(dict(inputs=[img], data_samples=[sample])), mode="predict")
    pred = out[0].pred_instances
    assert out[0] is sample and 0 < len(pred) <= 7
    assert pred.bboxes.max() <= 32 + 1e-4  # clipped to the 64x64 input, then halved back to the original
    with pytest.raises(RuntimeError, match="invalid mode 'train'"):
        model(data["inputs"], mode="train")
    with pytest.raises(ValueError, match="data_samples are needed"):
        model(data["inputs"], mode="loss")
