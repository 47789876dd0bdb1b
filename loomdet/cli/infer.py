"""``loomcv infer CONFIG CKPT IMAGES...`` for detection configs: print and draw the boxes."""

import argparse
import os.path as osp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file or shipped config name (default_scope loomdet/mmdet)")
    parser.add_argument("checkpoint", help="checkpoint file (its meta holds the class names), or with --backend "
                                           "a model exported by `loomcv export`")
    parser.add_argument("images", nargs="+", help="image files")
    parser.add_argument("--out-dir", default="outputs",
                        help="the drawn images go to OUT_DIR/vis/<image name>.png (default: outputs)")
    parser.add_argument("--no-draw", action="store_true", help="only print the detections")
    parser.add_argument("--score-thr", type=float, default=0.3,
                        help="print and draw only detections scoring above this (default 0.3)")
    parser.add_argument("--palette", default="none",
                        help="box colours: 'random' or 'none' (the dataset's palette) (default none)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="pytorch",
                        choices=("pytorch", "onnxruntime", "torchscript", "torch-export"),
                        help="run the checkpoint (pytorch), or a model exported by `loomcv export` given in "
                             "its place, with this runtime (decoding and NMS run in Python, as for pytorch)")


def run(args: argparse.Namespace) -> int:
    from loomcv.image import imread
    from loomdet.apis import inference_detector, init_deployed_detector, init_detector
    from loomdet.visualization import DetLocalVisualizer
    if not 0 <= args.score_thr <= 1:
        raise ValueError(f"--score-thr must be in [0, 1], got {args.score_thr}")
    if args.backend == "pytorch":
        model = init_detector(args.config, args.checkpoint, palette=args.palette, device=args.device)
    else:
        model = init_deployed_detector(args.config, args.checkpoint, backend=args.backend, device=args.device)
        if args.palette != "none":
            model.dataset_meta["palette"] = args.palette
    classes = model.dataset_meta.get("classes")
    visualizer = None
    if not args.no_draw:
        visualizer = DetLocalVisualizer(name="loomdet_infer")
        visualizer.dataset_meta = model.dataset_meta
    for path, sample in zip(args.images, inference_detector(model, list(args.images))):
        pred = sample.pred_instances
        keep = pred.scores > args.score_thr
        boxes, scores, labels = pred.bboxes[keep], pred.scores[keep], pred.labels[keep]
        print(f"{path}: {len(boxes)} detection(s) above {args.score_thr}")
        for box, score, label in zip(boxes.tolist(), scores.tolist(), labels.tolist()):
            name = classes[label] if classes and label < len(classes) else f"class {label}"
            print(f"  {name} {score:.3f} [{', '.join(f'{v:.1f}' for v in box)}]")
        if visualizer is not None:
            out_file = osp.join(args.out_dir, "vis", osp.splitext(osp.basename(path))[0] + ".png")
            visualizer.add_datasample(osp.basename(path), imread(path, channel_order="rgb"), sample,
                                      draw_gt=False, pred_score_thr=args.score_thr, out_file=out_file)
    if visualizer is not None:
        print(f"drawn images saved to {osp.join(args.out_dir, 'vis')}")
    return 0
