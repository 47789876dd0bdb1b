"""Build a classifier from a config (and a checkpoint) for inference."""

import os
from collections.abc import Mapping
from typing import Optional, Union

import torch

from loomcv.config import Config
from loomcv.registry import init_default_scope


def load_config(config) -> Config:
    """A Config from a Config, a path, or a shipped name ('lenet5_1xb64_digits')."""
    if isinstance(config, Config):
        return config
    if isinstance(config, (str, os.PathLike)):
        from loomcv.config.loader import find_config
        return Config.fromfile(find_config(os.fspath(config)))
    raise TypeError(f"init_model: config must be a path, a config name or a Config, got {type(config).__name__}")


def _classes_from_config(cfg) -> Optional[tuple]:
    """Class names from the test/val dataset's class (its METAINFO), without loading data."""
    from loomcls.registry import DATASETS
    for key in ("test_dataloader", "val_dataloader", "train_dataloader"):
        dataset = (cfg.get(key) or {}).get("dataset") or {}
        cls = DATASETS.get(dataset.get("type", "")) if isinstance(dataset, Mapping) else None
        names = (dataset.get("metainfo") or {}).get("classes") or getattr(cls, "METAINFO", {}).get("classes")
        if names:
            return tuple(names)
    return None


def init_model(config, checkpoint: Optional[str] = None, device: Union[str, torch.device] = "cpu",
               **cfg_options):
    """The model of ``config`` in eval mode on ``device``.

    Weights come from ``checkpoint`` (its ``meta['dataset_meta']`` gives the
    class names); without one, the model keeps its initial weights and class
    names come from the config's dataset. ``cfg_options`` update the config.
    """
    cfg = load_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get("default_scope", "loomcls"))
    import loomcls.models  # noqa: F401  (registers)
    from loomcls.registry import MODELS
    model_cfg = dict(cfg.model)
    if cfg.get("data_preprocessor") is not None:
        model_cfg.setdefault("data_preprocessor", dict(cfg.data_preprocessor))
    model_cfg.pop("pretrained", None)
    if checkpoint is not None:  # the checkpoint has every weight: skip init_cfg downloads
        model_cfg.pop("init_cfg", None)
        if isinstance(model_cfg.get("backbone"), Mapping):
            model_cfg["backbone"] = {k: v for k, v in model_cfg["backbone"].items() if k != "init_cfg"}
    model = MODELS.build(model_cfg)
    dataset_meta = None
    if checkpoint is not None:
        from loomcv.checkpoint import load_checkpoint
        ckpt = load_checkpoint(model, checkpoint, map_location="cpu")
        dataset_meta = (ckpt.get("meta") or {}).get("dataset_meta")
    if not dataset_meta:
        classes = _classes_from_config(cfg)
        dataset_meta = {"classes": classes} if classes else {}
    model.dataset_meta = dict(dataset_meta)
    model.cfg = cfg
    return model.to(device).eval()
