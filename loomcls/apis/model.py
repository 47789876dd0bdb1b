"""Build a classifier for inference: from a config, a config name or a model-index name.

:func:`resolve_model` is the one place a name is looked up: ``get_model``,
``init_model``, ``ImageClassificationInferencer`` and ``loomcv infer`` all go
through it, so a model name, a shipped config name and a config path mean the
same thing everywhere.
"""

import copy
import os
import os.path as osp
import re
import warnings
from collections.abc import Mapping
from typing import List, Optional, Sequence, Tuple, Union

import torch

from loomcv.config import Config
from loomcv.registry import init_default_scope

from .model_index import ModelHub, ModelInfo

CONFIG_SUFFIXES = (".py", ".yml", ".yaml", ".json")
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".bin", ".safetensors", ".tar")
Pretrained = Union[None, bool, str, os.PathLike]


def load_config(config) -> Config:
    """A Config from a Config, a path, a shipped config name or a model name."""
    return resolve_model(config)[0]


def resolve_model(model, pretrained: Pretrained = False) -> Tuple[Config, Optional[str], Optional[ModelInfo]]:
    """(config, checkpoint or None, index entry or None) for ``model`` and ``pretrained``.

    ``model``: a Config, a config path, a model name of the index (``list_models()``) or a
    shipped config name. ``pretrained``: False/None (no weights), a path or URL, or True: the
    model's published weights (for a config: its ``load_from``); True without any is a warning.
    """
    info = None
    if isinstance(model, Config):
        cfg = copy.deepcopy(model)
        default = cfg.get("load_from")
    elif isinstance(model, (str, os.PathLike)):
        name = os.fspath(model)
        if not name.endswith(CONFIG_SUFFIXES) and not osp.exists(name) and ModelHub.has(name):
            info = ModelHub.get(name)
            cfg, default = info.config, info.weights
        else:
            from loomcv.config.loader import find_config
            try:
                path = find_config(name)
            except FileNotFoundError as err:
                raise FileNotFoundError(f"{err} It is not a model name either "
                                        f"(loomcls.apis.list_models() lists them).") from None
            cfg = Config.fromfile(path)
            default = cfg.get("load_from")
    else:
        raise TypeError(f"get_model: model must be a model name, a config path or a Config, "
                        f"got {type(model).__name__}")
    if pretrained is True:
        if not default:
            what = f"model {info.name!r}" if info is not None else "the config"
            warnings.warn(f"{what} has no published weights (no Weights in the model index, no load_from); "
                          "the model keeps its initial weights. Pass pretrained=PATH to load a checkpoint.",
                          stacklevel=2)
        checkpoint = default or None
    elif pretrained in (False, None):
        checkpoint = None
    elif isinstance(pretrained, (str, os.PathLike)):
        checkpoint = os.fspath(pretrained)
    else:
        raise TypeError(f"get_model: pretrained must be True, False or a checkpoint path/URL, "
                        f"got {pretrained!r}")
    return cfg, checkpoint, info


def resolve_infer_inputs(model: str, checkpoint: Optional[str],
                         images: Sequence[str]) -> Tuple[str, Pretrained, List[str]]:
    """``loomcv infer MODEL [CHECKPOINT] IMAGE...``: with a model name the checkpoint may be left
    out (its published weights are used), so a second argument that is not a checkpoint is an image."""
    images = list(images)
    is_name = (not model.endswith(CONFIG_SUFFIXES) and not osp.exists(model) and ModelHub.has(model))
    if checkpoint is not None and is_name and not _looks_like_checkpoint(checkpoint):
        images.insert(0, checkpoint)
        checkpoint = None
    if checkpoint is None:
        if not is_name:
            raise ValueError(f"loomcv infer: {model!r} is a config, so it needs a checkpoint "
                             f"(loomcv infer CONFIG CHECKPOINT IMAGE...); a model name from the index "
                             f"(loomcls.apis.list_models()) uses its published weights")
        if not ModelHub.info(model).weights:
            raise ValueError(f"loomcv infer: model {model!r} has no published weights; give a checkpoint "
                             f"(loomcv infer {model} CHECKPOINT IMAGE...)")
    return model, (True if checkpoint is None else checkpoint), images


def _looks_like_checkpoint(path: str) -> bool:
    return "://" in path or path.lower().endswith(CHECKPOINT_SUFFIXES)


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


def _build(cfg: Config, checkpoint: Optional[str], info: Optional[ModelInfo], device, model_kwargs: dict,
           url_mapping: Optional[Tuple[str, str]] = None):
    if model_kwargs:
        cfg.merge_from_dict({"model": model_kwargs})
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
        if url_mapping is not None:
            checkpoint = re.sub(url_mapping[0], url_mapping[1], checkpoint)
        ckpt = load_checkpoint(model, checkpoint, map_location="cpu")
        meta = ckpt.get("meta") or {}
        dataset_meta = meta.get("dataset_meta") or ({"classes": meta["CLASSES"]} if meta.get("CLASSES") else None)
    if not dataset_meta:
        classes = _classes_from_config(cfg)
        dataset_meta = {"classes": classes} if classes else {}
    model.dataset_meta = dict(dataset_meta)
    model.cfg = cfg
    model._metainfo = info
    if device is not None:
        model.to(device)
    return model.eval()


def get_model(model, pretrained: Pretrained = False, device=None, device_map=None, offload_folder=None,
              url_mapping: Optional[Tuple[str, str]] = None, **kwargs):
    """A model by name (``list_models()``), config path or Config, in eval mode, as MMPretrain's.

    ``pretrained``: True for the published weights (downloaded through the checkpoint loader,
    which looks in torch.hub's cache first), a path/URL, or False. ``kwargs`` update
    ``config.model`` (e.g. ``backbone=dict(out_indices=(0, 1, 2, 3))``). ``url_mapping``
    ``(pattern, replacement)`` rewrites the checkpoint address (e.g. to a local mirror).
    """
    if device_map is not None or offload_folder is not None:
        raise ValueError("get_model: device_map/offload_folder (splitting a model over devices) are not "
                         "supported; pass device='cuda' or 'cpu'")
    cfg, checkpoint, info = resolve_model(model, pretrained)
    return _build(cfg, checkpoint, info, device, kwargs, url_mapping)


def init_model(config, checkpoint: Pretrained = None, device: Union[str, torch.device, None] = "cpu", **kwargs):
    """The model of ``config`` (a config, a config name or a model name) in eval mode on ``device``.

    Weights come from ``checkpoint`` (True: the published ones); its
    ``meta['dataset_meta']`` gives the class names, otherwise the config's
    dataset does. ``kwargs`` update ``config.model``, as in MMPretrain.
    """
    cfg, checkpoint, info = resolve_model(config, checkpoint)
    return _build(cfg, checkpoint, info, device, kwargs)
