"""Each format round-trips through `loomcv export` and matches PyTorch; the sidecar says how to feed it."""

import json

import numpy as np
import pytest
import torch

from loomcv.cli.main import main
from loomcv.export import ExportedModel, ExportError, ExportSpec, TensorMode, export_model, get_export_spec

SUFFIX = {"onnx": ".onnx", "torchscript": ".pt", "torch-export": ".pt2"}


def pytorch_scores(config, ckpt, x):
    """What the PyTorch classifier's predict puts in pred_score for normalized inputs ``x``."""
    from loomcls.apis import init_model
    model = init_model(str(config), str(ckpt))
    with torch.no_grad():
        return torch.stack([s.pred_score for s in model.predict(x)]).numpy()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "torch-export"])
def test_lenet_exports_with_dynamic_batch_and_matches_pytorch(fmt, lenet_ckpt, tmp_path, capsys):
    out = tmp_path / f"lenet{SUFFIX[fmt]}"
    assert main(["export", "lenet5_1xb64_digits", str(lenet_ckpt), "--format", fmt, "--out", str(out),
                 "--dynamic-batch"]) == 0
    printed = capsys.readouterr().out
    assert "largest differences: abs" in printed and "batch 3" in printed
    meta = json.loads((tmp_path / f"lenet{SUFFIX[fmt]}.json").read_text())
    assert meta["format"] == fmt and meta["task"] == "classification"
    assert meta["input"]["shape"] == ["batch", 1, 32, 32] and meta["input"]["dynamic_batch"] is True
    assert meta["preprocess"]["mean"] == [77.85] and meta["preprocess"]["std"] == [82.44]
    assert meta["preprocess"]["channel_order"] == "gray" and meta["preprocess"]["input_size"] == [32, 32]
    assert meta["preprocess"]["pipeline"][0] == {"type": "Resize", "scale": 32}
    assert meta["classes"] == [f"digit-{i}" for i in range(10)]
    assert meta["postprocess"] == {"activation": "softmax", "in_graph": True, "labels": "argmax"}
    assert meta["check"]["passed"] and meta["check"]["batches"] == [1, 2, 3]
    assert meta["check"]["max_abs_diff"] <= 1e-4
    # independently of the command's own check: another batch size, compared with predict's scores
    x = torch.randn(5, 1, 32, 32, generator=torch.Generator().manual_seed(7))
    scores = ExportedModel(str(out))(x.numpy())[0]
    expected = pytorch_scores("lenet5_1xb64_digits", lenet_ckpt, x)
    np.testing.assert_allclose(scores, expected, atol=1e-5, rtol=1e-4)
    assert np.allclose(scores.sum(1), 1, atol=1e-5)  # the softmax is in the graph


def test_rgb_model_sidecar_and_fixed_batch(tiny_resnet, tmp_path):
    config, ckpt = tiny_resnet
    out = tmp_path / "r.onnx"
    assert main(["export", str(config), str(ckpt), "--out", str(out), "--batch", "2"]) == 0
    meta = json.loads((tmp_path / "r.onnx.json").read_text())
    pre = meta["preprocess"]
    assert pre["mean"] == [123.675, 116.28, 103.53] and pre["std"] == [58.395, 57.12, 57.375]
    assert pre["to_rgb"] is True and pre["channel_order"] == "RGB" and pre["decoded_as"] == "BGR"
    assert pre["input_size"] == [32, 32]  # from the test pipeline's CenterCrop
    assert [s["type"] for s in pre["pipeline"]] == ["ResizeEdge", "CenterCrop", "PackInputs"]
    assert meta["input"]["shape"] == [2, 3, 32, 32] and meta["classes"] == ["cat", "dog", "bird"]
    assert meta["opset"] == 17 and meta["check"]["batches"] == [2]
    runner = ExportedModel(str(out))
    x = torch.randn(2, 3, 32, 32)
    np.testing.assert_allclose(runner(x)[0], pytorch_scores(config, ckpt, x), atol=1e-5, rtol=1e-4)
    with pytest.raises(Exception):  # noqa: B017  (the runtime's own error type: the batch size is fixed)
        runner(torch.randn(3, 3, 32, 32))


def test_torch_export_of_tiny_resnet_with_other_shape(tiny_resnet, tmp_path):
    config, ckpt = tiny_resnet
    out = tmp_path / "r.pt2"
    assert main(["export", str(config), str(ckpt), "--format", "torch-export", "--out", str(out),
                 "--shape", "48", "64", "--dynamic-batch", "--batch", "2"]) == 0
    meta = json.loads((tmp_path / "r.pt2.json").read_text())
    assert meta["input"]["shape"] == ["batch", 3, 48, 64] and meta["check"]["batches"] == [2, 3]
    x = torch.randn(4, 3, 48, 64)
    np.testing.assert_allclose(ExportedModel(str(out))(x)[0], pytorch_scores(config, ckpt, x), atol=1e-5)


def test_multi_label_head_exports_sigmoid_scores(tmp_path):
    from loomcls.models import ImageClassifier
    torch.manual_seed(0)
    model = ImageClassifier(backbone=dict(type="LeNet5", num_classes=-1), neck=dict(type="GlobalAveragePooling"),
                            head=dict(type="MultiLabelLinearClsHead", num_classes=4, in_channels=120, thr=0.4)).eval()
    spec = get_export_spec(model)
    assert spec.postprocess == {"activation": "sigmoid", "in_graph": True, "labels": "threshold", "thr": 0.4,
                                "topk": None}
    result = export_model(model, "torchscript", str(tmp_path / "ml.pt"), (1, 32, 32), spec=spec)
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        expected = model.predict(x)[0].pred_score.numpy()
    np.testing.assert_allclose(ExportedModel(result.path)(x)[0][0], expected, atol=1e-6)


class TwoOutputs(torch.nn.Module):
    """A model that describes its own export (the hook detectors use)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        feat = self.conv(inputs)
        return feat.mean((2, 3)), feat.amax((2, 3))

    def export_spec(self):
        return ExportSpec(TensorMode(self), output_names=("mean", "max"), postprocess=dict(type="decode"),
                          meta=dict(task="demo"))


@pytest.mark.parametrize("fmt", ["onnx", "torch-export"])
def test_model_export_spec_hook_with_two_outputs(fmt, tmp_path):
    torch.manual_seed(0)
    model = TwoOutputs().eval()
    result = export_model(model, fmt, str(tmp_path / f"two{SUFFIX[fmt]}"), (3, 8, 8), dynamic_batch=True)
    meta = json.loads(open(result.sidecar).read())
    assert meta["outputs"] == ["mean", "max"] and meta["task"] == "demo"
    assert meta["postprocess"] == {"type": "decode"} and meta["classes"] is None
    x = torch.randn(6, 3, 8, 8)
    outs = ExportedModel(result.path)(x)
    with torch.no_grad():
        expected = model(x)
    assert len(outs) == 2
    for out, ref in zip(outs, expected):
        np.testing.assert_allclose(out, ref.numpy(), atol=1e-5)


class LoopsOverBatch(torch.nn.Module):
    """Tracing unrolls the loop: the batch size is frozen into the graph."""

    def forward(self, inputs, data_samples=None, mode="tensor"):
        return torch.stack([inputs[i].mean() for i in range(inputs.shape[0])])[:, None]


def test_frozen_batch_size_fails_the_check_with_a_hint(tmp_path):
    with pytest.raises(ExportError, match=r"matches at the traced batch size 2 only") as info:
        export_model(LoopsOverBatch(), "torchscript", str(tmp_path / "loop.pt"), (1, 4, 4), dynamic_batch=True)
    assert "batch 3, output 'output': shape (2, 1) instead of (3, 1)" in str(info.value)
    assert json.loads((tmp_path / "loop.pt.json").read_text())["check"]["passed"] is False
    # torch.export sees the batch size fixed while capturing, and says where
    with pytest.raises(ExportError, match=r"module '\(the model itself\)' \(LoopsOverBatch\): the code fixes "
                                          r"the batch size to 2"):
        export_model(LoopsOverBatch(), "torch-export", str(tmp_path / "loop.pt2"), (1, 4, 4), dynamic_batch=True)
    result = export_model(LoopsOverBatch(), "torch-export", str(tmp_path / "loop.pt2"), (1, 4, 4), batch=2)
    assert result.comparison.ok and result.batches == [2]


def test_onnx_dynamo_exporter(lenet_ckpt, tmp_path):
    pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (not in the onnx extra)")
    out = tmp_path / "lenet_dynamo.onnx"
    assert main(["export", "lenet5_1xb64_digits", str(lenet_ckpt), "--out", str(out), "--onnx-exporter", "dynamo",
                 "--dynamic-batch"]) == 0
    meta = json.loads((tmp_path / "lenet_dynamo.onnx.json").read_text())
    assert meta["exporter"] == "dynamo" and meta["opset"] == 18 and meta["check"]["passed"]
    x = torch.randn(4, 1, 32, 32)
    np.testing.assert_allclose(ExportedModel(str(out))(x)[0], pytorch_scores("lenet5_1xb64_digits", lenet_ckpt, x),
                               atol=1e-5)


def test_class_names_without_dataset_meta(lenet_ckpt, tmp_path):
    """Older checkpoints: MMCV 1.x's meta['CLASSES'], else the config's data set class."""
    ckpt = torch.load(lenet_ckpt, weights_only=True)
    for meta, expected in ((dict(CLASSES=["a", "b"] * 5), ["a", "b"] * 5), ({}, [str(i) for i in range(10)])):
        path = tmp_path / "old.pth"
        torch.save(dict(meta=meta, state_dict=ckpt["state_dict"]), path)
        assert main(["export", "lenet5_1xb64_digits", str(path), "--format", "torchscript"]) == 0
        assert json.loads((tmp_path / "old.pt.json").read_text())["classes"] == expected
