"""``loomcv analyze-results CONFIG RESULTS --out-dir D``: the most confident right and wrong predictions.

RESULTS is what ``loomcv test ... --out FILE`` wrote (a ``.pkl`` or ``.json``):
either the bare list of predictions (``--out-item pred``, MMPretrain's layout)
or the ``{metrics, predictions}`` dict of the default. Each prediction needs
``sample_idx``, ``gt_label``, ``pred_label`` and ``pred_score``; the image comes
from the config's test dataset (its ``img`` field, else ``img_path``).

Writes ``D/success`` and ``D/fail``: one picture per prediction, drawn with the
Visualizer and named ``<rank>_<sample>.png`` in order of falling confidence,
a ``gallery.png`` grid of them and a ``<folder>.json`` listing them.
"""

import argparse
import json
import os
import os.path as osp
import pickle
from typing import Any, List, Optional, Sequence

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcv.config import DictAction
    parser.add_argument("config", help="config file or shipped config name (its test_dataloader gives the images)")
    parser.add_argument("result", help="predictions saved by `loomcv test ... --out FILE` (.pkl or .json)")
    parser.add_argument("--out-dir", required=True, help="folder for the success/ and fail/ galleries")
    parser.add_argument("--topk", type=int, default=20, help="pictures per gallery (default: 20)")
    parser.add_argument("--rescale-factor", "-r", type=float,
                        help="scale images by this factor (default: small images are enlarged to 128 px)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: a.b=1")


def load_predictions(path: str) -> List[dict]:
    """The prediction dicts of a results file in either layout ``loomcv test --out`` writes."""
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    elif path.endswith((".pkl", ".pickle")):
        with open(path, "rb") as f:
            data = pickle.load(f)
    else:
        raise ValueError(f"analyze-results: RESULTS must be a .pkl or .json file, got {path!r}")
    if isinstance(data, dict):
        if data.get("predictions") is None:
            raise ValueError(f"analyze-results: {path} holds no predictions (keys: {sorted(data)}); "
                             f"save them with `loomcv test CONFIG CKPT --out {osp.basename(path)}` "
                             f"(or --out-item pred)")
        data = data["predictions"]
    if not isinstance(data, list) or not data:
        raise ValueError(f"analyze-results: {path} must hold a non-empty list of predictions")
    return data


def _label(value: Any, what: str, index: int) -> int:
    array = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value).reshape(-1)
    if array.size != 1:
        raise ValueError(f"analyze-results: prediction {index} has {array.size} values in {what}; "
                         f"this tool analyzes single-label classification")
    return int(array[0])


def summarize(predictions: Sequence[dict]) -> List[dict]:
    """One record per prediction: sample_idx, gt_label, pred_label, pred_score (the top score)."""
    records = []
    for i, pred in enumerate(predictions):
        missing = [k for k in ("gt_label", "pred_label", "pred_score") if k not in pred]
        if missing:
            raise KeyError(f"analyze-results: prediction {i} has no {', '.join(missing)} "
                           f"(it has {', '.join(sorted(pred))})")
        scores = pred["pred_score"]
        scores = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, np.float64)
        records.append(dict(sample_idx=int(pred.get("sample_idx", i)), gt_label=_label(pred["gt_label"], "gt_label", i),
                            pred_label=_label(pred["pred_label"], "pred_label", i),
                            pred_score=float(scores.max()), img_path=pred.get("img_path")))
    return records


def split_by_confidence(records: Sequence[dict], topk: int):
    """(correct, wrong): each the ``topk`` records with the highest pred_score, highest first."""
    if topk < 1:
        raise ValueError(f"analyze-results: --topk must be >= 1, got {topk}")
    ordered = sorted(records, key=lambda r: r["pred_score"], reverse=True)
    correct = [r for r in ordered if r["pred_label"] == r["gt_label"]][:topk]
    wrong = [r for r in ordered if r["pred_label"] != r["gt_label"]][:topk]
    return correct, wrong


def _rgb_image(dataset, record: dict) -> np.ndarray:
    import cv2
    from loomcv.image import imread
    info = dataset.get_data_info(record["sample_idx"])
    if info.get("img") is not None:
        image = np.asarray(info["img"])
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
            return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if info.get("img_path"):
        return imread(info["img_path"], channel_order="rgb")
    raise ValueError(f"analyze-results: sample {record['sample_idx']} of the test dataset has neither "
                     f"'img' nor 'img_path'")


def draw_prediction(image: np.ndarray, record: dict, classes: Optional[Sequence[str]],
                    rescale_factor: Optional[float] = None) -> np.ndarray:
    """``image`` (RGB) with its true and predicted class and the score written on top."""
    import cv2
    from loomcv.visualization import Visualizer
    factor = rescale_factor if rescale_factor else max(1.0, 128 / min(image.shape[:2]))
    if factor != 1:
        interp = cv2.INTER_NEAREST if factor > 1 else cv2.INTER_AREA
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=interp)

    def name(label: int) -> str:
        return f"{label}: {classes[label]}" if classes is not None and 0 <= label < len(classes) else str(label)

    ok = record["gt_label"] == record["pred_label"]
    text = f"gt {name(record['gt_label'])}\npred {name(record['pred_label'])} ({record['pred_score']:.2f})"
    vis = Visualizer(image=image)
    font = max(7, min(image.shape[:2]) // 14)
    vis.draw_texts(text, np.array([2, 2]), font_sizes=font, colors="white",
                   bboxes=dict(facecolor="green" if ok else "red", alpha=0.7, pad=1, edgecolor="none"))
    return vis.get_image()


def _gallery(images: List[np.ndarray], columns: int = 5) -> np.ndarray:
    """The pictures in rows of ``columns``, each cell as large as the largest picture."""
    height = max(i.shape[0] for i in images)
    width = max(i.shape[1] for i in images)
    rows = (len(images) + columns - 1) // columns
    sheet = np.full((rows * height, min(columns, len(images)) * width, 3), 255, np.uint8)
    for k, image in enumerate(images):
        r, c = divmod(k, columns)
        sheet[r * height:r * height + image.shape[0], c * width:c * width + image.shape[1]] = image
    return sheet


def save_gallery(out_dir: str, folder: str, records: List[dict], dataset, classes,
                 rescale_factor: Optional[float] = None) -> List[str]:
    """Write ``out_dir/folder``: one PNG per record (in the given order), gallery.png and folder.json."""
    import cv2
    target = osp.join(out_dir, folder)
    os.makedirs(target, exist_ok=True)
    files, drawn = [], []
    for rank, record in enumerate(records):
        picture = draw_prediction(_rgb_image(dataset, record), record, classes, rescale_factor)
        path = osp.join(target, f"{rank:03d}_{record['sample_idx']}.png")
        if not cv2.imwrite(path, cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
            raise OSError(f"analyze-results: cannot write {path}")
        files.append(path)
        drawn.append(picture)
        record["file"] = osp.basename(path)
    if drawn:
        cv2.imwrite(osp.join(target, "gallery.png"), cv2.cvtColor(_gallery(drawn), cv2.COLOR_RGB2BGR))
    with open(osp.join(target, f"{folder}.json"), "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1)
    return files


def run(args: argparse.Namespace) -> int:
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    from loomcv.registry import DATASETS, init_default_scope

    records = summarize(load_predictions(args.result))
    correct, wrong = split_by_confidence(records, args.topk)
    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    init_default_scope(cfg.get("default_scope", "loomcls"))
    dataset_cfg = dict(cfg.test_dataloader.dataset)
    dataset_cfg["pipeline"] = []  # only the annotations: images are read here
    dataset = DATASETS.build(dataset_cfg)
    if len(dataset) < max(r["sample_idx"] for r in records) + 1:
        raise ValueError(f"analyze-results: the results name sample {max(r['sample_idx'] for r in records)} but "
                         f"the config's test dataset has {len(dataset)} samples; is it the config that made them?")
    classes = dataset.metainfo.get("classes")
    save_gallery(args.out_dir, "success", correct, dataset, classes, args.rescale_factor)
    save_gallery(args.out_dir, "fail", wrong, dataset, classes, args.rescale_factor)
    print(f"{len(records)} predictions: {len(correct)} most confident correct in {osp.join(args.out_dir, 'success')}, "
          f"{len(wrong)} most confident wrong in {osp.join(args.out_dir, 'fail')}")
    return 0
