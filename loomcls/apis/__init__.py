"""Inference: init_model, inference_model, show_result, ImageClassificationInferencer; exported models
(ONNX Runtime, TorchScript, torch.export) through DeployedClassifier / init_deployed_model."""

from .deploy import DeployedClassifier, init_deployed_model
from .inference import ImageClassificationInferencer, inference_model, show_result
from .model import init_model

__all__ = ["init_model", "inference_model", "show_result", "ImageClassificationInferencer", "DeployedClassifier",
           "init_deployed_model"]
