"""``loomcv browse-dataset CONFIG``: save PNGs of samples before, after, or at each pipeline step.

Each PNG is one sample: a grid of labelled cells (step name and image size),
so a wrong crop, flip or normalization is visible at a glance. Boxes are drawn
where a step carries them (``gt_bboxes``/``gt_bboxes_labels`` before packing,
the data sample's ``gt_instances`` after), so a transform that moves the image
but not its boxes shows as boxes off their objects.
"""

import argparse
import os
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from loomcv.config import DictAction

MODES = ("original", "transformed", "pipeline")
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file, pkg::path, or the name of a shipped config")
    parser.add_argument("--phase", choices=["train", "val", "test"], default="train",
                        help="which <phase>_dataloader's dataset to browse (default: train)")
    parser.add_argument("--mode", choices=MODES, default="transformed",
                        help="original: the loaded image; transformed: the pipeline's output; "
                             "pipeline: every step (default: transformed)")
    parser.add_argument("--out-dir", default="browse_dataset", help="where to write the PNGs")
    parser.add_argument("--show-number", type=int, default=10, help="how many samples (default: 10)")
    parser.add_argument("--cell-size", type=int, default=256, help="longest side of each image cell in pixels")
    parser.add_argument("--seed", type=int, default=None, help="seed the random transforms")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={}, metavar="KEY=VALUE",
                        help="override settings, e.g. train_dataloader.dataset.pipeline.1.scale=64")


# ---------------------------------------------------------------------- images
def displayable(value: Any, rgb: bool) -> Optional[np.ndarray]:
    """A uint8 BGR HxWx3 view of an image array or CHW tensor; floats are min-max stretched."""
    if value is None:
        return None
    if hasattr(value, "detach"):  # a CHW tensor from PackInputs / ImageToTensor
        value = value.detach().cpu().numpy()
        if value.ndim == 3:
            value = value.transpose(1, 2, 0)
    if not isinstance(value, np.ndarray) or value.ndim not in (2, 3):
        return None
    img = value
    if img.dtype != np.uint8:
        img = img.astype(np.float32)
        lo, hi = float(img.min()), float(img.max())
        img = ((img - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(img)).astype(np.uint8)
    if img.ndim == 2 or img.shape[2] == 1:
        img = cv2.cvtColor(img.reshape(img.shape[:2]), cv2.COLOR_GRAY2BGR)
    elif img.shape[2] > 3:
        img = np.ascontiguousarray(img[..., :3])
    elif rgb:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    return np.ascontiguousarray(img)


#: box colours (BGR), one per label, cycling
_PALETTE = [(56, 56, 255), (151, 157, 255), (31, 112, 255), (29, 178, 255), (49, 210, 207), (10, 249, 72),
            (23, 204, 146), (134, 219, 61), (52, 147, 26), (187, 212, 0), (168, 153, 44), (255, 194, 0)]


def boxes_of(results: Any) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(N x 4 x1y1x2y2 float array, N labels or -1) carried by a pipeline step's results, or None."""
    if not isinstance(results, dict):
        return None
    boxes, labels = results.get("gt_bboxes"), results.get("gt_bboxes_labels")
    instances = getattr(results.get("data_samples"), "gt_instances", None)
    if boxes is None and instances is not None:
        boxes, labels = getattr(instances, "bboxes", None), getattr(instances, "labels", None)
    if boxes is None:
        return None
    boxes = getattr(boxes, "tensor", boxes)  # box structures keep their array in .tensor
    boxes = np.asarray(boxes.detach().cpu() if hasattr(boxes, "detach") else boxes, np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        return None
    labels = (np.full(len(boxes), -1) if labels is None else
              np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels).reshape(-1))
    return boxes, labels


def _draw_boxes(cell: np.ndarray, annotated: Tuple[np.ndarray, np.ndarray], factor: float, x0: int, y0: int,
                classes: Optional[Sequence[str]]) -> None:
    for (x1, y1, x2, y2), label in zip(*annotated):
        label = int(label)
        color = _PALETTE[label % len(_PALETTE)] if label >= 0 else (0, 0, 255)
        p1 = (x0 + int(round(x1 * factor)), y0 + int(round(y1 * factor)))
        p2 = (x0 + int(round(x2 * factor)), y0 + int(round(y2 * factor)))
        cv2.rectangle(cell, p1, p2, color, 1, cv2.LINE_AA)
        if label >= 0:
            name = str(classes[label]) if classes is not None and label < len(classes) else str(label)
            cv2.putText(cell, name, (p1[0], max(p1[1] - 3, 10)), _FONT, 0.4, color, 1, cv2.LINE_AA)


def _cell(title: str, img: np.ndarray, size: int, annotated: Optional[Tuple[np.ndarray, np.ndarray]] = None,
          classes: Optional[Sequence[str]] = None) -> np.ndarray:
    """The image scaled to fit ``size`` (nearest when enlarging, to keep pixels honest) under a title band,
    with its boxes drawn at the cell's scale."""
    h, w = img.shape[:2]
    factor = size / max(h, w)
    new = (max(1, int(round(w * factor))), max(1, int(round(h * factor))))
    interp = cv2.INTER_NEAREST if factor > 1 else cv2.INTER_AREA
    scaled = cv2.resize(img, new, interpolation=interp)
    band = 40
    cell = np.full((size + band, size, 3), 255, np.uint8)
    y0, x0 = band + (size - new[1]) // 2, (size - new[0]) // 2
    cell[y0:y0 + new[1], x0:x0 + new[0]] = scaled
    if annotated is not None:
        _draw_boxes(cell, annotated, factor, x0, y0, classes)
    cv2.putText(cell, title[:28], (6, 16), _FONT, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(cell, f"{h}x{w}", (6, 33), _FONT, 0.4, (90, 90, 90), 1, cv2.LINE_AA)
    return cell


def make_grid(cells: List[tuple], size: int = 256, header: str = "", columns: int = 4,
              classes: Optional[Sequence[str]] = None) -> np.ndarray:
    """Labelled cells in rows of ``columns``, with a header line, on a white canvas. Each cell is
    ``(title, image)`` or ``(title, image, (boxes, labels))``; ``classes`` names the labels."""
    if not cells:
        raise ValueError("make_grid: no images to draw")
    tiles = [_cell(cell[0], cell[1], size, cell[2] if len(cell) > 2 else None, classes) for cell in cells]
    columns = min(columns, len(tiles))
    rows = -(-len(tiles) // columns)
    th, tw = tiles[0].shape[:2]
    gap, top = 8, 30 if header else 0
    canvas = np.full((top + rows * (th + gap) + gap, columns * (tw + gap) + gap, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = top + gap + r * (th + gap), gap + c * (tw + gap)
        canvas[y:y + th, x:x + tw] = tile
        cv2.rectangle(canvas, (x - 1, y - 1), (x + tw, y + th), (200, 200, 200), 1)
    if header:
        cv2.putText(canvas, header[:120], (gap, 21), _FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


# ---------------------------------------------------------------------- dataset
def _innermost(dataset: Any) -> Any:
    """The dataset that owns the pipeline (unwraps Repeat/ClassBalanced/Concat wrappers)."""
    while not hasattr(dataset, "pipeline"):
        if hasattr(dataset, "dataset"):
            dataset = dataset.dataset
        elif hasattr(dataset, "datasets"):
            dataset = dataset.datasets[0]
        else:
            raise TypeError(f"{type(dataset).__name__} has no pipeline to browse")
    return dataset


def _name(step: Any) -> str:
    return type(step).__name__ if not callable(step) or hasattr(step, "transform") else getattr(
        step, "__name__", type(step).__name__)


def trace(dataset: Any, idx: int) -> List[tuple]:
    """(step name, displayable image, boxes or None) after each pipeline step that leaves an image."""
    results = dataset.get_data_info(idx)
    shots: List[tuple] = []
    rgb = False
    for step in dataset.pipeline.transforms:
        results = step(results)
        if results is None:
            shots.append((f"{_name(step)}: dropped", np.full((32, 32, 3), 200, np.uint8), None))
            break
        norm = results.get("img_norm_cfg")
        if isinstance(norm, dict) and norm.get("to_rgb"):
            rgb = True
        img = displayable(results.get("img", results.get("inputs")), rgb)
        if img is not None:
            shots.append((_name(step), img.copy(), boxes_of(results)))
    return shots


def run(args: argparse.Namespace) -> int:
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    from loomcv.registry import DATASETS, init_default_scope

    if args.show_number < 1:
        raise ValueError(f"--show-number must be >= 1, got {args.show_number}")
    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    if cfg.get("default_scope"):
        init_default_scope(cfg.get("default_scope"))
    key = f"{args.phase}_dataloader"
    loader_cfg = cfg.get(key)
    if not loader_cfg or "dataset" not in loader_cfg:
        raise KeyError(f"{cfg.filename}: no `{key}.dataset` to browse (keys: {', '.join(cfg.keys())})")
    dataset = _innermost(DATASETS.build(loader_cfg["dataset"]))
    if args.seed is not None:
        np.random.seed(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    count = min(args.show_number, len(dataset))
    for idx in range(count):
        shots = trace(dataset, idx)
        if not shots:
            raise ValueError(f"sample {idx}: the pipeline produced no image to show")
        if args.mode == "original":
            shots = shots[:1]
        elif args.mode == "transformed":
            shots = [("original", *shots[0][1:]), ("transformed", *shots[-1][1:])]
        info = dataset.get_data_info(idx)
        source = str(info.get("img_path", f"sample {idx}"))
        header = f"#{idx} {osp.basename(source)}"
        if "gt_label" in info:
            classes = dataset.metainfo.get("classes")
            label = int(np.asarray(info["gt_label"]).reshape(-1)[0])
            name = f" ({classes[label]})" if classes is not None and label < len(classes) else ""
            header += f"  label {label}{name}"
        grid = make_grid(shots, args.cell_size, header, classes=dataset.metainfo.get("classes"))
        stem = osp.splitext(osp.basename(source))[0] or f"sample{idx}"
        path = osp.join(args.out_dir, f"{idx:04d}_{stem}.png")
        if not cv2.imwrite(path, grid):
            raise OSError(f"cannot write {path}")
    print(f"wrote {count} {args.mode} image(s) of the {args.phase} set to {args.out_dir}")
    return 0
