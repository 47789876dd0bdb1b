"""File IO: storage backends picked by path prefix or ``backend_args``, and load/dump.

See docs/data.md.
"""

from .backends import (BACKENDS, BaseStorageBackend, HardDiskBackend, HTTPBackend, LmdbBackend, LocalBackend,
                       MemcachedBackend, get_file_backend, register_backend)
from .file_client import FileClient
from .handlers import BaseFileHandler, JsonHandler, PickleHandler, YamlHandler, register_handler
from .io import (copy_if_symlink_fails, copyfile, copyfile_from_local, copyfile_to_local, copytree,
                 copytree_from_local, copytree_to_local, dict_from_file, dump, exists, get, get_local_path,
                 get_text, isdir, isfile, join_path, list_dir_or_file, list_from_file, load, put, put_text,
                 remove, rmtree)

__all__ = [
    "BACKENDS", "BaseStorageBackend", "LocalBackend", "HTTPBackend", "LmdbBackend", "MemcachedBackend",
    "get_file_backend", "register_backend", "get", "get_text", "put", "put_text", "exists", "isfile",
    "isdir", "join_path", "list_dir_or_file", "get_local_path", "load", "dump", "list_from_file",
    "dict_from_file", "FileClient", "HardDiskBackend", "copyfile", "copytree", "copyfile_from_local",
    "copyfile_to_local", "copytree_from_local", "copytree_to_local", "remove", "rmtree", "copy_if_symlink_fails",
    "BaseFileHandler", "JsonHandler", "YamlHandler", "PickleHandler", "register_handler",
]
