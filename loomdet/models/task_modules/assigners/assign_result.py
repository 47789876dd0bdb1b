"""What an assigner decided for each prior."""

from typing import Any, Dict, Optional

import torch
from torch import Tensor


class AssignResult:
    """The matching between n priors and k ground-truth boxes.

    Args:
        num_gts: k, the number of ground-truth boxes considered.
        gt_inds: ``(n,)`` 1-based index of the assigned ground truth per
            prior; 0 means background (negative), -1 means ignored.
        max_overlaps: ``(n,)`` IoU of each prior with its best ground truth.
        labels: ``(n,)`` class of the assigned ground truth, -1 where none.
    """

    def __init__(self, num_gts: int, gt_inds: Tensor, max_overlaps: Tensor, labels: Optional[Tensor]) -> None:
        self.num_gts = num_gts
        self.gt_inds = gt_inds
        self.max_overlaps = max_overlaps
        self.labels = labels
        self._extra_properties: Dict[str, Any] = {}

    @property
    def num_preds(self) -> int:
        """n, the number of priors assigned."""
        return len(self.gt_inds)

    def set_extra_property(self, key: str, value: Any) -> None:
        """Attach a user-defined property (assigners of other methods add their own)."""
        if key in self.info:
            raise KeyError(f"AssignResult: property {key!r} already exists")
        self._extra_properties[key] = value

    def get_extra_property(self, key: str) -> Any:
        """A property set with :meth:`set_extra_property`, or None."""
        return self._extra_properties.get(key, None)

    @property
    def info(self) -> Dict[str, Any]:
        """Everything this result holds, as a dict."""
        info = dict(num_gts=self.num_gts, num_preds=self.num_preds, gt_inds=self.gt_inds,
                    max_overlaps=self.max_overlaps, labels=self.labels)
        info.update(self._extra_properties)
        return info

    def add_gt_(self, gt_labels: Tensor) -> None:
        """Prepend the ground truths themselves as perfectly matched priors.

        Two-stage detectors add the ground-truth boxes to the proposals so the
        RoI head always sees some positives; this keeps the result aligned.
        """
        self_inds = torch.arange(1, len(gt_labels) + 1, dtype=torch.long, device=gt_labels.device)
        self.gt_inds = torch.cat([self_inds, self.gt_inds])
        self.max_overlaps = torch.cat([self.max_overlaps.new_ones(len(gt_labels)), self.max_overlaps])
        self.labels = torch.cat([gt_labels, self.labels])

    def __repr__(self) -> str:
        def shape(t):
            return repr(t) if t is None else f"shape={tuple(t.shape)}"

        return (f"<AssignResult(num_gts={self.num_gts!r}, gt_inds.{shape(self.gt_inds)}, "
                f"max_overlaps.{shape(self.max_overlaps)}, labels.{shape(self.labels)})>")
