"""Batched network inputs back to images one can look at."""

from typing import List, Optional, Sequence

import numpy as np

from .photometric import imdenormalize


def tensor2imgs(tensor, mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                to_rgb: bool = True) -> List[np.ndarray]:
    """An NxCxHxW tensor (C = 1 or 3) -> N HxWxC uint8 arrays: ``x * std + mean``, RGB -> BGR
    when ``to_rgb`` (the images were converted to RGB for the network), then truncated to uint8."""
    import torch
    if not (isinstance(tensor, torch.Tensor) and tensor.ndim == 4):
        raise TypeError(f"tensor2imgs: expects an NxCxHxW tensor, got "
                        f"{type(tensor).__name__}{tuple(getattr(tensor, 'shape', ()))}")
    channels = tensor.size(1)
    if channels not in (1, 3):
        raise ValueError(f"tensor2imgs: images must have 1 or 3 channels, got {channels}")
    mean = (0,) * channels if mean is None else tuple(mean)
    std = (1,) * channels if std is None else tuple(std)
    if not (len(mean) == len(std) == channels) or (channels == 1 and to_rgb):
        raise ValueError(f"tensor2imgs: mean and std need one value per channel ({channels}), got "
                         f"mean={mean}, std={std}; 1-channel images need to_rgb=False")
    mean_arr, std_arr = np.array(mean, np.float32), np.array(std, np.float32)
    images = []
    for img in tensor.detach().cpu().numpy():
        img = imdenormalize(img.transpose(1, 2, 0), mean_arr, std_arr, to_bgr=to_rgb).astype(np.uint8)
        images.append(np.ascontiguousarray(img))
    return images
