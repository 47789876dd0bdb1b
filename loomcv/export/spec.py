"""What to export from a model, and the JSON written beside the exported file.

An export takes a model from its normalized input tensor (NCHW float, after
the data preprocessor) to its outputs. Which module does that, what its
outputs are called and what must follow them outside the graph is an
:class:`ExportSpec`, found for a model in this order:

1. ``model.export_spec()``: a model (or its base class) that knows how to be
   exported says so itself;
2. a function registered for the model's class (or a base class) with
   :func:`register_export_spec`: how a toolbox describes models whose class it
   does not want to change. loomcv imports the module a toolbox declares as
   its ``export_specs`` (:class:`loomcv.registry.toolbox.Toolbox`) for every
   toolbox that defines a class of the model before looking, so the
   registration happens without the user importing anything;
3. otherwise ``model(inputs, mode='tensor')`` as it is, with no postprocessing.
"""

import importlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch.nn as nn

SIDECAR_VERSION = 1
INPUT_NAME = "input"


@dataclass
class ExportSpec:
    """What an export holds.

    Args:
        module: takes one normalized NCHW float tensor, returns a tensor or a
            tuple of tensors (the graph that is exported).
        output_names: one name per output, in order.
        postprocess: JSON-able description of what follows the outputs
            outside the graph (an activation already applied, a box decoder
            and NMS...), written to the sidecar for the code that runs the export.
        meta: further JSON-able sidecar entries (``task``...).
    """

    module: nn.Module
    output_names: Sequence[str] = ("output",)
    postprocess: Dict = field(default_factory=dict)
    meta: Dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.module, nn.Module):
            raise TypeError(f"ExportSpec: module must be an nn.Module, got {type(self.module).__name__}")
        self.output_names = tuple(self.output_names)
        if not self.output_names or not all(isinstance(n, str) and n for n in self.output_names):
            raise ValueError(f"ExportSpec: output_names must be non-empty strings, got {self.output_names!r}")


class TensorMode(nn.Module):
    """``model(inputs, mode='tensor')`` as a one-argument module; tuple outputs stay tuples."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        out = self.model(inputs, mode="tensor")
        return tuple(out) if isinstance(out, list) else out


_PROVIDERS: Dict[type, Callable[[nn.Module], ExportSpec]] = {}


def register_export_spec(model_class: type):
    """Decorator: ``fn(model) -> ExportSpec`` describes how to export ``model_class`` and its subclasses."""
    if not isinstance(model_class, type) or not issubclass(model_class, nn.Module):
        raise TypeError(f"register_export_spec takes an nn.Module class, got {model_class!r}")

    def decorator(fn: Callable[[nn.Module], ExportSpec]):
        _PROVIDERS[model_class] = fn
        return fn

    return decorator


def _import_toolbox_specs(model: nn.Module) -> None:
    """Import the declared ``export_specs`` module of every toolbox that defines a class in the model's MRO."""
    from loomcv.registry.toolbox import find_toolbox
    for cls in type(model).__mro__:
        toolbox = find_toolbox(cls.__module__.split(".")[0])
        if toolbox is not None and toolbox.export_specs:
            importlib.import_module(toolbox.export_specs)


def get_export_spec(model: nn.Module) -> ExportSpec:
    """The :class:`ExportSpec` of ``model`` (see the module docstring for the lookup order)."""
    own = getattr(model, "export_spec", None)
    if callable(own):
        spec = own()
    else:
        _import_toolbox_specs(model)
        provider = next((_PROVIDERS[c] for c in type(model).__mro__ if c in _PROVIDERS), None)
        spec = provider(model) if provider is not None else ExportSpec(TensorMode(model))
    if not isinstance(spec, ExportSpec):
        raise TypeError(f"the export spec of {type(model).__name__} must be an ExportSpec, "
                        f"got {type(spec).__name__}")
    return spec


# ---------------------------------------------------------------- the sidecar JSON

def sidecar_path(model_file: str) -> str:
    """``<model_file>.json``: where the preprocessing, classes and check results go."""
    return os.fspath(model_file) + ".json"


def plain(value):
    """A JSON-able copy of config values (ConfigDicts, tuples, numpy/torch scalars)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


LOADERS = ("LoadImageFromFile",)


def preprocess_info(cfg, model: nn.Module, input_size: Tuple[int, int]) -> dict:
    """The preprocessing a deployed model needs: normalization, channel order, size, test pipeline.

    Taken from the config's data preprocessor (the model's own first, as
    building the model does), so that code without loomcv can reproduce it.
    """
    model_cfg = cfg.get("model") or {}
    dp = model_cfg.get("data_preprocessor") or cfg.get("data_preprocessor") or {}
    mean, std = dp.get("mean"), dp.get("std")
    built = getattr(model, "data_preprocessor", None)
    if mean is None and getattr(built, "mean", None) is not None:  # set in code rather than in the config
        mean = [round(v, 6) for v in built.mean.flatten().tolist()]
        std = [round(v, 6) for v in built.std.flatten().tolist()]
    to_rgb = bool(dp.get("to_rgb", False) or dp.get("bgr_to_rgb", False) or dp.get("rgb_to_bgr", False))
    channels = len(mean) if mean is not None else 3
    order = "gray" if channels == 1 else ("RGB" if to_rgb else "BGR")
    pipeline = []
    for key in ("test_dataloader", "val_dataloader"):
        dataset = (cfg.get(key) or {}).get("dataset") or {}
        if dataset.get("pipeline"):
            pipeline = [plain(s) for s in dataset["pipeline"]
                        if str(s.get("type", "")).split(".")[-1] not in LOADERS]
            break
    info = dict(
        color_type="grayscale" if channels == 1 else "color",
        decoded_as="gray" if channels == 1 else "BGR",
        to_rgb=to_rgb, channel_order=order,
        mean=plain(mean), std=plain(std), input_size=list(input_size),
        pipeline=pipeline)
    if dp.get("pad_size_divisor", 1) != 1:
        info["pad_size_divisor"] = dp["pad_size_divisor"]
        info["pad_value"] = dp.get("pad_value", 0)
    return info


def write_sidecar(path: str, data: dict) -> str:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(plain(data), f, indent=2)
        f.write("\n")
    return path


def load_sidecar(model_file: str, task: Optional[str] = None, owner: str = "load_sidecar",
                 what: Optional[str] = None) -> dict:
    """The JSON written beside ``model_file`` by the export; a clear error if it is missing. With
    ``task``, also that the export is of that task (``what`` names it: 'a detector') and carries
    the preprocessing a deployed model runs."""
    path = sidecar_path(model_file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path!r} is missing: the export writes the preprocessing and class names "
                                f"beside {os.fspath(model_file)!r}; export again with `loomcv export`")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if data.get("sidecar_version") != SIDECAR_VERSION:
        raise ValueError(f"{path!r} has sidecar_version {data.get('sidecar_version')!r}; this loomcv reads "
                         f"version {SIDECAR_VERSION}: export again")
    if task is not None and data.get("task") != task:
        raise ValueError(f"{owner}: {os.fspath(model_file)!r} was exported from a {data.get('model_type')} "
                         f"({data.get('task') or 'no task'}), not {what or task}")
    if task is not None and "preprocess" not in data:
        raise ValueError(f"{owner}: the sidecar of {os.fspath(model_file)!r} has no preprocessing; "
                         "export with `loomcv export`, or export_model(..., cfg=config)")
    return data


def batch_dims(args):
    """torch.export's ``dynamic_shapes`` for ``args``: dimension 0 of every tensor is one symbolic batch."""
    import torch
    dim = torch.export.Dim("batch", min=1)

    def visit(value):
        if isinstance(value, torch.Tensor):
            return {0: dim} if value.dim() > 0 else None
        if isinstance(value, (tuple, list)):
            return type(value)(visit(v) for v in value)
        if isinstance(value, Mapping):
            return {k: visit(v) for k, v in value.items()}
        return None

    return visit(tuple(args))


class ExportFormat:
    """One way of exporting (a file format and the runtime that reads it back).

    Subclasses set ``name``, ``suffix``, ``backend`` and implement
    :meth:`export` and :meth:`load`.
    """

    name = ""
    suffix = ""
    backend = ""
    #: traced formats: a Python ``if`` on a tensor value would be baked into the graph silently
    traced = False

    def require(self) -> None:
        """Raise ImportError naming the extra to install when a needed package is missing."""

    def export(self, module: nn.Module, example, out: str, *, output_names: Sequence[str], dynamic_batch: bool,
               opset: Optional[int] = None) -> dict:
        """Write ``module`` traced on ``example`` to ``out``; return facts for the sidecar (e.g. the opset)."""
        raise NotImplementedError

    def load(self, path: str, device: str = "cpu") -> Callable[..., List]:
        """A callable that takes an NCHW float32 numpy array and returns a list of numpy outputs."""
        raise NotImplementedError
