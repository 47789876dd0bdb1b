"""Turning the parts of a Runner config into objects: model, loops,
visualizer and log processor. Each accepts a built object as well and returns it unchanged."""

from collections.abc import Mapping
from typing import Any

import torch.nn as nn

from loomcv.errors import ConfigError
from loomcv.registry import LOG_PROCESSORS, LOOPS, MODELS, VISUALIZERS

from .loops import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop


def is_dataloader_like(obj: Any) -> bool:
    return not isinstance(obj, Mapping) and hasattr(obj, "__iter__") and hasattr(obj, "__len__")


def as_config(cfg):
    """``cfg`` as a Config (a plain dict is wrapped), or None."""
    if cfg is None or hasattr(cfg, "pretty_text"):
        return cfg
    from loomcv.config import Config
    return Config(dict(cfg))


def check_triplet(kind: str, values: dict) -> None:
    """Training, validation and testing each need all three of their arguments, or none."""
    given = [k for k, v in values.items() if v is not None]
    if given and len(given) != len(values):
        missing = [k for k in values if k not in given]
        raise ConfigError(f"Runner: {kind} needs {', '.join(values)} together; got {', '.join(given)} "
                          f"but not {', '.join(missing)}")


def build_visualizer(visualizer, name: str, save_dir: str, rank: int):
    from loomcv.visualization import Visualizer
    if visualizer is not None and not isinstance(visualizer, Mapping):
        return visualizer
    cfg = dict(visualizer or dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")]))
    cfg.setdefault("type", "Visualizer")
    cfg.setdefault("name", name)
    # only rank 0 writes vis data: other ranks get a visualizer without a folder (no backends)
    cfg["save_dir"] = save_dir if rank == 0 else None
    if Visualizer.check_instance_created(cfg["name"]):
        return Visualizer.get_instance(cfg["name"])
    return VISUALIZERS.build(cfg)


def build_log_processor(log_processor):
    if log_processor is not None and not isinstance(log_processor, Mapping):
        return log_processor
    cfg = dict(log_processor or {})
    cfg.setdefault("type", "LogProcessor")
    return LOG_PROCESSORS.build(cfg)


def build_model(model, data_preprocessor) -> nn.Module:
    if isinstance(model, nn.Module):
        return model
    if isinstance(model, Mapping):
        cfg = dict(model)
        if data_preprocessor is not None:
            cfg.setdefault("data_preprocessor", data_preprocessor)
        return MODELS.build(cfg)
    raise TypeError(f"Runner: model must be an nn.Module or a config dict, got {type(model).__name__}")


def build_loop(runner, loop, kind: str, dataloader, evaluator=None):
    """The ``kind`` ('train', 'val', 'test') loop from its ``*_cfg``; ``by_epoch`` picks a train loop."""
    if isinstance(loop, BaseLoop) or loop is None:
        return loop
    if not isinstance(loop, Mapping):
        raise TypeError(f"Runner: {kind}_cfg must be a dict or a loop, got {type(loop).__name__}")
    cfg = dict(loop)
    if kind == "train":
        if "type" in cfg:
            return LOOPS.build(cfg, default_args=dict(runner=runner, dataloader=dataloader))
        if cfg.pop("by_epoch", True):
            if "max_iters" in cfg:
                raise ConfigError("train_cfg: by_epoch=True takes max_epochs, not max_iters "
                                  "(set by_epoch=False for iteration-based training)")
            return EpochBasedTrainLoop(runner=runner, dataloader=dataloader, **cfg)
        if "max_epochs" in cfg:
            raise ConfigError("train_cfg: by_epoch=False takes max_iters, not max_epochs")
        return IterBasedTrainLoop(runner=runner, dataloader=dataloader, **cfg)
    if "type" in cfg:
        return LOOPS.build(cfg, default_args=dict(runner=runner, dataloader=dataloader, evaluator=evaluator))
    default = ValLoop if kind == "val" else TestLoop
    return default(runner=runner, dataloader=dataloader, evaluator=evaluator, **cfg)
