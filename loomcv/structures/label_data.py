"""LabelData: image-level labels or scores (classification, attributes).

It is a plain BaseDataElement whose fields usually are a ``label`` index tensor
or a ``score`` vector; ``num_classes`` goes in metainfo like any other meta
field. The two static methods convert between index and one-hot forms.
"""

import numbers

import torch

from .base_data_element import BaseDataElement


class LabelData(BaseDataElement):
    """Label-level annotations or predictions, with index <-> one-hot conversion."""

    @staticmethod
    def onehot_to_label(onehot: torch.Tensor) -> torch.Tensor:
        """The indices of the ones of a 1-D 0/1 tensor, as a long tensor on the same device."""
        if not isinstance(onehot, torch.Tensor):
            raise TypeError(f"LabelData.onehot_to_label: onehot must be a torch.Tensor, "
                            f"got {type(onehot).__name__}")
        if onehot.ndim != 1 or not bool(((onehot == 0) | (onehot == 1)).all()):
            raise ValueError(f"LabelData.onehot_to_label: input is not one-hot (a 1-D tensor of 0s and 1s), "
                             f"got shape {tuple(onehot.shape)}"
                             + (f" with values {onehot.unique().tolist()[:5]}" if onehot.ndim == 1 else ""))
        return onehot.nonzero().squeeze(-1)

    @staticmethod
    def label_to_onehot(label: torch.Tensor, num_classes: int) -> torch.Tensor:
        """A ``num_classes`` vector of ``label``'s dtype and device with ones at the label indices."""
        if not isinstance(label, torch.Tensor):
            raise TypeError(f"LabelData.label_to_onehot: label must be a torch.Tensor of class indices, "
                            f"got {type(label).__name__}")
        if label.dtype.is_floating_point or label.is_complex() or label.dtype == torch.bool:
            raise TypeError(f"LabelData.label_to_onehot: label must hold integer class indices, got {label.dtype}")
        if label.ndim > 1:
            raise ValueError(f"LabelData.label_to_onehot: label must be 0-D or 1-D, got shape {tuple(label.shape)}")
        if not isinstance(num_classes, numbers.Integral) or isinstance(num_classes, bool) or num_classes <= 0:
            raise ValueError(f"LabelData.label_to_onehot: num_classes must be a positive int, got {num_classes!r}")
        label = label.reshape(-1)
        if label.numel() and (int(label.max()) >= num_classes or int(label.min()) < 0):
            bad = int(label.max()) if int(label.max()) >= num_classes else int(label.min())
            raise ValueError(f"LabelData.label_to_onehot: label {bad} is out of range for "
                             f"num_classes={num_classes} (valid: 0..{num_classes - 1})")
        onehot = label.new_zeros((int(num_classes),))
        onehot[label.long()] = 1  # a uint8 index would be read as a mask
        return onehot
