"""Progress bars for loops over tasks, drawn with rich.

The functions keep MMCV's names and signatures (``track_progress``,
``track_iter_progress``, ``track_parallel_progress``, ``ProgressBar``) so code
written for ``mmcv``/``mmengine.utils`` runs after changing the import. On a
terminal the bar redraws in place; elsewhere (a log file, CI) rich prints the
finished bar once, so logs do not fill up with redraws.
"""

import sys
from collections.abc import Iterable
from multiprocessing import Pool
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple, Union

Tasks = Union[Sequence, Tuple[Iterable, int]]


def _split_tasks(tasks: Tasks, owner: str) -> Tuple[Iterable, int]:
    """(iterable, count) from a sized collection or an ``(iterator, count)`` pair."""
    if isinstance(tasks, tuple) and len(tasks) == 2 and isinstance(tasks[1], int) \
            and isinstance(tasks[0], Iterable) and not isinstance(tasks[0], (str, bytes)):
        return tasks[0], tasks[1]
    if isinstance(tasks, Iterable) and hasattr(tasks, "__len__"):
        return tasks, len(tasks)
    raise TypeError(f"{owner}: tasks must be a list (or other sized collection) or a tuple "
                    f"(iterator, number of tasks), got {type(tasks).__name__}")


class ProgressBar:
    """A bar of ``task_num`` steps advanced by :meth:`update`; ``task_num=0`` only counts.

    Args:
        task_num: how many steps make 100 %.
        bar_width: width of the bar in characters.
        start: draw the bar now (else at :meth:`start`).
        file: where to draw (default: stdout).
        description: the text left of the bar.
    """

    def __init__(self, task_num: int = 0, bar_width: int = 50, start: bool = True, file=None,
                 description: str = "Processing"):
        if not isinstance(task_num, int) or task_num < 0:
            raise ValueError(f"ProgressBar: task_num must be an int >= 0, got {task_num!r}")
        if not isinstance(bar_width, int) or bar_width < 1:
            raise ValueError(f"ProgressBar: bar_width must be a positive int, got {bar_width!r}")
        self.task_num = task_num
        self.bar_width = bar_width
        self.completed = 0
        self.file = file if file is not None else sys.stdout
        self.description = description
        self._progress = None
        self._task = None
        if start:
            self.start()

    def start(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        console = Console(file=self.file)
        columns = [TextColumn("{task.description}"), BarColumn(bar_width=self.bar_width), MofNCompleteColumn()]
        if self.task_num:
            columns += [TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
        else:
            columns += [TimeElapsedColumn()]
        self._progress = Progress(*columns, console=console)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=self.task_num or None)

    def update(self, num_tasks: int = 1) -> None:
        """Advance by ``num_tasks`` steps; the bar closes itself when it reaches ``task_num``."""
        if self._progress is None:
            self.start()
        self.completed += num_tasks
        self._progress.update(self._task, advance=num_tasks)
        if self.task_num and self.completed >= self.task_num:
            self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track_progress(func: Callable, tasks: Tasks, bar_width: int = 50, file=None, **kwargs) -> List[Any]:
    """``[func(task, **kwargs) for task in tasks]`` with a progress bar.

    ``tasks`` is a list (or other sized collection) or ``(iterator, count)``.
    """
    iterable, count = _split_tasks(tasks, "track_progress")
    results = []
    with ProgressBar(count, bar_width, file=file) as bar:
        for task in iterable:
            results.append(func(task, **kwargs))
            bar.update()
    return results


def track_iter_progress(tasks: Tasks, bar_width: int = 50, file=None) -> Iterator[Any]:
    """Yield each task, advancing a progress bar after the caller's loop body ran."""
    iterable, count = _split_tasks(tasks, "track_iter_progress")
    with ProgressBar(count, bar_width, file=file) as bar:
        for task in iterable:
            yield task
            bar.update()


def init_pool(process_num: int, initializer: Optional[Callable] = None, initargs: Optional[tuple] = None):
    """A ``multiprocessing.Pool`` whose workers first run ``initializer(*initargs)``."""
    if initializer is None:
        return Pool(process_num)
    return Pool(process_num, initializer, tuple(initargs or ()))


def track_parallel_progress(func: Callable, tasks: Tasks, nproc: int, initializer: Optional[Callable] = None,
                            initargs: Optional[tuple] = None, bar_width: int = 50, chunksize: int = 1,
                            skip_first: bool = False, keep_order: bool = True, file=None) -> List[Any]:
    """``func`` over ``tasks`` in ``nproc`` worker processes, with a progress bar.

    Results come back in task order (``keep_order=False`` returns them as they
    finish). ``func`` and the tasks must pickle. ``skip_first`` leaves the
    first ``nproc * chunksize`` results (the pool warming up) out of the bar's
    speed estimate by starting the bar after them, as MMCV does.
    """
    if not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"track_parallel_progress: nproc must be a positive int, got {nproc!r}")
    if not isinstance(chunksize, int) or chunksize < 1:
        raise ValueError(f"track_parallel_progress: chunksize must be a positive int, got {chunksize!r}")
    iterable, count = _split_tasks(tasks, "track_parallel_progress")
    warmup = nproc * chunksize if skip_first else 0
    results = []
    pool = init_pool(nproc, initializer, initargs)
    try:
        mapper = pool.imap if keep_order else pool.imap_unordered
        bar = ProgressBar(max(count - warmup, 0), bar_width, start=not warmup, file=file)
        with bar:
            for result in mapper(func, iterable, chunksize):
                results.append(result)
                if len(results) > warmup:
                    bar.update()
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    return results
