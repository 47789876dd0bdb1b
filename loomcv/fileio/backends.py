"""Storage backends: where bytes come from (disk, HTTP, LMDB, memcached).

Every backend answers the same small interface, so code that loads images or
annotations never cares where they live; :func:`get_file_backend` picks one from
the path's prefix (``http://``...) or from ``backend_args``.
"""

import os
import os.path as osp
import shutil
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple, Type, Union

from loomcv.errors import ConfigError, did_you_mean

PathLike = Union[str, Path]


class BaseStorageBackend:
    """The interface: read and write bytes or text, test and list paths."""

    name = "base"

    def get(self, filepath: PathLike) -> bytes:
        raise NotImplementedError(f"{type(self).__name__} cannot read files")

    def get_text(self, filepath: PathLike, encoding: str = "utf-8") -> str:
        return self.get(filepath).decode(encoding)

    def put(self, obj: bytes, filepath: PathLike) -> None:
        raise NotImplementedError(f"{type(self).__name__} is read-only")

    def put_text(self, obj: str, filepath: PathLike, encoding: str = "utf-8") -> None:
        self.put(obj.encode(encoding), filepath)

    def exists(self, filepath: PathLike) -> bool:
        raise NotImplementedError(f"{type(self).__name__} cannot test paths")

    def isfile(self, filepath: PathLike) -> bool:
        return self.exists(filepath)

    def isdir(self, filepath: PathLike) -> bool:
        return False

    def join_path(self, filepath: PathLike, *parts: PathLike) -> str:
        base = str(filepath).rstrip("/")
        return "/".join([base, *(str(p).strip("/") for p in parts)])

    def list_dir_or_file(self, dir_path: PathLike, list_dir: bool = True, list_file: bool = True,
                         suffix: Optional[Union[str, Tuple[str, ...]]] = None,
                         recursive: bool = False) -> Iterator[str]:
        raise NotImplementedError(f"{type(self).__name__} cannot list directories")

    @contextmanager
    def get_local_path(self, filepath: PathLike) -> Iterator[str]:
        """A local file with the content of ``filepath``; temporary when remote."""
        suffix = osp.splitext(str(filepath).split("?")[0])[1]
        with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as f:
            f.write(self.get(filepath))
            name = f.name
        try:
            yield name
        finally:
            os.remove(name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LocalBackend(BaseStorageBackend):
    """Files on the local disk."""

    name = "local"

    def get(self, filepath: PathLike) -> bytes:
        try:
            with open(filepath, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"no such file: {str(filepath)!r}") from None

    def get_text(self, filepath: PathLike, encoding: str = "utf-8") -> str:
        try:
            with open(filepath, encoding=encoding) as f:
                return f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"no such file: {str(filepath)!r}") from None

    def put(self, obj: bytes, filepath: PathLike) -> None:
        os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
        with open(filepath, "wb") as f:
            f.write(obj)

    def put_text(self, obj: str, filepath: PathLike, encoding: str = "utf-8") -> None:
        os.makedirs(osp.dirname(osp.abspath(filepath)), exist_ok=True)
        with open(filepath, "w", encoding=encoding) as f:
            f.write(obj)

    def exists(self, filepath: PathLike) -> bool:
        return osp.exists(filepath)

    def isfile(self, filepath: PathLike) -> bool:
        return osp.isfile(filepath)

    def isdir(self, filepath: PathLike) -> bool:
        return osp.isdir(filepath)

    def join_path(self, filepath: PathLike, *parts: PathLike) -> str:
        return osp.join(filepath, *parts)

    def list_dir_or_file(self, dir_path: PathLike, list_dir: bool = True, list_file: bool = True,
                         suffix: Optional[Union[str, Tuple[str, ...]]] = None,
                         recursive: bool = False) -> Iterator[str]:
        """Paths relative to ``dir_path``, sorted per directory."""
        if list_dir and suffix is not None:
            raise ConfigError("list_dir_or_file: `suffix` filters files; set list_dir=False with it")
        if suffix is not None and not isinstance(suffix, (str, tuple)):
            raise TypeError(f"suffix must be a str or a tuple of str, got {type(suffix).__name__}")
        root = str(dir_path)

        def scan(path: str) -> Iterator[str]:
            for entry in sorted(os.scandir(path), key=lambda e: e.name):
                rel = osp.relpath(entry.path, root)
                if entry.is_dir():
                    if list_dir:
                        yield rel
                    if recursive:
                        yield from scan(entry.path)
                elif list_file and (suffix is None or rel.endswith(suffix)):
                    yield rel

        return scan(root)

    @contextmanager
    def get_local_path(self, filepath: PathLike) -> Iterator[str]:
        yield str(filepath)

    # ------------------------------------------------ MMEngine's copy / remove family
    def copyfile(self, src: PathLike, dst: PathLike) -> str:
        """Copy a file to ``dst`` (a file path, or a folder to copy into); returns the new path."""
        if osp.isdir(src):
            raise IsADirectoryError(f"copyfile: {str(src)!r} is a folder; use copytree")
        return shutil.copy(src, dst)

    def copytree(self, src: PathLike, dst: PathLike) -> str:
        """Copy the folder ``src`` to ``dst`` (which must not exist); returns ``dst``."""
        return shutil.copytree(src, dst)

    # on the local disk "from local" and "to local" are plain copies
    copyfile_from_local = copyfile_to_local = copyfile
    copytree_from_local = copytree_to_local = copytree

    def remove(self, filepath: PathLike) -> None:
        """Delete a file (not a folder: see rmtree)."""
        if not osp.exists(filepath):
            raise FileNotFoundError(f"remove: no such file: {str(filepath)!r}")
        if osp.isdir(filepath):
            raise IsADirectoryError(f"remove: {str(filepath)!r} is a folder; use rmtree")
        os.remove(filepath)

    def rmtree(self, dir_path: PathLike) -> None:
        """Delete a folder and everything in it."""
        shutil.rmtree(dir_path)

    def copy_if_symlink_fails(self, src: PathLike, dst: PathLike) -> bool:
        """Link ``dst`` to ``src``; where links are not allowed, copy instead. True if linked."""
        try:
            os.symlink(src, dst)
            return True
        except (OSError, NotImplementedError):
            if osp.isfile(src):
                self.copyfile(src, dst)
            else:
                self.copytree(src, dst)
            return False


#: MMEngine's older name for the local backend (``HardDiskBackend``)
HardDiskBackend = LocalBackend


class HTTPBackend(BaseStorageBackend):
    """Read-only access to ``http://`` and ``https://`` URLs (urllib)."""

    name = "http"

    def __init__(self, timeout: float = 30.0):
        self.timeout = timeout

    def _open(self, url: PathLike):
        try:
            return urllib.request.urlopen(str(url), timeout=self.timeout)
        except urllib.error.HTTPError as err:
            if err.code == 404:
                raise FileNotFoundError(f"no such file: {str(url)!r} (HTTP 404)") from None
            raise OSError(f"cannot read {str(url)!r}: HTTP {err.code} {err.reason}") from None
        except urllib.error.URLError as err:
            raise OSError(f"cannot read {str(url)!r}: {err.reason}") from None

    def get(self, filepath: PathLike) -> bytes:
        with self._open(filepath) as resp:
            return resp.read()

    def exists(self, filepath: PathLike) -> bool:
        try:
            with self._open(filepath):
                return True
        except FileNotFoundError:
            return False

    def __repr__(self) -> str:
        return f"HTTPBackend(timeout={self.timeout})"


class LmdbBackend(BaseStorageBackend):
    """Read-only values of an LMDB database, keyed by the path string."""

    name = "lmdb"

    def __init__(self, db_path: PathLike, readonly: bool = True, lock: bool = False,
                 readahead: bool = False, **kwargs: Any):
        try:
            import lmdb
        except ImportError:
            raise ImportError("the lmdb backend needs the `lmdb` package: pip install loomcv[lmdb]") from None
        if not osp.exists(db_path):
            raise FileNotFoundError(f"LmdbBackend: no lmdb database at {str(db_path)!r}")
        self.db_path = str(db_path)
        self._env = lmdb.open(self.db_path, readonly=readonly, lock=lock, readahead=readahead, **kwargs)

    def get(self, filepath: PathLike) -> bytes:
        with self._env.begin(write=False) as txn:
            value = txn.get(str(filepath).encode("ascii"))
        if value is None:
            raise FileNotFoundError(f"key {str(filepath)!r} not in lmdb database {self.db_path!r}")
        return bytes(value)

    def exists(self, filepath: PathLike) -> bool:
        with self._env.begin(write=False) as txn:
            return txn.get(str(filepath).encode("ascii")) is not None

    def __getstate__(self) -> Dict[str, Any]:  # lmdb environments do not pickle
        raise TypeError("LmdbBackend cannot be pickled; build it inside each worker")

    def __repr__(self) -> str:
        return f"LmdbBackend(db_path={self.db_path!r})"


class MemcachedBackend(BaseStorageBackend):
    """Read-only values from a memcached server (pymemcache), keyed by path.

    ``server_list_cfg`` is a file with one ``host:port`` per line (the MMCV 1.x
    layout); ``servers`` gives them directly.
    """

    name = "memcached"

    def __init__(self, server_list_cfg: Optional[str] = None, client_cfg: Optional[str] = None,
                 sys_path: Optional[str] = None, servers: Optional[list] = None, **client_kwargs: Any):
        try:
            from pymemcache.client.hash import HashClient
        except ImportError:
            raise ImportError("the memcached backend needs `pymemcache`: pip install loomcv[memcached]") from None
        if servers is None:
            if server_list_cfg is None:
                raise ConfigError("MemcachedBackend needs `server_list_cfg` (a file of host:port lines) "
                                  "or `servers`")
            with open(server_list_cfg, encoding="utf-8") as f:
                servers = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        parsed = []
        for server in servers:
            host, _, port = str(server).rpartition(":")
            parsed.append((host, int(port)))
        self.servers = parsed
        self._client = HashClient(parsed, **client_kwargs)

    def get(self, filepath: PathLike) -> bytes:
        value = self._client.get(str(filepath))
        if value is None:
            raise FileNotFoundError(f"key {str(filepath)!r} not on memcached servers {self.servers}")
        return value

    def exists(self, filepath: PathLike) -> bool:
        return self._client.get(str(filepath)) is not None


#: backend name -> class; register more with :func:`register_backend`.
BACKENDS: Dict[str, Type[BaseStorageBackend]] = {
    "local": LocalBackend, "disk": LocalBackend, "http": HTTPBackend, "lmdb": LmdbBackend,
    "memcached": MemcachedBackend,
}
#: path prefix -> backend name
PREFIXES: Dict[str, str] = {"http": "http", "https": "http"}


def register_backend(name: str, backend: Type[BaseStorageBackend], prefixes=(), force: bool = False) -> None:
    """Make ``backend`` available as ``backend_args=dict(backend=name)`` and for ``prefixes``."""
    if not (isinstance(backend, type) and issubclass(backend, BaseStorageBackend)):
        raise TypeError(f"backend must subclass BaseStorageBackend, got {backend!r}")
    if name in BACKENDS and not force:
        raise KeyError(f"storage backend {name!r} is already registered; pass force=True to replace it")
    BACKENDS[name] = backend
    for prefix in ([prefixes] if isinstance(prefixes, str) else prefixes):
        PREFIXES[prefix] = name


def _prefix(path: PathLike) -> Optional[str]:
    text = str(path)
    scheme, sep, _ = text.partition("://")
    return scheme.lower() if sep else None


_CACHE: Dict[Tuple, BaseStorageBackend] = {}


def get_file_backend(filepath: Optional[PathLike] = None, backend_args: Optional[Dict[str, Any]] = None,
                     enable_singleton: bool = True, *, uri: Optional[PathLike] = None) -> BaseStorageBackend:
    """The backend for ``filepath`` (MMEngine calls it ``uri``): ``backend_args['backend']`` if
    given, else by prefix; with neither, a ValueError as in MMEngine.

    Backends are cached per (name, arguments), so calling this per sample is cheap
    (``enable_singleton`` is accepted for MMEngine's signature; they are always shared).
    """
    if uri is not None:
        if filepath is not None:
            raise TypeError("get_file_backend: pass the path once, as filepath or as uri")
        filepath = uri
    args = dict(backend_args or {})
    name = args.pop("backend", None)
    if name is None:
        if filepath is None:
            raise ValueError("get_file_backend: give a path (filepath/uri) or backend_args=dict(backend=...) "
                             "naming one of " + ", ".join(sorted(BACKENDS)))
        prefix = _prefix(filepath)
        if prefix is None:
            name = "local"
        elif prefix in PREFIXES:
            name = PREFIXES[prefix]
        else:
            raise ConfigError(f"no storage backend for the prefix {prefix!r} of {str(filepath)!r}; "
                              f"known prefixes: {', '.join(sorted(PREFIXES))}")
    if name not in BACKENDS:
        raise ConfigError(f"unknown storage backend {name!r}; choose from "
                          f"{', '.join(sorted(BACKENDS))}.{did_you_mean(name, BACKENDS)}")
    key = (name, repr(sorted(args.items())))
    backend = _CACHE.get(key)
    if backend is None:
        try:
            backend = BACKENDS[name](**args)
        except TypeError as err:
            raise ConfigError(f"backend_args for the {name!r} backend: {err}") from None
        _CACHE[key] = backend
    return backend
