"""BaseTransform and ``cache_randomness``: the dict -> dict step every pipeline is made of.

A transform reads keys of the results dict, updates or adds keys, and returns
the dict (or None to drop the sample). Its random draws live in methods marked
with :func:`cache_randomness`, so that wrappers can replay the same draw on
several inputs (e.g. an image and its mask).
"""

import functools
import inspect
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Optional


_SIGNATURES: Dict[type, tuple] = {}


def cache_randomness(method):
    """Mark a method whose return value is the transform's random draw.

    Normally it runs on every call. Inside :func:`cache_random_params` the first
    result is kept and returned again, so one draw applies to several inputs.
    """
    if not inspect.isfunction(method):
        raise TypeError(f"cache_randomness decorates methods of a transform class, got {method!r}")
    params = list(inspect.signature(method).parameters)
    if not params or params[0] != "self":
        raise TypeError(f"cache_randomness decorates instance methods (first argument `self`); "
                        f"{method.__qualname__}{inspect.signature(method)} is not one")
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        cache = self.__dict__.get("_random_cache")
        if cache is None:
            return method(self, *args, **kwargs)
        if name not in cache:
            cache[name] = method(self, *args, **kwargs)
        return cache[name]

    wrapper._cache_randomness = True
    return wrapper


def avoid_cache_randomness(cls):
    """Class decorator: this transform's randomness cannot be replayed, so refuse to run it
    inside :func:`cache_random_params` (e.g. under ``TransformBroadcaster(share_random_params=True)``).

    The mark is not inherited: a subclass that puts its draws in ``cache_randomness``
    methods can be shared again.
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseTransform)):
        raise TypeError(f"avoid_cache_randomness decorates BaseTransform subclasses, got {cls!r}")
    marked = [name for name, value in vars(cls).items() if getattr(value, "_cache_randomness", False)]
    if marked:
        raise RuntimeError(f"{cls.__name__} is marked avoid_cache_randomness but has cache_randomness "
                           f"methods: {marked}")
    cls._avoid_cache_randomness = True
    return cls


def _avoids_cache(transform: Any) -> bool:
    return type(transform).__dict__.get("_avoid_cache_randomness", False)


def _children(transform: Any) -> Iterable[Any]:
    for attr in ("transforms", "transform_list", "subroutines"):
        children = getattr(transform, attr, None)
        if isinstance(children, (list, tuple)):
            yield from children  # nested lists are flattened by cache_random_params
        elif isinstance(children, BaseTransform):
            yield children
    inner = getattr(transform, "resize", None)
    if isinstance(inner, BaseTransform):
        yield inner


@contextmanager
def cache_random_params(transforms: Any):
    """Within the block, each ``cache_randomness`` method of ``transforms`` (and their
    children) draws once and then repeats that draw."""
    stack = [transforms] if not isinstance(transforms, (list, tuple)) else list(transforms)
    touched = []
    while stack:
        t = stack.pop()
        if isinstance(t, (list, tuple)):
            stack.extend(t)
            continue
        if _avoids_cache(t):
            for done in touched:
                done.__dict__.pop("_random_cache", None)
            raise RuntimeError(f"{type(t).__name__} is marked avoid_cache_randomness: its random draws cannot be "
                               f"shared (e.g. by TransformBroadcaster(share_random_params=True))")
        if hasattr(t, "__dict__"):
            t.__dict__["_random_cache"] = {}
            touched.append(t)
            stack.extend(_children(t))
    try:
        yield
    finally:
        for t in touched:
            t.__dict__.pop("_random_cache", None)


class BaseTransform:
    """Subclasses implement ``transform(results) -> results or None``.

    ``repr`` shows the constructor arguments, read back from attributes of the
    same names, so every transform prints the way it was configured.

    Each transform's docstring ends with the keys of ``results`` it reads
    ("Required Keys:"), overwrites ("Modified Keys:") and creates ("Added
    Keys:"), '-' for none, so a pipeline can be checked by reading it.
    """

    def __call__(self, results: Dict) -> Optional[Dict]:
        return self.transform(results)

    def transform(self, results: Dict) -> Optional[Dict]:
        raise NotImplementedError(f"{type(self).__name__} must implement transform(results)")

    def __repr__(self) -> str:
        cls = type(self)
        names = _SIGNATURES.get(cls)
        if names is None:
            params = inspect.signature(cls.__init__).parameters
            names = tuple(n for n, p in params.items() if n != "self" and p.kind in (
                p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
            _SIGNATURES[cls] = names
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in names if hasattr(self, n))
        return f"{cls.__name__}({args})"
