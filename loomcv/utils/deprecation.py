"""Marking functions and arguments deprecated, and asking what a class overrides."""

import functools
import warnings
from typing import Callable, Dict, Optional


def deprecated_function(since: str, removed_in: str, instructions: str) -> Callable:
    """Decorator: calling the function warns (DeprecationWarning) that it goes away in ``removed_in``."""
    def decorator(function: Callable) -> Callable:
        message = (f"{function.__module__}.{function.__qualname__} is deprecated since {since} and will be "
                   f"removed in {removed_in}: {instructions}")

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            warnings.warn(message, DeprecationWarning, stacklevel=2)
            return function(*args, **kwargs)

        note = f"\n\n.. deprecated:: {since}\n    {instructions} (removed in {removed_in})\n"
        wrapper.__doc__ = (function.__doc__ or "") + note
        return wrapper
    return decorator


def deprecated_api_warning(name_dict: Dict[str, str], cls_name: Optional[str] = None) -> Callable:
    """Decorator: keyword arguments renamed ``old -> new`` still work, with a DeprecationWarning."""
    def decorator(function: Callable) -> Callable:
        owner = cls_name or function.__name__

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            for old, new in name_dict.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{owner}: got both {old!r} (deprecated) and {new!r}; pass only {new!r}")
                    warnings.warn(f"{owner}: argument {old!r} is deprecated, use {new!r} instead",
                                  DeprecationWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)
        return wrapper
    return decorator


def is_method_overridden(method: str, base_class: type, derived_class) -> bool:
    """Whether ``derived_class`` (a class or an instance) overrides ``base_class.method``."""
    if not isinstance(base_class, type):
        raise TypeError(f"is_method_overridden: base_class must be a class, got {type(base_class).__name__}")
    if not isinstance(derived_class, type):
        derived_class = derived_class.__class__
    return getattr(derived_class, method) is not getattr(base_class, method)


def has_method(obj: object, method: str) -> bool:
    """Whether ``obj`` has a callable attribute ``method``."""
    return hasattr(obj, method) and callable(getattr(obj, method))

