"""Named global instances (the logger, the message hub, the visualizer).

A class that mixes in ``ManagerMixin`` keeps every instance under its name:
``Cls.get_instance(name, **kwargs)`` returns the instance of that name,
creating it on first use, and makes it the current one, which
``Cls.get_current_instance()`` returns (else the one created last).
Constructing an instance directly registers it too, so objects built from a
config (``VISUALIZERS.build(...)``) are found the same way.
Subclasses share their base's table, so ``Visualizer.get_current_instance()``
also finds a subclass's instance.
"""

import threading
from collections import OrderedDict
from typing import Any

from loomcv.errors import did_you_mean

_LOCK = threading.RLock()


class ManagerMixin:
    _instances: "OrderedDict[str, Any]"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if ManagerMixin in cls.__bases__:
            cls._instances = OrderedDict()

    def __init__(self, name: str = ""):
        if not isinstance(name, str) or not name:
            raise ValueError(f"{type(self).__name__} needs a non-empty str name, got {name!r}")
        self._instance_name = name
        with _LOCK:
            table = type(self)._instances
            table.pop(name, None)   # re-registering moves it to the end: it is now the current one
            table[name] = self

    @property
    def instance_name(self) -> str:
        return self._instance_name

    @classmethod
    def get_instance(cls, name: str, **kwargs) -> Any:
        """The instance called ``name``, now the current one; created with ``kwargs`` if new.

        When it exists, ``kwargs`` are ignored.
        """
        with _LOCK:
            found = cls._instances.get(name)
            if isinstance(found, cls):
                cls._instances.move_to_end(name)
                return found
            return cls(name=name, **kwargs)

    @classmethod
    def get_current_instance(cls) -> Any:
        """The instance of ``cls`` (or a subclass) most recently created or fetched by name."""
        with _LOCK:
            for obj in reversed(cls._instances.values()):
                if isinstance(obj, cls):
                    return obj
        raise RuntimeError(f"no {cls.__name__} has been created yet; create one first with "
                           f"{cls.__name__}.get_instance(name, ...)")

    @classmethod
    def check_instance_created(cls, name: str) -> bool:
        return isinstance(cls._instances.get(name), cls)

    @classmethod
    def instance_or_error(cls, name: str) -> Any:
        """The instance called ``name``, or a KeyError naming the existing ones."""
        if cls.check_instance_created(name):
            return cls._instances[name]
        names = [n for n, o in cls._instances.items() if isinstance(o, cls)]
        raise KeyError(f"no {cls.__name__} named {name!r}; existing: {names or '(none)'}"
                       f"{did_you_mean(name, names)}")
