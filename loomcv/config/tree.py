"""One walk over nested mappings, lists and tuples: configs, checkpoints and state dicts share it."""

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Callable, Collection, Optional


def map_tree(value: Any, leaf: Optional[Callable[[Any], Any]] = None, *, skip_keys: Collection = (),
             key: Optional[Callable[[Any], Any]] = None) -> Any:
    """A copy of ``value`` with ``leaf`` applied to everything that is not a container.

    Mappings become dicts (an OrderedDict stays one), lists stay lists and
    tuples stay tuples (a namedtuple is a leaf). ``skip_keys`` leaves those
    mapping keys out; ``key`` maps the keys that remain.
    """
    if isinstance(value, Mapping):
        items = ((key(k) if key else k, map_tree(v, leaf, skip_keys=skip_keys, key=key))
                 for k, v in value.items() if k not in skip_keys)
        return OrderedDict(items) if isinstance(value, OrderedDict) else dict(items)
    if isinstance(value, list):
        return [map_tree(v, leaf, skip_keys=skip_keys, key=key) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(map_tree(v, leaf, skip_keys=skip_keys, key=key) for v in value)
    return leaf(value) if leaf is not None else value
