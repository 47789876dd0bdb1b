"""BaseMetric: per-batch ``process`` on every rank, one ``compute_metrics`` on rank 0.

``evaluate(size)`` gathers the ranks' ``results`` in dataset order (dropping
the sampler's padding), computes on rank 0, and shares the answer with all
ranks, so every rank returns the same dict.
"""

import logging
import os.path as osp
import pickle
from abc import ABCMeta, abstractmethod
from typing import Any, List, Optional, Sequence

import torch

from loomcv.dist import broadcast_object_list, collect_results, is_main_process
from loomcv.logging import print_log
from loomcv.registry import METRICS


def to_cpu(data: Any) -> Any:
    """Move tensors (and objects with ``.cpu()``, like data samples) inside ``data`` to the CPU."""
    if isinstance(data, torch.Tensor):
        return data.cpu()
    if isinstance(data, dict):
        return {k: to_cpu(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and not hasattr(data, "_fields"):
        return type(data)(to_cpu(v) for v in data)
    cpu = getattr(data, "cpu", None)
    return cpu() if callable(cpu) else data


class BaseMetric(metaclass=ABCMeta):
    """Args:
        collect_device: 'cpu' or 'gpu': how results travel between ranks.
        prefix: put before every metric name as ``prefix/name``; defaults to
            the class's ``default_prefix``.
        collect_dir: MMEngine's folder for collecting results through files; accepted for its
            signature (with ``collect_device='cpu'`` only, as there): results travel as
            pickles over the process group here.
    """

    default_prefix: Optional[str] = None

    def __init__(self, collect_device: str = "cpu", prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None):
        if collect_device not in ("cpu", "gpu"):
            raise ValueError(f"{type(self).__name__}: collect_device must be 'cpu' or 'gpu', "
                             f"got {collect_device!r}")
        if collect_dir is not None and collect_device != "cpu":
            raise ValueError(f"{type(self).__name__}: collect_dir goes with collect_device='cpu', got "
                             f"collect_device={collect_device!r}")
        self.collect_device = collect_device
        self.prefix = prefix or self.default_prefix
        self.results: List[Any] = []
        self.dataset_meta: Optional[dict] = None   # class names etc., set by the Evaluator

    @abstractmethod
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Turn one batch of predictions into items appended to ``self.results``."""

    @abstractmethod
    def compute_metrics(self, results: List[Any]) -> dict:
        """The metrics of all ``results`` (the whole dataset, in order), as ``{name: value}``."""

    def evaluate(self, size: int) -> dict:
        """Metrics over the first ``size`` results of all ranks; clears ``self.results``."""
        if not self.results:
            print_log(f"{type(self).__name__} got empty `self.results`: make sure its `process` "
                      f"appends to self.results.", "current", logging.WARNING)
        results = collect_results(self.results, size, self.collect_device)
        if is_main_process():
            metrics = self.compute_metrics(to_cpu(results))
            if self.prefix:
                metrics = {f"{self.prefix}/{k}": v for k, v in metrics.items()}
            box = [metrics]
        else:
            box = [None]
        broadcast_object_list(box)
        self.results.clear()
        return box[0]


@METRICS.register_module()
class DumpResults(BaseMetric):
    """Pickle every prediction (in dataset order) to ``out_file_path``; returns no metrics."""

    def __init__(self, out_file_path: str, collect_device: str = "cpu", prefix: Optional[str] = None):
        super().__init__(collect_device, prefix)
        if not str(out_file_path).endswith((".pkl", ".pickle")):
            raise ValueError(f"DumpResults: out_file_path must end with .pkl or .pickle, got {out_file_path!r}")
        self.out_file_path = str(out_file_path)

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        self.results.extend(to_cpu(list(data_samples)))

    def compute_metrics(self, results: List[Any]) -> dict:
        folder = osp.dirname(osp.abspath(self.out_file_path))
        if not osp.isdir(folder):
            raise FileNotFoundError(f"DumpResults: the folder of out_file_path {self.out_file_path!r} "
                                    f"does not exist")
        with open(self.out_file_path, "wb") as f:
            pickle.dump(results, f)
        print_log(f"Results have been saved to {self.out_file_path}.", "current")
        return {}


def get_metric_value(indicator: str, metrics: dict) -> Any:
    """The value of ``indicator`` in ``metrics``: a full name (``'coco/bbox_mAP'``) must match exactly;
    a short one (``'bbox_mAP'``) must match the last part of exactly one key (MMEngine's rule, used to
    pick the metric that decides the best checkpoint)."""
    if "/" in indicator:
        if indicator in metrics:
            return metrics[indicator]
        raise ValueError(f"metric {indicator!r} is not among the metrics {list(metrics)}")
    matched = [key for key in metrics if key.split("/")[-1] == indicator]
    if not matched:
        raise ValueError(f"no metric named {indicator!r} among {list(metrics)}")
    if len(matched) > 1:
        raise ValueError(f"metric {indicator!r} is ambiguous: {matched}; write the full name")
    return metrics[matched[0]]
