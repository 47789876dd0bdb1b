"""`loomcv infer --backend onnxruntime|torchscript` and DeployedClassifier give the PyTorch model's answers."""

import re
from pathlib import Path

import numpy as np
import pytest

from loomcv.cli.main import main
from loomcv.export import export_model

LINE = re.compile(r"^(?P<path>\S+): (?P<rest>.*)$")


def parse(output: str) -> dict:
    """path -> [(class, score), ...] from `loomcv infer` lines."""
    found = {}
    for line in output.splitlines():
        match = LINE.match(line)
        if match and match["path"].endswith(".png"):
            found[match["path"]] = [(name, float(score))
                                    for name, score in re.findall(r"(\S+) \(([\d.]+)\)", match["rest"])]
    return found


@pytest.fixture(scope="module")
def exports(lenet_ckpt, tmp_path_factory):
    """The LeNet checkpoint exported to ONNX (dynamic batch) and TorchScript (batch 1)."""
    from loomcls.apis import init_model
    folder = tmp_path_factory.mktemp("exports")
    model = init_model("lenet5_1xb64_digits", str(lenet_ckpt))
    onnx = export_model(model, "onnx", str(folder / "lenet.onnx"), (1, 32, 32), dynamic_batch=True, cfg=model.cfg,
                        dataset_meta=model.dataset_meta)
    ts = export_model(model, "torchscript", str(folder / "lenet.pt"), (1, 32, 32), cfg=model.cfg,
                      dataset_meta=model.dataset_meta)
    return dict(onnxruntime=onnx.path, torchscript=ts.path)


@pytest.mark.parametrize("backend", ["onnxruntime", "torchscript"])
def test_infer_command_matches_pytorch_topk(backend, exports, lenet_ckpt, digit_pngs, capsys):
    assert main(["infer", "lenet5_1xb64_digits", str(lenet_ckpt), *digit_pngs, "--topk", "3"]) == 0
    reference = parse(capsys.readouterr().out)
    assert main(["infer", "lenet5_1xb64_digits", exports[backend], *digit_pngs, "--topk", "3",
                 "--backend", backend]) == 0
    deployed = parse(capsys.readouterr().out)
    assert set(deployed) == set(reference) == set(digit_pngs)
    for path in digit_pngs:
        assert [name for name, _ in deployed[path]] == [name for name, _ in reference[path]]
        assert all(name.startswith("digit-") for name, _ in deployed[path])  # names from the sidecar
        np.testing.assert_allclose([s for _, s in deployed[path]], [s for _, s in reference[path]], atol=2e-4)


def test_api_deployed_classifier_on_arrays_and_paths(exports, lenet_ckpt, digit_pngs):
    from loomcls.apis import (DeployedClassifier, ImageClassificationInferencer, inference_model,
                              init_deployed_model, init_model)
    from loomcls.datasets import load_digits
    torch_model = init_model("lenet5_1xb64_digits", str(lenet_ckpt))
    deployed = init_deployed_model("lenet5_1xb64_digits", exports["onnxruntime"], backend="onnxruntime")
    assert isinstance(deployed, DeployedClassifier) and deployed.runtime.backend == "onnxruntime"
    images, _ = load_digits("test")
    ours = ImageClassificationInferencer(deployed)(list(images[:12]), batch_size=5)  # dynamic batch: 5, 5, 2
    theirs = ImageClassificationInferencer(torch_model)(list(images[:12]), batch_size=5)
    assert [r["pred_label"] for r in ours] == [r["pred_label"] for r in theirs]
    np.testing.assert_allclose(np.stack([r["pred_scores"] for r in ours]),
                               np.stack([r["pred_scores"] for r in theirs]), atol=1e-5)
    # without a config, the test pipeline recorded in the sidecar
    bare = ImageClassificationInferencer(DeployedClassifier(None, exports["onnxruntime"]))(list(images[:12]))
    np.testing.assert_allclose(np.stack([r["pred_scores"] for r in bare]),
                               np.stack([r["pred_scores"] for r in ours]), atol=1e-6)
    # a batch-1 TorchScript export takes batches one image at a time
    scripted = DeployedClassifier("lenet5_1xb64_digits", exports["torchscript"])
    for path in digit_pngs[:3]:
        a, b = inference_model(scripted, path), inference_model(torch_model, path)
        assert a["pred_class"] == b["pred_class"] and abs(a["pred_score"] - b["pred_score"]) < 1e-5
    assert len(ImageClassificationInferencer(scripted)(digit_pngs[:3], batch_size=3)) == 3


def test_deployed_classifier_errors(exports, tmp_path):
    from loomcls.apis import DeployedClassifier
    with pytest.raises(ValueError, match=r"exported as 'onnx', which backend 'onnxruntime' runs, not 'torchscript'"):
        DeployedClassifier("lenet5_1xb64_digits", exports["onnxruntime"], backend="torchscript")
    with pytest.raises(ValueError, match=r"backend must be one of \('onnxruntime', 'torchscript', 'torch-export'\)"):
        DeployedClassifier("lenet5_1xb64_digits", exports["onnxruntime"], backend="tensorrt")
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(Path(exports["onnxruntime"]).read_bytes())
    with pytest.raises(FileNotFoundError, match=r"lone.onnx.json' is missing.*loomcv export"):
        DeployedClassifier("lenet5_1xb64_digits", str(lone))
