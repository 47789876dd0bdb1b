"""Filesystem helpers under MMEngine's names (``mkdir_or_exist``, ``scandir`` ...)."""

import os
import os.path as osp
from pathlib import Path
from typing import Iterator, Optional, Tuple, Union

from .sequence import is_str

PathLike = Union[str, Path]


def is_filepath(x) -> bool:
    """Whether ``x`` is a path given as a str or a ``pathlib.Path``."""
    return is_str(x) or isinstance(x, Path)


def fopen(filepath: PathLike, *args, **kwargs):
    """``open`` for a str or a ``pathlib.Path``."""
    if is_str(filepath):
        return open(filepath, *args, **kwargs)
    if isinstance(filepath, Path):
        return filepath.open(*args, **kwargs)
    raise ValueError(f"fopen: filepath must be a str or pathlib.Path, got {type(filepath).__name__}")


def check_file_exist(filename: PathLike, msg_tmpl: str = 'file "{}" does not exist') -> None:
    """Raise FileNotFoundError (with ``msg_tmpl`` filled in) unless ``filename`` is a file."""
    if not osp.isfile(filename):
        raise FileNotFoundError(msg_tmpl.format(filename))


def mkdir_or_exist(dir_name: PathLike, mode: int = 0o777) -> None:
    """Create ``dir_name`` and its parents; an existing folder (or ``''``) is fine."""
    if dir_name == "":
        return
    os.makedirs(osp.expanduser(dir_name), mode=mode, exist_ok=True)


def symlink(src: PathLike, dst: PathLike, overwrite: bool = True, **kwargs) -> None:
    """``os.symlink(src, dst)``, replacing an existing ``dst`` when ``overwrite``."""
    if osp.lexists(dst) and overwrite:
        os.remove(dst)
    os.symlink(src, dst, **kwargs)


def is_abs(path: str) -> bool:
    """Whether ``path`` is absolute: a rooted local path or a URL with a scheme."""
    return osp.isabs(path) or "://" in str(path)


def scandir(dir_path: PathLike, suffix: Union[None, str, Tuple[str, ...]] = None, recursive: bool = False,
            case_sensitive: bool = True) -> Iterator[str]:
    """Paths (relative to ``dir_path``) of the files in it whose names end in ``suffix``.

    Hidden files (starting with ``.``) are skipped, as MMEngine does.
    """
    if isinstance(dir_path, Path):
        dir_path = str(dir_path)
    if not is_str(dir_path):
        raise TypeError(f"scandir: dir_path must be a str or pathlib.Path, got {type(dir_path).__name__}")
    if suffix is not None and not isinstance(suffix, (str, tuple)):
        raise TypeError(f"scandir: suffix must be a str or a tuple of str, got {type(suffix).__name__}")
    if suffix is not None and not case_sensitive:
        suffix = suffix.lower() if isinstance(suffix, str) else tuple(s.lower() for s in suffix)
    root = dir_path

    def walk(folder: str) -> Iterator[str]:
        for entry in os.scandir(folder):
            if entry.name.startswith("."):
                continue
            if entry.is_file():
                rel = osp.relpath(entry.path, root)
                name = rel if case_sensitive else rel.lower()
                if suffix is None or name.endswith(suffix):
                    yield rel
            elif recursive and entry.is_dir():
                yield from walk(entry.path)

    return walk(dir_path)


def find_vcs_root(path: PathLike, markers: Tuple[str, ...] = (".git",)) -> Optional[str]:
    """The nearest folder at or above ``path`` that holds one of ``markers``, or None."""
    cur = osp.dirname(osp.abspath(path)) if osp.isfile(path) else osp.abspath(path)
    while True:
        if any(osp.exists(osp.join(cur, m)) for m in markers):
            return cur
        parent = osp.dirname(cur)
        if parent == cur:
            return None
        cur = parent
