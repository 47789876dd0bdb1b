"""Reading config files: ``_base_`` inheritance, references, provenance.

A file is read into a plain dict tree plus a provenance map (key path ->
``file:line``). Bases are read first and merged; the file's own values are
merged over them. Python files are executed with ``_base_`` bound to the
merged bases, which gives ``_base_.x`` and ``{{_base_.x}}`` references for
free; YAML and JSON files get ``{{_base_.x}}`` string references substituted.
"""

import ast
import copy
import importlib.util
import json
import os
import os.path as osp
import re
import types
from typing import Any, Dict, List, Optional, Tuple

import yaml

from loomcv.errors import ConfigError, ConfigKeyError, ConfigSyntaxError

from .config_dict import ConfigDict, Path, path_text, to_plain
from .provenance import error_line, provenance_for, py_line_map, yaml_line_map
from .pure_python import is_pure_python, load_pure_python
from .tree import map_tree

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"
SUFFIXES = (".py", ".yaml", ".yml", ".json")
_BASE_REF = re.compile(r"""(['"]?)\{\{\s*_base_\.([\w.]+)\s*\}\}\1""")

Loaded = Tuple[Dict[str, Any], Dict[Path, str]]


# --------------------------------------------------------------- locations
def package_config_dir(package: str) -> str:
    """The shipped-configs folder of a toolbox (by scope, alias or package) or an installed package."""
    from loomcv.registry.toolbox import find_toolbox, resolve_package
    toolbox = find_toolbox(package)
    if toolbox is not None and toolbox.configs_path() is not None:
        return toolbox.configs_path()
    name = resolve_package(package)
    spec = importlib.util.find_spec(name) if name.isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"package {package!r} is not installed, so '{package}::' configs cannot be found")
    return osp.join(list(spec.submodule_search_locations)[0], "configs")


def resolve_path(name: str, relative_to: Optional[str] = None) -> str:
    """A config path: ``pkg::sub/path.py``, absolute, or relative to ``relative_to``'s folder."""
    if "::" in name:
        package, _, sub = name.partition("::")
        return osp.join(package_config_dir(package), sub)
    if osp.isabs(name) or relative_to is None:
        return osp.abspath(osp.expanduser(name))
    return osp.abspath(osp.join(osp.dirname(relative_to), name))


# ----------------------------------------------------------- text helpers
def predefined_variables(path: str) -> Dict[str, str]:
    dirname, basename = osp.split(path)
    stem, ext = osp.splitext(basename)
    return {"fileDirname": dirname, "fileBasename": basename,
            "fileBasenameNoExtension": stem, "fileExtname": ext}


def substitute_predefined(text: str, path: str) -> str:
    for key, value in predefined_variables(path).items():
        text = re.sub(r"\{\{\s*" + key + r"\s*\}\}", value.replace("\\", "/"), text)
    return text


# ----------------------------------------------------------------- merging
def strip_delete(value: Any) -> Any:
    """``value`` without its ``_delete_`` markers, once they have done their work."""
    return map_tree(value, skip_keys=(DELETE_KEY,))


def _drop(prov: Dict[Path, str], prefix: Path) -> None:
    n = len(prefix)
    for key in [k for k in prov if k[:n] == prefix]:
        del prov[key]


def merge_into(base: Dict[str, Any], child: Dict[str, Any], prov: Dict[Path, str],
               child_prov: Dict[Path, str], path: Path = (), child_file: str = "") -> None:
    """Merge ``child`` over ``base`` in place, recursively, honouring ``_delete_``."""
    for key, value in child.items():
        if key == DELETE_KEY:
            continue
        here = path + (key,)
        old = base.get(key)
        if isinstance(value, dict) and not value.get(DELETE_KEY, False) and isinstance(old, dict):
            merge_into(old, value, prov, child_prov, here, child_file)
            continue
        if isinstance(value, dict) and not value.get(DELETE_KEY, False) and key in base \
                and old is not None and not isinstance(old, dict):
            raise ConfigError(
                f"{path_text(here)} is a dict in {child_file or 'the child config'} but "
                f"{type(old).__name__} ({old!r}) in its base, so the two cannot be merged; "
                f"add _delete_=True to the child's dict to replace the base value.")
        base[key] = strip_delete(value)
        _drop(prov, here)
        n = len(here)
        prov.update({k: s for k, s in child_prov.items() if k[:n] == here})


# ----------------------------------------------------------------- loading
class _BaseNamespace:
    """``_base_`` inside a Python config: attribute access to copies of base values.

    A key the file assigns into (``_base_.train_dataloader.dataset.pipeline = p``,
    as MMPretrain's MobileOne configs do) is handed out as one shared copy, which
    is written back over the base value after the file ran (MMEngine semantics).
    """

    def __init__(self, values: Dict[str, Any], filename: str, assigned: Tuple[str, ...] = ()):
        self._values, self._filename, self._assigned = values, filename, assigned
        self._shared: Dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._values:
            from loomcv.errors import did_you_mean
            raise ConfigKeyError(f"_base_.{name} is not defined in the bases of {self._filename}."
                                 f"{did_you_mean(name, self._values)}")
        if name in self._assigned:
            if name not in self._shared:
                self._shared[name] = copy.deepcopy(ConfigDict(self._values)[name])
            return self._shared[name]
        return copy.deepcopy(ConfigDict(self._values)[name])

    __getitem__ = __getattr__

    def write_back(self) -> None:
        """Store the values the file assigned into back over the base values."""
        for name, value in self._shared.items():
            self._values[name] = to_plain(value)


def _assigned_base_keys(tree: ast.Module) -> Tuple[str, ...]:
    """Top-level base keys that statements like ``_base_.a.b = v`` or ``_base_.a[0] = v`` assign into."""
    keys = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign) else []
        for target in targets:
            chain = []
            while isinstance(target, (ast.Attribute, ast.Subscript)):
                chain.append(target)
                target = target.value
            if isinstance(target, ast.Name) and target.id == BASE_KEY and chain and \
                    isinstance(chain[-1], ast.Attribute) and len(chain) > 1:
                keys.append(chain[-1].attr)
    return tuple(dict.fromkeys(keys))


def _base_list(value: Any, path: str, line: Any) -> List[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{path}:{line}: _base_ must be a path or a list of paths, got {value!r}")


def load_file(path: str, use_predefined: bool = True, _stack: Tuple[str, ...] = (),
              lazy_import: Optional[bool] = None) -> Loaded:
    """Read ``path`` with all its bases merged; return (values, provenance).

    ``lazy_import`` says whether a ``.py`` file is in the pure-Python style
    (:mod:`loomcv.config.pure_python`); None tells from its lines.
    """
    path = osp.abspath(path)
    if path in _stack:
        chain = " -> ".join(osp.basename(p) for p in (*_stack, path))
        raise ConfigError(f"circular _base_ inheritance: {chain} (in {_stack[-1]})")
    ext = osp.splitext(path)[1].lower()
    if ext not in SUFFIXES:
        raise ConfigError(f"{path}: config files must end in .py, .yaml, .yml or .json")
    if not osp.isfile(path):
        raise FileNotFoundError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if use_predefined:
        text = substitute_predefined(text, path)
    stack = (*_stack, path)
    if ext == ".py":
        return _load_py(path, text, use_predefined, stack, lazy_import)
    return _load_data(path, text, ext, use_predefined, stack)


def _load_bases(names: List[str], path: str, line: Any, use_predefined: bool,
                stack: Tuple[str, ...]) -> Loaded:
    merged: Dict[str, Any] = {}
    prov: Dict[Path, str] = {}
    owner: Dict[str, str] = {}
    for name in names:
        base_path = resolve_path(name, path)
        if not osp.isfile(base_path):
            raise ConfigError(f"{path}:{line}: base config {name!r} not found (looked for {base_path})")
        values, base_prov = load_file(base_path, use_predefined, stack)
        for key in values:
            if key in merged:
                raise ConfigKeyError(
                    f"{path}:{line}: key {key!r} is defined in two bases, {owner[key]} and "
                    f"{base_path}; keep it in one of them or set it in {osp.basename(path)}.")
            owner[key] = base_path
        merged.update(values)
        prov.update(base_prov)
    return merged, prov


def _load_py(path: str, text: str, use_predefined: bool, stack: Tuple[str, ...],
             lazy_import: Optional[bool] = None) -> Loaded:
    text = _BASE_REF.sub(lambda m: f"_base_.{m.group(2)}", text)
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as err:
        raise ConfigSyntaxError(
            f"{path}:{err.lineno}: syntax error: {err.msg}\n    {(err.text or '').rstrip()}") from err
    if lazy_import or (lazy_import is None and is_pure_python(tree)):
        return load_pure_python(path, tree, load_file, use_predefined, stack)
    names: List[str] = []
    base_line: Any = "?"
    body = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == BASE_KEY
                                                for t in stmt.targets):
            base_line = stmt.lineno
            try:
                names = _base_list(ast.literal_eval(stmt.value), path, base_line)
            except ValueError:
                raise ConfigError(f"{path}:{stmt.lineno}: _base_ must be a literal path or "
                                  f"list of paths") from None
            continue
        body.append(stmt)
    tree.body = body
    base, prov = _load_bases(names, path, base_line, use_predefined, stack)
    base_ns = _BaseNamespace(base, path, _assigned_base_keys(tree))
    namespace: Dict[str, Any] = {"__file__": path, "__name__": "__loomcv_config__", BASE_KEY: base_ns}
    try:
        exec(compile(tree, path, "exec"), namespace)
    except (ConfigError, ConfigKeyError):
        raise
    except Exception as err:
        line = error_line(err, path)
        raise ConfigError(f"{path}:{line}: {type(err).__name__}: {err}") from err
    base_ns.write_back()
    own = {k: to_plain(v) for k, v in namespace.items()
           if not k.startswith("__") and k != BASE_KEY
           and not isinstance(v, (types.ModuleType, types.FunctionType, type, _BaseNamespace))}
    own_prov = provenance_for(own, py_line_map(tree, path), path)
    merge_into(base, own, prov, own_prov, child_file=path)
    return base, prov


def _load_data(path: str, text: str, ext: str, use_predefined: bool, stack: Tuple[str, ...]) -> Loaded:
    try:
        values = json.loads(text) if ext == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise ConfigSyntaxError(f"{path}:{err.lineno}: JSON error: {err.msg}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else "?"
        raise ConfigSyntaxError(f"{path}:{line}: YAML error: {getattr(err, 'problem', err)}") from err
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping at the top, got {type(values).__name__}")
    lines = yaml_line_map(text, path)
    names = _base_list(values.pop(BASE_KEY), path, lines.get((BASE_KEY,), "?")) if BASE_KEY in values else []
    base, prov = _load_bases(names, path, lines.get((BASE_KEY,), "?"), use_predefined, stack)
    values = _substitute_refs(values, base, path)
    own_prov = provenance_for(values, lines, path)
    merge_into(base, values, prov, own_prov, child_file=path)
    return base, prov


def _lookup(base: Dict[str, Any], dotted: str, path: str) -> Any:
    value: Any = base
    for part in dotted.split("."):
        try:
            value = value[int(part)] if isinstance(value, (list, tuple)) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ConfigKeyError(f"{path}: {{{{_base_.{dotted}}}}} refers to a key the bases "
                                 f"do not define") from None
    return copy.deepcopy(value)


def _substitute_refs(value: Any, base: Dict[str, Any], path: str) -> Any:
    if isinstance(value, dict):
        return {k: _substitute_refs(v, base, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_refs(v, base, path) for v in value]
    if isinstance(value, str):
        whole = re.fullmatch(r"\s*\{\{\s*_base_\.([\w.]+)\s*\}\}\s*", value)
        if whole:
            return _lookup(base, whole.group(1), path)
        return _BASE_REF.sub(lambda m: str(_lookup(base, m.group(2), path)), value)
    return value


#: OpenMMLab's model-index files live beside the configs but are not configs
MODEL_INDEX_FILES = ("metafile.yml", "model-index.yml")


def shipped_configs() -> List[Tuple[str, str]]:
    """``(path relative to its configs folder, full path)`` of every shipped config, bases and
    model-index files excluded.

    The configs of every declared toolbox (:mod:`loomcv.registry.toolbox`).
    """
    from loomcv.registry.toolbox import config_packages
    configs = []
    for toolbox in config_packages():
        root = toolbox.configs_path()
        for folder, _, files in os.walk(root):
            if "_base_" in osp.relpath(folder, root).split(os.sep):
                continue
            configs += [(osp.relpath(osp.join(folder, f), root), osp.join(folder, f))
                        for f in files if f.endswith(SUFFIXES) and f not in MODEL_INDEX_FILES]
    return sorted(configs)


def find_config(name: str) -> str:
    """A config path from a path, ``pkg::sub/path.py``, or a bare shipped name.

    ``resnet18_8xb16_cifar10`` and ``resnet/resnet18_8xb16_cifar10.py`` are
    looked up in the shipped-configs folders of the declared toolboxes.
    """
    if "::" in name or osp.exists(name):
        return resolve_path(name)
    wanted = name if name.endswith(SUFFIXES) else name + ".py"
    configs = shipped_configs()
    found = [full for rel, full in configs
             if rel == wanted or osp.basename(rel) == osp.basename(wanted) and "/" not in wanted]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise ConfigError(f"config name {name!r} is ambiguous: {', '.join(found)}")
    from loomcv.errors import did_you_mean
    known = [osp.splitext(osp.basename(rel))[0] for rel, _ in configs]
    raise FileNotFoundError(f"no config file {name!r} and no shipped config of that name."
                            f"{did_you_mean(osp.splitext(osp.basename(name))[0], known)}")
