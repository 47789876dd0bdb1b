"""The interface every box coder implements."""

from abc import ABCMeta, abstractmethod


class BaseBBoxCoder(metaclass=ABCMeta):
    """``encode(priors, gt_bboxes) -> targets`` and ``decode(priors, preds) -> boxes``.

    Args:
        use_box_type: MMDetection can wrap decoded boxes in ``HorizontalBoxes``;
            loomdet returns plain tensors, so only False is accepted.
    """

    #: Number of values ``encode`` produces per box.
    encode_size = 4

    def __init__(self, use_box_type: bool = False, **kwargs) -> None:
        if use_box_type:
            raise ValueError(f"{type(self).__name__}: use_box_type=True (box-list output) is not supported; "
                             "boxes are plain tensors")
        self.use_box_type = use_box_type

    @abstractmethod
    def encode(self, bboxes, gt_bboxes):
        """Regression targets that move ``bboxes`` onto ``gt_bboxes``."""

    @abstractmethod
    def decode(self, bboxes, bboxes_pred):
        """Boxes obtained by applying ``bboxes_pred`` to ``bboxes``."""
