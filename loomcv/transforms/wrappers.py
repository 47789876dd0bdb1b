"""Compose and the wrappers that apply transforms conditionally or to remapped keys."""

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
    """Apply ``transforms`` (one transform or a list, run as one Compose) with probability ``prob``.

    Required Keys: what the inner transforms require
    Modified Keys: what the inner transforms modify
    Added Keys: what the inner transforms add
    """

    def __init__(self, transforms: Union[TransformLike, Sequence[TransformLike]], prob: float = 0.5):
        check_prob(self, "prob", prob)
        self.prob = prob
        self.transforms = Compose(transforms)

    def __iter__(self):
        return iter(self.transforms)

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

    def __iter__(self):
        return iter(self.transforms)

    @cache_randomness
    def random_pipeline_index(self) -> int:
        return int(np.random.choice(len(self.transforms), p=self.prob))

    def transform(self, results: Dict) -> Optional[Dict]:
        return self.transforms[self.random_pipeline_index()](results)


class _Ignored:
    """Stands for an outer key that is hidden from the inner transforms (``...`` in a mapping,
    or a missing key with ``allow_nonexist_keys``); never written back."""

    def __repr__(self) -> str:
        return "<ignored>"


IGNORED = _Ignored()


@TRANSFORMS.register_module()
class KeyMapper(BaseTransform):
    """Run ``transforms`` on renamed (and regrouped) keys, as MMCV 2.x's KeyMapper.

    ``mapping`` maps inner keys (what the inner transforms read) to outer keys (of
    the results): ``{'img': 'gt_img'}`` shows ``results['gt_img']`` as ``'img'``;
    a list or tuple of outer keys gathers them into a list, a dict into a dict
    (``{'imgs': {'src': 'img1', 'tar': 'img2'}}``); ``...`` hides the key from the
    inner transforms. Unmapped keys are passed through unchanged. ``remapping``
    (``mapping`` again when ``auto_remap``) writes outputs back under the outer
    names; inner keys that are not remapped are dropped, so an intermediate result
    never overwrites an outer key of the same name.

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
        self.mapping = None if mapping is None else dict(mapping)
        self.auto_remap = auto_remap
        self.remapping = self.mapping if auto_remap else (None if remapping is None else dict(remapping))
        self.allow_nonexist_keys = allow_nonexist_keys

    def __iter__(self):
        return iter(self.transforms)

    def _gather(self, data: Dict, outer: Any) -> Any:
        if isinstance(outer, Mapping):
            return {inner: self._gather(data, o) for inner, o in outer.items()}
        if isinstance(outer, (list, tuple)):
            return type(outer)(self._gather(data, o) for o in outer)
        if outer is ...:
            return IGNORED
        if outer not in data:
            if self.allow_nonexist_keys:
                return IGNORED
            raise KeyError(f"{type(self).__name__}: key {outer!r} is not in the results "
                           f"(keys: {', '.join(map(repr, data))}); set allow_nonexist_keys=True to skip it")
        return data[outer]

    def map_input(self, data: Dict) -> Dict:
        """The dict the inner transforms see: the results plus the mapped inner keys."""
        inputs = dict(data)
        if self.mapping is not None:
            inputs.update(self._gather(data, self.mapping))
        return inputs

    def _scatter(self, value: Any, outer: Any, owner_key: Any) -> Dict:
        if isinstance(outer, Mapping):
            check(isinstance(value, Mapping), self,
                  f"remapping expects a dict under {owner_key!r}, got {type(value).__name__}")
            out = {}
            for inner, o in outer.items():
                if inner in value:
                    out.update(self._scatter(value[inner], o, inner))
            return out
        if isinstance(outer, (list, tuple)):
            check(isinstance(value, (list, tuple)) and len(value) == len(outer), self,
                  f"remapping {owner_key!r} to {len(outer)} keys needs a list of {len(outer)} values, got "
                  f"{type(value).__name__} of length {len(value) if hasattr(value, '__len__') else '?'}")
            out = {}
            for o, v in zip(outer, value):
                out.update(self._scatter(v, o, owner_key))
            return out
        if outer is ... or value is IGNORED:
            return {}
        return {outer: value}

    def map_output(self, outputs: Dict) -> Dict:
        """What is written back to the results."""
        if self.remapping is None:
            return {k: v for k, v in outputs.items() if v is not IGNORED}
        mapped: Dict = {}
        for inner, outer in self.remapping.items():
            if inner in outputs:
                mapped.update(self._scatter(outputs[inner], outer, inner))
        return mapped

    def _apply_transforms(self, inputs: Dict) -> Dict:
        visible = {k: v for k, v in inputs.items() if v is not IGNORED}
        outputs = self.transforms(visible)
        if outputs is None:
            raise ValueError(f"the transforms inside {type(self).__name__} dropped the sample (returned None); "
                             f"wrappers that remap keys cannot drop samples")
        merged = dict(inputs)
        merged.update(outputs)
        return merged

    def transform(self, results: Dict) -> Dict:
        outputs = self._apply_transforms(self.map_input(results))
        results.update(self.map_output(outputs))
        return results


@TRANSFORMS.register_module()
class TransformBroadcaster(KeyMapper):
    """Apply ``transforms`` to each of several items, as MMCV 2.x's TransformBroadcaster.

    ``mapping={'img': ['lq', 'gt']}`` runs the inner transforms twice, on
    ``results['lq']`` and on ``results['gt']`` each shown as ``'img'``, and writes
    the outputs back (with the default auto_remap). Without a mapping every key
    must be a list and is split item by item. A ``...`` in such a list hides the
    key from that run and keeps its output: ``'img_shape': ['img_shape', ...]``
    lets only the first run update ``img_shape``. With ``share_random_params``
    every run uses the same random draws (both images flipped, or neither).

    Required Keys: the list-valued (mapped) outer keys, one item per run
    Modified Keys: those keys, item by item, as the inner transforms modify them
    Added Keys: the remapped keys the inner transforms add
    """

    def __init__(self, transforms: Union[TransformLike, Sequence[TransformLike]],
                 mapping: Optional[Dict] = None, remapping: Optional[Dict] = None,
                 auto_remap: Optional[bool] = None, allow_nonexist_keys: bool = False,
                 share_random_params: bool = False):
        super().__init__(transforms, mapping, remapping, auto_remap, allow_nonexist_keys)
        self.share_random_params = share_random_params

    def scatter_sequence(self, data: Dict) -> List[Dict]:
        """Split the broadcast keys into one input dict per run."""
        keys = list(self.mapping) if self.mapping else list(data)
        length, first = None, None
        for key in keys:
            value = data[key]
            check(isinstance(value, (list, tuple)), self,
                  f"{key!r} must hold a list (one item per run), got {type(value).__name__}")
            if length is None:
                length, first = len(value), key
            check(len(value) == length, self,
                  f"the broadcast lists differ in length: {first!r} has {length}, {key!r} has {len(value)}")
        check(bool(length), self, "there is nothing to broadcast over (no key holds a non-empty list)")
        scatters = []
        for i in range(length):
            item = dict(data)
            for key in keys:
                item[key] = data[key][i]
            scatters.append(item)
        return scatters

    def transform(self, results: Dict) -> Dict:
        scatters = self.scatter_sequence(self.map_input(results))
        if self.share_random_params:
            with cache_random_params(self.transforms):
                outputs = [self._apply_transforms(item) for item in scatters]
        else:
            outputs = [self._apply_transforms(item) for item in scatters]
        collated = {key: [out[key] for out in outputs] for key in outputs[0]}
        results.update(self.map_output(collated))
        return results
