"""The model index: a model name -> its config, its published weights and their accuracy.

Each folder of ``loomcls/configs`` has a ``metafile.yml`` in MMPretrain's
format (``Collections`` and ``Models``; a model-index file may ``Import``
metafiles), with MMPretrain's model names and weights URLs. ``list_models``,
``get_model`` and ``loomcv infer NAME IMAGE`` all look names up here, so
``resnet50_8xb32_in1k`` means the same model everywhere. Other projects add
their own metafiles with :meth:`ModelHub.register_model_index`.
"""

import copy
import fnmatch
import glob
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

import yaml

from loomcv.errors import ConfigError, did_you_mean

PACKAGE_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHIPPED_METAFILES = osp.join(PACKAGE_ROOT, "configs", "*", "metafile.yml")


@dataclass
class Result:
    """One published evaluation: ``task`` ('Image Classification'), ``dataset``, ``metrics``."""

    task: Optional[str]
    dataset: Optional[str]
    metrics: Dict[str, Any]


@dataclass
class ModelInfo:
    """A model of the index (MMPretrain's ``modelindex`` Model, same field names).

    ``config`` is the config's absolute path; :meth:`ModelHub.get` returns a copy
    whose ``config`` is the loaded Config (``config_path`` keeps the path).
    """

    name: str
    config: Any
    weights: Optional[str] = None
    results: Optional[List[Result]] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    in_collection: Optional[str] = None
    paper: Any = None
    converted_from: Optional[Dict[str, Any]] = None
    filepath: str = ""
    config_path: Optional[str] = None

    @property
    def top1(self) -> Optional[float]:
        """The first published 'Top 1 Accuracy' (percent), or None."""
        for result in self.results or []:
            if "Top 1 Accuracy" in result.metrics:
                return float(result.metrics["Top 1 Accuracy"])
        return None


def _fail(path: str, why: str) -> ConfigError:
    return ConfigError(f"model index {path}: {why}")


def _read_yaml(path: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f"model index file {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise _fail(path, f"expected a mapping with 'Models' (and 'Collections' or 'Import'), "
                          f"got a {type(data).__name__}")
    unknown = sorted(set(data) - {"Collections", "Models", "Import", "Library"})
    if unknown:
        raise _fail(path, f"unknown top-level key(s) {unknown}; known: Collections, Models, Import")
    return data


def _results(path: str, name: str, raw: Any) -> Optional[List[Result]]:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise _fail(path, f"model {name!r}: Results must be a list, got {type(raw).__name__}")
    results = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("Metrics", {}), dict):
            raise _fail(path, f"model {name!r}: each result needs Task, Dataset and a Metrics mapping, "
                              f"got {item!r}")
        results.append(Result(item.get("Task"), item.get("Dataset"), dict(item.get("Metrics") or {})))
    return results


def parse_metafile(path: str, config_prefix: Optional[str] = None) -> List[ModelInfo]:
    """The models of a metafile (or of every metafile a model-index file imports).

    A model inherits the metadata of its collection (its own entries win), as
    MMPretrain's ``build_models_with_collections`` does. ``Config`` paths are
    relative to ``config_prefix`` (default: the metafile's folder).
    """
    path = osp.abspath(path)
    data = _read_yaml(path)
    models: List[ModelInfo] = []
    for imported in data.get("Import") or []:
        models += parse_metafile(osp.join(osp.dirname(path), imported), config_prefix)
    collections = {}
    for coll in data.get("Collections") or []:
        if not isinstance(coll, dict) or "Name" not in coll:
            raise _fail(path, f"each collection needs a Name, got {coll!r}")
        collections[coll["Name"]] = coll
    prefix = config_prefix if config_prefix is not None else osp.dirname(path)
    for raw in data.get("Models") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("Name"), str):
            raise _fail(path, f"each model needs a Name, got {raw!r}")
        name = raw["Name"]
        coll_name = raw.get("In Collection")
        if coll_name is not None and coll_name not in collections:
            raise _fail(path, f"model {name!r} is 'In Collection: {coll_name}', which the file does not "
                              f"define (collections: {', '.join(collections) or 'none'})")
        coll = collections.get(coll_name, {})
        metadata = dict(coll.get("Metadata") or {})
        metadata.update(raw.get("Metadata") or {})
        config = raw.get("Config")
        if config is not None and not osp.isabs(config):
            config = osp.abspath(osp.join(prefix, config))
        models.append(ModelInfo(
            name=name, config=config, weights=raw.get("Weights"), results=_results(path, name, raw.get("Results")),
            metadata=metadata, in_collection=coll_name, paper=raw.get("Paper", coll.get("Paper")),
            converted_from=raw.get("Converted From"), filepath=path, config_path=config))
    return models


class ModelHub:
    """Every named model: loomcls' shipped metafiles, plus any registered index."""

    _models_dict: Dict[str, ModelInfo] = {}
    _shipped_registered = False

    @classmethod
    def register_model_index(cls, model_index_path: Union[str, os.PathLike],
                             config_prefix: Union[str, os.PathLike, None] = None) -> None:
        """Add the models of a metafile or model-index file; a name already known is an error."""
        prefix = os.fspath(config_prefix) if config_prefix is not None else None
        for info in parse_metafile(os.fspath(model_index_path), prefix):
            key = info.name.lower()
            if key in cls._models_dict:
                raise ConfigError(f"model name {info.name!r} is defined twice: in {info.filepath} and in "
                                  f"{cls._models_dict[key].filepath}")
            cls._models_dict[key] = info

    @classmethod
    def _register_shipped(cls) -> None:
        if cls._shipped_registered:
            return
        cls._shipped_registered = True
        for path in sorted(glob.glob(SHIPPED_METAFILES)):
            cls.register_model_index(path, config_prefix=PACKAGE_ROOT)

    @classmethod
    def has(cls, model_name: str) -> bool:
        cls._register_shipped()
        return isinstance(model_name, str) and model_name.lower() in cls._models_dict

    @classmethod
    def info(cls, model_name: str) -> ModelInfo:
        """The index entry of ``model_name`` (case-insensitive), config as a path."""
        cls._register_shipped()
        found = cls._models_dict.get(str(model_name).lower())
        if found is None:
            raise ValueError(f"no model named {model_name!r} in the model index."
                             f"{did_you_mean(str(model_name).lower(), list(cls._models_dict))} "
                             "loomcls.apis.list_models() lists the names.")
        return copy.deepcopy(found)

    @classmethod
    def get(cls, model_name: str) -> ModelInfo:
        """The index entry with its config loaded (as MMPretrain's ``ModelHub.get``)."""
        from loomcv.config import Config
        info = cls.info(model_name)
        if info.config is None:
            raise ConfigError(f"model {info.name!r} ({info.filepath}) has no Config")
        info.config = Config.fromfile(info.config)
        return info


def list_models(pattern: Optional[str] = None, exclude_patterns: Optional[List[str]] = None,
                task: Optional[str] = None) -> List[str]:
    """Sorted model names matching ``pattern`` (shell wildcards; any suffix matches, as in
    MMPretrain), minus ``exclude_patterns``; ``task`` keeps models with a result for that task
    (``'null'``: models with no published results)."""
    ModelHub._register_shipped()
    names = set(ModelHub._models_dict)
    if pattern is not None:
        names = set(fnmatch.filter(names, pattern.lower() + "*"))
    for exclude in exclude_patterns or []:
        names -= set(fnmatch.filter(names, exclude.lower() + "*"))
    if task is not None:
        def keeps(info: ModelInfo) -> bool:
            if info.results is None:
                return task == "null"
            return task in [r.task for r in info.results]
        names = {n for n in names if keeps(ModelHub._models_dict[n])}
    return sorted(names)


__all__ = ["ModelHub", "ModelInfo", "Result", "list_models", "parse_metafile"]
