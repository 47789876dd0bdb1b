"""AutoAugment, RandAugment and their operations (MMPretrain 1.x names and arguments).

Each operation applies with probability ``prob``. Its strength is given
directly (``magnitude``, ``angle``, ``thr``, ``bits``, ``shape``, ``radius``) or
drawn from ``magnitude_range`` at ``magnitude_level / total_level`` of the way
(blurred by ``magnitude_std``; ``'inf'`` draws uniformly up to the level).
Signed operations flip their sign with probability ``random_negative_prob``.
"""

import copy
import inspect
import math
import numbers
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from loomcv.errors import ConfigError, did_you_mean
from loomcv.image import (adjust_brightness, adjust_color, adjust_contrast, adjust_sharpness, auto_contrast,
                          cutout, equalize, iminvert, imrotate, imshear, imtranslate, posterize,
                          solarize)
from loomcls.registry import TRANSFORMS
from loomcv.validation import check, check_choice, check_prob

from loomcv.transforms.base import BaseTransform, cache_randomness
from loomcv.transforms.wrappers import Compose

PadVal = Union[int, Sequence[int]]


class BaseAugTransform(BaseTransform):
    """Shared probability and magnitude logic of the augmentation operations.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    #: name of the argument that gives the strength directly (None: no strength)
    direct: Optional[str] = None
    #: whether the strength's sign is flipped with ``random_negative_prob``
    signed = False

    def __init__(self, magnitude_level: float = 10, magnitude_range: Optional[Tuple[float, float]] = None,
                 magnitude_std: Union[float, str] = 0., total_level: float = 10, prob: float = 0.5,
                 random_negative_prob: float = 0.5):
        name = type(self).__name__
        check_prob(name, "prob", prob)
        check_prob(name, "random_negative_prob", random_negative_prob)
        check(total_level > 0, name, f"total_level must be > 0, got {total_level}")
        # a level above total_level extrapolates past the range's end, as MMPretrain (ResNeSt uses 12 of 10)
        check(magnitude_level >= 0, name, f"magnitude_level must be >= 0, got {magnitude_level}")
        check(magnitude_std == "inf" or (isinstance(magnitude_std, numbers.Number) and magnitude_std >= 0), name,
              f"magnitude_std must be a number >= 0 or 'inf', got {magnitude_std!r}")
        if magnitude_range is not None:
            check(isinstance(magnitude_range, (tuple, list)) and len(magnitude_range) == 2, name,
                  f"magnitude_range must be a (start, end) pair, got {magnitude_range!r}")
            magnitude_range = tuple(magnitude_range)
        if self.direct is not None:
            given = getattr(self, self.direct) is not None
            check(given != (magnitude_range is not None), name,
                  f"give exactly one of `{self.direct}` and `magnitude_range`")
        self.magnitude_level = magnitude_level
        self.magnitude_range = magnitude_range
        self.magnitude_std = magnitude_std
        self.total_level = total_level
        self.prob = prob
        self.random_negative_prob = random_negative_prob

    @cache_randomness
    def random_disable(self) -> bool:
        return np.random.rand() > self.prob

    @cache_randomness
    def random_magnitude(self) -> float:
        level = self.magnitude_level
        if self.magnitude_std == "inf":
            level = np.random.uniform(0, level)
        elif self.magnitude_std > 0:
            level = float(np.clip(np.random.normal(level, self.magnitude_std), 0, self.total_level))
        start, end = self.magnitude_range
        return level / self.total_level * (end - start) + start

    @cache_randomness
    def random_negative(self, value: float) -> float:
        return -value if np.random.rand() < self.random_negative_prob else value

    def strength(self) -> Optional[float]:
        if self.direct is None:
            return None
        value = getattr(self, self.direct)
        value = self.random_magnitude() if value is None else value
        return self.random_negative(value) if self.signed else value

    def apply(self, img: np.ndarray, strength: Optional[float]) -> np.ndarray:
        raise NotImplementedError

    def transform(self, results: Dict) -> Dict:
        if self.random_disable():
            return results
        results["img"] = self.apply(results["img"], self.strength())
        return results

    def __repr__(self) -> str:
        text = super().__repr__()[:-1]
        extra = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("prob", "magnitude_range", "magnitude_level",
                                                                  "magnitude_std", "total_level")
                          if k not in text.split("(", 1)[1])
        return f"{text}, {extra})" if not text.endswith("(") else f"{text}{extra})"


def _pad_val(owner: str, pad_val: PadVal) -> PadVal:
    ok = isinstance(pad_val, numbers.Number) or (isinstance(pad_val, (tuple, list)) and len(pad_val) in (1, 3))
    check(ok, owner, f"pad_val must be a number or 3 numbers, got {pad_val!r}")
    return tuple(pad_val) if isinstance(pad_val, (tuple, list)) else pad_val


def _interp(owner: str, interpolation: str) -> str:
    check_choice(owner, "interpolation", interpolation, ("nearest", "bilinear", "bicubic", "area", "lanczos"))
    return interpolation


@TRANSFORMS.register_module()
class Shear(BaseAugTransform):
    """Shear by ``magnitude`` (e.g. 0.3) horizontally or vertically.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    direct, signed = "magnitude", True

    def __init__(self, magnitude: Optional[float] = None, pad_val: PadVal = 128, prob: float = 0.5,
                 direction: str = "horizontal", random_negative_prob: float = 0.5,
                 interpolation: str = "bicubic", **kwargs):
        self.magnitude = magnitude
        check_choice(self, "direction", direction, ("horizontal", "vertical"))
        self.pad_val = _pad_val("Shear", pad_val)
        self.direction = direction
        self.interpolation = _interp("Shear", interpolation)
        super().__init__(prob=prob, random_negative_prob=random_negative_prob, **kwargs)

    def apply(self, img, strength):
        return imshear(img, strength, self.direction, self.pad_val, self.interpolation)


@TRANSFORMS.register_module()
class Translate(BaseAugTransform):
    """Shift by ``magnitude`` of the width (horizontal) or height (vertical).

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    direct, signed = "magnitude", True

    def __init__(self, magnitude: Optional[float] = None, pad_val: PadVal = 128, prob: float = 0.5,
                 direction: str = "horizontal", random_negative_prob: float = 0.5,
                 interpolation: str = "nearest", **kwargs):
        self.magnitude = magnitude
        check_choice(self, "direction", direction, ("horizontal", "vertical"))
        self.pad_val = _pad_val("Translate", pad_val)
        self.direction = direction
        self.interpolation = _interp("Translate", interpolation)
        super().__init__(prob=prob, random_negative_prob=random_negative_prob, **kwargs)

    def apply(self, img, strength):
        size = img.shape[1] if self.direction == "horizontal" else img.shape[0]
        return imtranslate(img, strength * size, self.direction, self.pad_val, self.interpolation)


@TRANSFORMS.register_module()
class Rotate(BaseAugTransform):
    """Rotate clockwise by ``angle`` degrees about ``center`` (the image centre by default).

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    direct, signed = "angle", True

    def __init__(self, angle: Optional[float] = None, center: Optional[Tuple[float, float]] = None,
                 scale: float = 1.0, pad_val: PadVal = 128, prob: float = 0.5, random_negative_prob: float = 0.5,
                 interpolation: str = "nearest", **kwargs):
        self.angle = angle
        check(scale > 0, "Rotate", f"scale must be > 0, got {scale}")
        self.center = center
        self.scale = scale
        self.pad_val = _pad_val("Rotate", pad_val)
        self.interpolation = _interp("Rotate", interpolation)
        super().__init__(prob=prob, random_negative_prob=random_negative_prob, **kwargs)

    def apply(self, img, strength):
        return imrotate(img, strength, self.center, self.scale, self.pad_val, self.interpolation)


@TRANSFORMS.register_module()
class AutoContrast(BaseAugTransform):
    """Stretch each channel's values to the full 0-255 range.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, prob: float = 0.5, **kwargs):
        super().__init__(prob=prob, **kwargs)

    def apply(self, img, strength):
        return auto_contrast(img)


@TRANSFORMS.register_module()
class Invert(BaseAugTransform):
    """255 - img.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, prob: float = 0.5, **kwargs):
        super().__init__(prob=prob, **kwargs)

    def apply(self, img, strength):
        return iminvert(img)


@TRANSFORMS.register_module()
class Equalize(BaseAugTransform):
    """Histogram equalization per channel.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, prob: float = 0.5, **kwargs):
        super().__init__(prob=prob, **kwargs)

    def apply(self, img, strength):
        return equalize(img)


@TRANSFORMS.register_module()
class Solarize(BaseAugTransform):
    """Invert the values at or above ``thr``.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    direct = "thr"

    def __init__(self, thr: Optional[float] = None, prob: float = 0.5, **kwargs):
        self.thr = thr
        super().__init__(prob=prob, **kwargs)

    def apply(self, img, strength):
        return solarize(img, strength)


@TRANSFORMS.register_module()
class SolarizeAdd(BaseAugTransform):
    """Add ``magnitude`` to the values below ``thr`` (clipped at 255).

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    direct = "magnitude"

    def __init__(self, magnitude: Optional[float] = None, thr: float = 128, prob: float = 0.5, **kwargs):
        self.magnitude = magnitude
        self.thr = thr
        super().__init__(prob=prob, **kwargs)

    def apply(self, img, strength):
        added = np.minimum(img.astype(np.int32) + int(round(strength)), 255).astype(img.dtype)
        return np.where(img < self.thr, added, img)


@TRANSFORMS.register_module()
class Posterize(BaseAugTransform):
    """Keep the top ``bits`` bits of each value (a drawn magnitude is rounded up).

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    direct = "bits"

    def __init__(self, bits: Optional[int] = None, prob: float = 0.5, **kwargs):
        check(bits is None or (isinstance(bits, numbers.Number) and 0 <= bits <= 8), "Posterize",
              f"bits must be in [0, 8], got {bits!r}")
        self.bits = bits
        super().__init__(prob=prob, **kwargs)

    def apply(self, img, strength):
        return posterize(img, int(math.ceil(strength)))


class _Enhance(BaseAugTransform):
    """Blend-style operations: factor = 1 + magnitude."""

    direct, signed = "magnitude", True
    op = None

    def __init__(self, magnitude: Optional[float] = None, prob: float = 0.5, random_negative_prob: float = 0.5,
                 **kwargs):
        self.magnitude = magnitude
        super().__init__(prob=prob, random_negative_prob=random_negative_prob, **kwargs)

    def apply(self, img, strength):
        return type(self).op(img, 1 + strength)


@TRANSFORMS.register_module()
class Contrast(_Enhance):
    """Contrast factor 1 + magnitude.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    op = staticmethod(adjust_contrast)


@TRANSFORMS.register_module()
class ColorTransform(_Enhance):
    """Saturation factor 1 + magnitude.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    op = staticmethod(lambda img, factor: adjust_color(img, alpha=factor))


@TRANSFORMS.register_module()
class Brightness(_Enhance):
    """Brightness factor 1 + magnitude.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    op = staticmethod(adjust_brightness)


@TRANSFORMS.register_module()
class Sharpness(_Enhance):
    """Sharpness factor 1 + magnitude.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    op = staticmethod(adjust_sharpness)


@TRANSFORMS.register_module()
class Cutout(BaseAugTransform):
    """Fill a random ``shape`` (int or (h, w)) rectangle with ``pad_val``.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    direct = "shape"

    def __init__(self, shape: Optional[Union[int, Tuple[int, int]]] = None, pad_val: PadVal = 128,
                 prob: float = 0.5, **kwargs):
        self.shape = shape
        self.pad_val = _pad_val("Cutout", pad_val)
        super().__init__(prob=prob, **kwargs)

    def apply(self, img, strength):
        shape = strength if isinstance(strength, (tuple, list)) else int(round(strength))
        pad = self.pad_val if not isinstance(self.pad_val, tuple) or img.ndim == 3 else self.pad_val[0]
        return cutout(img, shape, pad)


@TRANSFORMS.register_module()
class GaussianBlur(BaseAugTransform):
    """Gaussian blur of standard deviation ``radius`` pixels.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    direct = "radius"

    def __init__(self, radius: Optional[float] = None, prob: float = 0.5, **kwargs):
        check(radius is None or radius > 0, "GaussianBlur", f"radius must be > 0, got {radius!r}")
        self.radius = radius
        super().__init__(prob=prob, **kwargs)

    def apply(self, img, strength):
        return cv2.GaussianBlur(img, (0, 0), sigmaX=max(float(strength), 1e-3))


# --------------------------------------------------------------------------- policies
#: the ImageNet policy of AutoAugment (Cubuk et al., 2019), 25 sub-policies of two operations
AUTOAUG_POLICIES = {
    "imagenet": [
        [dict(type="Posterize", bits=4, prob=0.4), dict(type="Rotate", angle=30., prob=0.6)],
        [dict(type="Solarize", thr=256 / 9 * 4, prob=0.6), dict(type="AutoContrast", prob=0.6)],
        [dict(type="Equalize", prob=0.8), dict(type="Equalize", prob=0.6)],
        [dict(type="Posterize", bits=5, prob=0.6), dict(type="Posterize", bits=5, prob=0.6)],
        [dict(type="Equalize", prob=0.4), dict(type="Solarize", thr=256 / 9 * 5, prob=0.2)],
        [dict(type="Equalize", prob=0.4), dict(type="Rotate", angle=30 / 9 * 8, prob=0.8)],
        [dict(type="Solarize", thr=256 / 9 * 6, prob=0.6), dict(type="Equalize", prob=0.6)],
        [dict(type="Posterize", bits=6, prob=0.8), dict(type="Equalize", prob=1.)],
        [dict(type="Rotate", angle=10., prob=0.2), dict(type="Solarize", thr=256 / 9, prob=0.6)],
        [dict(type="Equalize", prob=0.6), dict(type="Posterize", bits=5, prob=0.4)],
        [dict(type="Rotate", angle=30 / 9 * 8, prob=0.8), dict(type="ColorTransform", magnitude=0., prob=0.4)],
        [dict(type="Rotate", angle=30., prob=0.4), dict(type="Equalize", prob=0.6)],
        [dict(type="Equalize", prob=0.0), dict(type="Equalize", prob=0.8)],
        [dict(type="Invert", prob=0.6), dict(type="Equalize", prob=1.)],
        [dict(type="ColorTransform", magnitude=0.4, prob=0.6), dict(type="Contrast", magnitude=0.8, prob=1.)],
        [dict(type="Rotate", angle=30 / 9 * 8, prob=0.8), dict(type="ColorTransform", magnitude=0.2, prob=1.)],
        [dict(type="ColorTransform", magnitude=0.8, prob=0.8), dict(type="Solarize", thr=256 / 9 * 2, prob=0.8)],
        [dict(type="Sharpness", magnitude=0.7, prob=0.4), dict(type="Invert", prob=0.6)],
        [dict(type="Shear", magnitude=0.3 / 9 * 5, prob=0.6, direction="horizontal"),
         dict(type="Equalize", prob=1.)],
        [dict(type="ColorTransform", magnitude=0., prob=0.4), dict(type="Equalize", prob=0.6)],
        [dict(type="Equalize", prob=0.4), dict(type="Solarize", thr=256 / 9 * 5, prob=0.2)],
        [dict(type="Solarize", thr=256 / 9 * 4, prob=0.6), dict(type="AutoContrast", prob=0.6)],
        [dict(type="Invert", prob=0.6), dict(type="Equalize", prob=1.)],
        [dict(type="ColorTransform", magnitude=0.4, prob=0.6), dict(type="Contrast", magnitude=0.8, prob=1.)],
        [dict(type="Equalize", prob=0.8), dict(type="Equalize", prob=0.6)],
    ],
}

#: timm's "increasing" RandAugment operation set: a higher level is always a stronger change
RANDAUG_POLICIES = {
    "timm_increasing": [
        dict(type="AutoContrast"),
        dict(type="Equalize"),
        dict(type="Invert"),
        dict(type="Rotate", magnitude_range=(0, 30)),
        dict(type="Posterize", magnitude_range=(4, 0)),
        dict(type="Solarize", magnitude_range=(256, 0)),
        dict(type="SolarizeAdd", magnitude_range=(0, 110)),
        dict(type="ColorTransform", magnitude_range=(0, 0.9)),
        dict(type="Contrast", magnitude_range=(0, 0.9)),
        dict(type="Brightness", magnitude_range=(0, 0.9)),
        dict(type="Sharpness", magnitude_range=(0, 0.9)),
        dict(type="Shear", magnitude_range=(0, 0.3), direction="horizontal"),
        dict(type="Shear", magnitude_range=(0, 0.3), direction="vertical"),
        dict(type="Translate", magnitude_range=(0, 0.45), direction="horizontal"),
        dict(type="Translate", magnitude_range=(0, 0.45), direction="vertical"),
    ],
}


def _named_policy(owner: str, policies, table: Dict) -> list:
    if isinstance(policies, str):
        if policies not in table:
            raise ConfigError(f"{owner}: unknown policies {policies!r}; choose from "
                              f"{', '.join(map(repr, table))}.{did_you_mean(policies, table)}")
        return copy.deepcopy(table[policies])
    return copy.deepcopy(list(policies))


def _accepts(cfg: dict, key: str) -> bool:
    cls = TRANSFORMS.get(cfg["type"]) if isinstance(cfg.get("type"), str) else cfg.get("type")
    if cls is None:
        return False
    params = inspect.signature(cls.__init__).parameters
    return key in params or (issubclass(cls, BaseAugTransform) and key in inspect.signature(
        BaseAugTransform.__init__).parameters)


def _with_hparams(cfg: dict, hparams: dict) -> dict:
    """Fill ``hparams`` (e.g. pad_val, interpolation) into an operation that takes them."""
    cfg = dict(cfg)
    for key, value in hparams.items():
        if key not in cfg and _accepts(cfg, key):
            cfg[key] = value
    return cfg


@TRANSFORMS.register_module()
class AutoAugment(BaseTransform):
    """Apply one randomly chosen sub-policy (a list of operations) per image.

    ``policies`` is a name (``'imagenet'``) or a list of sub-policies.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, policies: Union[str, List[List[dict]]], hparams: dict = dict(pad_val=128)):
        policies = _named_policy("AutoAugment", policies, AUTOAUG_POLICIES)
        check(len(policies) > 0 and all(isinstance(p, (list, tuple)) and p for p in policies), "AutoAugment",
              "policies must be a non-empty list of non-empty lists of operation dicts")
        self.policies = policies
        self.hparams = hparams
        # built from loomcls' registry, so the operations are found whatever the default scope
        self.sub_policies = [Compose([TRANSFORMS.build(_with_hparams(op, hparams)) for op in p]) for p in policies]

    @cache_randomness
    def random_policy_index(self) -> int:
        return int(np.random.randint(len(self.sub_policies)))

    def transform(self, results: Dict) -> Dict:
        return self.sub_policies[self.random_policy_index()](results)

    def __repr__(self) -> str:
        return f"AutoAugment(policies=<{len(self.policies)} sub-policies>, hparams={self.hparams!r})"


@TRANSFORMS.register_module()
class RandAugment(BaseTransform):
    """Apply ``num_policies`` operations drawn (with replacement) from ``policies``, all at
    ``magnitude_level`` of ``total_level`` (blurred by ``magnitude_std``).

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, policies: Union[str, List[dict]], num_policies: int, magnitude_level: float,
                 magnitude_std: Union[float, str] = 0., total_level: float = 10,
                 hparams: dict = dict(pad_val=128)):
        policies = _named_policy("RandAugment", policies, RANDAUG_POLICIES)
        check(isinstance(num_policies, int) and num_policies > 0, "RandAugment",
              f"num_policies must be a positive int, got {num_policies!r}")
        check(total_level > 0 and magnitude_level >= 0, "RandAugment",
              f"need magnitude_level >= 0 and total_level > 0, got {magnitude_level} and {total_level}")
        check(magnitude_std == "inf" or (isinstance(magnitude_std, numbers.Number) and magnitude_std >= 0),
              "RandAugment", f"magnitude_std must be a number >= 0 or 'inf', got {magnitude_std!r}")
        for p in policies:
            check(isinstance(p, dict) and "type" in p, "RandAugment", f"each policy must be a dict with a type: {p!r}")
            direct = getattr(TRANSFORMS.get(p["type"]) or BaseAugTransform, "direct", None)
            check(direct is None or "magnitude_range" in p or direct in p, "RandAugment",
                  f"policy {p['type']} needs a magnitude_range")
        self.policies = policies
        self.num_policies = num_policies
        self.magnitude_level = magnitude_level
        self.magnitude_std = magnitude_std
        self.total_level = total_level
        self.hparams = hparams
        levels = dict(magnitude_level=magnitude_level, magnitude_std=magnitude_std, total_level=total_level)
        # ``magnitude_key`` (which argument the range feeds) is a 0.x leftover that MMPretrain still drops
        self.transforms = [TRANSFORMS.build(_with_hparams(
            {k: v for k, v in dict(levels, **p).items() if k != "magnitude_key"}, hparams)) for p in policies]

    @cache_randomness
    def random_policy_indices(self) -> np.ndarray:
        return np.random.choice(len(self.transforms), self.num_policies)

    def transform(self, results: Dict) -> Dict:
        for i in self.random_policy_indices():
            results = self.transforms[i](results)
        return results

    def __repr__(self) -> str:
        return (f"RandAugment(policies=<{len(self.policies)} operations>, num_policies={self.num_policies}, "
                f"magnitude_level={self.magnitude_level}, magnitude_std={self.magnitude_std!r}, "
                f"total_level={self.total_level}, hparams={self.hparams!r})")
