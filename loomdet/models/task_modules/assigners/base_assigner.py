"""The interface every assigner implements."""

from abc import ABCMeta, abstractmethod


class BaseAssigner(metaclass=ABCMeta):
    """``assign(pred_instances, gt_instances, gt_instances_ignore=None) -> AssignResult``.

    The instances are ``InstanceData``-like objects: ``pred_instances.priors``
    ``(n, 4)``, ``gt_instances.bboxes`` ``(k, 4)`` and ``gt_instances.labels``
    ``(k,)``, ``gt_instances_ignore.bboxes``; any object with those
    attributes works.
    """

    @abstractmethod
    def assign(self, pred_instances, gt_instances, gt_instances_ignore=None, **kwargs):
        """Assign a ground truth (or background, or ignore) to every prior."""
