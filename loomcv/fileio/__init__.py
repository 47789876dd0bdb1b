"""File IO: storage backends picked by path prefix or ``backend_args``, and load/dump.

See docs/data.md.
"""

from .backends import (BACKENDS, BaseStorageBackend, HTTPBackend, LmdbBackend, LocalBackend,
                       MemcachedBackend, get_file_backend, register_backend)
from .io import (dict_from_file, dump, exists, get, get_local_path, get_text, isdir, isfile, join_path,
                 list_dir_or_file, list_from_file, load, put, put_text)

__all__ = [
    "BACKENDS", "BaseStorageBackend", "LocalBackend", "HTTPBackend", "LmdbBackend", "MemcachedBackend",
    "get_file_backend", "register_backend", "get", "get_text", "put", "put_text", "exists", "isfile",
    "isdir", "join_path", "list_dir_or_file", "get_local_path", "load", "dump", "list_from_file",
    "dict_from_file",
]
