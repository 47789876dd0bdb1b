from .confusion_matrix import ConfusionMatrix
from .multi_label import AveragePrecision, MultiLabelMetric
from .single_label import Accuracy, SingleLabelMetric

__all__ = ["Accuracy", "SingleLabelMetric", "ConfusionMatrix", "MultiLabelMetric", "AveragePrecision"]
