"""Path-level helpers over the storage backends, and load/dump by file extension."""

import io
import json
import pickle
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import yaml

from loomcv.errors import ConfigError

from .backends import PathLike, get_file_backend

BackendArgs = Optional[Dict[str, Any]]


def get(filepath: PathLike, backend_args: BackendArgs = None) -> bytes:
    return get_file_backend(filepath, backend_args).get(filepath)


def get_text(filepath: PathLike, encoding: str = "utf-8", backend_args: BackendArgs = None) -> str:
    return get_file_backend(filepath, backend_args).get_text(filepath, encoding)


def put(obj: bytes, filepath: PathLike, backend_args: BackendArgs = None) -> None:
    get_file_backend(filepath, backend_args).put(obj, filepath)


def put_text(obj: str, filepath: PathLike, encoding: str = "utf-8", backend_args: BackendArgs = None) -> None:
    get_file_backend(filepath, backend_args).put_text(obj, filepath, encoding)


def exists(filepath: PathLike, backend_args: BackendArgs = None) -> bool:
    return get_file_backend(filepath, backend_args).exists(filepath)


def isfile(filepath: PathLike, backend_args: BackendArgs = None) -> bool:
    return get_file_backend(filepath, backend_args).isfile(filepath)


def isdir(filepath: PathLike, backend_args: BackendArgs = None) -> bool:
    return get_file_backend(filepath, backend_args).isdir(filepath)


def join_path(filepath: PathLike, *parts: PathLike, backend_args: BackendArgs = None) -> str:
    return get_file_backend(filepath, backend_args).join_path(filepath, *parts)


def list_dir_or_file(dir_path: PathLike, list_dir: bool = True, list_file: bool = True,
                     suffix: Optional[Union[str, Tuple[str, ...]]] = None, recursive: bool = False,
                     backend_args: BackendArgs = None) -> Iterator[str]:
    return get_file_backend(dir_path, backend_args).list_dir_or_file(
        dir_path, list_dir, list_file, suffix, recursive)


def copyfile(src: PathLike, dst: PathLike, backend_args: BackendArgs = None) -> str:
    """Copy a file within one backend; returns the new path."""
    return _backend_method(src, "copyfile", backend_args)(src, dst)


def copytree(src: PathLike, dst: PathLike, backend_args: BackendArgs = None) -> str:
    """Copy a folder within one backend; returns ``dst``."""
    return _backend_method(src, "copytree", backend_args)(src, dst)


def copyfile_from_local(src: PathLike, dst: PathLike, backend_args: BackendArgs = None) -> str:
    """Copy a local file to ``dst`` on its backend."""
    return _backend_method(dst, "copyfile_from_local", backend_args)(src, dst)


def copytree_from_local(src: PathLike, dst: PathLike, backend_args: BackendArgs = None) -> str:
    return _backend_method(dst, "copytree_from_local", backend_args)(src, dst)


def copyfile_to_local(src: PathLike, dst: PathLike, backend_args: BackendArgs = None) -> str:
    """Copy ``src`` from its backend to the local path ``dst``."""
    return _backend_method(src, "copyfile_to_local", backend_args)(src, dst)


def copytree_to_local(src: PathLike, dst: PathLike, backend_args: BackendArgs = None) -> str:
    return _backend_method(src, "copytree_to_local", backend_args)(src, dst)


def remove(filepath: PathLike, backend_args: BackendArgs = None) -> None:
    """Delete a file."""
    _backend_method(filepath, "remove", backend_args)(filepath)


def rmtree(dir_path: PathLike, backend_args: BackendArgs = None) -> None:
    """Delete a folder and its content."""
    _backend_method(dir_path, "rmtree", backend_args)(dir_path)


def copy_if_symlink_fails(src: PathLike, dst: PathLike, backend_args: BackendArgs = None) -> bool:
    """Symlink ``dst`` to ``src``, or copy when the backend cannot link; True if linked."""
    return _backend_method(src, "copy_if_symlink_fails", backend_args)(src, dst)


def _backend_method(path: PathLike, name: str, backend_args: BackendArgs) -> Callable:
    backend = get_file_backend(path, backend_args)
    method = getattr(backend, name, None)
    if method is None:
        raise NotImplementedError(f"{type(backend).__name__} has no {name} (a read-only or remote store)")
    return method


def get_local_path(filepath: PathLike, backend_args: BackendArgs = None):
    """Context manager giving a local path with the content of ``filepath``."""
    return get_file_backend(filepath, backend_args).get_local_path(filepath)


# ------------------------------------------------------------------ formats
def _yaml_load(f) -> Any:
    return yaml.safe_load(f)


def _yaml_dump(obj: Any, f) -> None:
    yaml.safe_dump(obj, f, sort_keys=False, allow_unicode=True)


def _json_dump(obj: Any, f) -> None:
    json.dump(obj, f, indent=2, ensure_ascii=False)


#: extension -> (load(text-or-binary file), dump(obj, file), binary?)
FORMATS: Dict[str, Tuple[Callable, Callable, bool]] = {
    "json": (json.load, _json_dump, False),
    "yaml": (_yaml_load, _yaml_dump, False),
    "yml": (_yaml_load, _yaml_dump, False),
    "pickle": (pickle.load, lambda obj, f: pickle.dump(obj, f, protocol=4), True),
    "pkl": (pickle.load, lambda obj, f: pickle.dump(obj, f, protocol=4), True),
}


def _format(file: Any, file_format: Optional[str]) -> str:
    if file_format is None:
        if not isinstance(file, (str, Path)):
            raise ConfigError("file_format is required when `file` is a file object")
        file_format = str(file).rsplit(".", 1)[-1] if "." in str(file) else ""
    file_format = file_format.lower()
    if file_format not in FORMATS:
        raise ConfigError(f"cannot load/dump {str(file)!r}: unsupported format {file_format!r}; "
                          f"supported: {', '.join(FORMATS)}")
    return file_format


def load(file: Any, file_format: Optional[str] = None, backend_args: BackendArgs = None) -> Any:
    """Load a json/yaml/pickle file (path, URL or open file object), by extension."""
    fmt = _format(file, file_format)
    loader, _, binary = FORMATS[fmt]
    try:
        if isinstance(file, (str, Path)):
            data = get(file, backend_args)
            return loader(io.BytesIO(data) if binary else io.StringIO(data.decode("utf-8")))
        return loader(file)
    except (json.JSONDecodeError, yaml.YAMLError, pickle.UnpicklingError, EOFError) as err:
        raise ConfigError(f"cannot parse {str(file)!r} as {fmt}: {err}") from None


def dump(obj: Any, file: Any = None, file_format: Optional[str] = None,
         backend_args: BackendArgs = None) -> Optional[Union[str, bytes]]:
    """Write ``obj`` to ``file`` (path or file object); with no file, return the text/bytes."""
    if file is None and file_format is None:
        raise ConfigError("dump: give a file or a file_format")
    fmt = _format(file, file_format)
    _, dumper, binary = FORMATS[fmt]
    buf = io.BytesIO() if binary else io.StringIO()
    dumper(obj, buf)
    content = buf.getvalue()
    if file is None:
        return content
    if isinstance(file, (str, Path)):
        if binary:
            put(content, file, backend_args)
        else:
            put_text(content, file, backend_args=backend_args)
    else:
        file.write(content)
    return None


def list_from_file(filename: PathLike, prefix: str = "", offset: int = 0, max_num: int = 0,
                   encoding: str = "utf-8", backend_args: BackendArgs = None) -> List[str]:
    """Lines of a text file (newlines stripped), skipping ``offset`` lines, at most ``max_num``."""
    lines = get_text(filename, encoding, backend_args).splitlines()[offset:]
    if max_num > 0:
        lines = lines[:max_num]
    return [prefix + line.rstrip("\r\n") for line in lines]


def dict_from_file(filename: PathLike, key_type: type = str, encoding: str = "utf-8",
                   backend_args: BackendArgs = None) -> Dict[Any, Any]:
    """``key value...`` lines -> ``{key: value}`` (a list when a line has several values)."""
    mapping: Dict[Any, Any] = {}
    for lineno, line in enumerate(get_text(filename, encoding, backend_args).splitlines(), 1):
        items = line.strip().split()
        if not items:
            continue
        if len(items) < 2:
            raise ConfigError(f"{str(filename)}:{lineno}: expected `key value`, got {line.strip()!r}")
        key = key_type(items[0])
        mapping[key] = items[1:] if len(items) > 2 else items[1]
    return mapping
