"""``loomcv export CONFIG CHECKPOINT --format onnx|torchscript|torch-export``: export, then check against PyTorch.

The exported graph takes normalized NCHW float images (after the data
preprocessor) and gives the model's outputs; the preprocessing and the class
names go to ``<out>.json`` beside it. The export is then run (ONNX Runtime,
torch.jit.load, the ExportedProgram) on a sample batch, and on a second batch
size with ``--dynamic-batch``, and compared with PyTorch.
"""

import argparse
import os.path as osp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcv.config import DictAction
    from loomcv.export import DEFAULT_ATOL, DEFAULT_RTOL, FORMATS
    parser.add_argument("config", help="config file or the name of a shipped config")
    parser.add_argument("checkpoint", help="checkpoint file (its meta's dataset_meta gives the class names)")
    parser.add_argument("--format", default="onnx", choices=FORMATS, help="what to export to (default: onnx)")
    parser.add_argument("--out", help="output file (default: the checkpoint's path with the format's suffix: "
                                      ".onnx, .pt for TorchScript, .pt2 for torch.export)")
    parser.add_argument("--shape", type=int, nargs="+", metavar="SIZE",
                        help="input height and width (one value: square); default: the size the config's "
                             "test pipeline resizes or crops to, else 224")
    parser.add_argument("--batch", type=int, default=1, help="batch size of the sample input (default 1)")
    parser.add_argument("--dynamic-batch", action="store_true",
                        help="let the exported model take any batch size (checked at a second batch size)")
    parser.add_argument("--opset", type=int, help="ONNX opset (default: 17; 18 with --onnx-exporter dynamo)")
    parser.add_argument("--onnx-exporter", default="torchscript", choices=("torchscript", "dynamo"),
                        help="torch's tracing ONNX exporter (default) or its torch.export-based one "
                             "(needs onnxscript)")
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL,
                        help=f"absolute tolerance of the check against PyTorch (default {DEFAULT_ATOL:g})")
    parser.add_argument("--rtol", type=float, default=DEFAULT_RTOL,
                        help=f"relative tolerance of the check against PyTorch (default {DEFAULT_RTOL:g})")
    parser.add_argument("--verbose", action="store_true", help="show the exporter's own output")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={}, metavar="KEY=VALUE",
                        help="override settings, e.g. model.head.num_classes=3")


def checkpoint_dataset_meta(meta: dict, cfg) -> dict:
    """The class names and other dataset meta: the checkpoint's (MMEngine's ``dataset_meta``, MMCV 1.x's
    ``CLASSES``), else the metainfo of the config's test dataset class."""
    if meta.get("dataset_meta"):
        return dict(meta["dataset_meta"])
    if meta.get("CLASSES"):
        return {"classes": tuple(meta["CLASSES"])}
    from loomcv.registry import DATASETS, DefaultScope
    dataset = ((cfg.get("test_dataloader") or cfg.get("val_dataloader") or {}).get("dataset")) or {}
    classes = (dataset.get("metainfo") or {}).get("classes")
    if not classes and dataset.get("type"):
        with DefaultScope.overwrite_default_scope(cfg.get("default_scope", "loomcv")):
            try:
                classes = getattr(DATASETS.get(dataset["type"]), "METAINFO", {}).get("classes")
            except KeyError:
                classes = None
    return {"classes": tuple(classes)} if classes else {}


def run(args: argparse.Namespace) -> int:
    from loomcv.cli.get_flops import build_model, in_channels, input_shape, pipeline_size
    from loomcv.checkpoint import load_checkpoint
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    from loomcv.export import export_model, get_format

    fmt = get_format(args.format, args.onnx_exporter)
    fmt.require()  # before any model is built: a missing extra is said at once
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f"checkpoint {args.checkpoint!r} does not exist")
    cfg = Config.fromfile(find_config(args.config))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg)
    ckpt = load_checkpoint(model, args.checkpoint, map_location="cpu", strict=True)  # no half-loaded exports
    dataset_meta = checkpoint_dataset_meta(ckpt.get("meta") or {}, cfg)
    model.dataset_meta = dataset_meta
    h, w = input_shape(args.shape or pipeline_size(cfg))
    # models that pad their batches (detectors) are exported at the padded size
    divisor = int(getattr(model.data_preprocessor, "pad_size_divisor", 1) or 1)
    h, w = -(-h // divisor) * divisor, -(-w // divisor) * divisor
    out = args.out or osp.splitext(args.checkpoint)[0] + fmt.suffix
    result = export_model(
        model, args.format, out, (in_channels(model), h, w), batch=args.batch, dynamic_batch=args.dynamic_batch,
        opset=args.opset, atol=args.atol, rtol=args.rtol, cfg=cfg, dataset_meta=dataset_meta,
        onnx_exporter=args.onnx_exporter, verbose=args.verbose,
        extra_meta=dict(config=osp.abspath(find_config(args.config)), checkpoint=osp.abspath(args.checkpoint)))
    opset = f", opset {result.info['opset']}" if "opset" in result.info else ""
    batch = "dynamic batch" if args.dynamic_batch else f"batch {args.batch}"
    print(f"exported {type(model).__name__} to {result.path} ({result.format}{opset}, input "
          f"{'x'.join(map(str, result.input_shape[1:]))}, {batch})")
    for row in result.comparison.rows:
        print(f"  check against PyTorch, {row}")
    print(f"largest differences: abs {result.comparison.max_abs:.3g}, rel {result.comparison.max_rel:.3g} "
          f"(tolerance atol={args.atol:g}, rtol={args.rtol:g}): OK")
    print(f"preprocessing and class names written to {result.sidecar}")
    return 0
