"""Render a config as Python source (for ``dump`` and ``pretty_text``).

The output is valid Python that loads back to an equal config; with a
``comment`` function each leaf line ends with ``# <where it came from>``.
A class or function value (``type=ResNet`` in a pure-Python config) is
written by name with an import line at the top, which makes the dump itself
a pure-Python config.
"""

import importlib
import keyword
import sys
import types
from typing import Any, Callable, Dict, List, Optional, Tuple

from .config_dict import Path

Comment = Optional[Callable[[Path], Optional[str]]]
Line = Tuple[str, Optional[str]]  # (code, comment)
INDENT = "    "


def _is_name(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


Refs = Dict[int, str]  # id of a class/function value -> the name it is written as


def _scalar(value: Any, refs: Refs) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, bytes)) or id(value) in refs


def _importable(value: Any) -> Optional[Tuple[str, str]]:
    """``(module, qualified name)`` of a class or function that importing gives back, else None."""
    if not isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        return None
    try:
        found: Any = sys.modules.get(module) or importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return (module, qualname) if found is value else None


def _collect_refs(value: Any, refs: Refs, imports: Dict[str, Tuple[str, str]]) -> None:
    """Give every importable class/function in ``value`` a name; ``imports``: name -> (module, top name)."""
    if isinstance(value, dict):
        for item in value.values():
            _collect_refs(item, refs, imports)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_refs(item, refs, imports)
    elif id(value) not in refs and (found := _importable(value)) is not None:
        module, qualname = found
        top, _, rest = qualname.partition(".")
        name = top
        while name in imports and imports[name] != (module, top):
            name += "_"
        imports[name] = (module, top)
        refs[id(value)] = name + ("." + rest if rest else "")


def _inline(value: Any, refs: Refs, with_comments: bool = False) -> Optional[str]:
    """A one-line rendering for scalars and short flat containers, else None.

    With comments on, dicts stay multi-line so that each value gets its own.
    """
    if id(value) in refs:
        return refs[id(value)]
    if _scalar(value, refs):
        return repr(value)
    if isinstance(value, dict) and not value:
        return "dict()"
    if isinstance(value, dict) and not with_comments and all(_is_name(k) for k in value) \
            and all(_scalar(v, refs) for v in value.values()):
        text = "dict(" + ", ".join(f"{k}={_inline(v, refs)}" for k, v in value.items()) + ")"
        return text if len(text) <= 80 else None
    if isinstance(value, (list, tuple)) and all(_scalar(v, refs) for v in value):
        body = ", ".join(_inline(v, refs) for v in value)
        if isinstance(value, tuple):
            text = f"({body}{',' if len(value) == 1 else ''})"
        else:
            text = f"[{body}]"
        return text if len(text) <= 80 else None
    return None


def _render(value: Any, path: Path, depth: int, comment: Comment, refs: Refs) -> List[Line]:
    inline = _inline(value, refs, comment is not None)
    if inline is not None or not isinstance(value, (dict, list, tuple)):
        return [(inline if inline is not None else repr(value), comment(path) if comment else None)]
    pad = INDENT * (depth + 1)
    if isinstance(value, dict):
        named = all(_is_name(k) for k in value)
        lines: List[Line] = [("dict(" if named else "{", None)]
        for key, item in value.items():
            head = f"{key}=" if named else f"{key!r}: "
            lines.extend(_attach(pad + head, _render(item, path + (key,), depth + 1, comment, refs)))
        lines.append((INDENT * depth + (")" if named else "}"), None))
        return lines
    lines = [("[" if isinstance(value, list) else "(", None)]
    for i, item in enumerate(value):
        lines.extend(_attach(pad, _render(item, path + (i,), depth + 1, comment, refs)))
    lines.append((INDENT * depth + ("]" if isinstance(value, list) else ")"), None))
    return lines


def _attach(prefix: str, body: List[Line]) -> List[Line]:
    """Put ``prefix`` before the value's first line and a comma after its last."""
    (first, note), rest = body[0], body[1:]
    out = [(prefix + first, note)] + rest
    code, note = out[-1]
    out[-1] = (code + ",", note)
    return out


def format_python(cfg: dict, comment: Comment = None) -> str:
    """The whole config as Python assignments, one top-level key each (after the imports it needs)."""
    imports: Dict[str, Tuple[str, str]] = {}
    refs: Refs = {}
    _collect_refs(cfg, refs, imports)
    out: List[str] = [f"from {module} import {top}" + (f" as {name}" if name != top else "")
                      for name, (module, top) in sorted(imports.items(), key=lambda i: (i[1], i[0]))]
    if out:
        out.append("")
    for key, value in cfg.items():
        if not _is_name(key):
            raise ValueError(f"top-level key {key!r} is not a Python identifier; dump to .yaml or .json")
        body = _render(value, (key,), 0, comment, refs)
        body[0] = (f"{key} = {body[0][0]}", body[0][1])
        out.extend(code + (f"  # {note}" if note else "") for code, note in body)
    return "\n".join(out) + "\n"
