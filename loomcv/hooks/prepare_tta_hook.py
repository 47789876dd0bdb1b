"""PrepareTTAHook: wrap the model in the config's test-time-augmentation model before testing.

``loomcv test --tta`` (as MMEngine's and the OpenMMLab toolboxes' test scripts) wraps the
model in ``tta_model`` when the config is built; this hook does the same from inside a
run, for code that builds its Runner itself: ``custom_hooks=[dict(type='PrepareTTAHook',
tta_cfg=cfg.tta_model)]`` and the test pipeline set to ``tta_pipeline``.
"""

from typing import Mapping

from loomcv.registry import HOOKS, MODELS

from .hook import Hook


@HOOKS.register_module()
class PrepareTTAHook(Hook):
    """Args: ``tta_cfg``, the TTA model's config without ``module`` (e.g. ``dict(type='AverageClsScoreTTA')``)."""

    def __init__(self, tta_cfg: Mapping):
        if not isinstance(tta_cfg, Mapping) or "type" not in tta_cfg:
            raise TypeError(f"PrepareTTAHook: tta_cfg must be a config dict with a 'type', got {tta_cfg!r}")
        self.tta_cfg = dict(tta_cfg)

    def before_test(self, runner) -> None:
        from loomcv.model import is_model_wrapper
        holder = runner.model if is_model_wrapper(runner.model) else runner
        attr = "module" if holder is not runner else "model"
        inner = getattr(holder, attr)
        if getattr(inner, "_tta_wrapped", False):
            return  # already wrapped (a second test() call)
        wrapped = MODELS.build(dict(self.tta_cfg, module=inner))
        wrapped._tta_wrapped = True
        setattr(holder, attr, wrapped)
