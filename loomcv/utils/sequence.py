"""Type checks on values and sequences, and small sequence helpers (MMEngine's names)."""

import collections.abc
import itertools
from typing import Any, Callable, List, Optional, Sequence, Type


def is_str(x: Any) -> bool:
    """Whether ``x`` is a str."""
    return isinstance(x, str)


def is_seq_of(seq: Any, expected_type: Any, seq_type: Optional[Type] = None) -> bool:
    """Whether ``seq`` is a sequence (of ``seq_type`` if given) whose items are all ``expected_type``."""
    exp_seq_type = collections.abc.Sequence if seq_type is None else seq_type
    if not isinstance(exp_seq_type, type):
        raise TypeError(f"is_seq_of: seq_type must be a type, got {seq_type!r}")
    if not isinstance(seq, exp_seq_type):
        return False
    return all(isinstance(item, expected_type) for item in seq)


def is_list_of(seq: Any, expected_type: Any) -> bool:
    """Whether ``seq`` is a list whose items are all ``expected_type``."""
    return is_seq_of(seq, expected_type, seq_type=list)


def is_tuple_of(seq: Any, expected_type: Any) -> bool:
    """Whether ``seq`` is a tuple whose items are all ``expected_type``."""
    return is_seq_of(seq, expected_type, seq_type=tuple)


def slice_list(in_list: list, lens: Sequence[int]) -> List[list]:
    """``in_list`` cut into consecutive pieces of the given lengths (which must add up to its length)."""
    if isinstance(lens, int):
        if len(in_list) % lens != 0:
            raise ValueError(f"slice_list: a list of {len(in_list)} items does not split into pieces of {lens}")
        lens = [lens] * (len(in_list) // lens)
    if not isinstance(lens, list):
        raise TypeError(f"slice_list: lens must be an int or a list of ints, got {type(lens).__name__}")
    if sum(lens) != len(in_list):
        raise ValueError(f"slice_list: the lengths add up to {sum(lens)} but the list has {len(in_list)} items")
    out, start = [], 0
    for n in lens:
        out.append(in_list[start:start + n])
        start += n
    return out


def concat_list(in_list: Sequence[Sequence]) -> list:
    """The items of a list of lists, in one list."""
    return list(itertools.chain(*in_list))


def to_ntuple(n: int) -> Callable[[Any], Any]:
    """A function that repeats a single value ``n`` times; an iterable is returned as it is."""
    def parse(x: Any) -> Any:
        if isinstance(x, collections.abc.Iterable):
            return x
        return tuple(itertools.repeat(x, n))
    return parse


to_1tuple = to_ntuple(1)
to_2tuple = to_ntuple(2)
to_3tuple = to_ntuple(3)
to_4tuple = to_ntuple(4)


def apply_to(data: Any, expr: Callable[[Any], bool], apply_func: Callable[[Any], Any]) -> Any:
    """``data`` with ``apply_func`` applied to every item for which ``expr`` holds.

    Walks dicts, lists, tuples and namedtuples (keeping their types).
    """
    if isinstance(data, dict):
        return type(data)({k: apply_to(v, expr, apply_func) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(apply_to(v, expr, apply_func) for v in data))
    if isinstance(data, (tuple, list)):
        return type(data)(apply_to(v, expr, apply_func) for v in data)
    if expr(data):
        return apply_func(data)
    return data
