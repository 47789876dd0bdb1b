"""FSDPStrategy: shard parameters, gradients and optimizer state over the ranks with PyTorch's
``fully_shard`` (FSDP2).

Every module named by the wrap policy becomes its own shard unit (its
parameters are gathered just before its forward and freed after it), innermost
first, and the whole model is the root unit. Parameters become DTensors, so the
optimizer is built after sharding (the Runner builds it when training starts)
and holds only this rank's shards. Gradient clipping (``clip_grad``) reduces the
norm across the shards. Checkpoints are either one full file written by rank 0
(``state_dict_type='full'``, loadable by any run, ``loomcv test`` included) or a
folder of shards (``'sharded'``, written in parallel by every rank); resuming
takes either.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from loomcv import dist
from loomcv.checkpoint import is_sharded_checkpoint
from loomcv.errors import ConfigError, did_you_mean
from loomcv.validation import check_choice

from .base import STRATEGIES, BaseStrategy
from .features import select_modules
from .sharded import (indices_to_names, is_name_keyed, load_sharded, names_to_indices, parameter_names,
                      save_sharded)

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
          "half": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
STATE_DICT_TYPES = {"full": "full", "sharded": "sharded", "local": "sharded"}
POLICY_KEYS = ("type", "module_classes", "transformer_layer_cls", "min_num_params")
SHARDING = {"FULL_SHARD": True, "SHARD_GRAD_OP": False}


def _dtype(value: Any, key: str) -> Optional[torch.dtype]:
    if value is None or isinstance(value, torch.dtype):
        return value
    if value not in DTYPES:
        raise ConfigError(f"FSDPStrategy: mixed_precision {key}={value!r} is not a dtype; valid: "
                          f"{', '.join(DTYPES)}.{did_you_mean(str(value), DTYPES)}")
    return DTYPES[value]


def size_based_units(model: nn.Module, min_num_params: int) -> List[Tuple[str, nn.Module]]:
    """FSDP1's size-based policy: innermost-first, a module whose parameters not yet in a unit number
    at least ``min_num_params`` becomes a unit (the root never: it is always one)."""
    units = []

    def visit(name: str, module: nn.Module) -> int:
        count = sum(visit(f"{name}.{child_name}" if name else child_name, child)
                    for child_name, child in module.named_children())
        count += sum(p.numel() for p in module.parameters(recurse=False))
        if name and count >= min_num_params:
            units.append((name, module))
            return 0
        return count

    visit("", model)
    return units


@STRATEGIES.register_module()
class FSDPStrategy(BaseStrategy):
    """Args:
        wrap_modules: class names (every instance), module paths or classes that become shard units.
        auto_wrap_policy: the same as a dict: ``dict(module_classes=[...])``, FSDP1's
            ``dict(type='torch.distributed.fsdp.wrap.transformer_auto_wrap_policy',
            transformer_layer_cls=[...])`` or ``dict(type='...size_based_auto_wrap_policy',
            min_num_params=N)``.
        model_wrapper: MMEngine's nesting: ``dict(auto_wrap_policy=..., reshard_after_forward=..,
            sharding_strategy='FULL_SHARD' | 'SHARD_GRAD_OP')``.
        mixed_precision: ``dict(param_dtype='bfloat16', reduce_dtype='float32', output_dtype=None,
            cast_forward_inputs=True)`` (``MixedPrecisionPolicy``), or one dtype name for ``param_dtype``;
            BatchNorm layers keep float32 parameters (their own units), as with FSDP1.
        cpu_offload: keep the sharded parameters, gradients and optimizer state in CPU memory
            (``True`` or ``dict(pin_memory=...)``; ``CPUOffloadPolicy``).
        reshard_after_forward: free gathered parameters after each unit's forward (True, ZeRO-3) or
            keep them for the backward (False, ZeRO-2).
        state_dict_type: ``'full'`` (one file from rank 0) or ``'sharded'`` (a folder);
            MMEngine's ``state_dict_cfg='full' | 'local'`` is accepted too.
        sync_module_states: copy rank 0's initial weights to every rank before sharding.
        **kwargs: ``compile``, ``activation_checkpointing``, ``channels_last`` (see BaseStrategy).
    """

    custom_model_state = True

    def __init__(self, wrap_modules: Union[None, str, Sequence] = None, auto_wrap_policy: Optional[dict] = None,
                 model_wrapper: Optional[dict] = None, mixed_precision: Union[None, str, dict] = None,
                 cpu_offload: Union[bool, dict] = False, reshard_after_forward: Optional[bool] = None,
                 state_dict_type: str = "full", state_dict_cfg: Optional[str] = None,
                 sync_module_states: bool = True, **kwargs):
        super().__init__(**kwargs)
        wrapper = dict(model_wrapper or {})
        if "auto_wrap_policy" in wrapper:
            if auto_wrap_policy is not None:
                raise ConfigError("FSDPStrategy: auto_wrap_policy is given twice (also in model_wrapper); keep one")
            auto_wrap_policy = wrapper.pop("auto_wrap_policy")
        if "sharding_strategy" in wrapper:
            value = str(wrapper.pop("sharding_strategy")).rsplit(".", 1)[-1]
            check_choice(self, "model_wrapper['sharding_strategy']", value, SHARDING)
            reshard_after_forward = SHARDING[value] if reshard_after_forward is None else reshard_after_forward
        if "reshard_after_forward" in wrapper:
            reshard_after_forward = wrapper.pop("reshard_after_forward")
        wrapper.pop("type", None)
        wrapper.pop("use_orig_params", None)  # FSDP2 always keeps the original parameters
        if wrapper:
            raise ConfigError(f"FSDPStrategy: model_wrapper keys {sorted(wrapper)} are not supported by "
                              f"fully_shard; valid: auto_wrap_policy, reshard_after_forward, sharding_strategy, "
                              f"use_orig_params")
        self.units_spec = self._policy(wrap_modules, auto_wrap_policy)
        self.mp_policy = self._mixed_precision(mixed_precision)
        if not isinstance(cpu_offload, (bool, dict)):
            raise ConfigError(f"FSDPStrategy: cpu_offload must be True/False or dict(pin_memory=...), "
                              f"got {cpu_offload!r}")
        self.cpu_offload = cpu_offload
        self.reshard_after_forward = True if reshard_after_forward is None else bool(reshard_after_forward)
        kind = state_dict_cfg if state_dict_cfg is not None else state_dict_type
        check_choice(self, "state_dict_type", kind, STATE_DICT_TYPES)
        self.state_dict_type = STATE_DICT_TYPES[kind]
        self.sync_module_states = bool(sync_module_states)
        self.sharded = False  # set when the model is actually sharded (a process group exists)

    def __repr__(self) -> str:
        features = super().__repr__()[len("FSDPStrategy("):-1]
        return (f"FSDPStrategy(units={self.units_spec!r}, reshard_after_forward={self.reshard_after_forward}, "
                f"mixed_precision={self.mp_policy}, cpu_offload={self.cpu_offload}, "
                f"state_dict_type={self.state_dict_type!r}{', ' + features if features else ''})")

    # ------------------------------------------------------------ configuration
    @staticmethod
    def _policy(wrap_modules, policy) -> Any:
        if policy is None:
            return wrap_modules
        if wrap_modules is not None:
            raise ConfigError("FSDPStrategy: give wrap_modules or auto_wrap_policy, not both")
        if not isinstance(policy, dict):
            raise ConfigError(f"FSDPStrategy: auto_wrap_policy must be a dict (module_classes=[...], "
                              f"transformer_layer_cls=[...] or min_num_params=N), got {policy!r}")
        unknown = [k for k in policy if k not in POLICY_KEYS]
        if unknown:
            raise ConfigError(f"FSDPStrategy: auto_wrap_policy keys {unknown} are not supported; valid: "
                              f"{', '.join(POLICY_KEYS)}")
        kind = str(policy.get("type", "")).rsplit(".", 1)[-1]
        if "min_num_params" in policy or kind == "size_based_auto_wrap_policy":
            if "min_num_params" not in policy:
                raise ConfigError("FSDPStrategy: size_based_auto_wrap_policy needs min_num_params")
            return int(float(policy["min_num_params"]))
        classes = policy.get("module_classes", policy.get("transformer_layer_cls"))
        if not classes:
            raise ConfigError(f"FSDPStrategy: auto_wrap_policy {policy!r} names no classes; use "
                              f"dict(module_classes=['BasicBlock']) or dict(min_num_params=1e7)")
        return list(classes) if isinstance(classes, (list, tuple, set)) else [classes]

    @staticmethod
    def _mixed_precision(value):
        if value is None:
            return None
        from torch.distributed.fsdp import MixedPrecisionPolicy
        cfg = dict(param_dtype=value) if not isinstance(value, dict) else dict(value)
        valid = ("param_dtype", "reduce_dtype", "output_dtype", "cast_forward_inputs")
        unknown = [k for k in cfg if k not in valid]
        if unknown:
            raise ConfigError(f"FSDPStrategy: mixed_precision keys {unknown} are not supported; valid: "
                              f"{', '.join(valid)}")
        for key in ("param_dtype", "reduce_dtype", "output_dtype"):
            cfg[key] = _dtype(cfg.get(key), key)
        return MixedPrecisionPolicy(**cfg)

    def _units(self, model: nn.Module) -> List[Tuple[str, nn.Module]]:
        """The shard units below the root, innermost first."""
        spec = self.units_spec
        if spec is None:
            return []
        if isinstance(spec, int):
            return size_based_units(model, spec)
        return list(reversed(select_modules(model, spec, "FSDPStrategy wrap_modules")))

    # ------------------------------------------------------------ sharding
    def channels_last_parameters(self) -> bool:
        return not dist.is_distributed()  # fully_shard takes contiguous parameters only

    def wrap(self, runner, model: nn.Module) -> nn.Module:
        if not dist.is_distributed():
            runner.logger.warning(
                f"FSDPStrategy: no process group (launcher='none'), so the model is not sharded and runs "
                f"whole on {runner.device}. Start with `torchrun --nproc_per_node N -m loomcv train CONFIG "
                f"--launcher pytorch` to shard it (N=1 works too, e.g. with cpu_offload=True).")
            return super().wrap(runner, model)
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import CPUOffloadPolicy, fully_shard

        if hasattr(model, "init_weights"):  # on whole tensors, before they are split
            model.init_weights()
            self.weights_initialized = True
        if self.cpu_offload:
            preprocessor = getattr(model, "data_preprocessor", None)
            if isinstance(preprocessor, nn.Module):
                preprocessor.to(runner.device)
        else:
            model.to(runner.device)
        if self.sync_module_states:
            for tensor in list(model.parameters()) + list(model.buffers()):
                dist.broadcast(tensor.data, 0)
        world = dist.get_world_size()
        mesh = init_device_mesh(runner.device.type, (world,))
        options: Dict[str, Any] = dict(mesh=mesh, reshard_after_forward=self.reshard_after_forward)
        if self.mp_policy is not None:
            options["mp_policy"] = self.mp_policy
        if self.cpu_offload:
            pin = self.cpu_offload.get("pin_memory", torch.cuda.is_available()) \
                if isinstance(self.cpu_offload, dict) else torch.cuda.is_available()
            options["offload_policy"] = CPUOffloadPolicy(pin_memory=pin)
        units = self._units(model)
        kinds: Dict[str, int] = {}
        for _, module in units:
            kinds[type(module).__name__] = kinds.get(type(module).__name__, 0) + 1
        root = type(model).__name__
        norms = self._float32_norms(model, options)
        for _, module in units:
            fully_shard(module, **options)
        fully_shard(model, **options)
        self.sharded = True
        listed = ", ".join(f"{n} {k}" for k, n in kinds.items())
        mp = self.mp_policy
        runner.logger.info(
            f"FSDPStrategy: fully_shard over {world} rank(s) on {runner.device.type}: "
            f"{len(units)} unit(s){' (' + listed + ')' if listed else ''} + root {root}; "
            f"reshard_after_forward={self.reshard_after_forward}; mixed precision "
            f"{'off' if mp is None else f'param={mp.param_dtype} reduce={mp.reduce_dtype}'}"
            f"{f' ({norms} norm layer(s) kept in float32)' if norms else ''}; "
            f"CPU offload {'on' if self.cpu_offload else 'off'}; checkpoints: "
            f"{'one full file (rank 0)' if self.state_dict_type == 'full' else 'a folder of shards'}")
        return model

    def _float32_norms(self, model: nn.Module, options: dict) -> int:
        """With a lower ``param_dtype``, BatchNorm layers become their own units with float32
        parameters (as FSDP1's MixedPrecision does by default): batch_norm wants its weights and
        running statistics in one dtype, and float32 statistics are what makes it stable."""
        mp = self.mp_policy
        if mp is None or mp.param_dtype in (None, torch.float32):
            return 0
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
        from torch.nn.modules.batchnorm import _BatchNorm
        norms = [m for m in model.modules() if isinstance(m, _BatchNorm) and any(True for _ in m.parameters())]
        policy = MixedPrecisionPolicy(reduce_dtype=mp.reduce_dtype, cast_forward_inputs=False)
        for norm in norms:
            fully_shard(norm, **dict(options, mp_policy=policy))
        return len(norms)

    def prepare_training(self, runner) -> None:
        """The optim wrappers read and write their state through the shards; hooks that copy the
        whole model (EMA) are refused with a reason rather than failing inside ``deepcopy``."""
        if not self.sharded:
            return
        from loomcv.hooks import EMAHook
        copying = sorted({type(h).__name__ for h in runner.hooks if isinstance(h, EMAHook)})
        if copying:
            raise ConfigError(f"FSDPStrategy: {', '.join(copying)} keeps a deep copy of the model, which a sharded "
                              f"model cannot give (FSDP refuses deepcopy); remove it from custom_hooks or train "
                              f"with DDPStrategy")
        optim_wrapper = runner.optim_wrapper
        wrappers = optim_wrapper.values() if hasattr(optim_wrapper, "values") else [optim_wrapper]
        for wrapper in wrappers:
            wrapper.optimizer_state_io = ShardedOptimizerState(runner.model, self.state_dict_type == "full")

    # ------------------------------------------------------------ checkpoints
    def model_state_dict(self, model: nn.Module) -> Optional[dict]:
        if not self.sharded:
            return None
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
        if self.state_dict_type == "full":
            return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        return get_model_state_dict(model)

    def adapt_state_dict(self, model: nn.Module, state_dict: dict) -> dict:
        """Full tensors (from a full checkpoint) become DTensors placed like the model's shards."""
        if not self.sharded:
            return state_dict
        from torch.distributed.tensor import DTensor, distribute_tensor
        own = model.state_dict()
        out = {}
        for key, value in state_dict.items():
            mine = own.get(key)
            if isinstance(mine, DTensor) and isinstance(value, torch.Tensor) and not isinstance(value, DTensor) \
                    and tuple(value.shape) == tuple(mine.shape):
                value = distribute_tensor(value.to(mine.device), mine.device_mesh, mine.placements,
                                          src_data_rank=None)  # every rank holds the full tensor
            out[key] = value
        return out

    def write_checkpoint(self, checkpoint: dict, path: str, rank: int) -> None:
        if self.sharded and self.state_dict_type == "sharded":
            save_sharded(checkpoint, path, rank)
        else:
            super().write_checkpoint(checkpoint, path, rank)

    def read_checkpoint(self, path: str, model: nn.Module, optim_wrapper=None, map_location: Any = "cpu") -> dict:
        if self.sharded and is_sharded_checkpoint(path):
            optimizer = getattr(optim_wrapper, "optimizer", None)
            return load_sharded(path, model, optimizer, name_keyed_optimizer=True)
        return super().read_checkpoint(path, model, optim_wrapper, map_location)


class ShardedOptimizerState:
    """How an OptimWrapper reads and writes its optimizer's state when the parameters are sharded.

    Full mode returns the gathered state on rank 0 in ``optimizer.state_dict()``'s
    index-keyed layout (other ranks get ``{}``); sharded mode returns the state
    keyed by parameter name with DTensors. Loading takes either layout.
    """

    def __init__(self, model: nn.Module, full: bool):
        self.model, self.full = model, full

    def get(self, optimizer: torch.optim.Optimizer) -> dict:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict
        if not self.full:
            return get_optimizer_state_dict(self.model, optimizer)
        state = get_optimizer_state_dict(self.model, optimizer,
                                         options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        return names_to_indices(state, parameter_names(self.model, optimizer)) if state else {}

    def set(self, optimizer: torch.optim.Optimizer, state: dict) -> None:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict
        from torch.distributed.tensor import DTensor
        if not is_name_keyed(state):
            state = indices_to_names(state, parameter_names(self.model, optimizer))
        sharded = any(isinstance(v, DTensor) for s in state.get("state", {}).values() for v in s.values())
        set_optimizer_state_dict(self.model, optimizer, state,
                                 options=StateDictOptions(full_state_dict=not sharded))
