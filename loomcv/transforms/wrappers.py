"""Compose and the wrappers that apply transforms conditionally or to remapped keys."""

import copy
from collections.abc import Callable as CallableType
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from loomcv.registry import TRANSFORMS, build_or_accept
from loomcv.validation import check, check_prob

from .base import BaseTransform, cache_random_params, cache_randomness

TransformLike = Union[Mapping, Callable]


def build_transforms(transforms: Any, owner: str) -> List[Callable]:
    """Build a list of transform configs (dicts) once; callables pass through."""
    if transforms is None:
        return []
    if isinstance(transforms, Mapping) or callable(transforms):
        transforms = [transforms]
    if not isinstance(transforms, Sequence):
        raise TypeError(f"{owner}: transforms must be a list of dicts or callables, "
                        f"got {type(transforms).__name__}")
    return [build_or_accept(t, TRANSFORMS, CallableType, f"transforms[{i}]", owner)
            for i, t in enumerate(transforms)]


@TRANSFORMS.register_module()
class Compose(BaseTransform):
    """Apply transforms in order; a step returning None drops the sample (returns None).

    Required Keys: what the inner transforms require
    Modified Keys: what the inner transforms modify
    Added Keys: what the inner transforms add
    """

    def __init__(self, transforms: Union[TransformLike, Sequence[TransformLike], None]):
        self.transforms = build_transforms(transforms, "Compose")

    def transform(self, results: Dict) -> Optional[Dict]:
        for t in self.transforms:
            results = t(results)
            if results is None:
                return None
        return results

    def __iter__(self):
        return iter(self.transforms)

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, i):
        return self.transforms[i]

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose({inner}\n)" if inner else "Compose([])"


@TRANSFORMS.register_module()
class RandomApply(BaseTransform):
    """Apply ``transforms`` (as one Compose) with probability ``prob``.

    Required Keys: what the inner transforms require
    Modified Keys: what the inner transforms modify
    Added Keys: what the inner transforms add
    """

    def __init__(self, transforms: Union[TransformLike, Sequence[TransformLike]], prob: float = 0.5):
        check_prob(self, "prob", prob)
        self.prob = prob
        self.transforms = Compose(transforms)

    @cache_randomness
    def random_apply(self) -> bool:
        return np.random.rand() < self.prob

    def transform(self, results: Dict) -> Optional[Dict]:
        return self.transforms(results) if self.random_apply() else results


@TRANSFORMS.register_module()
class RandomChoice(BaseTransform):
    """Apply one of several pipelines, picked with probabilities ``prob`` (uniform by default).

    Required Keys: what the inner transforms require
    Modified Keys: what the inner transforms modify
    Added Keys: what the inner transforms add
    """

    def __init__(self, transforms: Sequence[Sequence[TransformLike]], prob: Optional[Sequence[float]] = None):
        check(isinstance(transforms, Sequence) and len(transforms) > 0, self,
              "transforms must be a non-empty list of pipelines (lists of transforms)")
        if prob is not None:
            check(len(prob) == len(transforms), self,
                  f"prob has {len(prob)} values for {len(transforms)} pipelines")
            check(abs(sum(prob) - 1) < 1e-6 and min(prob) >= 0, self, f"prob must sum to 1, got {prob}")
        self.prob = prob
        self.transforms = [Compose(t) for t in transforms]

    @cache_randomness
    def random_pipeline_index(self) -> int:
        return int(np.random.choice(len(self.transforms), p=self.prob))

    def transform(self, results: Dict) -> Optional[Dict]:
        return self.transforms[self.random_pipeline_index()](results)


_IGNORE = ...


@TRANSFORMS.register_module()
class KeyMapper(BaseTransform):
    """Run ``transforms`` on renamed keys.

    ``mapping={'img': 'gt_img'}`` shows ``results['gt_img']`` to the inner
    transforms as ``'img'``; ``remapping`` (defaults to ``mapping`` when
    ``auto_remap``) writes outputs back under the outer names. A value of
    ``...`` hides the key from the inner transforms.

    Required Keys: the outer keys named in mapping (as the inner transforms require them)
    Modified Keys: the remapped outer keys the inner transforms modify
    Added Keys: the remapped outer keys the inner transforms add
    """

    def __init__(self, transforms: Union[TransformLike, Sequence[TransformLike], None] = None,
                 mapping: Optional[Dict] = None, remapping: Optional[Dict] = None,
                 auto_remap: Optional[bool] = None, allow_nonexist_keys: bool = False):
        self.transforms = Compose(transforms)
        for name, m in (("mapping", mapping), ("remapping", remapping)):
            check(m is None or isinstance(m, Mapping), self, f"{name} must be a dict, got {type(m).__name__}")
        if auto_remap is None:
            auto_remap = remapping is None
        check(not (auto_remap and remapping is not None), self,
              "give `remapping` or set auto_remap=True, not both")
        self.mapping = dict(mapping or {})
        self.auto_remap = auto_remap
        self.remapping = dict(self.mapping if auto_remap else (remapping or {}))
        self.allow_nonexist_keys = allow_nonexist_keys

    def _lookup(self, data: Dict, outer: Any) -> Any:
        if isinstance(outer, (list, tuple)):
            return type(outer)(self._lookup(data, o) for o in outer)
        if outer not in data:
            if self.allow_nonexist_keys:
                return _IGNORE
            raise KeyError(f"{type(self).__name__}: key {outer!r} is not in the results "
                           f"(keys: {', '.join(map(repr, data))})")
        return data[outer]

    def map_input(self, data: Dict) -> Dict:
        inputs = dict(data)
        for inner, outer in self.mapping.items():
            value = _IGNORE if outer is _IGNORE else self._lookup(data, outer)
            if value is _IGNORE:
                inputs.pop(inner, None)
            else:
                inputs[inner] = value
        return inputs

    def map_output(self, outputs: Dict) -> Dict:
        if not self.remapping:
            return outputs
        mapped = {k: v for k, v in outputs.items() if k not in self.remapping}
        for inner, outer in self.remapping.items():
            if outer is _IGNORE or inner not in outputs:
                continue
            value = outputs[inner]
            if isinstance(outer, (list, tuple)):
                for o, v in zip(outer, value):
                    if v is not _IGNORE:
                        mapped[o] = v
            else:
                mapped[outer] = value
        return mapped

    def transform(self, results: Dict) -> Optional[Dict]:
        outputs = self.transforms(self.map_input(results))
        if outputs is None:
            return None
        results.update(self.map_output(outputs))
        return results


@TRANSFORMS.register_module()
class TransformBroadcaster(KeyMapper):
    """Apply ``transforms`` to each item of list-valued (mapped) keys.

    ``mapping={'img': ['img', 'img2']}`` runs the inner transforms twice, once
    per image; with ``share_random_params`` both runs use the same random draw.

    Required Keys: the list-valued outer keys named in mapping, one item per run
    Modified Keys: those lists, item by item, as the inner transforms modify them
    Added Keys: the keys the inner transforms add (a list when the runs differ)
    """

    def __init__(self, transforms: Union[TransformLike, Sequence[TransformLike]],
                 mapping: Optional[Dict] = None, remapping: Optional[Dict] = None,
                 auto_remap: Optional[bool] = None, allow_nonexist_keys: bool = False,
                 share_random_params: bool = False):
        super().__init__(transforms, mapping, remapping, auto_remap, allow_nonexist_keys)
        self.share_random_params = share_random_params

    def transform(self, results: Dict) -> Optional[Dict]:
        inputs = self.map_input(results)
        lengths = {k: len(v) for k, v in inputs.items() if k in self.mapping and isinstance(v, (list, tuple))}
        if not lengths:
            lengths = {k: len(v) for k, v in inputs.items() if isinstance(v, (list, tuple))}
        check(len(set(lengths.values())) == 1, self,
              f"broadcast keys must be lists of one length, got lengths {lengths}")
        n = next(iter(lengths.values()))
        per_item = []
        for i in range(n):
            item = copy.copy(inputs)
            for k in lengths:
                item[k] = inputs[k][i]
            per_item.append(item)
        outputs = []
        if self.share_random_params:
            with cache_random_params(self.transforms):
                outputs = [self.transforms(item) for item in per_item]
        else:
            outputs = [self.transforms(item) for item in per_item]
        if any(o is None for o in outputs):
            return None
        merged = dict(outputs[0])
        for k in set().union(*outputs):
            values = [o.get(k, _IGNORE) for o in outputs]
            if k in lengths or any(v is not values[0] for v in values[1:]):
                merged[k] = values
        results.update(self.map_output(merged))
        return results
