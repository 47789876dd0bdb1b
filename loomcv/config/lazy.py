"""Imports in a pure-Python config, recorded instead of executed.

A pure-Python config (``type=ResNet`` after ``from mmpretrain.models import
ResNet``) names classes by importing them. The loader does not run those
imports while the file executes: each becomes a :class:`LazyObject` (and an
attribute of one a :class:`LazyAttr`) that remembers the module, the name and
the file and line of the import, and is resolved once the file has run. That
keeps a failing import's error at its line, and lets OpenMMLab module paths
(``mmpretrain.models``) resolve to the toolbox that answers to them.
"""

from contextlib import contextmanager
from typing import Any, Optional, Sequence, Union

from loomcv.errors import ConfigError


@contextmanager
def read_base():
    """Marks the ``import`` lines of a pure-Python config that read its base configs.

    The loader removes the block before the file runs, so this only matters
    when such a file is executed as plain Python.
    """
    yield


def import_target(module: str) -> Any:
    """Import ``module``; an OpenMMLab path resolves to loomcv or a toolbox when that package is absent."""
    from loomcv.compat.mapping import import_compat_module
    return import_compat_module(module)


class LazyObject:
    """An import a config spelled out, resolved by :meth:`build`.

    Args:
        module: the module (``'mmpretrain.models'``), or for ``import a.b`` /
            ``import a.c`` the list of modules, which binds their top package.
        imported: the name taken from the module (``from m import imported``).
        location: ``file:line`` of the import, for errors.
    """

    def __init__(self, module: Union[str, Sequence[str]], imported: Optional[str] = None,
                 location: str = ""):
        if not isinstance(module, str) and not (isinstance(module, (list, tuple))
                                                and all(isinstance(m, str) for m in module)):
            raise TypeError(f"LazyObject: module must be a str or a list of str, got {module!r}")
        if imported is not None and not isinstance(imported, str):
            raise TypeError(f"LazyObject: imported must be a str or None, got {imported!r}")
        self._module = module if isinstance(module, str) else tuple(module)
        self._imported = imported
        self._location = location

    @property
    def module(self) -> str:
        """The module this name is read from (the top package for ``import a.b``)."""
        return self._module if isinstance(self._module, str) else self._module[0].split(".")[0]

    def build(self) -> Any:
        """The imported object."""
        try:
            if isinstance(self._module, str):
                target = import_target(self._module)
                return getattr(target, self._imported) if self._imported else target
            for name in self._module:
                import_target(name)
            return import_target(self.module)
        except (ImportError, AttributeError) as err:
            what = f"{self._imported!r} from {self.module!r}" if self._imported else repr(self.module)
            raise ConfigError(f"{self._location or 'config'}: cannot import {what}: {err}") from err

    def __getattr__(self, name: str) -> "LazyAttr":
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return LazyAttr(name, self)

    def __call__(self, *args, **kwargs):
        raise ConfigError(f"{self._location or 'config'}: {self} is imported lazily in a pure-Python config and "
                          f"cannot be called while the config is read; use it as a value (type={self})")

    def __deepcopy__(self, memo) -> "LazyObject":
        return LazyObject(self._module, self._imported, self._location)

    def __str__(self) -> str:
        return self._imported if self._imported is not None else self.module

    __repr__ = __str__


class LazyAttr:
    """An attribute of a :class:`LazyObject` (``models.ResNet`` after ``from mmpretrain import models``)."""

    def __init__(self, name: str, source: Union[LazyObject, "LazyAttr"]):
        self.name = name
        self.source = source

    @property
    def module(self) -> str:
        """The dotted path this attribute is read from."""
        source = self.source
        if isinstance(source, LazyObject):
            return source.module if source._imported is None else f"{source.module}.{source._imported}"
        return f"{source.module}.{source.name}"

    @property
    def _location(self) -> str:
        return self.source._location

    def build(self) -> Any:
        """The attribute's value."""
        owner = self.source.build()
        try:
            return getattr(owner, self.name)
        except AttributeError as err:
            raise ConfigError(f"{self._location or 'config'}: {self.module} has no attribute "
                              f"{self.name!r}") from err

    def __getattr__(self, name: str) -> "LazyAttr":
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return LazyAttr(name, self)

    def __call__(self, *args, **kwargs):
        raise ConfigError(f"{self._location or 'config'}: {self.module}.{self.name} is imported lazily in a "
                          f"pure-Python config and cannot be called while the config is read")

    def __deepcopy__(self, memo) -> "LazyAttr":
        return LazyAttr(self.name, self.source)

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__


def resolve_lazy(value: Any) -> Any:
    """``value`` with every LazyObject / LazyAttr inside dicts, lists and tuples replaced by what it names."""
    if isinstance(value, (LazyObject, LazyAttr)):
        return value.build()
    if isinstance(value, dict):
        for key, item in list(value.items()):
            value[key] = resolve_lazy(item)
        return value
    if isinstance(value, list):
        return [resolve_lazy(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(resolve_lazy(v) for v in value)
    return value
