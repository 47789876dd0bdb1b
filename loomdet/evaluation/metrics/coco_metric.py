"""CocoMetric: COCO box (and mask) AP through pycocotools' COCOeval, named as MMDetection logs it.

The metrics are ``coco/bbox_mAP``, ``coco/bbox_mAP_50``, ``coco/bbox_mAP_75``,
``coco/bbox_mAP_s``, ``coco/bbox_mAP_m``, ``coco/bbox_mAP_l`` (rounded to three
decimals, as MMDetection does), ``segm_...`` for masks, and ``AR@N`` for
proposals. Without ``ann_file`` the ground truth is rebuilt from the samples'
``instances`` (keep them with ``PackDetInputs(meta_keys=(..., 'instances'))``).
"""

import datetime
import io
import logging
import os.path as osp
import tempfile
from collections import OrderedDict
from contextlib import redirect_stdout
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from loomcv import fileio
from loomcv.errors import ConfigError
from loomcv.evaluator import BaseMetric
from loomcv.logging import print_log
from loomcv.validation import check

from ...datasets.api_wrappers import COCO, COCOeval
from ...datasets.coco import match_categories
from ...registry import METRICS

ALLOWED_METRICS = ("bbox", "segm", "proposal")
#: the index of each name in COCOeval.stats
COCO_METRIC_NAMES = {
    "mAP": 0, "mAP_50": 1, "mAP_75": 2, "mAP_s": 3, "mAP_m": 4, "mAP_l": 5,
    "AR@100": 6, "AR@300": 7, "AR@1000": 8, "AR_s@1000": 9, "AR_m@1000": 10, "AR_l@1000": 11,
}
DEFAULT_ITEMS = {"bbox": ("mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"),
                 "segm": ("mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"),
                 "proposal": ("AR@100", "AR@300", "AR@1000", "AR_s@1000", "AR_m@1000", "AR_l@1000")}


def encode_mask_results(masks: np.ndarray) -> List[dict]:
    """(N, H, W) bitmaps -> COCO RLEs (``counts`` as str, ready for json)."""
    from pycocotools import mask as mask_utils
    encoded = []
    for mask in masks:
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        rle["counts"] = rle["counts"].decode("ascii")
        encoded.append(rle)
    return encoded


def _xyxy2xywh(box: np.ndarray) -> list:
    x1, y1, x2, y2 = [float(v) for v in box]
    return [x1, y1, x2 - x1, y2 - y1]


def _numpy(value, dtype=None) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        value = value.float() if dtype == np.float32 else value
        value = value.numpy()
    return np.asarray(value, dtype=dtype)


@METRICS.register_module()
class CocoMetric(BaseMetric):
    """COCO detection metric (MMDetection 3.x's arguments).

    Args:
        ann_file: the COCO json of the evaluated images; None rebuilds it from the samples.
        metric: 'bbox', 'segm', 'proposal', or a list of them.
        classwise: also log a per-class AP table and return ``<class>_precision`` values.
        proposal_nums: COCOeval's maxDets (three numbers; AP uses 100, AR each of them).
        iou_thrs: IoU thresholds (default 0.50:0.05:0.95).
        metric_items: which numbers to return (names of ``COCO_METRIC_NAMES``).
        format_only: only write the results json (to ``outfile_prefix``), e.g. for the test server.
        outfile_prefix: ``<prefix>.bbox.json`` (and ``.segm.json``, ``.gt.json``) are written there.
        backend_args: storage backend of ``ann_file`` and the outputs.
        collect_device, prefix: as for every metric.
        sort_categories: sort the file's categories by id (Objects365).
        file_client_args: MMDetection <= 3.0.0rc6's name; refused, use ``backend_args``.
    """

    default_prefix: Optional[str] = "coco"

    def __init__(self, ann_file: Optional[str] = None, metric: Union[str, List[str]] = "bbox",
                 classwise: bool = False, proposal_nums: Sequence[int] = (100, 300, 1000),
                 iou_thrs: Optional[Union[float, Sequence[float]]] = None,
                 metric_items: Optional[Sequence[str]] = None, format_only: bool = False,
                 outfile_prefix: Optional[str] = None, file_client_args: Optional[dict] = None,
                 backend_args: Optional[dict] = None, collect_device: str = "cpu", prefix: Optional[str] = None,
                 sort_categories: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = list(metric) if isinstance(metric, (list, tuple)) else [metric]
        for name in self.metrics:
            if name == "proposal_fast":
                raise ConfigError("CocoMetric: metric 'proposal_fast' is not supported; use 'proposal' "
                                  "(COCOeval's average recall)")
            if name not in ALLOWED_METRICS:
                raise ConfigError(f"CocoMetric: metric must be one of {list(ALLOWED_METRICS)}, got {name!r}")
        self.classwise = classwise
        self.proposal_nums = list(proposal_nums)
        check(len(self.proposal_nums) >= 3 and all(isinstance(n, int) and n > 0 for n in self.proposal_nums),
              self, f"proposal_nums must be at least three positive ints (COCOeval's maxDets), "
                    f"got {proposal_nums!r}")
        if iou_thrs is None:
            iou_thrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
        self.iou_thrs = np.atleast_1d(np.asarray(iou_thrs, dtype=np.float64))
        if metric_items is not None:
            unknown = [item for item in metric_items if item not in COCO_METRIC_NAMES]
            if unknown:
                raise ConfigError(f"CocoMetric: metric_items {unknown} are not known; valid items: "
                                  f"{list(COCO_METRIC_NAMES)}")
        self.metric_items = metric_items
        check(not format_only or outfile_prefix is not None, self,
              "format_only=True needs outfile_prefix (the results would go to a deleted temporary folder)")
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        if file_client_args is not None:
            raise ConfigError("CocoMetric: `file_client_args` is no longer supported; give `backend_args`")
        self.backend_args = backend_args
        self.ann_file = ann_file
        self._coco_api: Optional[COCO] = None
        if ann_file is not None:
            self._coco_api = COCO(ann_file, backend_args=backend_args)
            if sort_categories:
                self._coco_api.cats = {i: self._coco_api.cats[i] for i in sorted(self._coco_api.cats)}
                self._coco_api.dataset["categories"] = sorted(self._coco_api.dataset["categories"],
                                                              key=lambda c: c["id"])
        self.cat_ids: Optional[List[int]] = None
        self.img_ids: Optional[List[int]] = None

    # ------------------------------------------------------------------ collect
    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's predictions (numpy) and, without ann_file, its ground truth."""
        for sample in data_samples:
            if "pred_instances" not in sample:
                raise KeyError(f"CocoMetric: a data sample has no 'pred_instances' (keys: {sorted(sample)}); "
                               f"the model's predict must set them")
            pred = sample["pred_instances"]
            result = dict(img_id=sample["img_id"], bboxes=_numpy(pred["bboxes"], np.float32).reshape(-1, 4),
                          scores=_numpy(pred["scores"], np.float32).reshape(-1),
                          labels=_numpy(pred["labels"], np.int64).reshape(-1))
            if "masks" in pred:
                masks = pred["masks"]
                result["masks"] = (encode_mask_results(_numpy(masks)) if isinstance(masks, (torch.Tensor, np.ndarray))
                                   else masks)
            if "mask_scores" in pred:
                result["mask_scores"] = _numpy(pred["mask_scores"], np.float32)
            gt = dict(width=sample["ori_shape"][1], height=sample["ori_shape"][0], img_id=sample["img_id"])
            if self.ann_file is None:
                if "instances" not in sample:
                    raise KeyError("CocoMetric: without ann_file the ground truth comes from the samples' "
                                   "'instances'; add 'instances' to PackDetInputs' meta_keys in the test "
                                   "pipeline, or give ann_file")
                gt["anns"] = sample["instances"]
            self.results.append((gt, result))

    # ------------------------------------------------------------------ json
    def _check_labels(self, preds: Sequence[dict]) -> None:
        num = len(self.cat_ids)
        for pred in preds:
            if len(pred["labels"]) and (pred["labels"].max() >= num or pred["labels"].min() < 0):
                raise ValueError(f"CocoMetric: a prediction has label {int(pred['labels'].max())} but the dataset "
                                 f"has {num} classes (labels 0..{num - 1}); does the head's num_classes match "
                                 f"the dataset's classes?")

    def results2json(self, results: Sequence[dict], outfile_prefix: str) -> Dict[str, str]:
        """Write ``<prefix>.bbox.json`` (and ``.segm.json``) in COCO result format; return the paths."""
        bbox_json, segm_json = [], ([] if results and "masks" in results[0] else None)
        for idx, result in enumerate(results):
            image_id = result.get("img_id", idx)
            for i, label in enumerate(result["labels"]):
                entry = dict(image_id=image_id, bbox=_xyxy2xywh(result["bboxes"][i]),
                             score=float(result["scores"][i]), category_id=self.cat_ids[int(label)])
                bbox_json.append(entry)
                if segm_json is not None:
                    mask = dict(result["masks"][i])
                    if isinstance(mask.get("counts"), bytes):
                        mask["counts"] = mask["counts"].decode()
                    scores = result.get("mask_scores", result["scores"])
                    segm_json.append(dict(entry, score=float(scores[i]), segmentation=mask))
        files = dict(bbox=f"{outfile_prefix}.bbox.json", proposal=f"{outfile_prefix}.bbox.json")
        fileio.dump(bbox_json, files["bbox"], backend_args=self.backend_args)
        if segm_json is not None:
            files["segm"] = f"{outfile_prefix}.segm.json"
            fileio.dump(segm_json, files["segm"], backend_args=self.backend_args)
        return files

    def gt_to_coco_json(self, gt_dicts: Sequence[dict], outfile_prefix: str) -> str:
        """The samples' ground truth as a COCO json (category ids 0..K-1); returns its path."""
        classes = self.dataset_meta["classes"]
        images, annotations = [], []
        for idx, gt in enumerate(gt_dicts):
            img_id = gt.get("img_id", idx)
            images.append(dict(id=img_id, width=gt["width"], height=gt["height"], file_name=""))
            for ann in gt["anns"]:
                x1, y1, x2, y2 = [float(v) for v in ann["bbox"]]
                entry = dict(id=len(annotations) + 1, image_id=img_id, bbox=[x1, y1, x2 - x1, y2 - y1],
                             iscrowd=int(ann.get("ignore_flag", 0)), category_id=int(ann["bbox_label"]),
                             area=(x2 - x1) * (y2 - y1))
                if ann.get("mask"):
                    mask = ann["mask"]
                    if isinstance(mask, dict) and isinstance(mask.get("counts"), bytes):
                        mask = dict(mask, counts=mask["counts"].decode())
                    entry["segmentation"] = mask
                annotations.append(entry)
        coco = dict(info=dict(date_created=str(datetime.datetime.now()),
                              description="COCO json converted by loomdet CocoMetric"),
                    images=images, categories=[dict(id=i, name=name) for i, name in enumerate(classes)],
                    licenses=None, annotations=annotations)
        path = f"{outfile_prefix}.gt.json"
        fileio.dump(coco, path, backend_args=self.backend_args)
        return path

    # ------------------------------------------------------------------ evaluate
    def compute_metrics(self, results: list) -> Dict[str, float]:
        if not self.dataset_meta or not self.dataset_meta.get("classes"):
            raise ValueError("CocoMetric needs dataset_meta['classes'] (the runner sets it from the dataset's "
                             "metainfo; set metric.dataset_meta by hand when evaluating offline)")
        gts, preds = zip(*results)
        tmp_dir = None
        if self.outfile_prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            outfile_prefix = osp.join(tmp_dir.name, "results")
        else:
            outfile_prefix = self.outfile_prefix
        try:
            return self._evaluate(gts, preds, outfile_prefix)
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()

    def _evaluate(self, gts, preds, outfile_prefix: str) -> Dict[str, float]:
        if self.ann_file is None:  # rebuilt at every evaluation: the evaluated samples may change
            print_log("Converting ground truth to coco format...", "current")
            self._coco_api = COCO(self.gt_to_coco_json(gts, outfile_prefix), backend_args=self.backend_args)
            self.cat_ids = self.img_ids = None
        if self.cat_ids is None:
            source = repr(self.ann_file) if self.ann_file else "the converted ground truth"
            self.cat_ids = match_categories(self.dataset_meta["classes"], self._coco_api.dataset["categories"],
                                            source, "CocoMetric")
        if self.img_ids is None:
            self.img_ids = self._coco_api.get_img_ids()
        self._check_labels(preds)
        files = self.results2json(preds, outfile_prefix)
        eval_results: Dict[str, float] = OrderedDict()
        if self.format_only:
            print_log(f"results are saved in {osp.dirname(outfile_prefix) or '.'}", "current")
            return eval_results
        for metric in self.metrics:
            print_log(f"Evaluating {metric}...", "current")
            iou_type = "bbox" if metric == "proposal" else metric
            items = list(self.metric_items) if self.metric_items is not None else list(DEFAULT_ITEMS[metric])
            predictions = fileio.load(files[metric], backend_args=self.backend_args)
            if not predictions:
                print_log(f"CocoMetric: no {metric} predictions on any image; every {metric} number is 0",
                          "current", logging.WARNING)
                for item in items:
                    eval_results[item if metric == "proposal" else f"{metric}_{item}"] = 0.0
                continue
            if iou_type == "segm":  # so COCOeval takes the mask area, not the box area, for s/m/l
                for entry in predictions:
                    entry.pop("bbox", None)
            coco_dt = self._coco_api.load_res(predictions)
            coco_eval = COCOeval(self._coco_api, coco_dt, iou_type)
            coco_eval.params.catIds = self.cat_ids
            coco_eval.params.imgIds = self.img_ids
            coco_eval.params.maxDets = list(self.proposal_nums)
            coco_eval.params.iouThrs = self.iou_thrs
            if metric == "proposal":
                coco_eval.params.useCats = 0
            summary = io.StringIO()
            with redirect_stdout(summary):
                coco_eval.evaluate()
                coco_eval.accumulate()
                coco_eval.summarize()
            print_log("\n" + summary.getvalue().rstrip(), "current")
            if metric == "proposal":
                for item in items:
                    eval_results[item] = float(f"{coco_eval.stats[COCO_METRIC_NAMES[item]]:.3f}")
                continue
            if self.classwise:
                eval_results.update(self._classwise(coco_eval))
            for item in items:
                value = coco_eval.stats[COCO_METRIC_NAMES[item]]
                eval_results[f"{metric}_{item}"] = float(f"{round(value, 3)}")
            ap = coco_eval.stats[:6]
            print_log(f"{metric}_mAP_copypaste: " + " ".join(f"{v:.3f}" for v in ap), "current")
        return eval_results

    def _classwise(self, coco_eval) -> Dict[str, float]:
        """Per-class AP (all IoUs, @50, @75, small/medium/large) as a logged table; returns
        ``<class>_precision`` (AP over all IoUs) per class."""
        from rich.console import Console
        from rich.table import Table

        precisions = coco_eval.eval["precision"]  # (iou, recall, class, area, max dets)
        if precisions.shape[2] != len(self.cat_ids):
            raise RuntimeError(f"CocoMetric: COCOeval has {precisions.shape[2]} classes, expected {len(self.cat_ids)}")

        def mean_ap(values: np.ndarray) -> float:
            values = values[values > -1]
            return float(np.mean(values)) if values.size else float("nan")

        iou_index = {thr: int(np.argmin(np.abs(self.iou_thrs - thr))) for thr in (0.5, 0.75)}
        out = {}
        table = Table(box=None, pad_edge=False)
        for header in ("category", "mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"):
            table.add_column(header, justify="left" if header == "category" else "right")
        for idx, cat_id in enumerate(self.cat_ids):
            name = self._coco_api.load_cats(cat_id)[0]["name"]
            ap = mean_ap(precisions[:, :, idx, 0, -1])
            row = [name, f"{round(ap, 3)}"]
            for thr in (0.5, 0.75):
                at = (mean_ap(precisions[iou_index[thr], :, idx, 0, -1])
                      if np.isclose(self.iou_thrs[iou_index[thr]], thr) else float("nan"))
                row.append(f"{round(at, 3)}")
            for area in (1, 2, 3):
                row.append(f"{round(mean_ap(precisions[:, :, idx, area, -1]), 3)}")
            out[f"{name}_precision"] = round(ap, 3)
            table.add_row(*row)
        console = Console(file=io.StringIO(), width=120, color_system=None)
        console.print(table)
        print_log("\n" + console.file.getvalue().rstrip(), "current")
        return out
