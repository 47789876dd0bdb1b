"""Where each value of a config file was set: key path -> ``file:line``.

The text loader and the pure-Python loader both map the lines a file spells
out, then give every leaf the line of its nearest spelled-out ancestor.
"""

import ast
from typing import Any, Dict, Optional

import yaml

from .config_dict import Path


def py_line_map(tree: ast.Module, path: str) -> Dict[Path, str]:
    """Key path -> ``file:line`` for every dict/list position the source spells out."""
    lines: Dict[Path, str] = {}

    def visit(node: ast.AST, key: Path) -> None:
        lines[key] = f"{path}:{node.lineno}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            for kw in node.keywords:
                if kw.arg is not None:
                    visit(kw.value, key + (kw.arg,))
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and v is not None:
                    visit(v, key + (k.value,))
        elif isinstance(node, (ast.List, ast.Tuple)):
            for i, element in enumerate(node.elts):
                visit(element, key + (i,))

    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else \
            [stmt.target] if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            if isinstance(target, ast.Name) and getattr(stmt, "value", None) is not None:
                visit(stmt.value, (target.id,))
            elif isinstance(target, (ast.Attribute, ast.Subscript)):
                key = key_path_of(target)
                if key is not None:
                    visit(stmt.value, key)
    return lines


def key_path_of(node: ast.AST) -> Optional[Path]:
    """The key path an expression like ``model.backbone['depth']`` names, or None."""
    chain = []
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            chain.append(node.attr)
        elif isinstance(node.slice, ast.Constant):
            chain.append(node.slice.value)
        node = node.value
    return (node.id, *reversed(chain)) if isinstance(node, ast.Name) else None


def yaml_line_map(text: str, path: str) -> Dict[Path, str]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: Dict[Path, str] = {}

    def visit(node, key: Path) -> None:
        if key:
            lines[key] = f"{path}:{node.start_mark.line + 1}"
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                visit(v, key + (k.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                visit(v, key + (i,))

    if root is not None:
        visit(root, ())
    return lines


def leaf_paths(value: Any, path: Path = ()):
    """Every path to a non-container value (empty containers count as leaves)."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaf_paths(v, path + (k,))
    elif isinstance(value, (list, tuple)) and value and not hasattr(value, "_fields"):
        for i, v in enumerate(value):
            yield from leaf_paths(v, path + (i,))
    else:
        yield path


def provenance_for(values: Dict[str, Any], lines: Dict[Path, str], default: str) -> Dict[Path, str]:
    """Give every leaf the line of its nearest spelled-out ancestor."""
    prov: Dict[Path, str] = {}
    for leaf in leaf_paths(values):
        for cut in range(len(leaf), 0, -1):
            if leaf[:cut] in lines:
                prov[leaf] = lines[leaf[:cut]]
                break
        else:
            prov[leaf] = default
    return prov


def error_line(err: BaseException, path: str):
    """The line of ``path`` where ``err`` was raised (the innermost such frame), or ``'?'``."""
    line, tb = "?", err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
