"""MMEngine's ``CheckpointLoader`` and model-table getters (``mmengine.runner.checkpoint``),
over loomcv's readers and URL tables.

``CheckpointLoader.register_scheme('s3://', loader)`` makes every checkpoint read (``load_from``,
``init_cfg=dict(type='Pretrained')``, ``load_checkpoint``) send paths with that prefix to
``loader(filename, map_location)``. The getters return copies of the name -> URL tables that
``torchvision://``, ``open-mmlab://`` and the toolboxes' schemes resolve through.
"""

from typing import Callable, Dict, Optional, Sequence, Union

from .io import SCHEME_LOADERS, _load_checkpoint
from .urls import url_table


class CheckpointLoader:
    """Read checkpoints by path prefix; loomcv's own reader for the rest."""

    @classmethod
    def register_scheme(cls, prefixes: Union[str, Sequence[str]], loader: Optional[Callable] = None,
                        force: bool = False):
        """Route paths starting with ``prefixes`` to ``loader(filename, map_location)``; usable as a
        decorator. An already registered prefix needs ``force=True``."""
        names = [prefixes] if isinstance(prefixes, str) else list(prefixes)

        def _register(fn: Callable) -> Callable:
            if not callable(fn):
                raise TypeError(f"CheckpointLoader.register_scheme: loader must be callable, got {fn!r}")
            for prefix in names:
                if prefix in SCHEME_LOADERS and not force:
                    raise KeyError(f"CheckpointLoader: {prefix!r} already has a loader; pass force=True to "
                                   "replace it")
                SCHEME_LOADERS[prefix] = fn
            return fn

        return _register(loader) if loader is not None else _register

    @classmethod
    def load_checkpoint(cls, filename: str, map_location=None, logger=None) -> dict:
        """The checkpoint dict at ``filename`` (a path, URL, ``scheme://NAME`` or a registered prefix)."""
        return _load_checkpoint(filename, map_location="cpu" if map_location is None else map_location)


def _table(scheme: str) -> Dict[str, str]:
    try:
        return dict(url_table(scheme).urls)
    except Exception:  # noqa: BLE001 - a scheme no installed toolbox declares has no table
        return {}


def get_torchvision_models() -> Dict[str, str]:
    """``torchvision://`` names -> URLs."""
    return _table("torchvision")


def get_external_models() -> Dict[str, str]:
    """``open-mmlab://`` names -> URLs."""
    return _table("open-mmlab")


def get_mmcls_models() -> Dict[str, str]:
    """``mmcls://`` names -> URLs (declared by the classification toolbox; empty without it)."""
    return _table("mmcls")


def get_deprecated_model_names() -> Dict[str, str]:
    """Old ``open-mmlab://`` names -> their current names."""
    from .url_tables import OPENMMLAB_RENAMED
    return dict(OPENMMLAB_RENAMED)
