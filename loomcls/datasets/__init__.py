"""Classification datasets, registered in loomcls' DATASETS."""

from .base_dataset import BaseDataset
from .cifar import CIFAR10, CIFAR100
from .custom import CustomDataset
from .digits import Digits, load_digits
from .imagenet import ImageNet
from .mnist import MNIST, FashionMNIST
from .multi_label import MultiLabelDataset

__all__ = ["BaseDataset", "CustomDataset", "ImageNet", "CIFAR10", "CIFAR100", "MNIST", "FashionMNIST",
           "Digits", "load_digits", "MultiLabelDataset"]
