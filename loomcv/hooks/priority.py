"""Hook priorities: a smaller number runs earlier; names follow MMCV's Priority table."""

from enum import Enum
from typing import Union

from loomcv.errors import did_you_mean


class Priority(Enum):
    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: Union[int, str, Priority]) -> int:
    """``'NORMAL'``, ``Priority.NORMAL`` or an int in [0, 100] -> the int."""
    if isinstance(priority, Priority):
        return priority.value
    if isinstance(priority, bool):
        raise TypeError(f"priority must be an int, a str or a Priority, got {priority!r}")
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(f"priority must be between 0 (HIGHEST) and 100 (LOWEST), got {priority}")
        return priority
    if isinstance(priority, str):
        name = priority.upper()
        if name not in Priority.__members__:
            raise ValueError(f"unknown priority {priority!r}; valid names: "
                             f"{', '.join(Priority.__members__)}.{did_you_mean(name, Priority.__members__)}")
        return Priority[name].value
    raise TypeError(f"priority must be an int, a str or a Priority, got {type(priority).__name__}")


def priority_name(value: int) -> str:
    """``50`` -> ``'NORMAL'``; numbers without a name print as themselves."""
    for p in Priority:
        if p.value == value:
            return p.name
    return str(value)
