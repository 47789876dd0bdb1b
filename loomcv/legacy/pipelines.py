"""Translate an MMCV 1.x pipeline to the native one.

The 1.x formatting steps (``ImageToTensor``, ``Collect`` ...) become
``PackInputs``; ``Normalize`` leaves the pipeline for the data preprocessor,
which sees the loaded BGR image, so any channel swap on the way (a
``to_rgb=True`` step) is folded into the steps after it. Sizes change from
1.x's (h, w) to the native (w, h). No torch: loading a config imports this.
"""

from typing import Any, Dict, List, Optional

from loomcv.errors import ConfigError


def legacy_error(key: str, why: str) -> ConfigError:
    return ConfigError(f"legacy config key {key}: {why}")


_fail = legacy_error


def _swap(size: Any) -> Any:
    """0.x sizes are (h, w); native scales are (w, h)."""
    return (size[1], size[0]) if isinstance(size, (list, tuple)) else size


class _Channels:
    """The channel order of the image as a 1.x pipeline runs: steps with ``to_rgb=True`` swap it.

    The native pipeline keeps the loaded BGR image and the data preprocessor
    normalizes (``to_rgb`` says whether it swaps first), so each swap is folded
    into the steps that follow it.
    """

    def __init__(self):
        self.rgb = False
        self.normalized = False


def _lighting(step: Dict[str, Any], channels: _Channels) -> Dict[str, Any]:
    """``Lighting`` on the BGR image: a 1.x step that saw RGB (its own ``to_rgb``, or an earlier
    swap) gets its eigenvector rows (one per channel) reversed, which adds the same noise."""
    sees_rgb = channels.rgb != bool(step.pop("to_rgb", False))
    channels.rgb = sees_rgb
    if sees_rgb and "eigvec" in step:
        step["eigvec"] = [list(row) for row in reversed(step["eigvec"])]
    step["to_rgb"] = False
    return step


def _transform(step: Dict[str, Any], key: str, norm: List[Dict[str, Any]],
               channels: Optional[_Channels] = None) -> Optional[Dict[str, Any]]:
    step = dict(step)
    kind = step.get("type")
    channels = channels if channels is not None else _Channels()
    if kind == "Normalize":
        channels.rgb = channels.rgb != bool(step.get("to_rgb", True))  # 1.x Normalize swaps by default
        channels.normalized = True
        found = {k: step[k] for k in ("mean", "std") if k in step}
        found["to_rgb"] = channels.rgb  # the order the mean/std are given in
        norm.append(found)
        return None
    if kind == "Lighting":
        if channels.normalized:
            raise _fail(key, "Lighting after Normalize has no native equivalent (the data preprocessor "
                             "normalizes after the whole pipeline)")
        return _lighting(step, channels)
    if kind in ("ImageToTensor", "ToTensor", "ToNumpy", "Transpose", "ToPIL"):
        return None  # PackInputs makes the tensors
    if kind == "Collect":
        keys = [k for k in step.get("keys", ()) if k not in ("img", "gt_label")]
        packed: Dict[str, Any] = {"type": "PackInputs"}
        if keys:
            packed["algorithm_keys"] = keys
        if "meta_keys" in step:
            packed["meta_keys"] = tuple(step["meta_keys"])
        return packed
    if kind == "RandomResizedCrop":
        if step.pop("efficientnet_style", False):
            raise _fail(key, "RandomResizedCrop(efficientnet_style=True) has no native equivalent yet")
        renamed = {"size": "scale", "scale": "crop_ratio_range", "ratio": "aspect_ratio_range"}
        return {renamed.get(k, k): (_swap(v) if k == "size" else v) for k, v in step.items()}
    if kind == "Resize":
        step.pop("type")
        size = step.pop("size")
        side = step.pop("adaptive_side", "short")
        if isinstance(size, (list, tuple)) and size[1] == -1:
            return {"type": "ResizeEdge", "scale": size[0], "edge": side, **step}
        scale = (size, size) if isinstance(size, int) else _swap(size)
        return {"type": "Resize", "scale": scale, **step}
    if kind == "CenterCrop":
        if step.pop("efficientnet_style", False):
            raise _fail(key, "CenterCrop(efficientnet_style=True) has no native equivalent yet")
        step["crop_size"] = _swap(step["crop_size"])
        return step
    if kind == "RandomCrop":
        step["crop_size"] = _swap(step.pop("size"))
        return step
    if kind == "RandomFlip":
        if "flip_prob" in step:
            step["prob"] = step.pop("flip_prob")
        return step
    return step


def translate_pipeline(pipeline: List[Dict[str, Any]], key: str, norm: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    channels = _Channels()
    out = [t for t in (_transform(s, key, norm, channels) for s in pipeline) if t is not None]
    if channels.rgb and not channels.normalized:
        raise _fail(key, "the pipeline ends with an RGB image but has no Normalize; add "
                         "Normalize(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False) to say so")
    if not any(t.get("type") == "PackInputs" for t in out):
        out.append({"type": "PackInputs"})
    return out


__all__ = ["legacy_error", "translate_pipeline"]
