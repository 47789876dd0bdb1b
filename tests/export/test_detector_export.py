"""Detector export: raw head outputs checked against PyTorch; decoding and NMS outside the graph give
the PyTorch model's boxes through ``loomcv infer --backend`` and ``loomdet.apis``."""

import json
import re

import cv2
import numpy as np
import pytest
import torch

from loomcv.cli.main import main
from loomcv.export import ExportError, export_model

pytest.importorskip("onnxruntime")

YOLO = "yolov3_mobilenetv2_1xb16_digitsdet"
DIGIT_NAMES = [str(i) for i in range(10)]


def _yolo_model():
    """The digits YOLOv3 with seeded weights; prediction biases at 0 so an untrained model detects."""
    from loomdet.apis import init_detector
    torch.manual_seed(0)
    model = init_detector(YOLO)
    with torch.no_grad():
        for conv in model.bbox_head.convs_pred:
            conv.bias.normal_(0, 1)
    return model


SMALL = {
    "retinanet": ("retinanet_r18_fpn_1x_coco", "retina_cls", {}),
    "fcos": ("fcos_r50-caffe_fpn_gn-head_1x_coco", "conv_cls",
             {"model.backbone.depth": 18, "model.bbox_head.norm_cfg": dict(type="GN", num_groups=8)}),
}


def _small_cfg(name="retinanet"):
    """RetinaNet or FCOS on an R18-FPN at 16-32 channels, 96x96 test images."""
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    config, _, extra = SMALL[name]
    cfg = Config.fromfile(find_config(config))
    cfg.merge_from_dict({
        "model.backbone.base_channels": 16, "model.backbone.init_cfg": None,
        "model.neck.in_channels": [16, 32, 64, 128], "model.neck.out_channels": 32,
        "model.bbox_head.in_channels": 32, "model.bbox_head.feat_channels": 32,
        "model.bbox_head.num_classes": 10, "model.test_cfg.score_thr": 0.3,
        "test_dataloader.dataset.metainfo": dict(classes=DIGIT_NAMES), **extra})
    cfg.test_dataloader.dataset.pipeline = [
        dict(type="LoadImageFromFile"), dict(type="Resize", scale=(96, 96), keep_ratio=True),
        dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"))]
    return cfg


def _small_model(cfg, name="retinanet"):
    """The detector with seeded weights; class biases drawn around 0 so that an untrained model detects."""
    from loomdet.apis import init_detector
    torch.manual_seed(0)
    model = init_detector(cfg)
    with torch.no_grad():
        getattr(model.bbox_head, SMALL[name][1]).bias.normal_(0, 1)
    return model


@pytest.fixture(scope="module")
def canvases(tmp_path_factory):
    """Three digits-detection canvases (128x128 BGR) written as PNG files."""
    from loomdet.datasets.digits_det import generate_digits_det
    folder = tmp_path_factory.mktemp("det_png")
    images, _ = generate_digits_det("val", num_images=3)
    paths = []
    for i, image in enumerate(images):
        paths.append(str(folder / f"canvas_{i}.png"))
        cv2.imwrite(paths[-1], image)
    return paths


def assert_same_detections(ours, theirs, box_tol=1e-2, score_tol=1e-4):
    """Same number of boxes; each PyTorch detection has one of the export's with its label, box and score."""
    a, b = ours.pred_instances, theirs.pred_instances
    assert len(a) == len(b) > 0
    order_a, order_b = a.scores.argsort(descending=True), b.scores.argsort(descending=True)
    torch.testing.assert_close(a.scores[order_a], b.scores[order_b], atol=score_tol, rtol=0)
    for box, label in zip(b.bboxes, b.labels):
        same = (a.labels == label) & ((a.bboxes - box).abs().amax(dim=1) <= box_tol)
        assert same.any(), f"no exported detection of label {int(label)} at {box.tolist()}"


def test_yolov3_onnx_cli_export_and_infer_match_pytorch(tmp_path, canvases, capsys):
    from loomcv.checkpoint import save_checkpoint
    from loomdet.apis import inference_detector, init_deployed_detector
    model = _yolo_model()
    ckpt = tmp_path / "yolo.pth"
    save_checkpoint(dict(meta=dict(dataset_meta=dict(classes=DIGIT_NAMES)), state_dict=model.state_dict()),
                    str(ckpt))
    out = tmp_path / "yolo.onnx"
    assert main(["export", YOLO, str(ckpt), "--format", "onnx", "--dynamic-batch", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "input 3x96x96, dynamic batch" in printed and "OK" in printed
    meta = json.loads((tmp_path / "yolo.onnx.json").read_text())
    assert meta["task"] == "detection" and meta["outputs"] == ["pred_map_0", "pred_map_1", "pred_map_2"]
    assert meta["postprocess"]["head"] == "YOLOV3Head" and meta["postprocess"]["in_graph"] is False
    assert meta["postprocess"]["test_cfg"]["nms"]["iou_threshold"] == 0.45
    assert meta["preprocess"]["pad_size_divisor"] == 32 and meta["preprocess"]["to_rgb"] is True
    assert meta["preprocess"]["std"] == [255.0] * 3 and meta["classes"] == DIGIT_NAMES
    assert meta["input"]["shape"] == ["batch", 3, 96, 96] and meta["check"]["batches"] == [1, 2, 3]
    assert meta["model_cfg"]["bbox_head"]["type"] == "YOLOV3Head"

    # the same boxes, labels and scores through the API ...
    deployed = init_deployed_detector(YOLO, str(out))
    for ours, theirs in zip(inference_detector(deployed, canvases), inference_detector(model, canvases)):
        assert_same_detections(ours, theirs)
    # ... and through `loomcv infer`, with the sidecar's recorded config as well as the shipped one
    from loomdet.apis import DeployedDetector
    assert_same_detections(inference_detector(DeployedDetector(None, str(out)), canvases[0]),
                           inference_detector(model, canvases[0]))

    def infer(*args):
        assert main(["infer", YOLO, *args, *canvases, "--no-draw", "--score-thr", "0.5"]) == 0
        lines = capsys.readouterr().out.splitlines()
        return [(m.group(1), float(m.group(2)), [float(v) for v in m.group(3).split(", ")])
                for m in (re.match(r"\s+(\S+) ([\d.]+) \[(.*)\]", line) for line in lines) if m]

    torch_lines, onnx_lines = infer(str(ckpt)), infer(str(out), "--backend", "onnxruntime")
    assert torch_lines and len(torch_lines) == len(onnx_lines)
    for (name, score, box), (name2, score2, box2) in zip(sorted(torch_lines), sorted(onnx_lines)):
        assert name == name2 and abs(score - score2) <= 1.5e-3
        assert np.allclose(box, box2, atol=0.15)


def test_yolov3_torchscript_dynamic_batch(tmp_path, canvases):
    from loomdet.apis import DeployedDetector, inference_detector
    model = _yolo_model()
    result = export_model(model, "torchscript", tmp_path / "yolo.pt", (3, 96, 96), dynamic_batch=True,
                          cfg=model.cfg, dataset_meta=model.dataset_meta)
    assert result.batches == [1, 2, 3] and result.comparison.ok and result.comparison.max_abs < 1e-4
    deployed = DeployedDetector(model.cfg, str(result.path), backend="torchscript")
    for ours, theirs in zip(inference_detector(deployed, canvases), inference_detector(model, canvases)):
        assert_same_detections(ours, theirs)
    with pytest.raises(ValueError, match="exported as 'torchscript'"):
        DeployedDetector(model.cfg, str(result.path), backend="onnxruntime")


KINDS = dict(retinanet=("RetinaHead", ("cls_score", "bbox_pred")),
             fcos=("FCOSHead", ("cls_score", "bbox_pred", "centerness")))


@pytest.mark.parametrize("name, fmt, suffix", [("retinanet", "onnx", ".onnx"), ("retinanet", "torchscript", ".pt"),
                                               ("fcos", "torch-export", ".pt2")])
def test_retinanet_and_fcos_export_dynamic_batch_matches_pytorch(name, fmt, suffix, tmp_path, canvases):
    from loomdet.apis import inference_detector, init_deployed_detector
    cfg = _small_cfg(name)
    model = _small_model(cfg, name)
    out = tmp_path / (name + suffix)
    result = export_model(model, fmt, out, (3, 96, 96), dynamic_batch=True, cfg=cfg,
                          dataset_meta=model.dataset_meta)
    assert result.comparison.ok and result.batches == [1, 2, 3]
    meta = json.loads(open(result.sidecar).read())
    head, kinds = KINDS[name]
    assert meta["outputs"] == [f"{k}_{i}" for k in kinds for i in range(5)]
    assert meta["postprocess"]["head"] == head and meta["postprocess"]["num_levels"] == 5
    deployed = init_deployed_detector(cfg, str(out))
    for ours, theirs in zip(inference_detector(deployed, canvases), inference_detector(model, canvases)):
        assert_same_detections(ours, theirs)


def test_deployed_detector_refuses_larger_inputs_and_another_head(tmp_path, canvases):
    from loomdet.apis import DeployedDetector, inference_detector
    cfg = _small_cfg()
    model = _small_model(cfg)
    out = tmp_path / "small.onnx"
    export_model(model, "onnx", out, (3, 64, 64), cfg=cfg, dataset_meta=model.dataset_meta, check=False)
    with pytest.raises(ValueError, match=r"exported for 64x64 inputs, the pipeline gives 96x96; export with "
                                         r"--shape 96 96"):
        inference_detector(DeployedDetector(cfg, str(out)), canvases[0])
    other = _small_cfg()
    other.model.bbox_head = dict(type="FCOSHead", num_classes=10, in_channels=32, feat_channels=32)
    with pytest.raises(ValueError, match="the config's head is FCOSHead, the export was made from a RetinaHead"):
        DeployedDetector(other, str(out))


class Branchy(torch.nn.Module):
    """Python control flow on the input's values, in a detector's neck."""

    def __init__(self, neck):
        super().__init__()
        self.neck = neck

    def forward(self, x):
        if x[0].mean() > 0:
            return self.neck(x)
        return self.neck(x)


def test_unsupported_detector_module_gives_the_clear_error(tmp_path):
    model = _yolo_model()
    model.neck = Branchy(model.neck)
    with pytest.raises(ExportError, match=r"module 'neck' \(Branchy\).*data-dependent Python control flow"):
        export_model(model, "torchscript", tmp_path / "bad.pt", (3, 64, 64))
