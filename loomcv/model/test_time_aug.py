"""BaseTTAModel: run a model on every augmented view of a batch and merge the predictions.

A test-time-augmentation pipeline (``TestTimeAug``) turns each sample into a dict of
lists, one entry per view; collated, a batch holds for each key a list over the views
of lists over the samples. ``test_step`` splits it into one ordinary batch per view,
runs the wrapped model's ``test_step`` on each, and hands ``merge_preds`` the
predictions grouped per sample (``[[view0, view1, ...], ...]``). A subclass writes
``merge_preds`` (average the scores, run NMS over the boxes...). The config names it
``tta_model`` and the views ``tta_pipeline``; ``loomcv test --tta`` wraps the model
in it, as the OpenMMLab test scripts do.
"""

from typing import Any, List, Mapping, Union

import torch.nn as nn

from loomcv.registry import MODELS, build_or_accept

from .base_module import BaseModule


class BaseTTAModel(BaseModule):
    """Args: ``module``, the model (or its config) whose ``test_step`` runs on each view;
    ``data_preprocessor``, given to ``module``'s config when it is built here.

    Checkpoints of the plain model load into it (``load_from``, ``loomcv test CKPT --tta``):
    ``load_state_dict`` goes through to ``module``, as MMEngine's loader does.
    """

    loads_into_module = True

    def __init__(self, module: Union[Mapping, nn.Module], data_preprocessor: Union[None, Mapping, nn.Module] = None):
        super().__init__()
        if isinstance(module, Mapping) and data_preprocessor is not None:
            module = dict(module, data_preprocessor=data_preprocessor)
        self.module = build_or_accept(module, MODELS, nn.Module, "module", self)

    @property
    def data_preprocessor(self):
        return getattr(self.module, "data_preprocessor", None)

    def merge_preds(self, data_samples_list: List[List[Any]]) -> List[Any]:
        """One prediction per sample from ``data_samples_list[i]``, sample i's predictions per view."""
        raise NotImplementedError(f"{type(self).__name__} must implement merge_preds(data_samples_list)")

    def test_step(self, data: Union[dict, tuple, list]) -> List[Any]:
        views = split_views(data, type(self).__name__)
        predictions = [self.module.test_step(view) for view in views]
        return self.merge_preds([list(per_sample) for per_sample in zip(*predictions)])

    val_step = test_step

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} runs through test_step/val_step (one call per view); "
                                  "call the wrapped model, .module, for a plain forward")


def split_views(data: Union[dict, tuple, list], owner: str = "BaseTTAModel") -> List[Any]:
    """A TTA batch (each key: a list over views) as a list of ordinary batches, one per view."""
    if isinstance(data, Mapping):
        if not data:
            raise ValueError(f"{owner}.test_step: the batch is empty")
        lengths = {len(value) for value in data.values()}
        if len(lengths) != 1:
            raise ValueError(f"{owner}.test_step: every key must hold one entry per view; got lengths "
                             f"{ {k: len(v) for k, v in data.items()} } (is the test pipeline a TestTimeAug?)")
        return [{key: value[i] for key, value in data.items()} for i in range(lengths.pop())]
    if isinstance(data, (list, tuple)):
        return [[part[i] for part in data] for i in range(len(data[0]))]
    raise TypeError(f"{owner}.test_step takes a dict or a list/tuple batch, got {type(data).__name__}")
