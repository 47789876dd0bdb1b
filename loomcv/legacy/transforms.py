"""The MMCV 1.x pipeline step that MMCV 2.x dropped: ``Collect``.

(``ToTensor``/``ImageToTensor`` exist in MMCV 2.x and ``Transpose``/``ToNumpy``
in MMPretrain 1.x, so they stay in :mod:`loomcv.transforms`.) The config
translation replaces ``Collect`` with ``PackInputs``; it is registered so a 1.x
pipeline built without translation still runs.
"""

from typing import Dict, Sequence

from loomcv.registry import TRANSFORMS
from loomcv.transforms.base import BaseTransform
from loomcv.transforms.formatting import key_tuple


@TRANSFORMS.register_module()
class Collect(BaseTransform):
    """Keep only ``keys`` of the results (MMCV 1.x); with ``meta_keys`` also an ``img_metas`` dict.

    Required Keys: every one of ``keys``
    Modified Keys: none (a new dict is returned)
    Added Keys: img_metas (when ``meta_keys`` is given)
    """

    def __init__(self, keys: Sequence[str], meta_keys: Sequence[str] = ()):
        self.keys = key_tuple(self, keys)
        self.meta_keys = key_tuple(self, meta_keys)

    def transform(self, results: Dict) -> Dict:
        missing = [k for k in self.keys if k not in results]
        if missing:
            raise KeyError(f"Collect: keys {missing} are not in the results (keys: {list(results)})")
        out = {k: results[k] for k in self.keys}
        if self.meta_keys:
            out["img_metas"] = {k: results[k] for k in self.meta_keys if k in results}
        return out


__all__ = ["Collect"]
