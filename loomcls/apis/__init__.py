"""Inference and the model index: get_model, list_models, init_model, inference_model, show_result,
ImageClassificationInferencer, ModelHub; exported models (ONNX Runtime, TorchScript, torch.export)
through DeployedClassifier / init_deployed_model."""

from .deploy import DeployedClassifier, init_deployed_model
from .inference import ImageClassificationInferencer, inference_model, show_result
from .model import get_model, init_model, resolve_model
from .model_index import ModelHub, list_models

__all__ = ["get_model", "list_models", "init_model", "resolve_model", "ModelHub", "inference_model",
           "show_result", "ImageClassificationInferencer", "DeployedClassifier", "init_deployed_model"]
