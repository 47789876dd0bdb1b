"""``loomcv get-flops CONFIG [--shape H W]``: parameters and FLOPs of a config's model, per module.

FLOPs are counted by ``torch.utils.flop_counter`` while the model runs one
image in ``tensor`` mode (backbone, neck and head's pre-logits path; no loss).
Like MMCV/MMPretrain's tables, one multiply-add counts as one FLOP (torch's
counter counts two, so its figures are halved), and only convolutions, matrix
products and attention are counted: norms, activations and pooling are not.
"""

import argparse
from collections.abc import Mapping
from typing import Dict, List, Sequence, Tuple

Row = Tuple[str, int, int]  # module name, parameters, FLOPs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcv.config import DictAction
    parser.add_argument("config", nargs="?", help="config file or the name of a shipped config")
    parser.add_argument("--shipped", action="store_true",
                        help="instead of one config: a markdown table of the totals of every shipped config "
                             "(the one in docs/models.md)")
    parser.add_argument("--shape", type=int, nargs="+", default=None, metavar="SIZE",
                        help="input height and width (one value: square); default: the size the "
                             "config's test (else train) pipeline crops or resizes to, else 224")
    parser.add_argument("--depth", type=int, default=2,
                        help="how deep the per-module table goes (0: totals only; default 2)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={}, metavar="KEY=VALUE",
                        help="override settings, e.g. model.backbone.depth=101")


SIZE_KEYS = {"CenterCrop": "crop_size", "RandomCrop": "crop_size", "RandomResizedCrop": "scale",
             "Resize": "scale", "EfficientNetCenterCrop": "crop_size", "EfficientNetRandomCrop": "scale"}


def pipeline_size(cfg) -> Sequence[int]:
    """The (H, W) the last fixed-size crop/resize of the test (else train) pipeline produces, or ()."""
    for phase in ("test_dataloader", "val_dataloader", "train_dataloader"):
        dataset = (cfg.get(phase) or {}).get("dataset") or {}
        for step in reversed(list(dataset.get("pipeline") or [])):
            key = SIZE_KEYS.get(str(step.get("type", "")).split(".")[-1])
            size = step.get(key) if key else None
            if isinstance(size, int):
                return size, size
            if isinstance(size, (list, tuple)) and len(size) == 2 and all(v and v > 0 for v in size):
                return size[1], size[0]  # transforms take (w, h)
    return ()


def input_shape(shape: Sequence[int] = None) -> Tuple[int, int]:
    if not shape:
        return 224, 224
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    raise ValueError(f"--shape takes one or two sizes (H W), got {len(shape)}: {list(shape)}")


def build_model(cfg):
    """The config's model with its data preprocessor, in eval mode, without any pretrained download."""
    from loomcv.registry import MODELS, DefaultScope
    model_cfg = dict(cfg.model)
    model_cfg.pop("pretrained", None)
    model_cfg.pop("init_cfg", None)
    if cfg.get("data_preprocessor") is not None:
        model_cfg.setdefault("data_preprocessor", dict(cfg.data_preprocessor))
    if isinstance(model_cfg.get("backbone"), Mapping):
        model_cfg["backbone"] = {k: v for k, v in model_cfg["backbone"].items() if k != "init_cfg"}
    with DefaultScope.overwrite_default_scope(cfg.get("default_scope") or _shipped_scope(cfg) or "loomcv"):
        return MODELS.build(model_cfg).eval()


def _shipped_scope(cfg):
    """The scope of the toolbox that ships ``cfg`` (for configs without default_scope, such as
    MMPretrain's headless DINOv2 ones), or None."""
    import os.path as osp

    from loomcv.registry.toolbox import config_packages
    path = osp.abspath(getattr(cfg, "filename", None) or "")
    for toolbox in config_packages():
        root = toolbox.configs_path()
        if root and path.startswith(osp.abspath(root) + osp.sep):
            return toolbox.scope
    return None


def in_channels(model) -> int:
    mean = getattr(getattr(model, "data_preprocessor", None), "mean", None)
    if mean is not None:
        return int(mean.numel())
    first = next((p for p in model.parameters() if p.dim() == 4), None)
    return int(first.shape[1]) if first is not None else 3


def count(model, shape: Tuple[int, int], depth: int) -> List[Row]:
    """``[(name, params, flops)]``: the whole model first, then modules down to ``depth`` in order."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters(), torch.empty(0)).device
    x = torch.zeros(1, in_channels(model), *shape, device=device)
    counter = FlopCounterMode(depth=max(depth, 1), display=False)
    with torch.no_grad(), counter:
        model(x, mode="tensor") if _takes_mode(model) else model(x)
    flops: Dict[str, int] = {}
    root = type(model).__name__
    for name, ops in counter.get_flop_counts().items():
        key = "" if name == "Global" else name.replace(root + ".", "", 1) if name.startswith(root + ".") else name
        flops[key] = sum(ops.values()) // 2
    rows = [("(total)", sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2)]
    for name, module in model.named_modules():
        if not name or name.count(".") >= depth or name.split(".")[0] == "data_preprocessor":
            continue  # the input is already a preprocessed tensor
        rows.append((name, sum(p.numel() for p in module.parameters()), flops.get(name, 0)))
    return rows


def measure(cfg, shape: Tuple[int, int], depth: int):
    """``(model, rows)``, counted on the meta device: no memory and no arithmetic, so even the
    largest models take a moment; a model whose forward needs real values runs on the CPU."""
    import torch
    try:
        with torch.device("meta"):
            model = build_model(cfg)
        return model, count(model, shape, depth)
    except (NotImplementedError, RuntimeError):
        model = build_model(cfg)
        return model, count(model, shape, depth)


def _takes_mode(model) -> bool:
    import inspect
    return "mode" in inspect.signature(model.forward).parameters


def human(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3f}{unit}"
    return str(int(n))


def format_table(rows: List[Row], title: str) -> str:
    width = max(len(r[0]) + 2 * r[0].count(".") for r in rows)
    _total_params, total_flops = rows[0][1], rows[0][2]
    lines = [title, f"{'module':<{width}}  {'params':>10}  {'FLOPs':>10}  {'FLOPs %':>7}"]
    for name, params, flops in rows[1:] + rows[:1]:
        shown = "  " * name.count(".") + name.rsplit(".", 1)[-1] if name != "(total)" else name
        share = f"{100.0 * flops / total_flops:6.2f}%" if total_flops else "    -"
        lines.append(f"{shown:<{width}}  {human(params):>10}  {human(flops):>10}  {share:>7}")
    return "\n".join(lines)


def shipped_table() -> str:
    """Markdown rows of parameters and FLOPs for every shipped config at its pipeline's input size."""
    from loomcv.config import Config
    from loomcv.config.loader import shipped_configs
    import json
    lines = ["| config | input | params | FLOPs |", "|---|---|---|---|"]
    counted: Dict[str, Tuple[int, int, int]] = {}  # many configs differ only in data or schedule
    for name, path in shipped_configs():
        cfg = Config.fromfile(path)
        if "model" not in cfg:  # a fragment such as a test-time-augmentation add-on
            continue
        shape = input_shape(pipeline_size(cfg))
        key = json.dumps([cfg.get("default_scope"), cfg.model, shape], sort_keys=True, default=repr)
        if key not in counted:
            model, rows = measure(cfg, shape, depth=0)
            counted[key] = (in_channels(model), rows[0][1], rows[0][2])
        channels, params, flops = counted[key]
        lines.append(f"| `{name}` | {channels}x{shape[0]}x{shape[1]} | {human(params)} | {human(flops)} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.shipped:
        print(shipped_table())
        return 0
    if not args.config:
        raise ValueError("give a CONFIG (a file or a shipped config name), or --shipped")
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    shape = input_shape(args.shape or pipeline_size(cfg))
    model, rows = measure(cfg, shape, args.depth)
    title = f"{args.config}: input 1x{in_channels(model)}x{shape[0]}x{shape[1]}"
    print(format_table(rows, title))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # MMCV's complexity counter (the source of most published figures) counts trainable parameters only
    frozen = f" (trainable {human(trainable)}: frozen stages excluded)" if trainable != rows[0][1] else ""
    print(f"Params: {human(rows[0][1])}{frozen}  FLOPs: {human(rows[0][2])}")
    return 0
