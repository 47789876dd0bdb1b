"""NumClassCheckHook: MMDetection's name for the dataset-vs-head class check.

The Runner already runs :meth:`BaseDetDataset.check_model` once per built loop;
this hook lets configs that list it (MMDetection users add it to
``custom_hooks``) keep it, and checks again at each train/val epoch start.
"""

from loomcv.hooks import Hook
from loomcv.model.wrappers import unwrap_model
from loomcv.runner.build import check_against_model

from ...registry import HOOKS


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Stops the run when a head's ``num_classes`` differs from the dataset's classes."""

    def _check(self, runner, dataloader) -> None:
        check_against_model(dataloader.dataset, unwrap_model(runner.model))

    def before_train_epoch(self, runner) -> None:
        self._check(runner, runner.train_dataloader)

    def before_val_epoch(self, runner) -> None:
        self._check(runner, runner.val_dataloader)
