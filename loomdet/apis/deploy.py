"""Exported detectors: what ``loomcv export`` takes from one, and inference through the export.

The export of a :class:`~loomdet.models.detectors.SingleStageDetector`
(YOLOV3, RetinaNet, FCOS) goes from the normalized, padded input batch to the
head's raw outputs, one tensor per kind and level (``cls_score_0``...,
``bbox_pred_0``..., ``centerness_0``... or ``pred_map_0``...), exactly what
``model(inputs, mode='tensor')`` gives. Decoding, score filtering and NMS
stay outside the graph: they have data-dependent shapes that exporters handle
badly, and keeping them in Python lets :class:`DeployedDetector` run the
head's own ``predict_by_feat`` on the exported outputs, so an export decodes
exactly as the PyTorch model does.
"""

import copy
import math
import os
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.config import Config
from loomcv.export import ExportedModel, ExportSpec, load_sidecar, register_export_spec
from loomcv.export.spec import plain
from loomcv.registry import init_default_scope
from ..models.data_preprocessors import DetDataPreprocessor
from ..models.detectors import SingleStageDetector
from ..registry import MODELS
from ..structures import DetDataSample
from .inference import _dataset_metainfo, load_config

BACKENDS = ("onnxruntime", "torchscript", "torch-export")


def head_levels(head: nn.Module) -> int:
    """Pyramid levels the head predicts on (one exported output per kind and level)."""
    strides = getattr(head, "featmap_strides", None) or getattr(head.prior_generator, "strides", None)
    if not strides:
        raise ValueError(f"cannot export {type(head).__name__}: it has neither featmap_strides nor a "
                         "prior_generator with strides, so its number of levels is unknown")
    return len(strides)


def output_names(kinds: Sequence[str], num_levels: int) -> List[str]:
    """``cls_score_0, ..., cls_score_{L-1}, bbox_pred_0, ...``: kind-major, as ``forward`` groups them."""
    return [f"{kind}_{level}" for kind in kinds for level in range(num_levels)]


class DetectorHeadOutputs(nn.Module):
    """Normalized padded NCHW images -> the head's raw outputs as one flat tuple (kind-major, then level)."""

    def __init__(self, model: nn.Module, kinds: Sequence[str], num_levels: int):
        super().__init__()
        self.model, self.kinds, self.num_levels = model, tuple(kinds), num_levels

    def forward(self, inputs: torch.Tensor):
        outs = self.model(inputs, mode="tensor")
        if len(outs) != len(self.kinds) or any(len(per_level) != self.num_levels for per_level in outs):
            raise ValueError(f"DetectorHeadOutputs: {type(self.model.bbox_head).__name__}.forward gave "
                             f"{[len(o) for o in outs]} maps per kind; its raw_output_kinds {self.kinds} on "
                             f"{self.num_levels} levels promise {len(self.kinds)} lists of {self.num_levels}")
        return tuple(t for per_level in outs for t in per_level)


def group_outputs(outputs: Sequence, kinds: Sequence[str], num_levels: int) -> tuple:
    """The flat exported outputs back into ``forward``'s layout: one per-level list per kind."""
    if len(outputs) != len(kinds) * num_levels:
        raise ValueError(f"the export gave {len(outputs)} outputs; {len(kinds)} kinds ({', '.join(kinds)}) on "
                         f"{num_levels} levels need {len(kinds) * num_levels}")
    return tuple(list(outputs[i * num_levels:(i + 1) * num_levels]) for i in range(len(kinds)))


@register_export_spec(SingleStageDetector)
def detector_export_spec(model: SingleStageDetector) -> ExportSpec:
    """Export the head's raw per-level maps; the sidecar says which head decodes them, and how."""
    head = model.bbox_head
    kinds = tuple(getattr(head, "raw_output_kinds", ()))
    if not kinds:
        raise ValueError(f"cannot export {type(model).__name__}: its head {type(head).__name__} does not say what "
                         "its forward returns (raw_output_kinds)")
    num_levels = head_levels(head)
    postprocess = dict(decoder="predict_by_feat", in_graph=False, head=type(head).__name__, outputs=list(kinds),
                       num_levels=num_levels, test_cfg=plain(head.test_cfg), rescale=True)
    return ExportSpec(DetectorHeadOutputs(model, kinds, num_levels), output_names=output_names(kinds, num_levels),
                      postprocess=postprocess, meta=dict(task="detection"))


def _sidecar_config(meta: dict) -> Config:
    """A config rebuilt from the sidecar: the model it was exported from and its test pipeline."""
    if not meta.get("model_cfg"):
        raise ValueError("DeployedDetector: the sidecar records no model config; pass the detector's config")
    return Config(dict(default_scope="loomdet", model=meta["model_cfg"],
                       test_dataloader=dict(dataset=dict(pipeline=meta["preprocess"]["pipeline"]))))


class DeployedDetector(nn.Module):
    """An exported detector that stands in for the PyTorch model at inference.

    ``DeployedDetector('yolov3_mobilenetv2_1xb16_digitsdet', 'yolo.onnx')``
    reads ``yolo.onnx.json`` beside the file; ``config`` gives the test
    pipeline and the head that decodes (None: the model config and pipeline
    the export recorded); ``backend`` is 'onnxruntime', 'torchscript' or
    'torch-export' (default: the one the export names). Pass it to
    :func:`~loomdet.apis.inference_detector` like a model.

    The export takes one padded size: batches the pipeline makes smaller are
    padded (bottom and right, with ``pad_value``) up to it, which matches the
    PyTorch model exactly only where it would have padded to the same size.
    """

    def __init__(self, config, model_file: str, backend: Optional[str] = None, device: str = "cpu"):
        super().__init__()
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f"DeployedDetector: backend must be one of {BACKENDS}, got {backend!r}")
        self.meta = load_sidecar(model_file, task="detection", owner="DeployedDetector", what="a detector")
        if backend is not None and backend != self.meta["backend"]:
            raise ValueError(f"DeployedDetector: {os.fspath(model_file)!r} was exported as "
                             f"{self.meta['format']!r}, which backend {self.meta['backend']!r} runs, not {backend!r}")
        self.cfg = copy.deepcopy(load_config(config)) if config is not None else _sidecar_config(self.meta)
        init_default_scope(self.cfg.get("default_scope", "loomdet"))
        self.postprocess = self.meta["postprocess"]
        self.bbox_head = self._build_head(self.cfg)
        self.runtime = ExportedModel(model_file, backend, device=device)
        pre = self.meta["preprocess"]
        self.data_preprocessor = DetDataPreprocessor(
            mean=pre["mean"], std=pre["std"], bgr_to_rgb=pre["to_rgb"],
            pad_size_divisor=pre.get("pad_size_divisor", 1), pad_value=pre.get("pad_value", 0))
        self.pad_value = float(pre.get("pad_value", 0))
        classes = self.meta.get("classes")
        palette = _dataset_metainfo(self.cfg).get("palette") if config is not None else None
        self.dataset_meta = dict(classes=tuple(classes) if classes else None, palette=palette or "random")
        self.input_hw = tuple(self.meta["input"]["shape"][2:])
        self._fixed_batch = None if self.meta["input"]["dynamic_batch"] else self.meta["input"]["shape"][0]

    def _build_head(self, cfg: Config) -> nn.Module:
        """The head of ``cfg``'s detector, for its ``predict_by_feat`` (its layers' weights go unused)."""
        model_cfg = cfg.get("model") or {}
        if not model_cfg.get("bbox_head"):
            raise ValueError("DeployedDetector: the config's model has no bbox_head to decode the outputs with")
        head_cfg = dict(copy.deepcopy(model_cfg["bbox_head"]), train_cfg=None,
                        test_cfg=copy.deepcopy(model_cfg.get("test_cfg")))
        head = MODELS.build(head_cfg).eval()
        if type(head).__name__ != self.postprocess.get("head"):
            raise ValueError(f"DeployedDetector: the config's head is {type(head).__name__}, the export was made "
                             f"from a {self.postprocess.get('head')}; give the config the model was exported with")
        return head

    def _run(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        """The exported outputs for a batch padded up to the exported size."""
        h, w = inputs.shape[-2:]
        eh, ew = self.input_hw
        if h > eh or w > ew:
            d = self.data_preprocessor.pad_size_divisor
            raise ValueError(f"DeployedDetector: the model was exported for {eh}x{ew} inputs, the pipeline gives "
                             f"{h}x{w}; export with --shape {math.ceil(h / d) * d} {math.ceil(w / d) * d} or larger")
        if (h, w) != (eh, ew):
            inputs = F.pad(inputs, (0, ew - w, 0, eh - h), value=self.pad_value)
        array = inputs.detach().cpu().numpy()
        if self._fixed_batch is None or self._fixed_batch == array.shape[0]:
            outs = self.runtime(array)
        elif self._fixed_batch == 1:
            per_image = [self.runtime(a[None]) for a in array]
            outs = [np.concatenate(parts) for parts in zip(*per_image)]
        else:
            raise ValueError(f"DeployedDetector: the export takes batches of {self._fixed_batch} only; "
                             "export with --dynamic-batch to run other batch sizes")
        return [torch.from_numpy(np.ascontiguousarray(o)) for o in outs]

    def predict(self, inputs: torch.Tensor, data_samples: List[DetDataSample]) -> List[DetDataSample]:
        """Raw maps from the export, decoded and NMS'd by the head's own ``predict_by_feat``."""
        if data_samples is None or len(data_samples) != inputs.size(0):
            raise ValueError("DeployedDetector.predict: one DetDataSample (with img_shape and scale_factor) per "
                             "image is needed")
        outs = group_outputs(self._run(inputs), self.postprocess["outputs"], self.postprocess["num_levels"])
        with torch.no_grad():
            results = self.bbox_head.predict_by_feat(*outs, batch_img_metas=[s.metainfo for s in data_samples],
                                                     rescale=self.postprocess.get("rescale", True))
        for sample, pred in zip(data_samples, results):
            sample.pred_instances = pred
        return data_samples

    def test_step(self, data: dict) -> List[DetDataSample]:
        data = self.data_preprocessor(data, False)
        return self.predict(data["inputs"], data["data_samples"])

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[DetDataSample]] = None,
                mode: str = "predict"):
        if mode != "predict":
            raise ValueError(f"DeployedDetector.forward: an export only predicts; mode must be 'predict', "
                             f"got {mode!r}")
        return self.predict(inputs, data_samples)


def init_deployed_detector(config, model_file: str, backend: Optional[str] = None,
                           device: str = "cpu") -> DeployedDetector:
    """The exported ``model_file`` ready for :func:`~loomdet.apis.inference_detector`, as init_detector
    gives a checkpoint."""
    return DeployedDetector(config, model_file, backend=backend, device=device)
