"""A toy model, dataset and metric: the smallest parts a runner trains, for testing hooks, loops and metrics."""

import torch
from torch import nn
from torch.utils.data import Dataset

from loomcv.evaluator import BaseMetric
from loomcv.model import BaseModel


class ToyModel(BaseModel):
    """2 -> 2 -> 1 linear; ``mode='loss'`` returns ``(target - output).sum()``, as MMEngine's toy does."""

    def __init__(self, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.linear1 = nn.Linear(2, 2)
        self.linear2 = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode: str = "tensor"):
        if isinstance(inputs, list):
            inputs = torch.stack(inputs)
        outputs = self.linear2(self.linear1(inputs))
        if mode == "tensor" or mode == "predict":
            return outputs
        if mode == "loss":
            if isinstance(data_samples, list):
                data_samples = torch.stack(data_samples)
            return dict(loss=(data_samples - outputs).sum())
        raise ValueError(f"ToyModel: mode must be 'tensor', 'loss' or 'predict', got {mode!r}")


class ToyDataset(Dataset):
    """12 random 2-d points (fixed seed) with label 1."""

    METAINFO: dict = dict()
    data = torch.randn(12, 2, generator=torch.Generator().manual_seed(0))
    label = torch.ones(12)

    @property
    def metainfo(self) -> dict:
        return self.METAINFO

    def __len__(self) -> int:
        return self.data.size(0)

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=self.data[index], data_samples=self.label[index])


class ToyMetric(BaseMetric):
    """Always ``acc=1``: for checking that evaluation runs and is logged."""

    def __init__(self, collect_device: str = "cpu", dummy_metrics=None):
        super().__init__(collect_device=collect_device)
        self.dummy_metrics = dummy_metrics

    def process(self, data_batch, predictions) -> None:
        self.results.append(dict(acc=1))

    def compute_metrics(self, results) -> dict:
        return dict(acc=1)
