"""Evaluator: feeds each batch to one or several metrics and merges their results."""

from typing import Any, List, Mapping, Optional, Sequence, Union

from loomcv.registry import EVALUATOR, METRICS, build_or_accept

from .metric import BaseMetric


def _as_plain(sample: Any) -> Any:
    """Data samples become dicts (``to_dict``) as metrics index them by key."""
    to_dict = getattr(sample, "to_dict", None)
    return to_dict() if callable(to_dict) else sample


@EVALUATOR.register_module()
class Evaluator:
    """Args:
        metrics: a metric (object or config dict) or a list of them.
        prefix: put before every result name as ``prefix/name``; the runner sets
            it to the set's name when it evaluates several validation/test sets.
    """

    def __init__(self, metrics: Union[Mapping, BaseMetric, Sequence], prefix: Optional[str] = None):
        if isinstance(metrics, (Mapping, BaseMetric)):
            metrics = [metrics]
        self.metrics: List[BaseMetric] = [build_or_accept(m, METRICS, BaseMetric, "each metric", self)
                                          for m in metrics]
        self._dataset_meta: Optional[dict] = None
        self.prefix = prefix

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta: Optional[dict]) -> None:
        """Setting it sets every metric's ``dataset_meta`` too (class names, ...)."""
        self._dataset_meta = meta
        for metric in self.metrics:
            metric.dataset_meta = meta

    def process(self, data_samples: Sequence[Any], data_batch: Any = None) -> None:
        """Give one batch of predictions (and its inputs, if metrics need them) to every metric."""
        samples = [_as_plain(s) for s in data_samples]
        for metric in self.metrics:
            metric.process(data_batch, samples)

    def evaluate(self, size: int) -> dict:
        """All metrics' results in one dict (names after ``prefix/``); two metrics may not produce
        the same key."""
        merged = {}
        for metric in self.metrics:
            for name, value in metric.evaluate(size).items():
                if name in merged:
                    raise ValueError(f"Evaluator: metric name {name!r} is produced twice (the second time "
                                     f"by {type(metric).__name__}); give the metrics different `prefix`es")
                merged[name] = value
        if self.prefix:
            merged = {f"{self.prefix}/{name}": value for name, value in merged.items()}
        return merged

    def offline_evaluate(self, data_samples: Sequence[Any], data: Optional[Sequence[Any]] = None,
                         chunk_size: int = 1) -> dict:
        """Evaluate saved predictions (e.g. from DumpResults) without a model, ``chunk_size`` at a time."""
        if data is not None and len(data) != len(data_samples):
            raise ValueError(f"Evaluator.offline_evaluate: data has {len(data)} items but data_samples "
                             f"has {len(data_samples)}")
        if chunk_size < 1:
            raise ValueError(f"Evaluator.offline_evaluate: chunk_size must be >= 1, got {chunk_size}")
        for start in range(0, len(data_samples), chunk_size):
            end = start + chunk_size
            self.process(data_samples[start:end], None if data is None else data[start:end])
        return self.evaluate(len(data_samples))


def build_evaluator(cfg: Union[Evaluator, Mapping, Sequence]) -> Evaluator:
    """An Evaluator from what a config's ``val_evaluator``/``test_evaluator`` may hold.

    An Evaluator is returned as is; a dict with ``metrics`` (or a ``type`` that
    EVALUATOR knows) is built from EVALUATOR; any other dict, a metric or a
    list is taken as the metric(s) of a plain Evaluator.
    """
    if isinstance(cfg, Evaluator):
        return cfg
    if isinstance(cfg, Mapping) and ("metrics" in cfg or
                                      (isinstance(cfg.get("type"), str) and EVALUATOR.get(cfg["type"]))):
        return EVALUATOR.build(cfg, default_args=dict(type="Evaluator"))
    return Evaluator(cfg)
