"""Argument checks that transforms, image ops, optimizers and models share.

Each check raises an error whose message starts with the owner (the class or
function the argument was given to, or the object itself) and names the
argument, the value it got and what would be valid. ``owner`` may be a string
or any object (its class name is used), so ``check_prob(self, 'prob', p)``
works inside ``__init__``.
"""

import math
from numbers import Integral, Real
from typing import Any, Iterable, Tuple

from loomcv.errors import ConfigError, InvalidChoiceError, did_you_mean


def owner_name(owner: Any) -> str:
    """``'Resize'`` for ``'Resize'`` or for a Resize instance; '' for None."""
    if owner is None or isinstance(owner, str):
        return owner or ""
    return type(owner).__name__


def _prefix(owner: Any) -> str:
    name = owner_name(owner)
    return f"{name}: " if name else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def check(condition: bool, owner: Any, message: str, error: type = ConfigError) -> None:
    """Raise ``error('<owner>: <message>')`` unless ``condition``."""
    if not condition:
        raise error(f"{_prefix(owner)}{message}")


def check_choice(owner: Any, name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``, else InvalidChoiceError listing them (in the given order)."""
    choices = tuple(choices)
    try:
        valid = value in choices
    except TypeError:  # an unhashable value against a dict's keys
        valid = False
    if not valid:
        hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) else ""
        listed = ", ".join(map(repr, choices))
        raise InvalidChoiceError(f"{_prefix(owner)}{name} must be one of [{listed}], got {name}={value!r}.{hint}")
    return value


def check_prob(owner: Any, name: str, value: Any) -> float:
    """A probability: a number in [0, 1]."""
    check(_is_number(value) and 0 <= value <= 1, owner, f"{name} must be a number in [0, 1], got {value!r}")
    return value


def check_range(owner: Any, name: str, value: Any, low: float = -math.inf) -> Tuple[Any, Any]:
    """A (min, max) pair of numbers with ``low <= min <= max``, as a tuple."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_number(v) for v in value)
    check(ok and low <= value[0] <= value[1], owner,
          f"{name} must be a (min, max) pair with {low} <= min <= max, got {value!r}")
    return tuple(value)


def check_positive(owner: Any, name: str, value: Any, integer: bool = False) -> Any:
    """A number > 0 (an int > 0 with ``integer=True``; bools are refused either way)."""
    kind = "int" if integer else "number"
    ok = (isinstance(value, Integral) if integer else _is_number(value)) and not isinstance(value, bool)
    check(ok and value > 0, owner, f"{name} must be a positive {kind}, got {value!r}")
    return value


__all__ = ["owner_name", "check", "check_choice", "check_prob", "check_range", "check_positive"]
