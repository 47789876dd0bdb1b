"""pycocotools' COCO, loaded quietly and checked, with MMDetection's snake_case look-ups.

pycocotools accepts almost any json and fails later with a bare KeyError deep
in ``createIndex`` or ``COCOeval``; :func:`check_coco_dict` says instead what
is wrong and where, before anything is indexed.
"""

import contextlib
import io
import numbers
from typing import Any, List, Optional, Sequence, Union

from pycocotools.coco import COCO as _PyCOCO
from pycocotools.cocoeval import COCOeval

from loomcv import fileio
from loomcv.errors import ConfigError

__all__ = ["COCO", "COCOeval", "check_coco_dict", "load_coco_json", "quiet"]

_IMAGE_KEYS = ("id", "file_name", "width", "height")
_ANN_KEYS = ("id", "image_id", "category_id", "bbox")


@contextlib.contextmanager
def quiet():
    """Swallow what pycocotools prints ("loading annotations into memory...", "DONE")."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _not_coco(source: str, why: str) -> ConfigError:
    return ConfigError(
        f"{source} is not a COCO-format annotation file: {why}.\n  A COCO file is a json dict with "
        f"'images' (id, file_name, width, height), 'annotations' (id, image_id, category_id, "
        f"bbox=[x, y, w, h], area, iscrowd) and 'categories' (id, name).")


def _first_missing(items: list, keys: Sequence[str]):
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            return index, None, type(item).__name__
        for key in keys:
            if key not in item:
                return index, key, None
    return None


def check_coco_dict(data: Any, source: str = "the annotation file") -> dict:
    """``data`` if it is a usable COCO dict, else a ConfigError naming the first problem.

    Checked: the top-level layout, the keys of each image, annotation and
    category, that box lists have four numbers, and that every annotation
    names an image and a category the file lists.
    """
    if not isinstance(data, dict):
        raise _not_coco(source, f"the top level is a {type(data).__name__}, not a dict")
    if "data_list" in data:
        raise _not_coco(source, "it holds 'data_list', the OpenMMLab 2.0 layout (read it with "
                                "BaseDetDataset, or convert it to COCO)")
    for key in ("images", "categories"):
        if key not in data:
            raise _not_coco(source, f"it has no {key!r} (top-level keys: {sorted(data)})")
        if not isinstance(data[key], list):
            raise _not_coco(source, f"{key!r} must be a list, got {type(data[key]).__name__}")
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise _not_coco(source, f"'annotations' must be a list, got {type(annotations).__name__}")
    for key, items, needed in (("images", data["images"], _IMAGE_KEYS),
                               ("categories", data["categories"], ("id", "name")),
                               ("annotations", annotations, _ANN_KEYS)):
        problem = _first_missing(items, needed)
        if problem is not None:
            index, missing, bad_type = problem
            why = (f"{key}[{index}] is a {bad_type}, not a dict" if bad_type else
                   f"{key}[{index}] has no {missing!r} (each needs {', '.join(needed)})")
            raise _not_coco(source, why)
    image_ids = {img["id"] for img in data["images"]}
    if len(image_ids) != len(data["images"]):
        raise ConfigError(f"{source}: image ids are not unique ({len(data['images'])} images, "
                          f"{len(image_ids)} distinct ids)")
    category_ids = {cat["id"]: cat["name"] for cat in data["categories"]}
    for index, ann in enumerate(annotations):
        box = ann["bbox"]
        if not (isinstance(box, (list, tuple)) and len(box) == 4
                and all(isinstance(v, numbers.Real) for v in box)):
            raise _not_coco(source, f"annotations[{index}] (id {ann['id']}) has bbox={box!r}; "
                                    f"COCO boxes are [x, y, width, height]")
        if ann["image_id"] not in image_ids:
            raise ConfigError(f"{source}: annotations[{index}] (id {ann['id']}) refers to image id "
                              f"{ann['image_id']!r}, which 'images' does not list")
        if ann["category_id"] not in category_ids:
            known = ", ".join(f"{k}={v!r}" for k, v in list(category_ids.items())[:20])
            raise ConfigError(f"{source}: annotations[{index}] (id {ann['id']}, image id {ann['image_id']}) has "
                              f"category id {ann['category_id']!r}, which 'categories' does not list "
                              f"(its ids: {known}{', ...' if len(category_ids) > 20 else ''})")
    return data


def load_coco_json(path: str, backend_args: Optional[dict] = None) -> dict:
    """Read and check a COCO json file (any storage backend)."""
    if not fileio.exists(path, backend_args):
        raise FileNotFoundError(f"COCO annotation file {path!r} does not exist")
    try:
        data = fileio.load(path, file_format="json", backend_args=backend_args)
    except ConfigError as err:
        raise _not_coco(repr(path), f"it does not parse as json ({err})") from None
    return check_coco_dict(data, repr(path))


class COCO(_PyCOCO):
    """pycocotools' COCO from a path (checked, no prints) or an in-memory dict.

    The snake_case methods are the ones MMDetection's wrapper adds, so code
    written against ``mmdet.datasets.api_wrappers.COCO`` runs unchanged.
    """

    def __init__(self, annotation_file: Union[None, str, dict] = None, backend_args: Optional[dict] = None):
        super().__init__()
        if annotation_file is None:
            return
        if isinstance(annotation_file, dict):
            self.dataset = check_coco_dict(annotation_file, "the COCO dict")
        else:
            self.dataset = load_coco_json(str(annotation_file), backend_args)
        with quiet():
            self.createIndex()

    def get_ann_ids(self, img_ids=(), cat_ids=(), area_rng=(), iscrowd=None) -> List[int]:
        return self.getAnnIds(img_ids, cat_ids, area_rng, iscrowd)

    def get_cat_ids(self, cat_names=(), sup_names=(), cat_ids=()) -> List[int]:
        return self.getCatIds(cat_names, sup_names, cat_ids)

    def get_img_ids(self, img_ids=(), cat_ids=()) -> List[int]:
        return self.getImgIds(img_ids, cat_ids)

    def load_anns(self, ids) -> List[dict]:
        return self.loadAnns(ids)

    def load_cats(self, ids) -> List[dict]:
        return self.loadCats(ids)

    def load_imgs(self, ids) -> List[dict]:
        return self.loadImgs(ids)

    def load_res(self, results) -> "_PyCOCO":
        """``loadRes`` without its prints."""
        with quiet():
            return self.loadRes(results)
