"""Evaluation: BaseMetric, the Evaluator that runs several, and DumpResults."""

from .evaluator import Evaluator, build_evaluator
from .metric import BaseMetric, DumpResults, get_metric_value, to_cpu

__all__ = ["Evaluator", "build_evaluator", "BaseMetric", "DumpResults", "to_cpu", "get_metric_value"]
