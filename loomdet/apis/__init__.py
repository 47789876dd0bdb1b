"""Inference: init_detector, inference_detector; exported detectors (ONNX Runtime, TorchScript,
torch.export) through DeployedDetector / init_deployed_detector."""

from .deploy import DeployedDetector, init_deployed_detector
from .inference import build_test_pipeline, get_test_pipeline_cfg, inference_detector, init_detector

__all__ = ["init_detector", "inference_detector", "get_test_pipeline_cfg", "build_test_pipeline",
           "DeployedDetector", "init_deployed_detector"]
