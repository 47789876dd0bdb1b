"""The default scope: which project's registries an unscoped type name means.

A config with ``default_scope = 'mmpretrain'`` makes ``type='ResNet'`` resolve
in that toolbox's registries first, then in their parents. The scope is process-global
state; :func:`default_scope` switches it for a block and restores it after.
"""

import contextlib
from typing import Dict, Iterator, Optional

from .toolbox import scope_aliases

def resolve_scope(scope: Optional[str]) -> Optional[str]:
    """The scope that ``scope`` means: itself, or the toolbox that declares it as an alias.

    ``'mmengine'``/``'mmcv'`` mean loomcv; a toolbox's aliases (see
    :mod:`loomcv.registry.toolbox`) mean that toolbox.
    """
    if scope is None:
        return None
    return scope_aliases().get(scope, scope)


class DefaultScope:
    """A named default scope; the most recently created or entered one is current.

    ``DefaultScope.get_instance(name, scope_name=...)`` creates (or returns) a
    named instance and makes it current, as runners do when they start.
    """

    _instances: Dict[str, "DefaultScope"] = {}
    _current: Optional["DefaultScope"] = None

    def __init__(self, name: str, scope_name: str):
        if not isinstance(scope_name, str) or not scope_name:
            raise TypeError(f"scope_name must be a non-empty str, got {scope_name!r}")
        self.instance_name = name
        self._scope_name = resolve_scope(scope_name)

    @property
    def scope_name(self) -> str:
        return self._scope_name

    @classmethod
    def get_instance(cls, name: str, scope_name: Optional[str] = None) -> "DefaultScope":
        if name not in cls._instances:
            if scope_name is None:
                raise KeyError(f"DefaultScope {name!r} does not exist; give scope_name to create it")
            cls._instances[name] = cls(name, scope_name)
        elif scope_name is not None and resolve_scope(scope_name) != cls._instances[name].scope_name:
            raise ValueError(
                f"DefaultScope {name!r} already exists with scope "
                f"{cls._instances[name].scope_name!r}, not {scope_name!r}")
        cls._current = cls._instances[name]
        return cls._current

    @classmethod
    def get_current_instance(cls) -> Optional["DefaultScope"]:
        return cls._current

    @classmethod
    def check_instance_created(cls, name: str) -> bool:
        return name in cls._instances

    @classmethod
    def current_scope(cls) -> Optional[str]:
        return cls._current.scope_name if cls._current is not None else None

    @classmethod
    @contextlib.contextmanager
    def overwrite_default_scope(cls, scope_name: Optional[str]) -> Iterator[None]:
        """Make ``scope_name`` current inside the block (``None`` changes nothing)."""
        if scope_name is None:
            yield
            return
        previous = cls._current
        cls._current = cls(f"overwrite-{scope_name}", scope_name)
        try:
            yield
        finally:
            cls._current = previous

    def __repr__(self) -> str:
        return f"DefaultScope(name={self.instance_name!r}, scope_name={self.scope_name!r})"


def init_default_scope(scope: str) -> DefaultScope:
    """Make ``scope`` the default scope of this process and return it."""
    current = DefaultScope.get_current_instance()
    if current is not None and current.scope_name == resolve_scope(scope):
        return current
    name = f"{scope}-{len(DefaultScope._instances)}"
    return DefaultScope.get_instance(name, scope_name=scope)


def default_scope(scope: Optional[str]):
    """Context manager: ``with default_scope('mmpretrain'): MODELS.build(cfg)``."""
    return DefaultScope.overwrite_default_scope(scope)
