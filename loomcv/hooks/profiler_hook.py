"""ProfilerHook: profile the first training iterations or epochs with torch.profiler and write a trace."""

import os.path as osp
from typing import Optional

import torch

from loomcv.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class ProfilerHook(Hook):
    """Args:
        by_epoch: ``profile_times`` counts epochs (True) or iterations (False).
        profile_times: how many epochs/iterations to profile, from the start of training.
        activity_with_cpu, activity_with_cuda: what to record.
        record_shapes, profile_memory, with_stack, with_flops: passed to torch.profiler.
        json_trace_path: where the Chrome trace goes (default ``<log_dir>/profiler_trace.json``).
        sort_by, row_limit: the summary table written to the log.
    """

    priority = "VERY_LOW"

    def __init__(self, by_epoch: bool = True, profile_times: int = 1, activity_with_cpu: bool = True,
                 activity_with_cuda: bool = False, record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False, json_trace_path: Optional[str] = None,
                 sort_by: str = "self_cpu_time_total", row_limit: int = 10):
        if profile_times < 1:
            raise ValueError(f"ProfilerHook: profile_times must be >= 1, got {profile_times}")
        self.by_epoch = by_epoch
        self.profile_times = int(profile_times)
        activities = []
        if activity_with_cpu:
            activities.append(torch.profiler.ProfilerActivity.CPU)
        if activity_with_cuda and torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        if not activities:
            raise ValueError("ProfilerHook: enable activity_with_cpu or activity_with_cuda")
        self.profiler_kwargs = dict(activities=activities, record_shapes=record_shapes,
                                    profile_memory=profile_memory, with_stack=with_stack, with_flops=with_flops)
        self.json_trace_path = json_trace_path
        self.sort_by, self.row_limit = sort_by, row_limit
        self.profiler = None
        self._count = 0
        self.trace_path: Optional[str] = None

    def before_train(self, runner) -> None:
        total = runner.max_epochs if self.by_epoch else runner.max_iters
        if self.profile_times > total:
            raise ValueError(f"ProfilerHook: profile_times={self.profile_times} exceeds the training length "
                             f"({total} {'epochs' if self.by_epoch else 'iterations'})")
        self.profiler = torch.profiler.profile(**self.profiler_kwargs)
        self.profiler.__enter__()

    def _tick(self, runner) -> None:
        if self.profiler is None:
            return
        self._count += 1
        if self._count >= self.profile_times:
            self._finish(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.profiler is not None:
            self.profiler.step()
        if not self.by_epoch:
            self._tick(runner)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._tick(runner)

    def after_train(self, runner) -> None:
        self._finish(runner)

    def _finish(self, runner) -> None:
        if self.profiler is None:
            return
        profiler, self.profiler = self.profiler, None
        profiler.__exit__(None, None, None)
        if runner.rank != 0:
            return
        path = self.json_trace_path or osp.join(runner.log_dir, "profiler_trace.json")
        profiler.export_chrome_trace(path)
        self.trace_path = path
        table = profiler.key_averages().table(sort_by=self.sort_by, row_limit=self.row_limit)
        runner.logger.info(f"profiler trace written to {path}\n{table}")
