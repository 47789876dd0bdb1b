"""Exported classifiers: what ``loomcv export`` takes from one, and inference through the export.

The export of an :class:`~loomcls.models.ImageClassifier` goes from
normalized images to the class scores after the head's activation, exactly
what ``predict`` puts in ``pred_score``: softmax for single-label heads,
sigmoid for multi-label ones. :class:`DeployedClassifier` runs such an export
(ONNX Runtime, TorchScript or torch.export) behind the model interface the
inference API uses, with the config's test pipeline for resizing and the
sidecar JSON's mean, std and channel order for normalization, so that
``inference_model``, ``ImageClassificationInferencer`` and ``loomcv infer
--backend onnxruntime`` give what the PyTorch model gives.
"""

import os
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn

from loomcls.models.classifiers import ImageClassifier
from loomcls.models.data_preprocessor import ClsDataPreprocessor
from loomcls.models.heads import ClsHead, MultiLabelClsHead
from loomcls.structures import DataSample
from loomcv.config import Config
from loomcv.export import ExportedModel, ExportSpec, load_sidecar, register_export_spec
from loomcv.registry import init_default_scope
from .model import load_config

BACKENDS = ("onnxruntime", "torchscript", "torch-export")


class ClassifierScores(nn.Module):
    """Normalized NCHW images -> class scores after softmax (single-label) or sigmoid (multi-label)."""

    def __init__(self, model: nn.Module, activation: str):
        super().__init__()
        if activation not in ("softmax", "sigmoid"):
            raise ValueError(f"ClassifierScores: activation must be 'softmax' or 'sigmoid', got {activation!r}")
        self.model, self.activation = model, activation

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        scores = self.model(inputs, mode="tensor")
        if isinstance(scores, (tuple, list)):
            scores = scores[-1]
        return torch.softmax(scores, dim=1) if self.activation == "softmax" else torch.sigmoid(scores)


@register_export_spec(ImageClassifier)
def classifier_export_spec(model: ImageClassifier) -> ExportSpec:
    """Export class scores as predict computes them; the sidecar says how labels follow."""
    head = getattr(model, "head", None)
    if isinstance(head, MultiLabelClsHead):
        activation = "sigmoid"
        postprocess = dict(activation="sigmoid", in_graph=True, labels="threshold" if head.thr is not None else "topk",
                           thr=head.thr, topk=head.topk)
    elif isinstance(head, ClsHead):
        activation = "softmax"
        postprocess = dict(activation="softmax", in_graph=True, labels="argmax")
    else:
        raise ValueError(f"cannot export {type(model).__name__} with head {type(head).__name__}: its scores' "
                         "activation is unknown; give the model an export_spec() method or register one with "
                         "loomcv.export.register_export_spec")
    return ExportSpec(ClassifierScores(model, activation), output_names=("scores",), postprocess=postprocess,
                      meta=dict(task="classification"))


class DeployedClassifier(nn.Module):
    """An exported classifier that stands in for the PyTorch model at inference.

    ``DeployedClassifier('lenet5_1xb64_digits', 'lenet.onnx')`` reads
    ``lenet.onnx.json`` beside the file; ``config`` gives the test pipeline
    (None: the one recorded in that JSON); ``backend`` is 'onnxruntime',
    'torchscript' or 'torch-export' (default: the one the export names).
    Pass it to :func:`~loomcls.apis.inference_model` or
    :class:`~loomcls.apis.ImageClassificationInferencer` like a model.
    """

    def __init__(self, config, model_file: str, backend: Optional[str] = None, device: str = "cpu"):
        super().__init__()
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f"DeployedClassifier: backend must be one of {BACKENDS}, got {backend!r}")
        self.meta = load_sidecar(model_file, task="classification", owner="DeployedClassifier", what="a classifier")
        # without a config, the test pipeline the export recorded
        self.cfg = load_config(config) if config is not None else Config(dict(
            default_scope="loomcls", test_dataloader=dict(dataset=dict(pipeline=self.meta["preprocess"]["pipeline"]))))
        init_default_scope(self.cfg.get("default_scope", "loomcls"))
        if backend is not None and backend != self.meta["backend"]:
            raise ValueError(f"DeployedClassifier: {os.fspath(model_file)!r} was exported as "
                             f"{self.meta['format']!r}, which backend {self.meta['backend']!r} runs, not {backend!r}")
        self.runtime = ExportedModel(model_file, backend, device=device)
        pre = self.meta["preprocess"]
        self.data_preprocessor = ClsDataPreprocessor(mean=pre["mean"], std=pre["std"], to_rgb=pre["to_rgb"])
        classes = self.meta.get("classes")
        self.dataset_meta = {"classes": tuple(classes)} if classes else {}
        self.postprocess = self.meta["postprocess"]
        self._fixed_batch = None if self.meta["input"]["dynamic_batch"] else self.meta["input"]["shape"][0]

    def _scores(self, inputs: torch.Tensor) -> torch.Tensor:
        expected = tuple(self.meta["input"]["shape"][1:])
        if tuple(inputs.shape[1:]) != expected:
            raise ValueError(f"DeployedClassifier: the model was exported for {expected} inputs, the pipeline "
                             f"gives {tuple(inputs.shape[1:])}; export with --shape matching the test pipeline")
        array = inputs.detach().cpu().numpy()
        if self._fixed_batch is None or self._fixed_batch == array.shape[0]:
            return torch.from_numpy(self.runtime(array)[0])
        if self._fixed_batch != 1:
            raise ValueError(f"DeployedClassifier: the export takes batches of {self._fixed_batch} only; "
                             "export with --dynamic-batch to run other batch sizes")
        return torch.from_numpy(np.concatenate([self.runtime(a[None])[0] for a in array]))

    def predict(self, inputs: torch.Tensor, data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        """Scores from the export, labels as the head's predict picks them."""
        scores = self._scores(inputs)
        data_samples = data_samples if data_samples is not None else [None] * scores.size(0)
        out = []
        for sample, score in zip(data_samples, scores):
            sample = DataSample() if sample is None else sample
            if self.postprocess.get("activation") == "sigmoid":
                thr, topk = self.postprocess.get("thr"), self.postprocess.get("topk")
                label = torch.where(score >= thr)[0] if thr is not None else score.topk(topk).indices
            else:
                label = score.argmax(dim=0, keepdim=True)
            sample.set_pred_score(score).set_pred_label(label)
            out.append(sample)
        return out

    def test_step(self, data: dict) -> List[DataSample]:
        data = self.data_preprocessor(data, False)
        return self.predict(data["inputs"], data.get("data_samples"))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[DataSample]] = None, mode: str = "predict"):
        if mode != "predict":
            raise ValueError(f"DeployedClassifier.forward: an export only predicts; mode must be 'predict', "
                             f"got {mode!r}")
        return self.predict(inputs, data_samples)


def init_deployed_model(config, model_file: str, backend: Optional[str] = None,
                        device: str = "cpu") -> DeployedClassifier:
    """The exported ``model_file`` ready for :func:`~loomcls.apis.inference_model`, as init_model gives a checkpoint."""
    return DeployedClassifier(config, model_file, backend=backend, device=device)
