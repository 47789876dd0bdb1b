"""``loomcv infer CONFIG CKPT IMAGES...`` or ``loomcv infer MODEL_NAME IMAGES...``: classify images
and print the classes (a model name from the index brings its published weights)."""

import argparse
import os.path as osp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file, shipped config name, or model name (loomcls.apis.list_models)")
    parser.add_argument("checkpoint", nargs="?",
                        help="checkpoint file or URL (its meta holds the class names); optional after a model "
                             "name, which then uses its published weights")
    parser.add_argument("images", nargs="+", help="image files")
    parser.add_argument("--topk", type=int, default=1, help="print the K best classes")
    parser.add_argument("--out-dir", help="save each image with its prediction drawn (UniversalVisualizer) "
                        "as PNG here")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="pytorch",
                        choices=("pytorch", "onnxruntime", "torchscript", "torch-export"),
                        help="run the checkpoint (pytorch), or a model exported by `loomcv export` given in "
                             "its place, with this runtime")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from loomcls.apis import ImageClassificationInferencer, show_result
    if args.backend == "pytorch":
        from loomcls.apis.model import resolve_infer_inputs
        config, checkpoint, args.images = resolve_infer_inputs(args.config, args.checkpoint, args.images)
        inferencer = ImageClassificationInferencer(config, pretrained=checkpoint, device=args.device)
    else:
        from loomcls.apis import init_deployed_model
        inferencer = ImageClassificationInferencer(
            init_deployed_model(args.config, args.checkpoint, backend=args.backend, device=args.device))
    classes = inferencer.classes
    if args.topk < 1:
        raise ValueError(f"--topk must be >= 1, got {args.topk}")
    for path, result in zip(args.images, inferencer(args.images)):
        order = np.argsort(-result["pred_scores"], kind="stable")[:args.topk]
        names = [f"{classes[i] if classes else i} ({result['pred_scores'][i]:.4f})" for i in order]
        print(f"{path}: {', '.join(names)}")
        if args.out_dir:
            out = osp.join(args.out_dir, osp.splitext(osp.basename(path))[0] + ".png")
            show_result(path, result, out, classes=classes)
    if args.out_dir:
        print(f"visualizations saved to {args.out_dir}")
    return 0
