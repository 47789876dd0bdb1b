"""Inference: init_detector, inference_detector."""

from .inference import build_test_pipeline, get_test_pipeline_cfg, inference_detector, init_detector

__all__ = ["init_detector", "inference_detector", "get_test_pipeline_cfg", "build_test_pipeline"]
