"""Versions and installed packages: ``digit_version``, ``is_installed``, ``get_git_hash``."""

import importlib.metadata
import importlib.util
import os
import os.path as osp
import subprocess
from typing import Optional, Tuple

from packaging.version import InvalidVersion, Version

_PRE_RELEASE = {"a": -3, "b": -2, "rc": -1}


def digit_version(version_str: str, length: int = 4) -> Tuple[int, ...]:
    """A version string as a tuple of ints that compares correctly, pre-releases included.

    ``'1.2.3'`` -> ``(1, 2, 3, 0, 0, 0, 0, 0)``; ``'2.0.0rc1'`` sorts before ``'2.0.0'``.
    """
    try:
        version = Version(version_str)
    except InvalidVersion as err:
        raise ValueError(f"digit_version: {version_str!r} is not a valid version string") from err
    release = list(version.release)
    if len(release) > length:
        raise ValueError(f"digit_version: {version_str!r} has more than length={length} release parts")
    release += [0] * (length - len(release))
    if version.is_prerelease and version.pre is not None:
        release += [_PRE_RELEASE.get(version.pre[0], -4), version.pre[1]]
    else:
        release += [0, 0]
    if version.is_postrelease:
        release += [1, version.post]
    else:
        release += [0, 0]
    return tuple(release)


def is_installed(package: str) -> bool:
    """Whether a distribution or an importable top-level package called ``package`` is present."""
    try:
        importlib.metadata.distribution(package)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def get_installed_path(package: str) -> str:
    """The folder of installed package ``package``."""
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise ModuleNotFoundError(f"get_installed_path: package {package!r} is not installed", name=package)
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return osp.dirname(spec.origin)


def get_git_hash(fallback: str = "unknown", digits: Optional[int] = None) -> str:
    """The current git commit hash (``digits`` long if given), or ``fallback`` outside a repository."""
    if digits is not None and not isinstance(digits, int):
        raise TypeError(f"get_git_hash: digits must be an int or None, got {type(digits).__name__}")
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             env={**os.environ, "LANGUAGE": "C", "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return fallback
    sha = out.stdout.strip()
    if out.returncode != 0 or not sha:
        return fallback
    return sha[:digits] if digits is not None else sha

