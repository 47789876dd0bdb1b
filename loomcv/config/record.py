"""A config as a run records it: its text, a plain copy for checkpoints, and what changed since.

A checkpoint stores the config twice: ``meta['cfg']`` (the text) and
``meta['cfg_dict']`` (plain data that ``torch.load(weights_only=True)`` can
read). Resuming compares the stored copy with the config of the new run so
that a silently changed learning rate or dataset shows up in the log.
"""

import logging
from collections.abc import Mapping
from typing import Any, List, Optional, Tuple

from .tree import map_tree


def config_text(cfg) -> str:
    """The config as Python text, or its repr when it holds objects that have no text form."""
    try:
        return cfg.pretty_text
    except Exception:  # objects in the config
        return repr(cfg)


def _plain_leaf(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool)) else repr(value)


def plain_data(value: Any) -> Any:
    """``value`` with only dicts, lists, tuples, strings, numbers, bools and None (others as repr)."""
    return map_tree(value, _plain_leaf, key=lambda k: k if isinstance(k, (str, int, float, bool)) else repr(k))


def plain_config(cfg) -> dict:
    """The config (a Config or a mapping) as :func:`plain_data`, ready for a checkpoint's meta."""
    return plain_data(cfg.to_dict() if hasattr(cfg, "to_dict") else cfg)


def config_changes(stored: Optional[dict], current) -> List[str]:
    """Lines saying how ``current`` (a Config or dict) differs from the ``stored`` plain config dict.

    One line per changed leaf: ``key.path: old -> new  (where new was set)``. ``resume``, which
    says where to continue from rather than what to train, is left out.
    """
    from .config import Config
    rows = Config(dict(stored or {})).diff(current if isinstance(current, Config) else Config(dict(current)))
    return [f"{path}: {old!r} -> {new!r}" + (f"  ({source})" if source else "")
            for path, old, new, _, source in rows if path != "resume"]


def describe_config_changes(stored: Any, current, source: str) -> Tuple[int, str]:
    """``(log level, message)`` comparing ``current`` with the config ``source`` recorded
    (``stored``, a checkpoint's ``meta['cfg_dict']``): a warning listing each change, else info."""
    if not isinstance(stored, Mapping):
        return logging.INFO, f"{source} holds no config to compare this run's config with"
    lines = config_changes(dict(stored), current)
    if not lines:
        return logging.INFO, f"the config matches the one {source} was trained with"
    return logging.WARNING, (f"the config differs from the one {source} was trained with ({len(lines)} change(s), "
                             "old -> new):\n" + "\n".join("    " + line for line in lines))
