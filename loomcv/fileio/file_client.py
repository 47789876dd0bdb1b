"""FileClient: MMEngine's (and MMCV 1.x's) object-style access to a storage backend.

MMEngine deprecated it in favour of the path-level functions (``loomcv.fileio.get``,
``put``...) but a lot of published code still writes ``FileClient(backend='disk')``
or ``FileClient.infer_client(file_client_args, uri)``; it is a thin front on
:func:`get_file_backend`, so both styles share the same backends.
"""

import warnings
from typing import Any, Optional

from .backends import BACKENDS, PREFIXES, BaseStorageBackend, PathLike, _prefix, get_file_backend, register_backend


class FileClient:
    """A backend chosen by name (``backend='disk'``, ``'http'``, ``'lmdb'``...) or by path prefix
    (``prefix='http'``); every call goes to that backend. Instances with the same arguments are shared."""

    _instances: dict = {}

    def __new__(cls, backend: Optional[str] = None, prefix: Optional[str] = None, **kwargs):
        warnings.warn("FileClient is MMEngine's deprecated interface; loomcv.fileio.get/put/... (with "
                      "backend_args) are the functions to use", DeprecationWarning, stacklevel=2)
        if backend is None and prefix is None:
            backend = "disk"
        if backend is not None and backend not in BACKENDS:
            raise ValueError(f"FileClient: backend {backend!r} is not one of {', '.join(sorted(BACKENDS))}")
        if prefix is not None and prefix not in PREFIXES:
            raise ValueError(f"FileClient: prefix {prefix!r} is not one of {', '.join(sorted(PREFIXES))}")
        key = (backend, prefix, repr(sorted(kwargs.items())))
        if key not in cls._instances:
            obj = super().__new__(cls)
            name = backend if backend is not None else PREFIXES[prefix]
            obj.client = get_file_backend(backend_args=dict(backend=name, **kwargs))
            cls._instances[key] = obj
        return cls._instances[key]

    @property
    def name(self) -> str:
        return self.client.name

    @property
    def allow_symlink(self) -> bool:
        return self.client.name == "local"

    @staticmethod
    def parse_uri_prefix(uri: PathLike) -> Optional[str]:
        """``'http'`` for ``'http://host/x'``; None for a local path."""
        return _prefix(uri)

    @classmethod
    def infer_client(cls, file_client_args: Optional[dict] = None, uri: Optional[PathLike] = None) -> "FileClient":
        """A client from ``file_client_args`` (``dict(backend=...)``) or from the prefix of ``uri``."""
        if file_client_args is None and uri is None:
            raise ValueError("FileClient.infer_client needs file_client_args or uri")
        if file_client_args is None:
            prefix = cls.parse_uri_prefix(uri)  # type: ignore[arg-type]
            return cls(prefix=prefix)
        return cls(**file_client_args)

    @classmethod
    def register_backend(cls, name: str, backend: Optional[type] = None, force: bool = False, prefixes=None):
        """Register a BaseStorageBackend subclass (also usable as a class decorator)."""
        def _register(backend_cls):
            register_backend(name, backend_cls, prefixes or (), force=force)
            return backend_cls
        if backend is not None:
            return _register(backend)
        return _register

    def __getattr__(self, name: str) -> Any:
        # get, get_text, put, put_text, exists, isfile, isdir, join_path, list_dir_or_file,
        # get_local_path, remove...: whatever the backend offers
        if name == "client":
            raise AttributeError(name)
        return getattr(self.client, name)

    def __repr__(self) -> str:
        return f"FileClient({self.client!r})"


__all__ = ["FileClient", "BaseStorageBackend"]
