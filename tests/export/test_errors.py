"""Unexportable models get one sentence naming the module and the operation; a missing extra is named."""

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.export import ExportError, export_model


class Branchy(nn.Module):
    """Python control flow on the input's values: a graph cannot hold it."""

    def forward(self, x):
        if x.mean() > 0:
            return x * 2
        return x


class Warp(nn.Module):
    """grid_sample: ONNX has it from opset 16 only."""

    def forward(self, x):
        grid = torch.zeros(x.shape[0], x.shape[2], x.shape[3], 2)
        return F.grid_sample(x, grid, align_corners=False)


class ShapeChecked(nn.Module):
    """Checks on shapes are fine even in traced formats."""

    def forward(self, x):
        if x.shape[1] != 4 or x.dim() != 4:
            raise ValueError("ShapeChecked wants 4 channels")
        return x + 1


class Net(nn.Module):
    def __init__(self, middle: nn.Module):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.block = nn.Sequential(nn.ReLU(), middle)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return (self.pool(self.block(self.stem(x))).flatten(1),)


def classifier(middle: nn.Module):
    from loomcls.models import ImageClassifier
    torch.manual_seed(0)
    return ImageClassifier(backbone=Net(middle), head=dict(type="ClsHead")).eval()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "torch-export"])
def test_data_dependent_branch_names_the_module_and_line(fmt, tmp_path, capfd):
    with pytest.raises(ExportError) as info:
        export_model(classifier(Branchy()), fmt, str(tmp_path / "m"), (3, 8, 8), dynamic_batch=True)
    message = str(info.value)
    assert message.startswith(f"cannot export ImageClassifier to {fmt}")
    assert "module 'backbone.block.1' (Branchy) at test_errors.py:" in message
    assert "`if x.mean() > 0:`" in message and "data-dependent Python control flow" in message
    assert "\n" not in message  # one sentence, no tracer output
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the exporters' graph dumps and warnings were kept quiet
    assert not (tmp_path / "m.json").exists()


def test_op_missing_at_the_opset_names_module_and_operator(tmp_path):
    with pytest.raises(ExportError) as info:
        export_model(classifier(Warp()), "onnx", str(tmp_path / "w.onnx"), (3, 8, 8), opset=11)
    message = str(info.value)
    assert "to onnx (opset 11): module 'backbone.block.1' (Warp)" in message
    assert "unsupported operation 'aten::grid_sampler'" in message and "version 16" in message
    result = export_model(classifier(Warp()), "onnx", str(tmp_path / "w.onnx"), (3, 8, 8), opset=16)
    assert result.comparison.ok and result.info["opset"] == 16


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_shape_checks_are_not_taken_for_data_dependent_branches(fmt, tmp_path):
    result = export_model(classifier(ShapeChecked()), fmt, str(tmp_path / "s"), (3, 8, 8), dynamic_batch=True)
    assert result.comparison.ok


def test_bad_arguments_are_named(tmp_path):
    model = classifier(ShapeChecked())
    with pytest.raises(ValueError, match=r"format must be one of \('onnx', 'torchscript', 'torch-export'\), "
                                         r"got 'tflite'"):
        export_model(model, "tflite", str(tmp_path / "x"), (3, 8, 8))
    with pytest.raises(ValueError, match=r"input_shape must be \(C, H, W\)"):
        export_model(model, "onnx", str(tmp_path / "x"), (8, 8))
    with pytest.raises(ValueError, match=r"batch must be an int >= 1, got 0"):
        export_model(model, "onnx", str(tmp_path / "x"), (3, 8, 8), batch=0)


MISSING_ORT = """
import sys
sys.modules["onnxruntime"] = None  # as if the extra were not installed
from loomcv.cli.main import main
print("export rc", main(["export", "lenet5_1xb64_digits", {ckpt!r}, "--format", "onnx", "--out", {new!r}]))
print("torchscript rc", main(["export", "lenet5_1xb64_digits", {ckpt!r}, "--format", "torchscript",
                             "--out", {ts!r}]))
print("infer rc", main(["infer", "lenet5_1xb64_digits", {existing!r}, {png!r}, "--backend", "onnxruntime"]))
"""


def test_missing_onnxruntime_names_the_extra(lenet_ckpt, digit_pngs, tmp_path):
    # an ONNX file (and sidecar) made while onnxruntime is there, for the infer half
    out = str(tmp_path / "lenet.onnx")
    from loomcls.apis import init_model
    model = init_model("lenet5_1xb64_digits", str(lenet_ckpt))
    export_model(model, "onnx", out, (1, 32, 32), cfg=model.cfg, dataset_meta=model.dataset_meta)
    code = MISSING_ORT.format(ckpt=str(lenet_ckpt), new=str(tmp_path / "new.onnx"), existing=out,
                              png=digit_pngs[0], ts=str(tmp_path / "lenet.pt"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert "export rc 1" in proc.stdout and "infer rc 1" in proc.stdout, proc.stderr
    assert "torchscript rc 0" in proc.stdout, proc.stderr  # the other formats need no extra
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 2, proc.stderr
    for line in errors:
        assert "onnxruntime" in line and "pip install 'loomcv[onnx]'" in line
    assert not (tmp_path / "new.onnx").exists()  # refused before exporting anything
    # in a fresh process, loomcv found loomcls' export spec by itself (softmax in the graph)
    meta = json.loads((tmp_path / "lenet.pt.json").read_text())
    assert meta["task"] == "classification" and meta["postprocess"]["activation"] == "softmax"
