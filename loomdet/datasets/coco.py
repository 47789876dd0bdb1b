"""CocoDataset: a COCO-format json read with pycocotools into MMDetection 3.x's data list.

Where MMDetection is silent this one says what is wrong: a file that is not
COCO, an annotation whose category the file does not list, a box entirely
outside its image, an image listed but missing, and above all a class name in
``metainfo.classes`` that the file does not have (MMDetection then trains on
no boxes of that class and reports mAP 0); the error names the closest
category in the file.
"""

import copy
import os.path as osp
from collections import Counter
from typing import List, Union

from loomcv.errors import ConfigError, closest

from ..registry import DATASETS
from .api_wrappers import COCO
from .base_det_dataset import BaseDetDataset

COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)


def match_categories(classes, categories: List[dict], source: str, owner: str) -> List[int]:
    """The category id of each class name, in the order of ``classes``.

    A class the file lacks, or a name two categories share, is a ConfigError
    (the first is MMDetection's silent mAP-0 trap); the message names the
    closest categories of the file.
    """
    by_name = {}
    for cat in categories:
        if cat["name"] in by_name:
            raise ConfigError(f"{source}: two categories are named {cat['name']!r} (ids {by_name[cat['name']]} "
                              f"and {cat['id']}); category names must be unique")
        by_name[cat["name"]] = cat["id"]
    missing = [name for name in classes if name not in by_name]
    if missing:
        lines = []
        for name in missing:
            near = closest(str(name), by_name, n=1)
            lines.append(f"  {name!r}: " + (f"closest category in the file: {near[0]!r}" if near
                                            else "no similar category in the file"))
        raise ConfigError(
            f"{owner}: {len(missing)} class name(s) of metainfo['classes'] are not categories of {source}:\n"
            + "\n".join(lines) + f"\n  The file's categories: {list(by_name)[:30]}"
            + (" ..." if len(by_name) > 30 else "") + "\n  Spell metainfo['classes'] exactly as the file's "
            "category names (order sets the label numbers); training with a missing class would find no box "
            "of it and report mAP 0 for it.")
    return [by_name[name] for name in classes]


@DATASETS.register_module()
class CocoDataset(BaseDetDataset):
    """A COCO-format detection dataset (MMDetection 3.x's arguments and data list).

    ``metainfo=dict(classes=(...))`` picks the categories (by name; their order
    sets the labels); annotations of other categories are skipped (and counted
    in the summary). ``filter_cfg=dict(filter_empty_gt=True, min_size=32)``
    drops, outside test mode, images with no box of the chosen classes and
    images smaller than ``min_size``. Crowd boxes get ``ignore_flag=1``.
    Images come from ``data_prefix['img']`` joined to ``data_root``.
    """

    METAINFO = {"classes": COCO_CLASSES}
    COCOAPI = COCO
    #: annotation ids must be unique within the file
    ANN_ID_UNIQUE = True

    def load_data_list(self) -> List[dict]:
        if not self.ann_file:
            raise ConfigError(f"{type(self).__name__} needs ann_file, the COCO json of the images")
        coco = self.COCOAPI(self.ann_file, backend_args=self.backend_args)
        self.coco = coco
        categories = sorted(coco.dataset["categories"], key=lambda c: c["id"])
        classes = self._metainfo.get("classes")
        if classes is None:  # no names given: the file's categories, by id
            classes = tuple(cat["name"] for cat in categories)
            self._metainfo["classes"] = classes
        self._metainfo["classes"] = tuple(classes)
        self.cat_ids = match_categories(classes, categories, repr(self.ann_file), type(self).__name__)
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self.cat_img_map = copy.deepcopy(coco.catToImgs)
        self._skipped: Counter = Counter()
        data_list, ann_ids = [], []
        for img_id in coco.get_img_ids():
            raw_img_info = dict(coco.load_imgs([img_id])[0], img_id=img_id)
            img_ann_ids = coco.get_ann_ids(img_ids=[img_id])
            ann_ids.extend(img_ann_ids)
            info = self.parse_data_info(dict(raw_ann_info=coco.load_anns(img_ann_ids), raw_img_info=raw_img_info))
            data_list.append(info)
        if self.ANN_ID_UNIQUE and len(set(ann_ids)) != len(ann_ids):
            repeated = [i for i, n in Counter(ann_ids).items() if n > 1]
            raise ConfigError(f"{type(self).__name__}: annotation ids in {self.ann_file!r} are not unique "
                              f"(repeated: {repeated[:10]})")
        self._note_skipped(coco)
        del self.coco
        return data_list

    def _note_skipped(self, coco) -> None:
        other = {k[1]: n for k, n in self._skipped.items() if isinstance(k, tuple)}
        if other:
            names = ", ".join(f"{coco.cats[c]['name']!r} ({n})" for c, n in sorted(other.items()))
            self.summary_notes.append(f"skipped {sum(other.values())} annotation(s) of categories not in "
                                      f"metainfo['classes']: {names}")
        for reason in ("ignore", "degenerate"):
            if self._skipped.get(reason):
                what = ("marked ignore=True" if reason == "ignore"
                        else "with area <= 0 or width/height < 1 px")
                self.summary_notes.append(f"skipped {self._skipped[reason]} annotation(s) {what}")

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """One image's entry: paths, id, size and its ``instances`` (boxes as x1, y1, x2, y2)."""
        img_info, ann_info = raw_data_info["raw_img_info"], raw_data_info["raw_ann_info"]
        img_prefix = self.data_prefix.get("img", self.data_prefix.get("img_path", ""))
        seg_prefix = self.data_prefix.get("seg")
        info = dict(
            img_path=osp.join(img_prefix, img_info["file_name"]) if img_prefix else img_info["file_name"],
            img_id=img_info["img_id"],
            seg_map_path=(osp.join(seg_prefix, img_info["file_name"].rsplit(".", 1)[0] + self.seg_map_suffix)
                          if seg_prefix else None),
            height=img_info["height"], width=img_info["width"])
        if self.return_classes:
            info["text"] = self._metainfo["classes"]
        skipped = getattr(self, "_skipped", Counter())
        instances = []
        for ann in ann_info:
            if ann.get("ignore", False):
                skipped["ignore"] += 1
                continue
            x1, y1, w, h = ann["bbox"]
            if ann.get("area", w * h) <= 0 or w < 1 or h < 1:
                skipped["degenerate"] += 1
                continue
            inter_w = max(0, min(x1 + w, img_info["width"]) - max(x1, 0))
            inter_h = max(0, min(y1 + h, img_info["height"]) - max(y1, 0))
            if inter_w * inter_h == 0:
                raise ConfigError(
                    f"{type(self).__name__}: annotation id {ann.get('id')} of image {img_info['file_name']!r} "
                    f"(id {img_info['img_id']}, {img_info['width']}x{img_info['height']}) has bbox "
                    f"[x, y, w, h] = {ann['bbox']}, entirely outside the image. COCO boxes are "
                    f"[x, y, width, height] in pixels; check the box format and the image size in {self.ann_file!r}")
            if ann["category_id"] not in self.cat2label:
                skipped[("category", ann["category_id"])] += 1
                continue
            instance = dict(ignore_flag=1 if ann.get("iscrowd", False) else 0, bbox=[x1, y1, x1 + w, y1 + h],
                            bbox_label=self.cat2label[ann["category_id"]])
            if ann.get("segmentation", None):
                instance["mask"] = ann["segmentation"]
            instances.append(instance)
        info["instances"] = instances
        return info

    def filter_data(self) -> List[dict]:
        """Outside test mode, drop images with no box of the chosen classes (``filter_empty_gt``)
        and images whose shorter side is below ``min_size``."""
        if self.test_mode or self.filter_cfg is None:
            return self.data_list
        unknown = set(self.filter_cfg) - {"filter_empty_gt", "min_size"}
        if unknown:
            raise ConfigError(f"{type(self).__name__}: filter_cfg takes filter_empty_gt and min_size, "
                              f"got {sorted(unknown)}")
        filter_empty_gt = self.filter_cfg.get("filter_empty_gt", False)
        min_size = self.filter_cfg.get("min_size", 0)
        ids_with_ann = {info["img_id"] for info in self.data_list}
        ids_in_cat = set()
        for cat_id in self.cat_ids:
            ids_in_cat |= set(self.cat_img_map.get(cat_id, ()))
        ids_in_cat &= ids_with_ann
        kept = []
        for info in self.data_list:
            if filter_empty_gt and info["img_id"] not in ids_in_cat:
                self.count_dropped("without a box of the classes")
                continue
            if min(info["width"], info["height"]) < min_size:
                self.count_dropped(f"smaller than min_size={min_size}")
                continue
            kept.append(info)
        return kept
