"""Checkpoint URL schemes: ``torchvision://NAME``, ``open-mmlab://NAME``, ``mmcls://NAME``, ...

A scheme is a name -> URL table. The engine has ``torchvision://`` (and its
old spelling ``modelzoo://``) and ``open-mmlab://`` (also ``openmmlab://``);
a toolbox adds its own through its declaration
(``Toolbox(checkpoint_urls={'mmcls': 'pkg.module:TABLE'})``) and code can add
one with :func:`register_url_table`.

Every URL (a scheme's or a plain ``http(s)://`` one) is looked up in torch.hub's
cache first, ``$TORCH_HOME/hub/checkpoints/<file name of the URL>`` (what
``torch.hub.get_dir()`` names), and downloaded there only when missing. With
``LOOMCV_OFFLINE=1``, or when the download fails, the error names the URL and
the exact path to put the file at.
"""

import os
import os.path as osp
import re
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlparse

from loomcv.errors import CheckpointError, did_you_mean

OFFLINE_ENV = "LOOMCV_OFFLINE"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$")


@dataclass(frozen=True)
class UrlTable:
    """One scheme's table.

    Args:
        urls: name -> URL.
        take_prefix: keep only the state-dict keys under this prefix, with the
            prefix removed (``mmcls://`` takes a classifier's ``'backbone.'``).
        renamed: old names -> current names (an old name warns and still loads).
        normalize: turns a written name into a table key (``ResNet50_Weights.IMAGENET1K_V1``
            -> ``resnet50.imagenet1k_v1``).
    """

    urls: Mapping[str, str]
    take_prefix: Optional[str] = None
    renamed: Mapping[str, str] = field(default_factory=dict)
    normalize: Optional[Callable[[str], str]] = None

    def url_of(self, scheme: str, name: str) -> str:
        key = self.normalize(name) if self.normalize else name
        if key in self.renamed:
            warnings.warn(f"{scheme}://{name} is deprecated in favour of {scheme}://{self.renamed[key]}",
                          DeprecationWarning, stacklevel=4)
            key = self.renamed[key]
        if key not in self.urls:
            names = sorted(self.urls)
            shown = ", ".join(names[:12]) + (f", ... ({len(names)} names)" if len(names) > 12 else "")
            raise CheckpointError(f"{scheme}://{name}: no checkpoint named {name!r} in the {scheme}:// table."
                                  f"{did_you_mean(key, names)}\n  known names: {shown}")
        return self.urls[key]


def _torchvision_name(name: str) -> str:
    return name.lower().replace("_weights", "")


def _engine_tables() -> Dict[str, UrlTable]:
    from .url_tables import OPENMMLAB_RENAMED, OPENMMLAB_URLS, TORCHVISION_URLS
    torchvision = UrlTable(TORCHVISION_URLS, normalize=_torchvision_name)
    openmmlab = UrlTable(OPENMMLAB_URLS, renamed=OPENMMLAB_RENAMED)
    return {"torchvision": torchvision, "modelzoo": torchvision, "open-mmlab": openmmlab, "openmmlab": openmmlab}


_registered: Dict[str, UrlTable] = {}


def register_url_table(scheme: str, table, force: bool = False) -> UrlTable:
    """Add ``scheme://NAME`` with ``table`` (a :class:`UrlTable` or a name -> URL dict)."""
    if not isinstance(scheme, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        raise ValueError(f"register_url_table: scheme must be a name like 'mytask' (no '://'), got {scheme!r}")
    if scheme in ("http", "https", "file"):
        raise ValueError(f"register_url_table: {scheme}:// is a real URL scheme and cannot be a table")
    table = _as_table(table, f"register_url_table({scheme!r})")
    if scheme in _registered and not force:
        raise KeyError(f"register_url_table: {scheme}:// is already registered; pass force=True to replace it")
    _registered[scheme] = table
    return table


def _as_table(value, where: str) -> UrlTable:
    if isinstance(value, UrlTable):
        return value
    if isinstance(value, Mapping):
        return UrlTable(dict(value))
    raise TypeError(f"{where}: a URL table must be a UrlTable or a name -> URL dict, got {type(value).__name__}")


def _toolbox_schemes() -> Dict[str, Tuple[str, str]]:
    """scheme -> (toolbox scope, 'module:ATTR') from every declared toolbox."""
    from loomcv.registry.toolbox import toolboxes
    found: Dict[str, Tuple[str, str]] = {}
    for toolbox in toolboxes().values():
        for scheme, target in getattr(toolbox, "checkpoint_urls", {}).items():
            found.setdefault(scheme, (toolbox.scope, target))
    return found


def known_schemes() -> Tuple[str, ...]:
    """Every scheme a checkpoint path may use (besides http:// and https://)."""
    return tuple(sorted({*_engine_tables(), *_registered, *_toolbox_schemes()}))


def url_table(scheme: str) -> UrlTable:
    """The table of ``scheme``: registered in code, the engine's, or a toolbox's declared one."""
    if scheme in _registered:
        return _registered[scheme]
    engine = _engine_tables()
    if scheme in engine:
        return engine[scheme]
    declared = _toolbox_schemes()
    if scheme not in declared:
        known = known_schemes()
        raise CheckpointError(f"unknown checkpoint URL scheme {scheme}://; known: "
                              f"{', '.join(s + '://' for s in known)}, http://, https://."
                              f"{did_you_mean(scheme, known)}")
    scope, target = declared[scheme]
    import importlib
    module_name, _, attr = target.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise CheckpointError(f"toolbox {scope!r} declares checkpoint_urls[{scheme!r}] = {target!r}, "
                              f"which cannot be loaded: {type(err).__name__}: {err}") from err
    return _as_table(value, f"toolbox {scope!r} checkpoint_urls[{scheme!r}]")


def split_scheme(filename: str) -> Optional[Tuple[str, str]]:
    """``('mmcls', 'resnet50')`` for ``'mmcls://resnet50'``; None for paths and http(s) URLs."""
    found = _SCHEME.match(filename)
    if found is None or found.group(1).lower() in ("http", "https"):
        return None
    return found.group(1), found.group(2)


def is_remote(filename: str) -> bool:
    """True for http(s) URLs and ``scheme://NAME`` names."""
    return filename.startswith(("http://", "https://")) or split_scheme(filename) is not None


def resolve(filename: str) -> Tuple[str, Optional[UrlTable]]:
    """The URL ``filename`` stands for, and its scheme's table (None for a plain URL)."""
    parts = split_scheme(filename)
    if parts is None:
        return filename, None
    scheme, name = parts
    if scheme == "modelzoo":
        warnings.warn('the checkpoint scheme "modelzoo://" is deprecated; write "torchvision://" instead',
                      DeprecationWarning, stacklevel=3)
    table = url_table(scheme)
    return table.url_of(scheme, name), table


def cache_path(url: str) -> str:
    """Where torch.hub keeps (or would keep) the file of ``url``."""
    import torch.hub
    name = osp.basename(urlparse(url).path)
    if not name:
        raise CheckpointError(f"the URL {url!r} names no file (its path ends with '/')")
    return osp.join(torch.hub.get_dir(), "checkpoints", name)


def _download(url: str, path: str, filename: str) -> None:
    import torch.hub
    hint = (f"Without internet access, download {url} on another machine and put the file at\n  {path}\n"
            f"(torch.hub's cache: $TORCH_HOME/hub/checkpoints, now {osp.dirname(path)}).")
    wanted = f"{filename} -> {url}" if filename != url else url
    if os.environ.get(OFFLINE_ENV, "").lower() not in ("", "0", "false", "no"):
        raise CheckpointError(f"checkpoint {wanted} is not in the cache and {OFFLINE_ENV} is set, so it is "
                              f"not downloaded.\n{hint}")
    os.makedirs(osp.dirname(path), exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, path, progress=False)
    except Exception as err:  # URLError, HTTPError, timeouts, refused connections, full disks...
        raise CheckpointError(f"could not download checkpoint {wanted} ({type(err).__name__}: {err}).\n"
                              f"{hint}") from err


def fetch(filename: str) -> Tuple[str, Optional[UrlTable]]:
    """The local file for a URL or ``scheme://NAME`` (downloaded into torch.hub's cache when missing),
    and the scheme's table. In a distributed run rank 0 downloads while the others wait."""
    url, table = resolve(filename)
    path = cache_path(url)
    if osp.isfile(path):
        return path, table
    from loomcv import dist
    rank, world_size = dist.get_dist_info()
    if rank == 0:
        _download(url, path, filename)
    if world_size > 1:
        dist.barrier()
        if not osp.isfile(path):  # ranks on other machines: each machine fetches its own copy
            _download(url, path, filename)
    return path, table


def take_table_prefix(checkpoint: dict, table: Optional[UrlTable], filename: str) -> dict:
    """Apply the scheme's ``take_prefix``: only its keys, prefix removed; ``meta['prefix_taken']`` says so."""
    if table is None or not table.take_prefix:
        return checkpoint
    state_dict = checkpoint["state_dict"] if isinstance(checkpoint.get("state_dict"), dict) else checkpoint
    head = table.take_prefix
    taken = {k[len(head):]: v for k, v in state_dict.items() if k.startswith(head)}
    if not taken:
        tops = sorted({k.split(".", 1)[0] for k in state_dict})
        raise CheckpointError(f"{filename}: the file has no {head!r} keys to take (its top-level prefixes are "
                              f"{tops}); is it a classifier checkpoint?")
    return dict(state_dict=taken, meta=dict(prefix_taken=head, source=filename))
