"""The exceptions loomcv raises for bad input, and the "did you mean" helper.

Every error here subclasses the builtin that older code would have caught
(KeyError, TypeError, ValueError...), so ``except KeyError`` keeps working,
while the message itself names where the bad value came from.
"""

import difflib
from typing import Iterable, List


def closest(word: str, candidates: Iterable[str], n: int = 3) -> List[str]:
    """Up to ``n`` candidates that look like ``word``, best first.

    Case is ignored for the comparison but kept in the answer.
    """
    candidates = [str(c) for c in candidates]
    lowered = {}
    for c in candidates:
        lowered.setdefault(c.lower(), c)
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[h] for h in hits]


def did_you_mean(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """A ' Did you mean: a, b?' suffix, or '' when nothing is close."""
    hits = closest(word, candidates, n)
    return f" Did you mean: {', '.join(repr(h) for h in hits)}?" if hits else ""


class _MessageMixin:
    """Print the message as given: KeyError would otherwise quote it."""

    def __str__(self) -> str:  # pragma: no cover - trivial
        return str(self.args[0]) if self.args else ""


class RegistryError(_MessageMixin, KeyError):
    """A name that no registry in the searched scopes knows, or a clash."""


class BuildArgumentError(_MessageMixin, TypeError):
    """A config gave a class an argument it does not accept (or missed one)."""


class ConfigError(_MessageMixin, ValueError):
    """A config file or a --cfg-options item that cannot be used as written."""


class ConfigSyntaxError(ConfigError):
    """A config file that does not parse; names the file and line."""


class ConfigKeyError(_MessageMixin, KeyError):
    """A config key that is missing or duplicated."""


class CheckpointError(_MessageMixin, ValueError, RuntimeError):
    """A checkpoint file that cannot be read or written, or weights that do not fit under strict=True.

    A ValueError (bad input) and a RuntimeError (what torch's strict
    ``load_state_dict`` raises), so handlers written for either keep working.
    """


class InvalidChoiceError(ConfigError, KeyError):
    """A value outside a fixed set (a mode, an interpolation, a depth, an arch name).

    A ValueError (a bad value) and a KeyError (an unknown key of a settings
    table, which is what code ported from MMCV/MMPretrain catches for an
    unknown depth or arch), so handlers written for either keep working.
    """
