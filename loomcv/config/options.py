"""``--cfg-options key=value``: safe parsing of command-line config overrides.

Values are read as Python literals through the ``ast`` module (never
``eval``): numbers, booleans, None, quoted strings, and lists and tuples of
them, nested. Bare words become strings, so ``workflow="[(train,1),(val,1)]"``
and ``a=1,2,3`` work as in MMCV.
"""

import argparse
import ast
from typing import Any, Dict

from loomcv.errors import ConfigError

_WORDS = {"true": True, "false": False, "none": None, "null": None}
_PAIRS = {"[": "]", "(": ")", "{": "}"}


def _check_brackets(text: str) -> None:
    stack, quote = [], None
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in _PAIRS:
            stack.append(ch)
        elif ch in _PAIRS.values():
            if not stack or _PAIRS[stack.pop()] != ch:
                raise ConfigError(f"unbalanced {ch!r} in {text!r}")
    if quote:
        raise ConfigError(f"unclosed quote {quote} in {text!r}")
    if stack:
        raise ConfigError(f"unclosed {stack[-1]!r} in {text!r}")


def _convert(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _WORDS.get(node.id.lower(), node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, ast.List):
        return [_convert(e, text) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_convert(e, text) for e in node.elts)
    if isinstance(node, ast.Dict):
        return {_convert(k, text): _convert(v, text) for k, v in zip(node.keys, node.values)}
    # Anything else (a path like a/b.txt, a-name-with-dashes) is its own text.
    return ast.get_source_segment(text, node)


def parse_option_value(text: str) -> Any:
    """Parse one ``--cfg-options`` value; raise ConfigError if it is malformed."""
    stripped = text.strip()
    if stripped == "":
        return ""
    _check_brackets(stripped)
    try:
        tree = ast.parse(stripped, mode="eval").body
    except SyntaxError:
        if stripped[0] in _PAIRS:
            raise ConfigError(f"cannot parse {text!r} as a list, tuple or dict") from None
        return text  # a plain string such as a path with spaces
    value = _convert(tree, stripped)
    # ``1,2,3`` (no brackets) is a list, as in MMCV; ``(1,2)`` stays a tuple.
    if isinstance(tree, ast.Tuple) and not stripped.startswith("("):
        value = list(value)
    return value


def parse_options(items) -> Dict[str, Any]:
    """``['a.b=1', 'c=[1,2]']`` -> ``{'a.b': 1, 'c': [1, 2]}``."""
    options: Dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--cfg-options expects KEY=VALUE items, got {item!r}")
        if any(part == "" for part in key.split(".")):
            raise ConfigError(f"--cfg-options key {key!r} has an empty part")
        try:
            options[key] = parse_option_value(value)
        except ConfigError as err:
            raise ConfigError(f"--cfg-options {key}: {err}") from None
    return options


class DictAction(argparse.Action):
    """argparse action collecting ``KEY=VALUE`` items into a dict.

    Use with ``nargs='+'``; repeated options accumulate. A malformed item is
    reported by argparse as a usage error naming the item.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        if isinstance(values, str):
            values = [values]
        try:
            options.update(parse_options(values))
        except ConfigError as err:
            parser.error(str(err))
        setattr(namespace, self.dest, options)
