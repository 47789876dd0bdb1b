"""Registry: string names -> classes or functions, organised in scoped trees.

Each OpenMMLab-style project owns one registry per kind of component; a
project's registries are children of loomcv's root ones. A child looks a name
up in itself and then in its parents, and reaches a sibling project through the
root with a scoped name such as ``'mmpretrain.ResNet'``.
"""

import contextlib
import importlib
import inspect
import io
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from loomcv.errors import RegistryError

from .default_scope import DefaultScope, resolve_scope
from .toolbox import find_toolbox


def split_scope_key(key: str) -> Tuple[Optional[str], str]:
    """``'mmcls.ResNet'`` -> ``('mmcls', 'ResNet')``; no dot -> ``(None, key)``."""
    scope, dot, name = key.partition(".")
    return (scope, name) if dot else (None, key)


def _caller_scope() -> str:
    """The top-level package of the code that constructs a Registry."""
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_name in ("__init__", "_caller_scope")
        and isinstance(frame.f_locals.get("self"), Registry)
        or frame.f_code.co_name == "_caller_scope"
    ):
        frame = frame.f_back
    name = frame.f_globals.get("__name__", "__main__") if frame is not None else "__main__"
    return name.split(".")[0]


def describe(obj: Any) -> str:
    """``module.Qualname (file:line)`` for error messages."""
    where = ""
    try:
        where = f" ({inspect.getsourcefile(obj)}:{inspect.getsourcelines(obj)[1]})"
    except (TypeError, OSError):
        pass
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}{where}"


class Registry:
    """A mapping from names to classes or functions, with a build function.

    Args:
        name: what the registry holds, e.g. ``'model'``.
        build_func: builds an object from a config; defaults to the parent's,
            or :func:`~loomcv.registry.build_from_cfg` for a root.
        parent: the registry to fall back on, usually loomcv's root one.
        scope: the project this registry belongs to; defaults to the top-level
            package of the code that creates it.
        locations: modules imported on the first lookup, so that their
            ``register_module`` calls have run before a name is needed.
    """

    def __init__(self, name: str, build_func: Optional[Callable] = None,
                 parent: Optional["Registry"] = None, scope: Optional[str] = None,
                 locations: Sequence[str] = ()):
        self._name = name
        self._module_dict: Dict[str, Any] = {}
        self._children: Dict[str, "Registry"] = {}
        self._locations = list(locations)
        self._imported = not self._locations
        self._scope = scope if scope is not None else _caller_scope()
        self.parent: Optional[Registry] = None
        if parent is not None:
            if not isinstance(parent, Registry):
                raise TypeError(f"parent must be a Registry, got {type(parent).__name__}")
            parent._add_child(self)
            self.parent = parent
        if build_func is None:
            from .build import build_from_cfg
            build_func = parent.build_func if parent is not None else build_from_cfg
        self.build_func = build_func

    # ------------------------------------------------------------ properties
    @property
    def name(self) -> str:
        return self._name

    @property
    def scope(self) -> str:
        return self._scope

    @property
    def module_dict(self) -> Dict[str, Any]:
        return self._module_dict

    @property
    def children(self) -> Dict[str, "Registry"]:
        return self._children

    @property
    def root(self) -> "Registry":
        reg = self
        while reg.parent is not None:
            reg = reg.parent
        return reg

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __repr__(self) -> str:
        from rich.console import Console
        from rich.table import Table

        self.import_from_locations()
        table = Table(title=f"Registry of {self._name} (scope {self._scope})")
        table.add_column("Names", style="cyan")
        table.add_column("Objects")
        for key, obj in sorted(self._module_dict.items()):
            table.add_row(key, f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}")
        console = Console(file=io.StringIO(), width=120, color_system=None)
        console.print(table)
        return console.file.getvalue()

    # --------------------------------------------------------------- lookup
    def import_from_locations(self) -> None:
        """Import the modules named in ``locations`` once, on first need.

        A location that fails to import is an error naming the registry: a
        registry whose modules are silently missing would only say later that
        a well-known type is "not registered".
        """
        if self._imported:
            return
        self._imported = True
        for location in self._locations:
            try:
                importlib.import_module(location)
            except ImportError as err:
                self._imported = False
                raise RegistryError(
                    f"registry {self._name!r} (scope {self._scope!r}) cannot import its location "
                    f"{location!r}: {type(err).__name__}: {err}") from err
            except BaseException:
                self._imported = False
                raise

    def _chain(self) -> Iterator["Registry"]:
        reg: Optional[Registry] = self
        while reg is not None:
            yield reg
            reg = reg.parent

    def find_scope(self, scope: str) -> Optional["Registry"]:
        """The registry of ``scope`` (or an alias of it) in this registry's tree, or None.

        A scope not seen yet triggers one import of its registry module: the
        one its toolbox declares (:mod:`loomcv.registry.toolbox`), else
        ``<scope>.registry``, so ``'mmcls.ResNet'`` works before anything of
        that toolbox was imported by hand.
        """
        scope = resolve_scope(scope)
        found = self._search_tree(scope)
        if found is None:
            toolbox = find_toolbox(scope)
            try:
                importlib.import_module(toolbox.registry if toolbox is not None else f"{scope}.registry")
            except ModuleNotFoundError as err:
                if toolbox is not None or not err.name or not f"{scope}.registry".startswith(err.name):
                    raise  # a declared toolbox, or a registry module whose own imports fail
                return None
            found = self._search_tree(scope)
        return found

    def _search_tree(self, scope: str) -> Optional["Registry"]:
        stack = [self.root]
        while stack:
            reg = stack.pop()
            if reg._scope == scope:
                return reg
            stack.extend(reg._children.values())
        return None

    def search_order(self, key: str) -> List["Registry"]:
        """The registries that ``get(key)`` searches, in order."""
        scope, _ = split_scope_key(key)
        if scope is not None:
            target = self.find_scope(scope)
            return list(target._chain()) if target is not None else []
        order: List[Registry] = []
        current = DefaultScope.current_scope()
        if current is not None and current != self._scope:
            target = self.find_scope(current)
            if target is not None:
                order.extend(target._chain())
        order.extend(r for r in self._chain() if r not in order)
        return order

    def _specialized_by_default_scope(self) -> bool:
        """Whether the current default scope names a registry below this one (which then goes first)."""
        current = DefaultScope.current_scope()
        if current is None or current == self._scope:
            return False
        target = self.find_scope(current)
        return target is not None and target is not self and self in target._chain()

    def get(self, key: str) -> Optional[Any]:
        """The object registered as ``key`` (``'Type'`` or ``'scope.Type'``), or None."""
        if not isinstance(key, str):
            raise TypeError(f"registry keys are str, got {type(key).__name__}: {key!r}")
        self.import_from_locations()
        scope, name = split_scope_key(key)
        if key in self._module_dict and (scope is not None or not self._specialized_by_default_scope()):
            return self._module_dict[key]
        # the default scope's registry is a descendant of this one: it is searched first (MMEngine builds
        # from the default scope's registry), so a name a toolbox overrides resolves to the toolbox's there
        for reg in self.search_order(key):
            reg.import_from_locations()
            if name in reg._module_dict:
                return reg._module_dict[name]
        return None

    def visible_names(self, key: str = "") -> List[str]:
        """Every name that ``get`` could find from here (for suggestions)."""
        names: List[str] = []
        for reg in self.search_order(key):
            reg.import_from_locations()
            names.extend(n for n in reg._module_dict if n not in names)
        return names

    # -------------------------------------------------------------- children
    def _add_child(self, child: "Registry") -> None:
        if child.scope in self._children:
            raise RegistryError(
                f"registry {self._name!r} already has a child with scope {child.scope!r}")
        self._children[child.scope] = child

    # ------------------------------------------------------ MMEngine's scope API
    split_scope_key = staticmethod(split_scope_key)

    @staticmethod
    def infer_scope() -> str:
        """The top-level package of the code calling this (a registry's default scope)."""
        return sys._getframe(1).f_globals.get("__name__", "__main__").split(".")[0]

    def import_from_location(self) -> None:
        """MMEngine's name for :meth:`import_from_locations`."""
        self.import_from_locations()

    @contextlib.contextmanager
    def switch_scope_and_registry(self, scope: Optional[str]) -> Iterator["Registry"]:
        """Within the block the default scope is ``scope`` (when given) and the registry yielded is
        that scope's registry in this tree (this one when the scope has none)."""
        with DefaultScope.overwrite_default_scope(scope):
            current = DefaultScope.current_scope()
            found = self.find_scope(current) if current is not None else None
            yield found if found is not None else self

    # ---------------------------------------------------------------- build
    def build(self, cfg: Any, *args, **kwargs) -> Any:
        """Build an object from ``cfg`` with this registry's build function."""
        return self.build_func(cfg, *args, **kwargs, registry=self)

    # ------------------------------------------------------------- register
    def _register(self, module: Any, name: Union[None, str, Sequence[str]], force: bool) -> None:
        if not callable(module):
            raise TypeError(f"only classes and functions can be registered, got {module!r}")
        names = [module.__name__] if name is None else [name] if isinstance(name, str) else list(name)
        for key in names:
            if not isinstance(key, str):
                raise TypeError(f"registered names must be str, got {key!r}")
            existing = self._module_dict.get(key)
            if existing is not None and existing is not module and not force:
                raise RegistryError(
                    f"{key!r} is already registered in registry {self._name!r} "
                    f"(scope {self._scope!r}) by {describe(existing)}; the new definition "
                    f"{describe(module)} would replace it. Use another name, or "
                    f"register_module(force=True) to override on purpose.")
            self._module_dict[key] = module

    def register_module(self, name: Union[None, str, Sequence[str]] = None, force: bool = False,
                        module: Any = None) -> Any:
        """Register a class or function, as a decorator or a plain call.

        ``@REG.register_module()``, ``@REG.register_module(name='Alias')``,
        ``@REG.register_module(name=['A', 'B'])``, ``@REG.register_module(force=True)``
        and ``REG.register_module(module=cls)`` all work; so does the bare
        ``@REG.register_module`` without parentheses.
        """
        if not isinstance(force, bool):
            raise TypeError(f"force must be a bool, got {type(force).__name__}")
        if name is not None and not isinstance(name, (str, list, tuple)):
            if callable(name) and module is None:  # bare @register_module
                self._register(name, None, force)
                return name
            raise TypeError(f"name must be None, a str or a list of str, got {name!r}")
        if module is not None:
            self._register(module, name, force)
            return module

        def decorator(obj: Any) -> Any:
            self._register(obj, name, force)
            return obj

        return decorator
