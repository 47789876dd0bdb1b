"""MMPretrain's EMAHook: loomcv's, plus the choice of which weights validation and test use.

Configs with ``default_scope='mmpretrain'`` (or ``'loomcls'``) that write
``dict(type='EMAHook', momentum=1e-4, evaluate_on_origin=True)`` get this one.
"""

import warnings
from typing import Optional

from loomcls.registry import HOOKS
from loomcv.hooks import EMAHook as BaseEMAHook


@HOOKS.register_module()
class EMAHook(BaseEMAHook):
    """Args as :class:`loomcv.hooks.EMAHook`, plus:
        evaluate_on_ema: validate and test with the averaged weights.
        evaluate_on_origin: (also) validate and test with the trained weights; with both,
            the trained weights' metrics are logged as ``val/<metric>_origin``
            (``test/<metric>_origin``) after the averaged ones.
    """

    def __init__(self, ema_type: str = "ExponentialMovingAverage", strict_load: bool = False,
                 begin_iter: int = 0, begin_epoch: int = 0, evaluate_on_ema: bool = True,
                 evaluate_on_origin: bool = False, **kwargs):
        super().__init__(ema_type=ema_type, strict_load=strict_load, begin_iter=begin_iter,
                         begin_epoch=begin_epoch, **kwargs)
        if not evaluate_on_ema and not evaluate_on_origin:
            warnings.warn("EMAHook: evaluate_on_ema=False and evaluate_on_origin=False; evaluating on the "
                          "trained weights (to skip validation, change train_cfg.val_interval)", UserWarning,
                          stacklevel=2)
            evaluate_on_origin = True
        self.evaluate_on_ema = bool(evaluate_on_ema)
        self.evaluate_on_origin = bool(evaluate_on_origin)

    def before_val_epoch(self, runner) -> None:
        if self.evaluate_on_ema:
            self._swap_parameters()

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if self.evaluate_on_ema:
            self._swap_parameters()
            if self.evaluate_on_origin:
                self._evaluate_origin(runner, runner.val_loop, "val")

    def before_test_epoch(self, runner) -> None:
        if self.evaluate_on_ema:
            self._swap_parameters()
        runner.logger.info(f"testing the {'averaged (EMA)' if self.evaluate_on_ema else 'trained'} weights")

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if self.evaluate_on_ema:
            self._swap_parameters()
            if self.evaluate_on_origin:
                self._evaluate_origin(runner, runner.test_loop, mode="test")

    @staticmethod
    def _evaluate_origin(runner, loop, mode: str) -> None:
        """Run the loop's sets again with the trained weights; log their metrics with ``_origin``."""
        runner.logger.info(f"{mode}: evaluating the trained (not averaged) weights too")
        runner.model.eval()
        for item in getattr(loop, "sets", None) or [None]:
            if item is not None:
                loop._use(item)
            for idx, data_batch in enumerate(loop.dataloader):
                loop.run_iter(idx, data_batch)
            for key, value in loop.evaluator.evaluate(len(loop.dataloader.dataset)).items():
                runner.message_hub.update_scalar(f"{mode}/{key}_origin", value)
        if getattr(loop, "sets", None):
            loop._use(loop.sets[0])
