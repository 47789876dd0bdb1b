"""Loops: what the Runner runs for train, val and test.

Train loops count epochs and iterations, call the hooks around each step and
decide when to validate. Their position is ``state()`` (epoch, iter and the
batches done in the current pass) and ``restore(state)`` puts it back: a
restored loop continues the interrupted pass where it stopped, and the RNG
states saved with the checkpoint are restored once the data iterator for that
pass exists, so the run goes on exactly as if never stopped.
"""

import bisect
import copy
from collections.abc import Mapping
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
from torch.utils.data import DataLoader

from loomcv.dist.watchdog import pet
from loomcv.errors import ConfigError
from loomcv.registry import LOOPS

from .randomness import get_rng_state, set_rng_state


class BaseLoop:
    """Holds the runner and builds the dataloader from its config when needed."""

    def __init__(self, runner, dataloader: Union[DataLoader, dict]):
        self._runner = runner
        self.dataloader = self.build_dataloader(runner, dataloader)

    @staticmethod
    def build_dataloader(runner, dataloader: Union[DataLoader, dict]):
        """A config becomes a DataLoader seeded by the runner; anything else is kept."""
        if isinstance(dataloader, dict):
            diff_rank_seed = runner._randomness_cfg.get("diff_rank_seed", False)
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed, diff_rank_seed=diff_rank_seed)
        return dataloader

    @property
    def runner(self):
        return self._runner

    def run(self):  # pragma: no cover - abstract
        raise NotImplementedError

    # A custom train loop written for MMEngine counts with ``_epoch``/``_iter`` (or ``epoch``/``iter``
    # properties); these let checkpoints save and resume it like the built-in loops.
    def state(self) -> dict:
        """Where training stands (the built-in train loops also count ``inner_iter``)."""
        epoch = getattr(self, "epoch", getattr(self, "_epoch", 0))
        return dict(epoch=int(epoch or 0), iter=int(getattr(self, "iter", getattr(self, "_iter", 0)) or 0),
                    inner_iter=0)

    def restore(self, state: dict) -> None:
        """Continue from ``state``: sets ``_epoch`` and ``_iter``, MMEngine's counters."""
        self._epoch, self._iter = int(state["epoch"]), int(state["iter"])


def _sampler_of(dataloader):
    sampler = getattr(dataloader, "sampler", None)
    batch_sampler = getattr(dataloader, "batch_sampler", None)
    if batch_sampler is not None and hasattr(batch_sampler, "sampler"):
        sampler = batch_sampler.sampler if hasattr(batch_sampler.sampler, "set_epoch") else sampler
    return sampler


def seek_iterator(dataloader, done_batches: int):
    """A fresh iterator over ``dataloader`` positioned after ``done_batches`` batches.

    A sampler that can start mid-pass (``set_position(samples)``, e.g.
    DefaultSampler) skips without loading anything; otherwise the batches are
    drawn and dropped.
    """
    sampler = _sampler_of(dataloader)
    batch_size = getattr(dataloader, "batch_size", None)
    if done_batches and batch_size and hasattr(sampler, "set_position"):
        sampler.set_position(done_batches * batch_size)  # consumed (and reset) by the sampler's next pass
        return iter(dataloader)
    iterator = iter(dataloader)
    for _ in range(done_batches):
        next(iterator)
    return iterator


def share_dataset_meta(runner, dataloader) -> None:
    """Give the runner's visualizer the dataset's metainfo (class names, palette), as MMEngine's loops do."""
    meta = getattr(getattr(dataloader, "dataset", None), "metainfo", None)
    visualizer = getattr(runner, "visualizer", None)
    if meta is not None and visualizer is not None and hasattr(visualizer, "dataset_meta"):
        visualizer.dataset_meta = dict(meta)


class _TrainLoop(BaseLoop):
    """What epoch- and iteration-based training share: counters, validation schedule, stop flag."""

    def __init__(self, runner, dataloader, val_begin: int, val_interval: int,
                 dynamic_intervals: Optional[Sequence[Tuple[int, int]]]):
        super().__init__(runner, dataloader)
        share_dataset_meta(runner, self.dataloader)
        self._epoch = 0
        self._iter = 0
        self._inner_iter = 0  # batches done in the current pass over the data
        self.val_begin = int(val_begin)
        self.val_interval = int(val_interval)
        self.stop_training = False
        self._resume_position = 0  # batches of the current pass to skip when it starts (set by restore)
        self.rng_before_validation: Optional[dict] = None
        milestones, intervals = [0], [self.val_interval]
        for milestone, interval in sorted(dynamic_intervals or ()):
            milestones.append(int(milestone))
            intervals.append(int(interval))
        self._milestones, self._intervals = milestones, intervals

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def inner_iter(self) -> int:
        return self._inner_iter

    def state(self) -> dict:
        """Where training stands: finished ``epoch``s and ``iter``s, ``inner_iter`` batches of this pass."""
        return dict(epoch=self._epoch, iter=self._iter, inner_iter=self._inner_iter)

    def restore(self, state: dict) -> None:
        """Continue from ``state`` (as :meth:`state` gives it); the next pass starts after its
        ``inner_iter`` batches."""
        missing = [k for k in ("epoch", "iter") if k not in state]
        if missing:
            raise ValueError(f"{type(self).__name__}.restore: state needs epoch and iter, missing {missing}")
        self._epoch, self._iter = int(state["epoch"]), int(state["iter"])
        self._inner_iter = self._resume_position = int(state.get("inner_iter", 0))

    def _update_val_interval(self, progress: int) -> None:
        step = bisect.bisect(self._milestones, progress)
        self.val_interval = self._intervals[step - 1]

    def _should_validate(self, progress: int, last: int) -> bool:
        if self.runner.val_loop is None or progress < self.val_begin:
            return False
        self._update_val_interval(progress)
        return (self.val_interval > 0 and progress % self.val_interval == 0) or progress == last

    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    def _validate(self) -> None:
        """Validate without touching the training RNG streams (so resumed runs stay identical).

        Validation leaves the model in eval mode; training mode is restored here.
        ``rng_before_validation`` holds the training RNG state meanwhile, so that a
        checkpoint saved by a validation hook (the best one) resumes like a periodic one.
        """
        state = self.rng_before_validation = get_rng_state()
        try:
            self.runner.val_loop.run()
        finally:
            set_rng_state(state)
            self.rng_before_validation = None
            self.runner.model.train()

    def _start_pass(self):
        """An iterator for the current pass; continues a resumed pass where it stopped."""
        done, self._resume_position = self._resume_position, 0
        if not done:  # resumed at a pass boundary: the state saved then precedes this iterator
            self.runner._restore_pending_rng()
        iterator = seek_iterator(self.dataloader, done)
        self._inner_iter = done
        self.runner._restore_pending_rng()  # mid-pass: the state saved after batch `done` applies now
        return iterator

    def run_iter(self, idx: int, data_batch) -> None:
        runner = self._runner
        pet("train", self._iter)
        runner.call_hook("before_train_iter", batch_idx=idx, data_batch=data_batch)
        outputs = runner.model.train_step(data_batch, optim_wrapper=runner.optim_wrapper)
        runner.call_hook("after_train_iter", batch_idx=idx, data_batch=data_batch, outputs=outputs)
        self._iter += 1
        self._inner_iter += 1
        if runner._preemption.signum is not None:  # a stop signal arrived (runner.stop_requested)
            runner.save_interrupted()


@LOOPS.register_module()
class EpochBasedTrainLoop(_TrainLoop):
    """Train for ``max_epochs`` passes over the data, validating every ``val_interval`` epochs.

    ``dynamic_intervals=[(epoch, interval), ...]`` changes the interval from that epoch on.
    """

    def __init__(self, runner, dataloader, max_epochs: int, val_begin: int = 1, val_interval: int = 1,
                 dynamic_intervals: Optional[Sequence[Tuple[int, int]]] = None):
        if int(max_epochs) != max_epochs or max_epochs < 1:
            raise ValueError(f"EpochBasedTrainLoop: max_epochs must be a positive int, got {max_epochs!r}")
        super().__init__(runner, dataloader, val_begin, val_interval, dynamic_intervals)
        self._max_epochs = int(max_epochs)
        self._max_iters = self._max_epochs * len(self.dataloader)

    def run(self) -> torch.nn.Module:
        runner = self.runner
        runner.call_hook("before_train")
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            if self._should_validate(self._epoch, self._max_epochs):
                self._validate()
        runner.call_hook("after_train")
        return runner.model

    def run_epoch(self) -> None:
        runner = self.runner
        runner.call_hook("before_train_epoch")
        runner.model.train()
        iterator = self._start_pass()
        for idx, data_batch in enumerate(iterator, start=self._inner_iter):
            self.run_iter(idx, data_batch)
        runner.call_hook("after_train_epoch")
        self._epoch += 1
        self._inner_iter = 0


class _RestartingIterator:
    """Iterates a dataloader forever, starting a new pass (and sampler epoch) when one ends."""

    def __init__(self, loop: "IterBasedTrainLoop"):
        self._loop = loop
        self._iterator = None

    def __next__(self):
        loop = self._loop
        if self._iterator is None:
            self._iterator = loop._start_pass()
        try:
            return next(self._iterator)
        except StopIteration:
            loop._epoch += 1
            sampler = _sampler_of(loop.dataloader)
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(loop._epoch)
            self._iterator = iter(loop.dataloader)
            loop._inner_iter = 0
            return next(self._iterator)


@LOOPS.register_module()
class IterBasedTrainLoop(_TrainLoop):
    """Train for ``max_iters`` steps, restarting the dataloader whenever it runs out.

    ``runner.epoch`` counts the finished passes over the data.
    """

    def __init__(self, runner, dataloader, max_iters: int, val_begin: int = 1, val_interval: int = 1000,
                 dynamic_intervals: Optional[Sequence[Tuple[int, int]]] = None):
        if int(max_iters) != max_iters or max_iters < 1:
            raise ValueError(f"IterBasedTrainLoop: max_iters must be a positive int, got {max_iters!r}")
        super().__init__(runner, dataloader, val_begin, val_interval, dynamic_intervals)
        self._max_iters = int(max_iters)
        self._max_epochs = 1
        self.dataloader_iterator = _RestartingIterator(self)

    def run(self) -> torch.nn.Module:
        runner = self.runner
        runner.call_hook("before_train")
        runner.call_hook("before_train_epoch")
        runner.model.train()
        while self._iter < self._max_iters and not self.stop_training:
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            if self._should_validate(self._iter, self._max_iters):
                self._validate()
        runner.call_hook("after_train_epoch")
        runner.call_hook("after_train")
        return runner.model

    def run_iter(self, *args) -> None:
        """One step on ``data_batch``: ``run_iter(data_batch)`` as in MMEngine (whose subclasses
        override it so), or ``run_iter(idx, data_batch)`` as the epoch-based loop takes it."""
        if len(args) not in (1, 2):
            raise TypeError(f"IterBasedTrainLoop.run_iter takes (data_batch) or (idx, data_batch), "
                            f"got {len(args)} arguments")
        super().run_iter(self._iter if len(args) == 1 else args[0], args[-1])


class EvalSet(NamedTuple):
    """One validation/test set: its metric prefix (None keeps the metric names), data and evaluator."""

    prefix: Optional[str]
    dataloader: DataLoader
    evaluator: Any


def dataset_name(dataset) -> str:
    """A set's default metric prefix: ``metainfo['dataset_name']`` or ``['name']``, else the class name."""
    meta = getattr(dataset, "metainfo", None) or {}
    for key in ("dataset_name", "name"):
        if isinstance(meta.get(key), str) and meta[key]:
            return meta[key]
    return type(dataset).__name__.lower()


def _pop_prefix(cfg, where: str):
    """``(cfg without 'prefix', prefix)``: the prefix may sit in the dataloader config or its dataset."""
    if not isinstance(cfg, Mapping):
        return cfg, None
    cfg = dict(cfg)
    prefix = cfg.pop("prefix", None)
    dataset = cfg.get("dataset")
    if isinstance(dataset, Mapping) and "prefix" in dataset:
        dataset = dict(dataset)
        inner = dataset.pop("prefix")
        cfg["dataset"] = dataset
        if prefix is not None and inner != prefix:
            raise ConfigError(f"{where}: prefix {prefix!r} and dataset.prefix {inner!r} disagree; keep one")
        prefix = inner
    return cfg, prefix


def _check_prefix(prefix, where: str) -> None:
    if prefix is not None and (not isinstance(prefix, str) or not prefix):
        raise ConfigError(f"{where}: prefix must be a non-empty string, got {prefix!r}")


class _EvalLoop(BaseLoop):
    """Runs the model over one or several dataloaders, each with its own evaluator.

    ``dataloader`` may be a list (with ``evaluator`` a list of the same length,
    or one evaluator config that every set gets a copy of). Each set's metrics
    are then named ``prefix/metric``: the prefix comes from ``prefix`` in the
    evaluator entry, the dataloader config or its dataset, else from the
    dataset's name (:func:`dataset_name`). A single dataloader keeps the metric
    names as they are unless a prefix is given.
    """

    mode = "val"

    def __init__(self, runner, dataloader, evaluator, fp16: bool = False):
        self._runner = runner
        kind = self.mode
        several = isinstance(dataloader, (list, tuple))
        if several:
            loaders = list(dataloader)
            if not loaders:
                raise ConfigError(f"{kind}_dataloader is an empty list")
            if isinstance(evaluator, (list, tuple)):
                if len(evaluator) != len(loaders):
                    raise ConfigError(
                        f"{kind}_evaluator has {len(evaluator)} entries but {kind}_dataloader has {len(loaders)}; "
                        f"give one evaluator per dataloader, or a single evaluator that every set uses "
                        f"(a dict; several metrics for every set: dict(metrics=[...]))")
                evaluators = list(evaluator)
            else:  # one evaluator for every set: each set gets its own copy (metrics keep state)
                evaluators = [copy.deepcopy(evaluator) for _ in loaders]
        else:
            loaders, evaluators = [dataloader], [evaluator]
        sets: List[EvalSet] = []
        for i, (loader_cfg, evaluator_cfg) in enumerate(zip(loaders, evaluators)):
            where = f"{kind}_dataloader[{i}]" if several else f"{kind}_dataloader"
            loader_cfg, explicit = _pop_prefix(loader_cfg, where)
            _check_prefix(explicit, where)
            loader = self.build_dataloader(runner, loader_cfg)
            built = runner.build_evaluator(evaluator_cfg)
            own = getattr(built, "prefix", None)
            if own and explicit and own != explicit:
                raise ConfigError(f"{where} has prefix {explicit!r} but its evaluator has prefix {own!r}; keep one")
            dataset = getattr(loader, "dataset", None)
            prefix = own or explicit or (dataset_name(dataset) if several else None)
            built.prefix = prefix
            meta = getattr(dataset, "metainfo", None)
            if meta is not None:
                built.dataset_meta = dict(meta)
            sets.append(EvalSet(prefix, loader, built))
        seen: Dict[str, int] = {}
        for i, item in enumerate(sets):
            if item.prefix in seen:
                raise ConfigError(
                    f"{kind}_dataloader[{seen[item.prefix]}] and {kind}_dataloader[{i}] both get the metric prefix "
                    f"{item.prefix!r}; set a different `prefix` in one of them "
                    f"(e.g. {kind}_dataloader[{i}].prefix='{item.prefix}-2')")
            seen[item.prefix] = i
        self.sets = sets
        self._use(sets[0])
        self.fp16 = fp16

    def _use(self, item: EvalSet) -> None:
        """``dataloader``/``evaluator``/``prefix`` name the set being evaluated (the first when idle);
        the visualizer draws with that set's class names."""
        self.dataloader, self.evaluator, self.prefix = item.dataloader, item.evaluator, item.prefix
        share_dataset_meta(self.runner, item.dataloader)

    @property
    def dataloaders(self) -> list:
        return [item.dataloader for item in self.sets]

    @property
    def num_batches(self) -> int:
        """Batches in one pass over all sets."""
        return sum(len(item.dataloader) for item in self.sets)

    def run(self) -> Dict[str, float]:
        """Evaluate every set in turn; the hooks see one ``{mode}_epoch`` with all sets' metrics."""
        runner, mode = self.runner, self.mode
        runner.call_hook(f"before_{mode}")
        runner.call_hook(f"before_{mode}_epoch")
        runner.model.eval()
        metrics: Dict[str, float] = {}
        try:
            for item in self.sets:
                self._use(item)
                for idx, data_batch in enumerate(self.dataloader):
                    self.run_iter(idx, data_batch)
                for name, value in self.evaluator.evaluate(len(self.dataloader.dataset)).items():
                    if name in metrics:
                        raise ValueError(f"{mode} metric {name!r} is produced by two sets; give them other prefixes")
                    metrics[name] = value
        finally:
            self._use(self.sets[0])
        runner.call_hook(f"after_{mode}_epoch", metrics=metrics)
        runner.call_hook(f"after_{mode}")
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch) -> None:
        runner, mode = self.runner, self.mode
        pet(mode, idx)
        runner.call_hook(f"before_{mode}_iter", batch_idx=idx, data_batch=data_batch)
        device_type = "cuda" if torch.cuda.is_available() else "cpu"
        with torch.autocast(device_type=device_type, enabled=self.fp16):
            step = runner.model.val_step if mode == "val" else runner.model.test_step
            outputs = step(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        runner.call_hook(f"after_{mode}_iter", batch_idx=idx, data_batch=data_batch, outputs=outputs)


@LOOPS.register_module()
class ValLoop(_EvalLoop):
    """One pass over the validation data, then the evaluator's metrics."""

    mode = "val"


@LOOPS.register_module()
class TestLoop(_EvalLoop):
    """One pass over the test data, then the evaluator's metrics."""

    mode = "test"
