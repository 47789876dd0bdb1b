"""Inference: init_model, inference_model, show_result, ImageClassificationInferencer."""

from .inference import ImageClassificationInferencer, inference_model, show_result
from .model import init_model

__all__ = ["init_model", "inference_model", "show_result", "ImageClassificationInferencer"]
