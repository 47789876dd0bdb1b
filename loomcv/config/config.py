"""Config: a loaded config file, with attribute access and provenance."""

import copy
import json
import os
import os.path as osp
import tempfile
import warnings
from typing import Any, Dict, Iterator, List, Optional, Tuple

import yaml

from loomcv.errors import ConfigError, did_you_mean

from .config_dict import ConfigDict, Path, path_text, source_of, to_plain
from .loader import load_file, resolve_path
from .provenance import leaf_paths
from .options import parse_options
from .pretty import format_python


def _for_data_format(value: Any) -> Any:
    """Tuples -> lists for YAML/JSON, which have no tuples."""
    if isinstance(value, dict):
        return {k: _for_data_format(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_for_data_format(v) for v in value]
    return value



def _translate_legacy(cfg: "Config") -> "Config":
    """``cfg`` in the native schema when it is written in the MMCV 1.x dialect, else ``cfg`` itself.

    Every translated leaf keeps the provenance of the legacy key it came from
    (with the old key noted where the path changed), so ``--explain`` still
    points into the file the user wrote.
    """
    from loomcv.legacy.config import LEGACY_KEYS, is_legacy, translate
    data = cfg.to_dict()
    if not is_legacy(data):
        return cfg
    native, origin = translate(data)
    provenance: Dict[Path, str] = {}
    for leaf in leaf_paths(native):
        for cut in range(len(leaf), 0, -1):
            if leaf[:cut] not in origin:
                continue
            old = origin[leaf[:cut]]
            same_place = old == leaf[:cut]
            old_path = old + leaf[cut:] if same_place else old
            src = source_of(cfg.provenance, old_path) or source_of(cfg.provenance, old)
            provenance[leaf] = src if same_place else f"{src} (legacy {path_text(old)})"
            break
    return Config(native, cfg.text, cfg.filename, provenance,
                  legacy_keys=tuple(sorted(k for k in LEGACY_KEYS if k in data)))

class Config:
    """A config: the merged values of a file and its bases.

    ``cfg.model.backbone.depth`` and ``cfg['model']['backbone']['depth']`` both
    work. ``cfg.provenance`` maps each leaf's key path to the file and line (or
    the ``--cfg-options`` item) that set it last; ``cfg.explain_text`` shows it.
    """

    def __init__(self, cfg_dict: Optional[dict] = None, cfg_text: Optional[str] = None,
                 filename: Optional[str] = None, provenance: Optional[Dict[Path, str]] = None,
                 legacy_keys: Tuple[str, ...] = ()):
        if cfg_dict is not None and not isinstance(cfg_dict, dict):
            raise TypeError(f"cfg_dict must be a dict, got {type(cfg_dict).__name__}")
        prov = dict(provenance or {})
        object.__setattr__(self, "_provenance", prov)
        object.__setattr__(self, "_cfg_dict", ConfigDict(to_plain(cfg_dict or {}), _provenance=prov))
        object.__setattr__(self, "_filename", None if filename is None else str(filename))
        object.__setattr__(self, "_text", cfg_text or "")
        object.__setattr__(self, "_legacy_keys", tuple(legacy_keys))

    # ------------------------------------------------------------ loading
    @staticmethod
    def fromfile(filename: str, use_predefined_variables: bool = True,
                 import_custom_modules: bool = True, translate_legacy: bool = True,
                 cfg_options: Optional[Dict[str, Any]] = None, lazy_import: Optional[bool] = None) -> "Config":
        """Load a ``.py``/``.yaml``/``.yml``/``.json`` file (or ``pkg::path``) with its bases.

        A config in the MMCV 1.x dialect is translated to the native schema
        unless ``translate_legacy`` is False (see :mod:`loomcv.legacy.config`).
        ``cfg_options`` (``--cfg-options``) are merged in the dialect they
        name: on a legacy config, ``data.samples_per_gpu=8`` is applied before
        the translation and ``train_cfg.max_epochs=1`` after it.
        ``compat_imports=True`` in the file switches on :func:`loomcv.compat.enable`
        before its ``custom_imports`` are imported. ``lazy_import`` (MMEngine's
        argument) says whether the file is in the pure-Python style; None tells
        from its lines (:mod:`loomcv.config.pure_python`).
        """
        path = resolve_path(str(filename))
        values, prov = load_file(path, use_predefined_variables, lazy_import=lazy_import)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        cfg = Config(values, cfg_text=text, filename=path, provenance=prov)
        if values.get("compat_imports"):  # before custom_imports, which may name mmengine-style modules
            from loomcv.compat import enable
            enable()
        if import_custom_modules and values.get("custom_imports"):
            from loomcv.registry import import_custom_modules as do_imports
            do_imports(cfg._cfg_dict["custom_imports"], source=path)
        options = dict(cfg_options or {})
        if not translate_legacy:
            cfg.merge_from_dict(options)
            return cfg
        # loomcv.legacy builds on this package, so it is imported when a file is read
        from loomcv.legacy.config import LEGACY_KEYS, is_legacy
        if is_legacy(values):
            early = {k: v for k, v in options.items()
                     if str(_split_key(k)[0]) in values or str(_split_key(k)[0]) in LEGACY_KEYS}
            cfg.merge_from_dict(early)
            options = {k: v for k, v in options.items() if k not in early}
        cfg = _translate_legacy(cfg)
        cfg.merge_from_dict(options)
        return cfg

    @property
    def legacy_keys(self) -> list:
        """The MMCV 1.x keys this config was translated from (empty if native)."""
        return list(self._legacy_keys)

    @staticmethod
    def fromstring(cfg_str: str, file_format: str, **kwargs) -> "Config":
        """Load config text as if it were a file with extension ``file_format``.

        ``kwargs`` are those of :meth:`fromfile`.
        """
        if file_format not in (".py", ".json", ".yaml", ".yml"):
            raise ConfigError(f"file_format must be .py, .json, .yaml or .yml, got {file_format!r}")
        with tempfile.TemporaryDirectory() as folder:
            path = osp.join(folder, "config" + file_format)
            with open(path, "w", encoding="utf-8") as f:
                f.write(cfg_str)
            cfg = Config.fromfile(path, **kwargs)
        object.__setattr__(cfg, "_filename", None)
        return cfg

    # --------------------------------------------------------- properties
    @property
    def filename(self) -> Optional[str]:
        return self._filename

    @property
    def text(self) -> str:
        return self._text

    @property
    def provenance(self) -> Dict[Path, str]:
        return self._provenance

    def source_of(self, key: str) -> Optional[str]:
        """Where ``'model.backbone.depth'`` was set (file:line or --cfg-options item)."""
        return source_of(self._provenance, _split_key(key))

    @property
    def pretty_text(self) -> str:
        return format_python(self.to_dict())

    @property
    def explain_text(self) -> str:
        """``pretty_text`` with ``# file:line`` after each value."""
        return format_python(self.to_dict(), comment=lambda p: _short(source_of(self._provenance, p)))

    def to_dict(self) -> dict:
        return to_plain(self._cfg_dict)

    # ------------------------------------------------------------- access
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __getitem__(self, key: str) -> Any:
        return self._cfg_dict[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._cfg_dict[key] = value

    def __delitem__(self, key: str) -> None:
        del self._cfg_dict[key]

    def __contains__(self, key: str) -> bool:
        return key in self._cfg_dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Config):
            return self.to_dict() == other.to_dict()
        return isinstance(other, dict) and self.to_dict() == to_plain(other)

    def get(self, key: str, default: Any = None) -> Any:
        return self._cfg_dict.get(key, default)

    def keys(self):
        return self._cfg_dict.keys()

    def values(self):
        return self._cfg_dict.values()

    def items(self):
        return self._cfg_dict.items()

    def pop(self, key: str, *default: Any) -> Any:
        return self._cfg_dict.pop(key, *default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        return self._cfg_dict.setdefault(key, default)

    def update(self, *args, **kwargs) -> None:
        self._cfg_dict.update(*args, **kwargs)

    def copy(self) -> "Config":
        return Config(self._cfg_dict, self._text, self._filename, self._provenance, self._legacy_keys)

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> "Config":
        return Config(copy.deepcopy(self.to_dict(), memo), self._text, self._filename,
                      copy.deepcopy(self._provenance, memo), self._legacy_keys)

    def __getstate__(self) -> Tuple:
        return (self.to_dict(), self._text, self._filename, self._provenance, self._legacy_keys)

    def __setstate__(self, state: Tuple) -> None:
        Config.__init__(self, *state)

    def __repr__(self) -> str:
        return f"Config (path: {self._filename}): {self.to_dict()!r}"

    # ---------------------------------------------------------- overrides
    def merge_from_dict(self, options: Dict[str, Any], allow_list_keys: bool = True,
                        source: str = "--cfg-options") -> None:
        """Apply ``{'model.backbone.depth': 50, 'pipeline.1.prob': 0.0}``-style overrides.

        Dotted keys walk into dicts (missing ones are created, with a warning
        naming close existing keys) and, with ``allow_list_keys``, into lists
        by index. A dict value merges into an existing dict.
        """
        if not options:
            return
        data = self.to_dict()
        for dotted, value in options.items():
            parts = _split_key(dotted)
            value = to_plain(value)
            node: Any = data
            for i, part in enumerate(parts[:-1]):
                node = self._step(node, part, parts[: i + 1], dotted, allow_list_keys)
            last = parts[-1]
            self._set_leaf(node, last, value, parts, dotted, allow_list_keys)
            n = len(parts)
            for key in [k for k in self._provenance if k[:n] == parts]:
                del self._provenance[key]
            shown = f"{source} {dotted}"
            for leaf in leaf_paths(value, parts):
                self._provenance[leaf] = shown
        object.__setattr__(self, "_cfg_dict", ConfigDict(data, _provenance=self._provenance))

    def _step(self, node: Any, part: Any, walked: Path, dotted: str, allow_list_keys: bool) -> Any:
        if isinstance(node, list):
            if not allow_list_keys:
                raise ConfigError(f"{dotted}: {path_text(walked[:-1])} is a list; list indices "
                                  f"are not allowed here")
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise ConfigError(f"{dotted}: index {part!r} is out of range for "
                                  f"{path_text(walked[:-1])}, a list of {len(node)} items")
            return node[part]
        if isinstance(node, dict):
            key = str(part)
            if key not in node:
                self._warn_new(node, key, walked, dotted)
                node[key] = {}
            elif not isinstance(node[key], (dict, list)):
                raise ConfigError(f"{dotted}: {path_text(walked)} is {node[key]!r}, not a dict or "
                                  f"list, so it has no key {path_text(_split_key(dotted)[len(walked):])}")
            return node[key]
        raise ConfigError(f"{dotted}: cannot index into {type(node).__name__} at {path_text(walked)}")

    def _set_leaf(self, node: Any, last: Any, value: Any, parts: Path, dotted: str,
                  allow_list_keys: bool) -> None:
        if isinstance(node, list):
            self._step(node, last, parts, dotted, allow_list_keys)
            if isinstance(value, dict) and isinstance(node[last], dict):
                _merge_plain(node[last], value)
            else:
                node[last] = value
            return
        key = str(last)
        if key not in node:
            self._warn_new(node, key, parts, dotted)
        if isinstance(value, dict) and isinstance(node.get(key), dict) and not value.get("_delete_"):
            _merge_plain(node[key], value)
        else:
            node[key] = {k: v for k, v in value.items() if k != "_delete_"} \
                if isinstance(value, dict) else value

    @staticmethod
    def _warn_new(node: dict, key: str, walked: Path, dotted: str) -> None:
        hint = did_you_mean(key, [str(k) for k in node])
        if hint and len(walked) > 1:
            warnings.warn(f"{path_text(walked)} is a new key.{hint}", UserWarning, stacklevel=4)

    def merge_from_options(self, items: List[str]) -> None:
        """Parse and apply ``['a.b=1', ...]`` command-line items."""
        self.merge_from_dict(parse_options(items))

    # --------------------------------------------------------------- dump
    def dump(self, file: Optional[str] = None) -> Optional[str]:
        """Write the config to ``file`` (format by extension) or return it as Python text."""
        if file is None:
            return self.pretty_text
        file = str(file)
        ext = osp.splitext(file)[1].lower()
        data = self.to_dict()
        if ext == ".py":
            text = format_python(data)
        elif ext in (".yaml", ".yml", ".json"):
            _check_plain(data, file)
            text = yaml.safe_dump(_for_data_format(data), sort_keys=False, allow_unicode=True) \
                if ext != ".json" else json.dumps(_for_data_format(data), indent=4, ensure_ascii=False) + "\n"
        else:
            raise ConfigError(f"cannot dump a config to {file!r}: use .py, .yaml, .yml or .json")
        folder = osp.dirname(osp.abspath(file))
        os.makedirs(folder, exist_ok=True)
        with open(file, "w", encoding="utf-8") as f:
            f.write(text)
        return None

    # --------------------------------------------------------------- diff
    def diff(self, other: "Config") -> List[Tuple[str, Any, Any, Optional[str], Optional[str]]]:
        """Leaf-level differences: ``(key path, mine, theirs, my source, their source)``.

        A missing value is shown as the ``MISSING`` marker.
        """
        mine, theirs = _leaves(self.to_dict()), _leaves(other.to_dict())
        rows = []
        for path in sorted(set(mine) | set(theirs), key=lambda p: tuple(map(str, p))):
            a, b = mine.get(path, MISSING), theirs.get(path, MISSING)
            if a != b or type(a) is not type(b):
                rows.append((path_text(path), a, b, source_of(self._provenance, path),
                             source_of(other._provenance, path)))
        return rows


def _check_plain(data: dict, file: str) -> None:
    """Refuse, by key path, values that YAML and JSON cannot hold (classes of a pure-Python config)."""
    for path, value in _leaves(data).items():
        if not (value is None or isinstance(value, (str, int, float, bool)) or value in ({}, [], ())):
            raise ConfigError(f"cannot dump to {file}: the config holds Python objects ({path_text(path)} is "
                              f"{value!r}) that YAML and JSON cannot hold; dump to .py instead")


def _short(source: Optional[str]) -> Optional[str]:
    """A source with its path relative to the working directory when inside it."""
    if not source or not osp.isabs(source):
        return source
    rel = osp.relpath(source)
    return source if rel.startswith("..") else rel


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def _leaves(data: dict) -> Dict[Path, Any]:
    out: Dict[Path, Any] = {}
    for path in leaf_paths(data):
        value: Any = data
        for part in path:
            value = value[part]
        out[path] = value
    return out


def _merge_plain(target: dict, value: dict) -> None:
    for key, item in value.items():
        if isinstance(item, dict) and isinstance(target.get(key), dict) and not item.get("_delete_"):
            _merge_plain(target[key], item)
        else:
            target[key] = {k: v for k, v in item.items() if k != "_delete_"} \
                if isinstance(item, dict) else item


def _split_key(dotted: str) -> Path:
    return tuple(int(p) if p.lstrip("-").isdigit() else p for p in dotted.split("."))
