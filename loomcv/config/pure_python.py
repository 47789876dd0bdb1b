"""The pure-Python config style (MMEngine's "lazy import" configs, as MMPretrain 1.x and MMDetection 3.x ship).

::

    from mmengine.config import read_base
    with read_base():
        from .._base_.default_runtime import *      # bases are read by importing them
    from mmpretrain.models import ResNet           # classes are named by importing them
    model = dict(type=ResNet, depth=18)
    optim_wrapper.optimizer.lr = 0.1               # a base's dict, changed in place

A ``.py`` file is read in this style when it has a ``with read_base():``
block, a relative import, or an import of a module outside the standard
library, and no ``_base_ = ...`` line (the rules MMEngine applies). Its
imports are not run while it executes: each imported name becomes a
:class:`~loomcv.config.lazy.LazyObject`, resolved once the file has run
(OpenMMLab paths through :mod:`loomcv.compat`). Imported names are not config
keys. Base values arrive as :class:`PyConfigDict` (attribute access, and an
``update`` that merges nested dicts as MMEngine's does).

Provenance works as in the text style: a value keeps the ``file:line`` of
the base that set it until a line of this file changes it.
"""

import ast
import copy
import os.path as osp
import sys
import types
from typing import Any, Callable, Dict, List, Set, Tuple

from loomcv.errors import ConfigError, ConfigKeyError, ConfigSyntaxError

from .config_dict import ConfigDict, Path
from .lazy import LazyObject, read_base, resolve_lazy
from .provenance import error_line, key_path_of, leaf_paths, py_line_map
from .tree import map_tree

Loaded = Tuple[Dict[str, Any], Dict[Path, str]]
LoadFile = Callable[..., Loaded]

#: names a pure-Python file imports from its bases and its own imports, by file (children re-export them)
_IMPORTED: Dict[str, Dict[str, Any]] = {}


# ------------------------------------------------------------- detection
def _stdlib(module: str) -> bool:
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top == "__future__"


def _is_read_base(stmt: ast.AST) -> bool:
    if not isinstance(stmt, ast.With) or len(stmt.items) != 1:
        return False
    call = stmt.items[0].context_expr
    func = getattr(call, "func", None)
    return isinstance(call, ast.Call) and (getattr(func, "id", None) == "read_base"
                                           or getattr(func, "attr", None) == "read_base")


def is_pure_python(tree: ast.Module) -> bool:
    """Whether a parsed ``.py`` config is in the pure-Python style (see the module docstring)."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in stmt.targets):
            return False
    for node in ast.walk(tree):
        if _is_read_base(node):
            return True
        if isinstance(node, ast.ImportFrom):
            if node.level:
                return True
            if node.module and not _stdlib(node.module) and \
                    not (node.module in ("mmengine", "loomcv") and [a.name for a in node.names] == ["Config"]):
                return True
        if isinstance(node, ast.Import) and any(not _stdlib(a.name) for a in node.names):
            return True
    return False


# ---------------------------------------------------------- config dicts
class PyConfigDict(ConfigDict):
    """The dict of a pure-Python config: a ConfigDict whose ``update`` merges nested dicts (as MMEngine's does)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, _wrap(value))

    def update(self, *args, **kwargs) -> None:
        """Merge: a dict value updates the dict already there instead of replacing it."""
        for key, value in dict(*args, **kwargs).items():
            if isinstance(value, dict) and isinstance(self.get(key), dict):
                self[key].update(value)
            else:
                self[key] = value

    def merge(self, other: dict) -> None:
        """Merge ``other`` in, honouring ``_delete_=True`` (replace instead of merging)."""
        for key, value in other.items():
            if isinstance(value, dict) and isinstance(self.get(key), dict) and not value.get("_delete_"):
                self[key].merge(value)
            elif isinstance(value, dict):
                self[key] = {k: v for k, v in value.items() if k != "_delete_"}
            else:
                self[key] = value

    def __deepcopy__(self, memo: dict) -> "PyConfigDict":
        new = PyConfigDict()
        memo[id(self)] = new
        for key, value in self.items():
            dict.__setitem__(new, key, copy.deepcopy(value, memo))
        return new

    def __reduce__(self):
        return (PyConfigDict, (dict(self),))


def _wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, PyConfigDict):
        return PyConfigDict(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_wrap(v) for v in value)
    return value


# ----------------------------------------------------------------- bases
def _base_path(stmt: ast.ImportFrom, path: str) -> str:
    """The file a ``from X import ...`` line inside ``read_base()`` reads."""
    module = stmt.module or ""
    if stmt.level:
        folder = osp.dirname(path)
        for _ in range(stmt.level - 1):
            folder = osp.dirname(folder)
        return osp.join(folder, *module.split(".")) + ".py"
    parts = module.split(".")
    if len(parts) < 2:
        raise ConfigError(f"{path}:{stmt.lineno}: `from {module} import ...` inside read_base() must name a "
                          f"config module inside a package, like `from mmpretrain.configs._base_.default_runtime "
                          f"import *`")
    from loomcv.registry.toolbox import resolve_package
    from loomcv.utils.version import get_installed_path
    try:
        root = get_installed_path(resolve_package(parts[0]))
    except ModuleNotFoundError:
        raise ConfigError(f"{path}:{stmt.lineno}: base config package {parts[0]!r} is not installed and no "
                          f"toolbox answers to it") from None
    return osp.join(root, *parts[1:]) + ".py"


class _Reader:
    """Reads one pure-Python file: its bases, its imports, then its own lines."""

    def __init__(self, path: str, tree: ast.Module, load_file: LoadFile, use_predefined: bool,
                 stack: Tuple[str, ...]):
        self.path, self.tree, self.load_file = path, tree, load_file
        self.use_predefined, self.stack = use_predefined, stack
        self.namespace: Dict[str, Any] = {"__file__": path, "__name__": "__loomcv_config__", "dict": PyConfigDict,
                                          "read_base": read_base}
        self.imported: Set[str] = set()
        self.from_base: Dict[str, Tuple[Any, Dict[Path, str]]] = {}  # name -> (base value, base provenance)

    def where(self, node: ast.AST) -> str:
        return f"{self.path}:{getattr(node, 'lineno', '?')}"

    def read_bases(self, block: ast.With) -> None:
        for stmt in block.body:
            if not isinstance(stmt, ast.ImportFrom):
                raise ConfigSyntaxError(f"{self.where(stmt)}: only `from ... import ...` lines may sit inside "
                                        f"`with read_base():`")
            base = _base_path(stmt, self.path)
            if not osp.isfile(base):
                raise ConfigError(f"{self.where(stmt)}: base config {'.' * stmt.level}{stmt.module or ''} not "
                                  f"found (looked for {base})")
            values, prov = self.load_file(base, self.use_predefined, self.stack)
            exported = _IMPORTED.get(base, {})
            for alias in stmt.names:
                if alias.name == "*":
                    picked = [(n, n) for n in values] + [(n, n) for n in exported]
                elif alias.name in values or alias.name in exported:
                    picked = [(alias.name, alias.asname or alias.name)]
                else:
                    from loomcv.errors import did_you_mean
                    raise ConfigKeyError(f"{self.where(stmt)}: base config {base} defines no {alias.name!r}."
                                         f"{did_you_mean(alias.name, list(values) + list(exported))}")
                for name, bound in picked:
                    if name in values:
                        self.namespace[bound] = _wrap(copy.deepcopy(values[name]))
                        n = 1
                        renamed = {(bound, *k[n:]): s for k, s in prov.items() if k[:n] == (name,)}
                        self.from_base[bound] = (copy.deepcopy(values[name]), renamed)
                    else:
                        self.namespace[bound] = exported[name]
                        self.imported.add(bound)

    def lazy_import(self, stmt: ast.AST) -> None:
        where = self.where(stmt)
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.namespace[alias.asname] = LazyObject(alias.name, location=where)
                    self.imported.add(alias.asname)
                    continue
                top = alias.name.split(".")[0]
                known = self.namespace.get(top)
                modules = list(known._module) if isinstance(known, LazyObject) and \
                    not isinstance(known._module, str) else []
                self.namespace[top] = LazyObject(modules + [alias.name], location=where)
                self.imported.add(top)
            return
        module = "." * stmt.level + (stmt.module or "")
        if stmt.level:
            raise ConfigSyntaxError(f"{where}: relative imports (`from {module} import ...`) must sit inside "
                                    f"`with read_base():`; only base configs are imported relatively")
        for alias in stmt.names:
            if alias.name == "*":
                raise ConfigSyntaxError(f"{where}: `from {module} import *` is only allowed inside "
                                        f"`with read_base():`; import the names you use")
            bound = alias.asname or alias.name
            self.namespace[bound] = LazyObject(module, alias.name, location=where)
            self.imported.add(bound)

    def run(self) -> Loaded:
        body: List[ast.stmt] = []
        for stmt in self.tree.body:
            if _is_read_base(stmt):
                self.read_bases(stmt)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)) and not _all_stdlib(stmt):
                self.lazy_import(stmt)
            else:
                body.append(stmt)
        for stmt in body:
            if isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in stmt.targets):
                raise ConfigSyntaxError(f"{self.where(stmt)}: a pure-Python config reads its bases with "
                                        f"`with read_base(): from .base import *`, not `_base_ = ...`")
            if isinstance(stmt, ast.With):
                raise ConfigSyntaxError(f"{self.where(stmt)}: only the `with read_base():` block may appear in a "
                                        f"pure-Python config")
        module = ast.Module(body=body, type_ignores=[])
        try:
            exec(compile(module, self.path, "exec"), self.namespace)
        except (ConfigError, ConfigKeyError):
            raise
        except Exception as err:
            line = error_line(err, self.path)
            raise ConfigError(f"{self.path}:{line}: {type(err).__name__}: {err}") from err
        defined = {s.name for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        skip = {"dict", "read_base", *self.imported, *defined}
        own = {k: v for k, v in self.namespace.items()
               if not k.startswith("__") and k not in skip and not isinstance(v, types.ModuleType)}
        _IMPORTED[self.path] = {k: self.namespace[k] for k in self.imported if k in self.namespace}
        values = map_tree(resolve_lazy(own))
        return values, self.provenance(values)

    def provenance(self, values: Dict[str, Any]) -> Dict[Path, str]:
        """Base provenance for values this file left as the base set them, this file's lines for the rest."""
        lines = {**py_line_map(self.tree, self.path), **_update_lines(self.tree, self.path)}
        prov: Dict[Path, str] = {}
        for leaf in leaf_paths(values):
            base_value, base_prov = self.from_base.get(leaf[0], (_NOTHING, {}))
            if leaf not in lines and base_value is not _NOTHING and _at(base_value, leaf[1:]) == _at(values, leaf):
                prov[leaf] = base_prov.get(leaf) or next(
                    (base_prov[leaf[:c]] for c in range(len(leaf), 0, -1) if leaf[:c] in base_prov), self.path)
                continue
            prov[leaf] = next((lines[leaf[:c]] for c in range(len(leaf), 0, -1) if leaf[:c] in lines), self.path)
        return prov


_NOTHING = object()


def _at(value: Any, path: Path) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return _NOTHING
    return value


def _all_stdlib(stmt: ast.AST) -> bool:
    if isinstance(stmt, ast.Import):
        return all(_stdlib(a.name) for a in stmt.names)
    return not stmt.level and bool(stmt.module) and _stdlib(stmt.module)


def _update_lines(tree: ast.Module, path: str) -> Dict[Path, str]:
    """Lines of ``x.y.update(key=...)`` / ``x.merge(dict(...))`` calls, by the key paths they set."""
    lines: Dict[Path, str] = {}
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("update", "merge", "setdefault")):
            continue
        prefix = key_path_of(call.func.value)
        if prefix is None:
            continue
        keywords = [*call.keywords, *[ast.keyword(arg=k.value, value=v) for a in call.args for k, v in _pairs(a)]]
        merged = ast.copy_location(ast.Call(func=ast.Name(id="dict"), args=[], keywords=keywords), call)
        fake = ast.Module(body=[ast.Assign(targets=[ast.Name(id="_")], value=merged)], type_ignores=[])
        for key, where in py_line_map(fake, path).items():
            if len(key) > 1:
                lines[prefix + key[1:]] = where
    return lines


def _pairs(node: ast.AST):
    if isinstance(node, ast.Dict):
        return [(k, v) for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)]
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
        return [(ast.Constant(kw.arg), kw.value) for kw in node.keywords if kw.arg]
    return []


def load_pure_python(path: str, tree: ast.Module, load_file: LoadFile, use_predefined: bool,
                     stack: Tuple[str, ...]) -> Loaded:
    """Read a pure-Python config into (values, provenance); ``load_file`` reads its bases."""
    return _Reader(path, tree, load_file, use_predefined, stack).run()
