"""OptimWrapper: one object for backward, accumulation, clipping, step and zero_grad.

``update_params(loss)`` is the whole per-iteration update. With
``accumulative_counts=n`` the loss is divided by n and the optimizer steps
every n calls; when the run's length is known (``initialize_count_status``)
the last, shorter window is divided by its real size instead. Nothing here
reads a tensor back to the host: the gradient norm is kept as a tensor in
``last_grad_norm`` and handed to the MessageHub, which stays lazy.

With sharded parameters (FSDP) gradients are DTensors: clipping reduces the
norm over all shards, and a strategy sets ``optimizer_state_io`` so that
``state_dict``/``load_state_dict`` gather or shard the optimizer state.
"""

import logging
from contextlib import contextmanager, nullcontext
from typing import Any, Dict, List, Mapping, Optional

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from loomcv.errors import ConfigError, did_you_mean
from loomcv.registry import OPTIM_WRAPPERS
from loomcv.validation import check_choice

_NO_CONTEXT = nullcontext()  # reusable: entering it does nothing
_NO_KWARGS: Dict[str, Any] = {}
_CLIP_KEYS = {"norm": ("max_norm", "norm_type", "error_if_nonfinite", "foreach"),
              "value": ("clip_value", "foreach")}


def _check_clip_cfg(clip_grad: Mapping) -> tuple:
    cfg = dict(clip_grad)
    kind = cfg.pop("type", "norm")
    check_choice("OptimWrapper", "clip_grad['type']", kind, _CLIP_KEYS)
    for key in cfg:
        if key not in _CLIP_KEYS[kind]:
            raise ConfigError(f"clip_grad (type {kind!r}) got unknown key {key!r}; valid keys: "
                              f"{', '.join(_CLIP_KEYS[kind])}.{did_you_mean(key, _CLIP_KEYS[kind])}")
    required = "max_norm" if kind == "norm" else "clip_value"
    if required not in cfg:
        raise ConfigError(f"clip_grad (type {kind!r}) needs {required!r}, got {dict(clip_grad)!r}")
    return kind, cfg


@OPTIM_WRAPPERS.register_module()
class OptimWrapper:
    """Wrap a ``torch.optim.Optimizer`` with gradient accumulation and clipping.

    Args:
        optimizer: the optimizer to drive.
        accumulative_counts: step once every this many ``update_params`` calls.
        clip_grad: ``dict(max_norm=.., norm_type=2)`` to clip the global norm,
            or ``dict(type='value', clip_value=..)`` to clamp each gradient.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, accumulative_counts: int = 1,
                 clip_grad: Optional[Mapping] = None):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{type(self).__name__} needs a torch.optim.Optimizer, got "
                            f"{type(optimizer).__name__}; build it first (build_optim_wrapper does)")
        if not isinstance(accumulative_counts, int) or accumulative_counts < 1:
            raise ValueError(f"accumulative_counts must be an int >= 1, got {accumulative_counts!r}")
        self.optimizer = optimizer
        self._accumulative_counts = accumulative_counts
        self._inner_count = 0
        self._max_counts = -1
        self._remainder_counts = -1
        self.clip_grad_kwargs: Dict[str, Any] = {}
        self._clip_kind = None
        if clip_grad:
            self._clip_kind, self.clip_grad_kwargs = _check_clip_cfg(clip_grad)
        self.last_grad_norm: Optional[torch.Tensor] = None
        cls = type(self)
        self._plain_update = (accumulative_counts == 1 and cls.scale_loss is OptimWrapper.scale_loss
                              and cls.should_update is OptimWrapper.should_update)
        #: set by a sharding strategy: an object whose ``get(optimizer)``/``set(optimizer, state)``
        #: replace ``optimizer.state_dict()``/``load_state_dict`` (see FSDPStrategy)
        self.optimizer_state_io = None

    # ------------------------------------------------------------- the update
    def update_params(self, loss: torch.Tensor, step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """backward(scaled loss); every ``accumulative_counts`` calls also step and zero_grad."""
        if self._plain_update:  # one step per call: no window bookkeeping to do
            self.backward(loss)
            self.step(**(step_kwargs or _NO_KWARGS))
            self.zero_grad(**(zero_kwargs or _NO_KWARGS))
            return
        self.backward(self.scale_loss(loss))
        if self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        n = self._accumulative_counts
        if n == 1:
            return loss
        if self._max_counts != -1 and self._remainder_counts and \
                self._inner_count >= self._max_counts - self._remainder_counts:
            n = self._remainder_counts
        return loss / n

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self._clip_kind is not None:
            self._clip_grad()
        self.optimizer.step(**kwargs)

    def zero_grad(self, **kwargs) -> None:
        self.optimizer.zero_grad(**kwargs)

    def _grads(self) -> List[torch.Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"]
                if p.grad is not None]

    def _clip_grad(self) -> None:
        params = self._grads()
        if not params:
            return
        if self._clip_kind == "value":
            nn.utils.clip_grad_value_(params, **self.clip_grad_kwargs)
            return
        norm = nn.utils.clip_grad_norm_(params, **self.clip_grad_kwargs).detach()
        if hasattr(norm, "full_tensor"):  # a DTensor over sharded gradients: one all-reduce, no host read
            norm = norm.full_tensor()
        self.last_grad_norm = norm
        try:
            from loomcv.logging import MessageHub
        except ImportError:  # pragma: no cover - logging is part of loomcv
            return
        MessageHub.get_current_instance().update_scalar("train/grad_norm", self.last_grad_norm)

    # ------------------------------------------------------- accumulation state
    def should_update(self) -> bool:
        """Whether this call ends an accumulation window (or the run)."""
        return (self._inner_count % self._accumulative_counts == 0
                or self._inner_count == self._max_counts)

    def should_sync(self) -> bool:
        """Whether the coming backward ends a window, so DDP must all-reduce."""
        nxt = self._inner_count + 1
        return nxt % self._accumulative_counts == 0 or nxt == self._max_counts

    def optim_context(self, model: nn.Module):
        """Forward + backward context: skips DDP's (or FSDP's) gradient sync inside an accumulation window."""
        if self._accumulative_counts == 1:
            return _NO_CONTEXT
        sync = self.should_sync()
        if hasattr(model, "set_requires_gradient_sync"):  # FSDP2
            model.set_requires_gradient_sync(sync)
        elif not sync and hasattr(model, "no_sync"):
            return model.no_sync()
        return _NO_CONTEXT

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """Tell the wrapper where training resumes and how long it is (for the last window)."""
        self._inner_count, self._max_counts = init_counts, max_counts
        if self._accumulative_counts == 1:
            return
        log = logging.getLogger("loomcv")
        if init_counts % self._accumulative_counts:
            log.warning("resuming at iteration %d, which is not a multiple of accumulative_counts=%d:"
                        " the first window is shorter", init_counts, self._accumulative_counts)
        if any(isinstance(m, _BatchNorm) for m in model.modules()):
            log.warning("gradient accumulation with BatchNorm: statistics follow the small batch, "
                        "so it is not exactly a larger batch")
        self._remainder_counts = max_counts % self._accumulative_counts

    @property
    def inner_count(self) -> int:
        return self._inner_count

    @inner_count.setter
    def inner_count(self, value: int) -> None:
        self._inner_count = value

    @property
    def max_counts(self) -> int:
        """The training length ``initialize_count_status`` was given (-1 before)."""
        return self._max_counts

    # -------------------------------------------------------------- accessors
    @property
    def param_groups(self) -> List[dict]:
        return self.optimizer.param_groups

    @property
    def defaults(self) -> dict:
        return self.optimizer.defaults

    def get_lr(self) -> Dict[str, List[float]]:
        return {"lr": [group["lr"] for group in self.optimizer.param_groups]}

    def get_momentum(self) -> Dict[str, List[float]]:
        """Momentum per group; Adam-style optimizers report ``betas[0]``."""
        values = []
        for group in self.param_groups:
            if "momentum" in group:
                values.append(group["momentum"])
            elif "betas" in group:
                values.append(group["betas"][0])
            else:
                values.append(0)
        return {"momentum": values}

    def _optimizer_state(self) -> dict:
        io = self.optimizer_state_io
        return self.optimizer.state_dict() if io is None else io.get(self.optimizer)

    def _load_optimizer_state(self, state: dict) -> None:
        io = self.optimizer_state_io
        if io is None:
            self.optimizer.load_state_dict(state)
        else:
            io.set(self.optimizer, state)

    def state_dict(self) -> dict:
        return self._optimizer_state()

    def load_state_dict(self, state_dict: dict) -> None:
        self._load_optimizer_state(state_dict)

    def __repr__(self) -> str:
        clip = f", clip_grad={self.clip_grad_kwargs}" if self._clip_kind else ""
        return (f"{type(self).__name__}(accumulative_counts={self._accumulative_counts}{clip})\n"
                f"{self.optimizer!r}")


def _dtype(value: Any) -> Optional[torch.dtype]:
    if value is None or isinstance(value, torch.dtype):
        return value
    names = {"float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
             "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    if value not in names:
        raise ConfigError(f"AmpOptimWrapper dtype must be one of {sorted(names)} or a torch dtype, "
                          f"got {value!r}.{did_you_mean(str(value), names)}")
    return names[value]


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """Mixed precision: ``torch.autocast`` in ``optim_context`` and a GradScaler for float16.

    Args:
        loss_scale: 'dynamic', a number (a fixed starting scale that never
            grows), or a dict of ``torch.amp.GradScaler`` arguments.
        dtype: 'float16' (default) or 'bfloat16'. bfloat16 has float32's
            range, so it needs no loss scaling; it is the one to use on CPU.
    """

    def __init__(self, loss_scale: Any = "dynamic", dtype: Any = None, **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = _dtype(dtype) or torch.float16
        self._device_type: Optional[str] = None
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        device = params[0].device.type if params else "cpu"
        if self.cast_dtype == torch.bfloat16:
            self.loss_scaler = None
        elif loss_scale == "dynamic":
            self.loss_scaler = torch.amp.GradScaler(device)
        elif isinstance(loss_scale, (int, float)):
            self.loss_scaler = torch.amp.GradScaler(device, init_scale=float(loss_scale),
                                                    growth_interval=2 ** 31 - 1)
        elif isinstance(loss_scale, Mapping):
            self.loss_scaler = torch.amp.GradScaler(device, **loss_scale)
        else:
            raise ConfigError(f"AmpOptimWrapper loss_scale must be 'dynamic', a number or a dict, "
                              f"got {loss_scale!r}")

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self.loss_scaler is None:
            return super().step(**kwargs)
        if self._clip_kind is not None:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()

    @contextmanager
    def optim_context(self, model: nn.Module):
        if self._device_type is None:
            param = next(model.parameters(), None)
            self._device_type = param.device.type if param is not None else "cpu"
        with super().optim_context(model), torch.autocast(self._device_type, dtype=self.cast_dtype):
            yield

    def state_dict(self) -> dict:
        state = self._optimizer_state()
        if self.loss_scaler is not None:
            state["loss_scaler"] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop("loss_scaler", None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        self._load_optimizer_state(state_dict)


@OPTIM_WRAPPERS.register_module()
class OptimWrapperDict:
    """Several named optim wrappers (e.g. generator and discriminator); step each yourself."""

    def __init__(self, **optim_wrappers: OptimWrapper):
        for name, wrapper in optim_wrappers.items():
            if not isinstance(wrapper, OptimWrapper):
                raise TypeError(f"OptimWrapperDict[{name!r}] must be an OptimWrapper, got "
                                f"{type(wrapper).__name__}")
        self.optim_wrappers = dict(optim_wrappers)

    def _whole(self, what: str):
        raise NotImplementedError(f"OptimWrapperDict.{what}: call it on one of its wrappers "
                                  f"({', '.join(self.optim_wrappers)}), e.g. wrappers['generator']")

    def update_params(self, *args, **kwargs):
        self._whole("update_params")

    def backward(self, *args, **kwargs):
        self._whole("backward")

    def step(self, *args, **kwargs):
        self._whole("step")

    def zero_grad(self, **kwargs) -> None:
        """Zero the gradients of every wrapper (safe for all of them at once, unlike ``step``)."""
        for wrapper in self.optim_wrappers.values():
            wrapper.zero_grad(**kwargs)

    @property
    def param_groups(self) -> Dict[str, List[dict]]:
        """Each wrapper's ``param_groups``, by wrapper name (MMEngine's layout)."""
        return {name: wrapper.param_groups for name, wrapper in self.optim_wrappers.items()}

    @contextmanager
    def optim_context(self, model: nn.Module):
        self._whole("optim_context")
        yield  # pragma: no cover

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        for wrapper in self.optim_wrappers.values():
            wrapper.initialize_count_status(model, init_counts, max_counts)

    def get_lr(self) -> Dict[str, List[float]]:
        return {f"{name}.lr": w.get_lr()["lr"] for name, w in self.optim_wrappers.items()}

    def get_momentum(self) -> Dict[str, List[float]]:
        return {f"{name}.momentum": w.get_momentum()["momentum"]
                for name, w in self.optim_wrappers.items()}

    def state_dict(self) -> dict:
        return {name: w.state_dict() for name, w in self.optim_wrappers.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        for name, state in state_dict.items():
            if name not in self.optim_wrappers:
                raise KeyError(f"OptimWrapperDict has no wrapper {name!r} (has "
                               f"{list(self.optim_wrappers)}){did_you_mean(name, self.optim_wrappers)}")
            self.optim_wrappers[name].load_state_dict(state)

    def __getitem__(self, name: str) -> OptimWrapper:
        return self.optim_wrappers[name]

    def __contains__(self, name: str) -> bool:
        return name in self.optim_wrappers

    def __len__(self) -> int:
        return len(self.optim_wrappers)

    def __iter__(self):
        return iter(self.optim_wrappers)

    def keys(self):
        return self.optim_wrappers.keys()

    def values(self):
        return self.optim_wrappers.values()

    def items(self):
        return self.optim_wrappers.items()


__all__ = ["OptimWrapper", "AmpOptimWrapper", "OptimWrapperDict"]
