"""``loomcv plot-lr CONFIG``: draw the lr (and momentum) a config's param_scheduler gives per iteration.

Nothing but a one-layer stand-in model and the optimizer is built: the data
set is never read, so ``--dataset-size`` (or an iteration-based train_cfg)
says how long an epoch is.
"""

import argparse
import math
from typing import Dict, List, Mapping, Optional

from loomcv.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file, pkg::path, or the name of a shipped config")
    parser.add_argument("--dataset-size", type=int, default=None,
                        help="training samples per epoch (needed for epoch-based training)")
    parser.add_argument("--ngpus", type=int, default=1, help="processes the batch is split over")
    parser.add_argument("--out", default="lr.png", help="output image (default: lr.png)")
    parser.add_argument("--title", default=None, help="figure title (default: the config name)")


def _train_length(cfg: Mapping, dataset_size: Optional[int], ngpus: int):
    """``(by_epoch, max_epochs, max_iters, epoch_length)`` as the Runner's train loop would have them."""
    train_cfg = dict(cfg.get("train_cfg") or {})
    by_epoch = train_cfg.get("by_epoch", train_cfg.get("type", "EpochBasedTrainLoop") != "IterBasedTrainLoop")
    loader = dict(cfg.get("train_dataloader") or {})
    epoch_length = None
    if dataset_size:
        batch = int(loader.get("batch_size", 1)) * ngpus
        epoch_length = max(dataset_size // batch if loader.get("drop_last") else math.ceil(dataset_size / batch), 1)
    if by_epoch:
        if "max_epochs" not in train_cfg:
            raise ConfigError("train_cfg has no max_epochs; plot-lr needs the training length")
        if not epoch_length:
            raise ConfigError("epoch-based training: give --dataset-size N (samples per epoch)")
        max_epochs = int(train_cfg["max_epochs"])
        return True, max_epochs, max_epochs * epoch_length, epoch_length
    if "max_iters" not in train_cfg:
        raise ConfigError("train_cfg has no max_iters; plot-lr needs the training length")
    return False, 1, int(train_cfg["max_iters"]), epoch_length  # an iteration-based loop counts one epoch


def simulate(cfg: Mapping, dataset_size: Optional[int] = None, ngpus: int = 1) -> Dict[str, List[float]]:
    """Per-iteration lr (and momentum, when the optimizer has one) of the first param group.

    The schedulers are built and stepped by the functions training uses
    (:func:`~loomcv.optim.build_param_schedulers`, :func:`~loomcv.optim.step_param_schedulers`),
    and each value is read before its iteration runs, as the optimizer sees it.
    """
    import torch.nn as nn

    from loomcv.optim import build_optim_wrapper, build_param_schedulers, step_param_schedulers

    if "optim_wrapper" not in cfg:
        raise ConfigError("the config has no optim_wrapper (an MMCV 1.x 'optimizer' is translated "
                          "to it when the config is loaded)")
    by_epoch, max_epochs, max_iters, epoch_length = _train_length(cfg, dataset_size, ngpus)
    wrapper = build_optim_wrapper(nn.Linear(1, 1), cfg["optim_wrapper"])
    first = next(iter(dict(wrapper.items()).values())) if hasattr(wrapper, "items") else wrapper
    schedulers = build_param_schedulers(cfg.get("param_scheduler"), wrapper, epoch_length=epoch_length,
                                        max_epochs=max_epochs, max_iters=max_iters)
    for each in (wrapper.values() if hasattr(wrapper, "values") else [wrapper]):
        each.optimizer.step()  # a training step (no gradients: nothing changes) before the schedulers step
    lrs, momenta = [], []
    epochs, per_epoch = (max_epochs, epoch_length) if by_epoch else (1, max_iters)
    for _ in range(epochs):
        for _ in range(per_epoch):
            lrs.append(first.get_lr()["lr"][0])
            momenta.append(first.get_momentum()["momentum"][0])
            step_param_schedulers(schedulers, "iter")
        step_param_schedulers(schedulers, "epoch")
    out = {"lr": lrs}
    if any(momenta):
        out["momentum"] = momenta
    return out


def plot(curves: Dict[str, List[float]], out: str, title: str = "") -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(curves), 1, figsize=(8, 3 * len(curves)), squeeze=False)
    for ax, (name, values) in zip(axes[:, 0], curves.items()):
        ax.plot(range(len(values)), values)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("iteration")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def run(args: argparse.Namespace) -> int:
    import os

    from loomcv.config import Config
    from loomcv.config.loader import find_config

    cfg = Config.fromfile(find_config(args.config))
    curves = simulate(cfg, args.dataset_size, args.ngpus)
    plot(curves, args.out, args.title or os.path.basename(str(cfg.filename or args.config)))
    lr = curves["lr"]
    print(f"{len(lr)} iterations, lr from {lr[0]:.4g} (max {max(lr):.4g}) to {lr[-1]:.4g}; "
          f"saved {args.out}")
    return 0
