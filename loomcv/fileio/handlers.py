"""File-format handlers (MMEngine's ``BaseFileHandler`` family and ``register_handler``).

``load``/``dump`` pick a format by extension from :data:`loomcv.fileio.io.FORMATS`; a
handler class is the object-style way to add one (``@register_handler('toml')``), and
the built-in json/yaml/pickle handlers read and write exactly as ``load``/``dump`` do.
"""

import io as _io
import json
import pickle
from typing import Any, Sequence, Union

import yaml

from .io import FORMATS


class BaseFileHandler:
    """Subclasses write ``load_from_fileobj(file)`` and ``dump_to_fileobj(obj, file)``; ``str_like``
    says whether the files are text (True) or bytes."""

    str_like = True

    def load_from_fileobj(self, file, **kwargs) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement load_from_fileobj")

    def dump_to_fileobj(self, obj: Any, file, **kwargs) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement dump_to_fileobj")

    def dump_to_str(self, obj: Any, **kwargs) -> Union[str, bytes]:
        buf = _io.StringIO() if self.str_like else _io.BytesIO()
        self.dump_to_fileobj(obj, buf, **kwargs)
        return buf.getvalue()

    def load_from_path(self, filepath: str, mode: str = "r", **kwargs) -> Any:
        with open(filepath, mode if self.str_like else "rb") as f:
            return self.load_from_fileobj(f, **kwargs)

    def dump_to_path(self, obj: Any, filepath: str, mode: str = "w", **kwargs) -> None:
        with open(filepath, mode if self.str_like else "wb") as f:
            self.dump_to_fileobj(obj, f, **kwargs)


class JsonHandler(BaseFileHandler):
    def load_from_fileobj(self, file, **kwargs) -> Any:
        return json.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file, **kwargs) -> None:
        kwargs.setdefault("indent", 2)
        kwargs.setdefault("ensure_ascii", False)
        json.dump(obj, file, **kwargs)


class YamlHandler(BaseFileHandler):
    def load_from_fileobj(self, file, **kwargs) -> Any:
        return yaml.safe_load(file)

    def dump_to_fileobj(self, obj: Any, file, **kwargs) -> None:
        kwargs.setdefault("sort_keys", False)
        kwargs.setdefault("allow_unicode", True)
        yaml.safe_dump(obj, file, **kwargs)


class PickleHandler(BaseFileHandler):
    str_like = False

    def load_from_fileobj(self, file, **kwargs) -> Any:
        return pickle.load(file, **kwargs)

    def dump_to_fileobj(self, obj: Any, file, **kwargs) -> None:
        kwargs.setdefault("protocol", 4)
        pickle.dump(obj, file, **kwargs)


def register_handler(file_formats: Union[str, Sequence[str]], handler: Any = None):
    """Make ``load``/``dump`` use ``handler`` (a BaseFileHandler instance or class) for the
    extensions ``file_formats``; usable as a class decorator (``@register_handler('toml')``)."""
    formats = [file_formats] if isinstance(file_formats, str) else list(file_formats)

    def _register(value):
        instance = value() if isinstance(value, type) else value
        if not isinstance(instance, BaseFileHandler):
            raise TypeError(f"register_handler: the handler must be a BaseFileHandler, got {value!r}")
        for fmt in formats:
            FORMATS[fmt.lower()] = (instance.load_from_fileobj, instance.dump_to_fileobj, not instance.str_like)
        return value

    return _register(handler) if handler is not None else _register
