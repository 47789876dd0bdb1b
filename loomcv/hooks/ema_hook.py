"""EMAHook: keep an exponential moving average of the weights; validate and save with it."""

from typing import Optional

from loomcv.registry import HOOKS, MODELS

from .hook import Hook


def _unwrap(model):
    from loomcv.model.wrappers import unwrap_model
    return unwrap_model(model)


@HOOKS.register_module()
class EMAHook(Hook):
    """Args:
        ema_type: an averaged-model type in MODELS (``ExponentialMovingAverage``,
            ``MomentumAnnealingEMA``); other keyword arguments go to it (momentum, interval, ...).
        strict_load: load the EMA state strictly on resume.
        begin_iter, begin_epoch: before these, the average just follows the model.

    Validation and test run with the averaged weights. Checkpoints hold the
    averaged weights under ``state_dict`` (so ``load_from`` gets them) and the
    whole averaged model under ``ema_state_dict``; resuming swaps them back.
    """

    priority = "NORMAL"

    def __init__(self, ema_type: str = "ExponentialMovingAverage", strict_load: bool = False,
                 begin_iter: int = 0, begin_epoch: int = 0, **kwargs):
        self.ema_cfg = dict(type=ema_type, **kwargs)
        self.strict_load = strict_load
        self.begin_iter = int(begin_iter)
        self.begin_epoch = int(begin_epoch)
        self.ema_model = None
        self.src_model = None

    def before_run(self, runner) -> None:
        self.src_model = _unwrap(runner.model)
        self.ema_model = MODELS.build(dict(self.ema_cfg, model=self.src_model))

    def before_train(self, runner) -> None:
        if self.begin_iter and self.begin_iter >= runner.max_iters:
            raise ValueError(f"EMAHook: begin_iter={self.begin_iter} is not before max_iters={runner.max_iters}")
        if self.begin_epoch and self.begin_epoch >= runner.max_epochs:
            raise ValueError(f"EMAHook: begin_epoch={self.begin_epoch} is not before "
                             f"max_epochs={runner.max_epochs}")

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 >= self.begin_iter and runner.epoch >= self.begin_epoch:
            self.ema_model.update_parameters(self.src_model)
        else:  # not started: the average is the model itself
            self.ema_model.module.load_state_dict(self.src_model.state_dict())

    def _swap_parameters(self) -> None:
        ema = self.ema_model.module.state_dict(keep_vars=True)
        for key, src in self.src_model.state_dict(keep_vars=True).items():
            avg = ema[key]
            if avg.is_floating_point() and (self.ema_model.update_buffers or key in dict(
                    self.src_model.named_parameters())):
                tmp = avg.data.clone()
                avg.data.copy_(src.data)
                src.data.copy_(tmp)

    def before_val_epoch(self, runner) -> None:
        self._swap_parameters()

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._swap_parameters()

    def before_test_epoch(self, runner) -> None:
        self._swap_parameters()

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._swap_parameters()

    def _swap_state_dict(self, checkpoint: dict) -> None:
        model_state = checkpoint["state_dict"]
        ema_state = checkpoint["ema_state_dict"]
        for key in ema_state:
            if key.startswith("module.") and key[7:] in model_state:
                name = key[7:]
                model_state[name], ema_state[key] = ema_state[key], model_state[name]

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint["ema_state_dict"] = {k: v.detach().cpu().clone()
                                        for k, v in self.ema_model.state_dict().items()}
        self._swap_state_dict(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.ema_model is None:
            return
        if "ema_state_dict" in checkpoint and getattr(runner, "_resuming", False):
            self._swap_state_dict(checkpoint)  # the model gets its own weights back
            self.ema_model.load_state_dict(checkpoint["ema_state_dict"], strict=self.strict_load)
        else:  # load_from: the weights in the file become the starting average
            from loomcv.checkpoint import get_state_dict_from, rename_keys
            state = rename_keys(get_state_dict_from(checkpoint))
            own = self.ema_model.module.state_dict()
            # like the model, skip keys of another shape (a fine-tuned head); the runner's load report names them
            state = {k: v for k, v in state.items() if k in own and getattr(v, "shape", None) == own[k].shape}
            self.ema_model.module.load_state_dict(state, strict=False)
