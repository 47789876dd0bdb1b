"""``loomcv analyze-logs plot-curve|cal-train-time``: curves and timing from a run's scalars.

Reads the ``scalars.json`` that LocalVisBackend writes under
``work_dir/<timestamp>/vis_data/`` (MMEngine writes the same layout): one JSON
object per line, ``step`` plus the logged values. Training lines carry
``iter`` (and ``lr``); validation lines carry the metrics, stepped by epoch
for epoch-based runs and by iteration otherwise.

    loomcv analyze-logs plot-curve work_dirs/a work_dirs/b --keys loss accuracy/top1 --out curves.png
    loomcv analyze-logs cal-train-time work_dirs/a
"""

import argparse
import glob
import json
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

XAXES = ("iter", "epoch")


# ---------------------------------------------------------------------- reading
def find_scalars(run: str) -> str:
    """The scalars file of ``run``: a ``.json`` file itself, ``<run>/vis_data/scalars.json``, or the
    newest ``<run>/<timestamp>/vis_data/scalars.json`` of a work dir."""
    if osp.isfile(run):
        if not run.endswith(".json"):
            raise ValueError(f"analyze-logs: {run!r} is not a .json scalars file (give the file, the run's "
                             f"timestamp folder or its work dir)")
        return run
    if not osp.isdir(run):
        raise FileNotFoundError(f"analyze-logs: {run!r} is neither a scalars .json file nor a folder")
    direct = osp.join(run, "vis_data", "scalars.json")
    if osp.isfile(direct):
        return direct
    found = sorted(glob.glob(osp.join(run, "*", "vis_data", "scalars.json")))
    if not found:
        raise FileNotFoundError(f"analyze-logs: no scalars.json under {run!r} (looked for vis_data/scalars.json "
                                f"and <timestamp>/vis_data/scalars.json); was the run logged with "
                                f"LocalVisBackend?")
    return found[-1]  # timestamps sort in time order: the latest run


def _is_train(record: dict) -> bool:
    return "iter" in record or any(k == "lr" or k.startswith("train/") for k in record)


def load_scalars(path: str) -> Dict[str, List[dict]]:
    """``{'train': [...], 'val': [...]}``: the lines of a scalars file split by phase, in file order.

    Keys logged with hierarchy (``train/loss``, ``val/accuracy/top1``) lose the phase prefix.
    """
    log: Dict[str, List[dict]] = dict(train=[], val=[])
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"analyze-logs: {path}:{number} is not a JSON object ({err.msg}); a "
                                 f"scalars file has one JSON object per line") from None
            if not isinstance(record, dict) or "step" not in record:
                raise ValueError(f"analyze-logs: {path}:{number} has no 'step'; is this a scalars.json?")
            phase = "train" if _is_train(record) else "val"
            log[phase].append({(k.split("/", 1)[1] if k.startswith(f"{phase}/") else k): v
                               for k, v in record.items()})
    return log


def iters_per_epoch(log: Dict[str, List[dict]]) -> Optional[float]:
    """Training iterations per epoch (None for iteration-based runs).

    Each epoch logs at the same inner iterations, so the steps of the first
    lines of two consecutive epochs differ by exactly one epoch; a one-epoch
    run falls back to its last logged step.
    """
    train = [r for r in log["train"] if "epoch" in r]
    if not train or train[-1]["epoch"] < 1:
        return None
    firsts: Dict[int, float] = {}
    for record in train:
        firsts.setdefault(int(record["epoch"]), float(record["step"]))
    epochs = sorted(firsts)
    if len(epochs) >= 2:
        return (firsts[epochs[-1]] - firsts[epochs[0]]) / (epochs[-1] - epochs[0])
    return float(train[-1]["step"]) / train[-1]["epoch"]


def _val_stepped_by_epoch(log: Dict[str, List[dict]]) -> bool:
    """Validation steps are epochs when the run is epoch-based and no step exceeds the last epoch."""
    train = log["train"]
    if not log["val"] or not train or "epoch" not in train[-1] or train[-1]["epoch"] < 1:
        return False
    return max(r["step"] for r in log["val"]) <= train[-1]["epoch"]


def series(log: Dict[str, List[dict]], key: str, xaxis: str = "iter") -> Tuple[np.ndarray, np.ndarray]:
    """(x, y) of ``key``: from the training lines if logged there, else the validation lines."""
    if xaxis not in XAXES:
        raise ValueError(f"analyze-logs: xaxis must be one of {XAXES}, got {xaxis!r}")
    phase = "train" if any(key in r for r in log["train"]) else "val"
    records = [r for r in log[phase] if key in r]
    if not records:
        raise KeyError(key)
    xs = np.array([r["step"] for r in records], dtype=np.float64)
    ys = np.array([r[key] for r in records], dtype=np.float64)
    per_epoch = iters_per_epoch(log)
    in_epochs = phase == "val" and _val_stepped_by_epoch(log)
    if xaxis == "epoch" and not in_epochs:
        if per_epoch is None:
            raise ValueError(f"analyze-logs: cannot put {key!r} on an epoch axis: the run's training lines "
                             f"carry no epoch (an iteration-based run); use --xaxis iter")
        xs = xs / per_epoch
    elif xaxis == "iter" and in_epochs:
        xs = xs * per_epoch
    return xs, ys


def available_keys(log: Dict[str, List[dict]]) -> List[str]:
    keys = {k for phase in ("train", "val") for r in log[phase] for k in r}
    return sorted(keys - {"step", "epoch", "iter"})


# ---------------------------------------------------------------------- plot-curve
def default_legends(paths: Sequence[str], keys: Sequence[str]) -> List[str]:
    """``<run>_<key>`` with the run named after its work dir (or the file when that is all there is)."""
    names = []
    for path in paths:
        parts = osp.normpath(osp.abspath(path)).split(osp.sep)
        if parts[-1] == "scalars.json" and len(parts) >= 4 and parts[-2] == "vis_data":
            names.append(parts[-4])  # work_dir/<timestamp>/vis_data/scalars.json
        else:
            names.append(osp.splitext(parts[-1])[0])
    if len(set(names)) < len(names):  # two runs of one work dir: add the timestamp folder
        names = [f"{n}/{osp.basename(osp.dirname(osp.dirname(osp.abspath(p))))}" for n, p in zip(names, paths)]
    return [f"{name}_{key}" for name in names for key in keys]


def plot_curves(paths: Sequence[str], keys: Sequence[str], out: Optional[str] = None,
                legend: Optional[Sequence[str]] = None, xaxis: str = "iter", title: Optional[str] = None,
                window_size: Tuple[float, float] = (12, 7), dpi: int = 100):
    """A figure with one panel per key and one curve per run; saved to ``out`` if given."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not keys:
        raise ValueError("analyze-logs plot-curve: give at least one --keys name")
    logs = [load_scalars(p) for p in paths]
    legend = list(legend) if legend else default_legends(paths, keys)
    if len(legend) != len(paths) * len(keys):
        raise ValueError(f"analyze-logs plot-curve: --legend needs one entry per run and key "
                         f"({len(paths)} runs x {len(keys)} keys = {len(paths) * len(keys)}), got {len(legend)}")
    fig = Figure(figsize=window_size, dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0]
    for j, key in enumerate(keys):
        ax = axes[j]
        for i, (path, log) in enumerate(zip(paths, logs)):
            try:
                xs, ys = series(log, key, xaxis)
            except KeyError:
                raise KeyError(f"analyze-logs plot-curve: {path} has no {key!r}; it has "
                               f"{', '.join(available_keys(log))}") from None
            ax.plot(xs, ys, label=legend[i * len(keys) + j], linewidth=1.0,
                    marker="o" if len(xs) < 30 else None, markersize=3)
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
        ax.legend()
    axes[-1].set_xlabel("epochs" if xaxis == "epoch" else "iterations")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    if out:
        fig.savefig(out, dpi=dpi)
    return fig


# ---------------------------------------------------------------------- cal-train-time
def train_time_stats(log: Dict[str, List[dict]], include_outliers: bool = False) -> dict:
    """Mean iteration time per epoch, the slowest and fastest epoch, their spread and the overall mean.

    The first logged time of each epoch (data loader start-up) is left out unless
    ``include_outliers`` or it is the epoch's only line.
    """
    train = [r for r in log["train"] if "time" in r]
    if not train:
        raise ValueError("analyze-logs cal-train-time: the run has no training lines with 'time'")
    stats = dict(mean_iter_time=float(np.mean([r["time"] for r in train])))
    if "epoch" not in train[0]:
        return stats
    per_epoch: Dict[int, List[float]] = {}
    for record in train:
        per_epoch.setdefault(int(record["epoch"]), []).append(float(record["time"]))
    means = {}
    for epoch, times in per_epoch.items():
        kept = times if include_outliers or len(times) == 1 else times[1:]
        means[epoch] = float(np.mean(kept))
    slowest = max(means, key=means.get)
    fastest = min(means, key=means.get)
    stats.update(epoch_iter_times=means, slowest_epoch=slowest, slowest_time=means[slowest],
                 fastest_epoch=fastest, fastest_time=means[fastest],
                 std_over_epochs=float(np.std(list(means.values()))))
    return stats


# ---------------------------------------------------------------------- CLI
def _window_size(text: str) -> Tuple[float, float]:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\*(\d+(?:\.\d+)?)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"--window-size must be W*H in inches such as 12*7, got {text!r}")
    return float(match.group(1)), float(match.group(2))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    plot = sub.add_parser("plot-curve", aliases=["plot_curve"], help="plot logged values of one or more runs")
    plot.add_argument("runs", nargs="+", metavar="RUN_OR_JSON",
                      help="scalars.json files, run (timestamp) folders or work dirs (their latest run)")
    plot.add_argument("--keys", nargs="+", default=["loss"], help="the values to plot (default: loss)")
    plot.add_argument("--legend", nargs="+", help="one label per run and key (run-major order)")
    plot.add_argument("--xaxis", choices=XAXES, default="iter", help="x in iterations or epochs")
    plot.add_argument("--title", help="figure title")
    plot.add_argument("--window-size", type=_window_size, default=(12, 7), help="figure size W*H in inches")
    plot.add_argument("--dpi", type=int, default=100, help="pixels per inch of the PNG")
    plot.add_argument("--out", required=True, help="image file to write (png, pdf, svg ...)")
    timing = sub.add_parser("cal-train-time", aliases=["cal_train_time"],
                            help="mean, slowest and fastest epoch iteration time of runs")
    timing.add_argument("runs", nargs="+", metavar="RUN_OR_JSON", help="scalars.json files or run folders")
    timing.add_argument("--include-outliers", action="store_true",
                        help="count the first logged time of each epoch too")


def run(args: argparse.Namespace) -> int:
    paths = [find_scalars(r) for r in args.runs]
    if args.task in ("plot-curve", "plot_curve"):
        plot_curves(paths, args.keys, args.out, args.legend, args.xaxis, args.title, args.window_size, args.dpi)
        print(f"curves of {', '.join(args.keys)} for {len(paths)} run(s) saved to {args.out}")
        return 0
    for path in paths:
        stats = train_time_stats(load_scalars(path), args.include_outliers)
        print(f"----- train time of {path} -----")
        if "slowest_epoch" in stats:
            print(f"slowest epoch {stats['slowest_epoch']}, average time is {stats['slowest_time']:.4f} s/iter")
            print(f"fastest epoch {stats['fastest_epoch']}, average time is {stats['fastest_time']:.4f} s/iter")
            print(f"time std over epochs is {stats['std_over_epochs']:.4f}")
        print(f"average iter time: {stats['mean_iter_time']:.4f} s/iter")
    return 0
