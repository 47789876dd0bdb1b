"""Test-time augmentation: one sample in, the list of its augmented views out.

Both transforms return a dict of lists (``{'inputs': [...], 'data_samples': [...]}``
after a packing step), one entry per view, which a test-time-augmentation model
(e.g. MMDetection's ``DetTTAModel``) runs and merges.
"""

import copy
import itertools
import warnings
from typing import Dict, List, Optional, Sequence, Union

from loomcv.image import FLIP_DIRECTIONS
from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice

from .base import BaseTransform
from .wrappers import Compose, build_transforms


@TRANSFORMS.register_module()
class TestTimeAug(BaseTransform):
    """Every combination of one transform from each list, in order (MMCV 2.x).

    ``transforms=[[Resize(a), Resize(b)], [RandomFlip(prob=1.), RandomFlip(prob=0.)],
    [PackDetInputs()]]`` makes four views: a+flip, a, b+flip, b. Each view starts
    from a copy of the input; the outputs are gathered key by key into lists.

    Required Keys: what the inner transforms require
    Modified Keys: -
    Added Keys: every key of the views' outputs, each a list with one value per view
    """

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(self, transforms: Sequence[Sequence]):
        check(isinstance(transforms, (list, tuple)) and len(transforms) > 0
              and all(isinstance(t, (list, tuple)) and len(t) > 0 for t in transforms), self,
              "transforms must be a non-empty list of non-empty lists (the choices at each step)")
        self.transforms = [build_transforms(list(step), "TestTimeAug") for step in transforms]
        self.subroutines = [Compose(list(chain)) for chain in itertools.product(*self.transforms)]

    def transform(self, results: Dict) -> Dict:
        views = []
        for i, subroutine in enumerate(self.subroutines):
            view = subroutine(copy.deepcopy(results))
            check(isinstance(view, dict), self,
                  f"view {i} ({subroutine!r}) returned {type(view).__name__}, not a dict; a test pipeline "
                  f"must not drop samples", ValueError)
            views.append(view)
        return {key: [view[key] for view in views] for key in views[0]}

    def __repr__(self) -> str:
        return f"TestTimeAug({len(self.subroutines)} views:" + "".join(
            f"\n  {s!r}" for s in self.subroutines) + ")"


@TRANSFORMS.register_module()
class MultiScaleFlipAug(BaseTransform):
    """Resize to each of ``scales`` (or by each ``scale_factor``), with and without flipping,
    then run ``transforms`` (ending in a packing step) on every view (MMCV 2.x).

    Views are ordered scale by scale: unflipped, then each of ``flip_direction``
    when ``allow_flip``. Returns ``{'inputs': [...], 'data_samples': [...]}``.

    Required Keys: what the resize, the flip and ``transforms`` require
    Modified Keys: -
    Added Keys: inputs, data_samples (lists, one entry per view)
    """

    def __init__(self, transforms: Sequence, scales: Optional[Union[tuple, List[tuple]]] = None,
                 scale_factor: Optional[Union[float, List[float]]] = None, allow_flip: bool = False,
                 flip_direction: Union[str, List[str]] = "horizontal",
                 resize_cfg: dict = dict(type="Resize", keep_ratio=True), flip_cfg: dict = dict(type="RandomFlip")):
        check(scales is None or scale_factor is None, self, "give `scales` or `scale_factor`, not both")
        self.transforms = Compose(transforms)
        if scales is not None:
            self.scales = list(scales) if isinstance(scales, list) else [scales]
            check(all(isinstance(s, tuple) and len(s) == 2 for s in self.scales), self,
                  f"scales must be a (w, h) tuple or a list of them, got {scales!r}")
            self.scale_key = "scale"
        else:
            factors = 1.0 if scale_factor is None else scale_factor
            self.scales = list(factors) if isinstance(factors, list) else [factors]
            self.scale_key = "scale_factor"
        self.scale_factor = scale_factor
        self.allow_flip = allow_flip
        self.flip_direction = flip_direction if isinstance(flip_direction, list) else [flip_direction]
        for d in self.flip_direction:
            check_choice(self, "flip_direction", d, FLIP_DIRECTIONS)
        if not allow_flip and self.flip_direction != ["horizontal"]:
            warnings.warn("MultiScaleFlipAug: flip_direction has no effect without allow_flip=True", UserWarning,
                          stacklevel=2)
        check(isinstance(resize_cfg, dict) and isinstance(flip_cfg, dict), self,
              "resize_cfg and flip_cfg must be config dicts")
        self.resize_cfg = dict(resize_cfg)
        self.flip_cfg = dict(flip_cfg)
        self._views = []
        flips = [None] + (list(self.flip_direction) if allow_flip else [])
        for scale in self.scales:
            for direction in flips:
                steps = [TRANSFORMS.build(dict(self.resize_cfg, **{self.scale_key: scale}))]
                if direction is not None:
                    steps.append(TRANSFORMS.build(dict(self.flip_cfg, prob=1.0, direction=direction)))
                self._views.append(Compose(steps))

    def transform(self, results: Dict) -> Dict:
        inputs, data_samples = [], []
        for view in self._views:
            data = view(dict(results, flip=False, flip_direction=None))
            packed = self.transforms(data)
            check(isinstance(packed, dict) and "inputs" in packed and "data_samples" in packed, self,
                  "transforms must end with a packing step that returns 'inputs' and 'data_samples'", ValueError)
            inputs.append(packed["inputs"])
            data_samples.append(packed["data_samples"])
        return dict(inputs=inputs, data_samples=data_samples)
