"""init_detector and inference_detector: a detector from a config (and checkpoint), run on images.

The test pipeline is the config's ``test_dataloader`` one: a loading step for
files (``LoadImageFromNDArray`` for arrays) and without LoadAnnotations, so
any image runs; predictions come back in the original image's pixels (the
detector rescales them with the sample's ``scale_factor``).
"""

import copy
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from loomcv.config import Config
from loomcv.transforms import Compose

from ..structures import DetDataSample

ImagesType = Union[str, np.ndarray, Sequence[str], Sequence[np.ndarray]]
_LOADERS = ("LoadImageFromFile", "LoadImageFromNDArray")
_ANNOTATION_LOADERS = ("LoadAnnotations", "LoadPanopticAnnotations")


def _type_name(step: Mapping) -> str:
    return str(step.get("type", "")).rsplit(".", 1)[-1]


def load_config(config: Union[str, Path, Config]) -> Config:
    """A Config from a Config, a path, or the name of a shipped config."""
    if isinstance(config, Config):
        return config
    if isinstance(config, (str, os.PathLike)):
        from loomcv.config.loader import find_config
        return Config.fromfile(find_config(os.fspath(config)))
    raise TypeError(f"init_detector: config must be a path, a config name or a Config, "
                    f"got {type(config).__name__}")


def _dataset_metainfo(cfg: Config) -> dict:
    """The test (or val) dataset's metainfo without reading its annotations."""
    from ..registry import DATASETS
    for key in ("test_dataloader", "val_dataloader", "train_dataloader"):
        dataset = (cfg.get(key) or {}).get("dataset")
        if not isinstance(dataset, Mapping):
            continue
        dataset = copy.deepcopy(dict(dataset))
        while "dataset" in dataset and isinstance(dataset["dataset"], Mapping):  # wrappers
            dataset = dict(dataset["dataset"])
        dataset.pop("pipeline", None)
        try:
            return dict(DATASETS.build(dict(dataset, lazy_init=True)).metainfo)
        except Exception:  # a dataset that cannot be built here: its class's METAINFO
            cls = DATASETS.get(dataset.get("type", ""))
            meta = dict(getattr(cls, "METAINFO", {}) or {})
            meta.update(dataset.get("metainfo") or {})
            return meta
    return {}


def init_detector(config: Union[str, Path, Config], checkpoint: Optional[str] = None, palette: str = "none",
                  device: Union[str, torch.device] = "cpu", cfg_options: Optional[dict] = None) -> nn.Module:
    """The detector of ``config`` in eval mode on ``device``.

    Class names come from the checkpoint's ``meta['dataset_meta']`` (or the
    MMDetection 2.x ``meta['CLASSES']``), else from the config's test dataset.
    ``palette`` ('random', a list of RGB tuples, ...) overrides the dataset's
    palette for drawing. ``cfg_options`` update the config first.
    """
    from loomcv.model.wrappers import revert_sync_batchnorm
    from loomcv.registry import init_default_scope

    from ..registry import MODELS
    cfg = copy.deepcopy(load_config(config))
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get("default_scope", "loomdet"))
    model_cfg = copy.deepcopy(cfg.model)
    if checkpoint is not None and isinstance(model_cfg.get("backbone"), Mapping):
        model_cfg["backbone"].pop("init_cfg", None)  # every weight comes from the checkpoint
    model = revert_sync_batchnorm(MODELS.build(model_cfg))
    dataset_meta = {}
    if checkpoint is not None:
        from loomcv.checkpoint import load_checkpoint
        meta = load_checkpoint(model, checkpoint, map_location="cpu").get("meta") or {}
        if meta.get("dataset_meta"):
            dataset_meta = {k.lower(): v for k, v in meta["dataset_meta"].items()}
        elif meta.get("CLASSES"):
            dataset_meta = {"classes": tuple(meta["CLASSES"])}
    config_meta = _dataset_metainfo(cfg)
    if not dataset_meta.get("classes"):
        if checkpoint is not None:
            warnings.warn("init_detector: the checkpoint has no dataset_meta; class names come from the "
                          "config's test dataset", UserWarning, stacklevel=2)
        dataset_meta["classes"] = config_meta.get("classes")
    if palette != "none":
        dataset_meta["palette"] = palette
    elif config_meta.get("palette") is not None:
        dataset_meta["palette"] = config_meta["palette"]
    else:
        dataset_meta.setdefault("palette", "random")
    model.dataset_meta = dataset_meta
    model.cfg = cfg
    return model.to(device).eval()


def get_test_pipeline_cfg(cfg: Config) -> List[dict]:
    """The test dataset's pipeline (looking through dataset wrappers)."""
    loader = cfg.get("test_dataloader") or cfg.get("val_dataloader")
    if loader is None:
        raise ValueError("the config has no test_dataloader (or val_dataloader) to take the test pipeline from")
    dataset = loader["dataset"]
    while "pipeline" not in dataset and isinstance(dataset.get("dataset"), Mapping):
        dataset = dataset["dataset"]
    if "pipeline" not in dataset:
        raise ValueError("the config's test dataset has no pipeline")
    return [dict(step) for step in dataset["pipeline"]]


def build_test_pipeline(cfg: Config, from_array: bool) -> Compose:
    """The test pipeline without annotation loading, starting with the right loading step."""
    steps = [s for s in get_test_pipeline_cfg(cfg) if _type_name(s) not in _ANNOTATION_LOADERS]
    loader = next((s for s in steps if _type_name(s) in _LOADERS), None)
    steps = [s for s in steps if _type_name(s) not in _LOADERS]
    load = {k: v for k, v in (loader or {}).items() if k != "type"}
    load_type = "loomdet.LoadImageFromNDArray" if from_array else "LoadImageFromFile"
    return Compose([dict(type=load_type, **load), *steps])


@torch.no_grad()
def inference_detector(model: nn.Module, imgs: ImagesType,
                       test_pipeline: Optional[Compose] = None) -> Union[DetDataSample, List[DetDataSample]]:
    """Detect objects in an image (path or BGR array) or a list of them.

    Returns one DetDataSample (a list for a list) whose ``pred_instances``
    hold ``bboxes`` (x1, y1, x2, y2 in the original image), ``scores`` and ``labels``.
    """
    batch = isinstance(imgs, (list, tuple))
    images = list(imgs) if batch else [imgs]
    if not images:
        return []
    cfg = getattr(model, "cfg", None)
    if test_pipeline is None and cfg is None:
        raise ValueError("inference_detector: the model has no .cfg; build it with init_detector or pass "
                         "test_pipeline")
    pipelines = {}
    results = []
    for img in images:
        if isinstance(img, np.ndarray):
            data = dict(img=img, img_id=0)
        elif isinstance(img, (str, os.PathLike)):
            if "://" not in os.fspath(img) and not os.path.isfile(img):
                raise FileNotFoundError(f"inference_detector: image {os.fspath(img)!r} does not exist")
            data = dict(img_path=os.fspath(img), img_id=0)
        else:
            raise TypeError(f"inference_detector: an image must be a path or a numpy array, "
                            f"got {type(img).__name__}")
        pipeline = test_pipeline
        if pipeline is None:
            from_array = isinstance(img, np.ndarray)
            if from_array not in pipelines:
                pipelines[from_array] = build_test_pipeline(cfg, from_array)
            pipeline = pipelines[from_array]
        data = pipeline(data)
        data = dict(inputs=[data["inputs"]], data_samples=[data["data_samples"]])
        results.append(model.test_step(data)[0])
    return results if batch else results[0]
