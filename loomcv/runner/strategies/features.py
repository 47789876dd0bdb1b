"""Model features a config switches on: activation checkpointing, channels_last, torch.compile.

Each one changes how a model runs, never its parameters' names: activation
checkpointing and compile replace a module's ``forward`` on the instance (a
bound method, so ``copy.deepcopy`` of the model, as EMA does, rebinds it to the
copy), and channels_last only changes memory layout. Checkpoints therefore load
with or without them.
"""

import os
import shutil
import types
from typing import Any, Iterable, List, Mapping, Tuple, Union

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint

from loomcv.errors import ConfigError, did_you_mean

ModuleSpec = Union[str, type, Iterable[Union[str, type]]]


def select_modules(model: nn.Module, spec: ModuleSpec, owner: str) -> List[Tuple[str, nn.Module]]:
    """Submodules of ``model`` named by attribute path (``'backbone.layer1'``), by class name
    (``'BasicBlock'``, every instance) or by class; in ``named_modules`` order, each once.

    Every entry must match something: a typo is an error naming what exists.
    """
    entries = [spec] if isinstance(spec, (str, type)) else list(spec)
    if not entries:
        raise ConfigError(f"{owner}: the list of modules is empty")
    named = [(n, m) for n, m in model.named_modules() if n]
    by_path = dict(named)
    chosen = {}
    for entry in entries:
        if isinstance(entry, type):
            hits = [(n, m) for n, m in named if isinstance(m, entry)]
        elif isinstance(entry, str) and entry in by_path:
            hits = [(entry, by_path[entry])]
        elif isinstance(entry, str):
            hits = [(n, m) for n, m in named if type(m).__name__ == entry]
        else:
            raise ConfigError(f"{owner}: entries must be module paths or class names (str) or classes, "
                              f"got {type(entry).__name__} {entry!r}")
        if not hits:
            classes = sorted({type(m).__name__ for _, m in named})
            paths = [n for n, _ in named if "." not in n]
            raise ConfigError(
                f"{owner}: {entry!r} is neither a submodule path of {type(model).__name__} nor the class "
                f"name of one of its modules.{did_you_mean(str(entry), classes + list(by_path))}\n"
                f"  top-level paths: {', '.join(paths) or '(none)'}\n  classes: {', '.join(classes)}")
        for name, module in hits:
            chosen.setdefault(name, module)
    order = {n: i for i, (n, _) in enumerate(named)}
    return sorted(chosen.items(), key=lambda item: order[item[0]])


def outermost(modules: List[Tuple[str, nn.Module]]) -> List[Tuple[str, nn.Module]]:
    """Drop modules that sit inside another selected module."""
    names = [n for n, _ in modules]
    return [(n, m) for n, m in modules if not any(n.startswith(o + ".") for o in names if o != n)]


# ---------------------------------------------------------------- activation checkpointing


def _checkpointed_forward(self, *args, **kwargs):
    inner = self._loomcv_plain_forward
    if torch.is_grad_enabled():
        return checkpoint(inner, *args, use_reentrant=False, **kwargs)
    return inner(*args, **kwargs)


def turn_on_activation_checkpointing(model: nn.Module, modules: ModuleSpec) -> List[str]:
    """Recompute the activations of ``modules`` (paths or class names) during backward.

    Uses PyTorch's non-reentrant checkpoint (RNG state preserved, so dropout
    masks repeat): gradients are those of the plain model. Only runs under
    autograd; evaluation runs the plain forward. Returns the names wrapped.
    BatchNorm inside a checkpointed module updates its running statistics in the
    recomputation too (as with any PyTorch checkpointing).
    """
    chosen = outermost(select_modules(model, modules, "activation_checkpointing"))
    for _, module in chosen:
        if "_loomcv_plain_forward" in module.__dict__:
            continue
        module._loomcv_plain_forward = module.forward
        module.forward = types.MethodType(_checkpointed_forward, module)
    return [n for n, _ in chosen]


# ---------------------------------------------------------------- channels_last


def _inputs_channels_last(module: nn.Module, args: Any, output: Any) -> Any:
    """Forward hook of a data preprocessor: 4-D ``inputs`` in channels_last memory format."""
    if isinstance(output, Mapping) and isinstance(output.get("inputs"), torch.Tensor) \
            and output["inputs"].dim() == 4:
        output = dict(output)
        output["inputs"] = output["inputs"].contiguous(memory_format=torch.channels_last)
    return output


def to_channels_last(model: nn.Module, parameters: bool = True) -> nn.Module:
    """4-D parameters and buffers (convolution weights) and the preprocessed 4-D inputs in
    ``torch.channels_last``; what tensor-core convolutions run fastest on. ``parameters=False``
    converts the inputs only (FSDP shards only contiguous parameters; a convolution given
    channels_last inputs computes in channels_last anyway)."""
    if parameters:
        model.to(memory_format=torch.channels_last)
    preprocessor = getattr(model, "data_preprocessor", None)
    if isinstance(preprocessor, nn.Module) and not getattr(preprocessor, "_loomcv_channels_last", False):
        preprocessor.register_forward_hook(_inputs_channels_last)
        preprocessor._loomcv_channels_last = True
    return model


# ---------------------------------------------------------------- compile


def compile_options(value: Any) -> dict:
    """``compile=True`` -> ``{}``; a dict passes through as ``torch.compile`` keyword arguments."""
    if value is True:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    raise ConfigError(f"compile must be True, False or a dict of torch.compile arguments "
                      f"(e.g. dict(backend='inductor', mode='max-autotune')), got {value!r}")


def compile_unavailable(options: dict, device: torch.device) -> str:
    """Why ``torch.compile`` with ``options`` cannot run here ('' when it can)."""
    if not hasattr(torch, "compile"):
        return f"torch {torch.__version__} has no torch.compile (it needs torch >= 2.0)"
    import torch._dynamo as dynamo
    if not dynamo.is_dynamo_supported():
        import sys
        return (f"torch.compile does not support this platform or Python {sys.version.split()[0]} "
                f"with torch {torch.__version__}")
    backend = options.get("backend", "inductor")
    if backend != "inductor":
        return ""
    if device.type == "cuda":
        from torch.utils._triton import has_triton
        if not has_triton():
            return "the inductor backend needs Triton for CUDA, which is not installed (pip install triton)"
        return ""
    compilers = [os.environ.get("CXX"), "g++", "c++", "clang++"]
    if not any(c and shutil.which(c) for c in compilers):
        return "the inductor backend needs a C++ compiler on the CPU (g++ or clang++), and none is on PATH"
    return ""


def compile_model(model: nn.Module, value: Any, device: torch.device) -> str:
    """Compile ``model.forward`` (the model inside any wrapper) with ``torch.compile(**options)``.

    The step methods, the data preprocessor and the optimizer stay in Python;
    wrappers (DDP, FSDP) and their hooks stay outside the compiled region.
    Returns a description for the log; raises ConfigError naming why when
    torch.compile cannot run here.
    """
    options = compile_options(value)
    reason = compile_unavailable(options, device)
    if reason:
        raise ConfigError(f"compile={value!r}: {reason}. Set compile=False, or pick another backend "
                          f"(compile=dict(backend='aot_eager') needs no compiler).")
    from loomcv.model.wrappers import unwrap_model
    target = unwrap_model(model)
    if "_loomcv_compiled" in target.__dict__:
        return f"{type(target).__name__}.forward already compiled"
    current = target.forward
    if isinstance(current, types.MethodType) and current.__self__ is target:
        target.forward = types.MethodType(torch.compile(current.__func__, **options), target)
    else:  # an instance attribute that is not a method of the model: compiled as it is
        target.forward = torch.compile(current, **options)
    target._loomcv_compiled = True
    shown = ", ".join(f"{k}={v!r}" for k, v in options.items()) or "backend='inductor'"
    return f"torch.compile({type(target).__name__}.forward, {shown})"
