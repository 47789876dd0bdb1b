"""ConfigDict: a dict with attribute access that knows where it sits.

Each ConfigDict remembers its key path in the config (``model.backbone``) and
shares the config's provenance map (key path -> ``file:line``), so that a
builder can say where a bad value came from.
"""

import copy
from typing import Any, Dict, Optional, Tuple

from .tree import map_tree

from loomcv.errors import did_you_mean

Path = Tuple[Any, ...]


def path_text(path: Path) -> str:
    """``('model', 'pipeline', 1, 'prob')`` -> ``'model.pipeline.1.prob'``."""
    return ".".join(str(p) for p in path)


def source_of(provenance: Optional[Dict[Path, str]], path: Path) -> Optional[str]:
    """Where the value at ``path`` was set: its own entry, a descendant's, or an ancestor's."""
    if not provenance:
        return None
    if path in provenance:
        return provenance[path]
    n = len(path)
    for key, source in provenance.items():
        if key[:n] == path:
            return source
    for cut in range(n - 1, 0, -1):
        if path[:cut] in provenance:
            return provenance[path[:cut]]
    return None


def _wrap(value: Any, path: Path, provenance: Optional[dict]) -> Any:
    if isinstance(value, dict):
        if isinstance(value, ConfigDict) and value._loom_path == path and value._loom_prov is provenance:
            return value
        return ConfigDict(value, _path=path, _provenance=provenance)
    if isinstance(value, list):
        return [_wrap(v, path + (i,), provenance) for i, v in enumerate(value)]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_wrap(v, path + (i,), provenance) for i, v in enumerate(value))
    return value


def to_plain(value: Any) -> Any:
    """ConfigDicts -> dicts, recursively (lists and tuples kept as such)."""
    return map_tree(value)


class ConfigDict(dict):
    """A dict whose keys are also attributes; nested dicts become ConfigDicts."""

    def __init__(self, *args, _path: Path = (), _provenance: Optional[dict] = None, **kwargs):
        super().__init__()
        object.__setattr__(self, "_loom_path", tuple(_path))
        object.__setattr__(self, "_loom_prov", _provenance)
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    # ----------------------------------------------------------- access
    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, _wrap(value, self._loom_path + (key,), self._loom_prov))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            where = f" at {path_text(self._loom_path)}" if self._loom_path else ""
            raise AttributeError(
                f"config has no key {name!r}{where}.{did_you_mean(name, [str(k) for k in self])}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, *args, **kwargs) -> None:  # route through __setitem__
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    # ------------------------------------------------------------ copies
    def copy(self) -> "ConfigDict":
        new = ConfigDict(_path=self._loom_path, _provenance=self._loom_prov)
        dict.update(new, self)
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> "ConfigDict":
        new = ConfigDict(_path=self._loom_path, _provenance=self._loom_prov)
        memo[id(self)] = new
        for key, value in self.items():
            dict.__setitem__(new, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return new

    def __reduce__(self):
        return (_rebuild, (dict(self), self._loom_path, self._loom_prov))

    def to_dict(self) -> dict:
        return to_plain(self)

    # -------------------------------------------------------- provenance
    def locate(self, key: Any = None) -> Tuple[str, Optional[str]]:
        """``(key path, source)`` of ``self[key]`` (or of this dict itself)."""
        path = self._loom_path + ((key,) if key not in (None, "") else ())
        return path_text(path), source_of(self._loom_prov, path)

    def __repr__(self) -> str:
        return f"ConfigDict({dict.__repr__(self)})"


def _rebuild(items: dict, path: Path, provenance: Optional[dict]) -> ConfigDict:
    return ConfigDict(items, _path=path, _provenance=provenance)
