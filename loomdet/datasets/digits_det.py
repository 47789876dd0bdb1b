"""DigitsDetDataset: a detection set composed from the embedded UCI digits, with no download.

Each canvas holds 2-5 digits, each the 8x8 digit upscaled 1.5x-4x, tinted in a
light colour and pasted on a dark plain background, none overlapping. The
box of a digit is the tight box of its stroke pixels (upscaled value >=
``STROKE_MIN``), and only stroke pixels are pasted, so everything outside
the boxes is background. The train split draws from the digits' train
split, val from their test split, each from its own seeded generator: the
same arguments give the same images and boxes on every machine.

The images (PNG, lossless) and COCO json annotations are written under
``data_root`` the first time and reused while the generation arguments
match, so :class:`CocoDataset` reads them and ``CocoMetric(ann_file=...)``
evaluates against a real COCO object.
"""

import json
import os
import os.path as osp
import tempfile
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from loomcv.validation import check, check_choice, check_positive, check_range

from ..registry import DATASETS
from .coco import CocoDataset

#: bump when the drawing changes, so cached sets are regenerated
GENERATOR_VERSION = 1
#: upscaled digit values below this are not stroke: not pasted, not in the box
STROKE_MIN = 32
SPLITS = ("train", "val")
DEFAULT_NUM_IMAGES = {"train": 1000, "val": 200}
#: the digits split each detection split draws from
_SOURCE_SPLIT = {"train": "train", "val": "test"}
_MIN_GAP = 2  # pixels between two boxes


def _digit_patch(digit: np.ndarray, size: int) -> Optional[np.ndarray]:
    """The digit upscaled to ``size`` px (bilinear), stroke-thresholded and cropped to its stroke."""
    import cv2
    patch = cv2.resize(digit, (size, size), interpolation=cv2.INTER_LINEAR)
    patch[patch < STROKE_MIN] = 0
    ys, xs = np.nonzero(patch)
    if len(ys) == 0:
        return None
    return patch[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _free(box: Tuple[int, int, int, int], placed: List[Tuple[int, int, int, int]]) -> bool:
    x1, y1, x2, y2 = box
    return all(x1 >= b[2] + _MIN_GAP or b[0] >= x2 + _MIN_GAP or y1 >= b[3] + _MIN_GAP or b[1] >= y2 + _MIN_GAP
               for b in placed)


def generate_canvas(rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray,
                    img_size: Tuple[int, int], num_digits: Tuple[int, int],
                    scale_range: Tuple[float, float]) -> Tuple[np.ndarray, List[dict]]:
    """One BGR uint8 canvas and its objects (``bbox`` x1, y1, x2, y2 exclusive, ``label``,
    ``digit_index``, ``mask`` the stroke pixels inside the box)."""
    width, height = img_size
    background = int(rng.integers(0, 81))
    canvas = np.full((height, width, 3), background, np.uint8)
    wanted = int(rng.integers(num_digits[0], num_digits[1] + 1))
    placed: List[Tuple[int, int, int, int]] = []
    objects: List[dict] = []
    for _ in range(wanted):
        index = int(rng.integers(len(digits)))
        size = int(round(8 * rng.uniform(*scale_range)))
        color = rng.integers(background + 100, 256, size=3)
        patch = _digit_patch(digits[index], size)
        if patch is None:
            continue
        ph, pw = patch.shape
        if ph > height or pw > width:
            continue
        for _attempt in range(50):
            x1, y1 = int(rng.integers(0, width - pw + 1)), int(rng.integers(0, height - ph + 1))
            box = (x1, y1, x1 + pw, y1 + ph)
            if _free(box, placed):
                break
        else:
            continue
        alpha = patch.astype(np.float32)[..., None] / 255.0
        region = canvas[y1:y1 + ph, x1:x1 + pw].astype(np.float32)
        blended = np.rint(region * (1 - alpha) + color.astype(np.float32) * alpha).astype(np.uint8)
        stroke = patch > 0
        canvas[y1:y1 + ph, x1:x1 + pw][stroke] = blended[stroke]
        placed.append(box)
        objects.append(dict(bbox=box, label=int(labels[index]), digit_index=index, mask=stroke))
    return canvas, objects


def _rle(mask: np.ndarray, box: Tuple[int, int, int, int], height: int, width: int) -> dict:
    from pycocotools import mask as mask_utils
    full = np.zeros((height, width), np.uint8)
    full[box[1]:box[3], box[0]:box[2]] = mask
    rle = mask_utils.encode(np.asfortranarray(full))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def generate_digits_det(split: str = "train", num_images: Optional[int] = None,
                        img_size: Union[int, Sequence[int]] = 128, num_digits: Sequence[int] = (2, 5),
                        scale_range: Sequence[float] = (1.5, 4.0), seed: int = 0) -> Tuple[List[np.ndarray], dict]:
    """The canvases of ``split`` and their COCO dict (categories '0'..'9', ids 1..10; masks as RLE).

    Each annotation also carries ``digit_index``, the source digit's index in
    ``loomcls.datasets.load_digits(<train|test>)``.
    """
    from loomcls.datasets import load_digits
    check_choice("DigitsDetDataset", "split", split, SPLITS)
    width, height = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    num_images = DEFAULT_NUM_IMAGES[split] if num_images is None else num_images
    digits, labels = load_digits(_SOURCE_SPLIT[split])
    rng = np.random.default_rng([int(seed), SPLITS.index(split)])
    images, coco_images, annotations = [], [], []
    for image_id in range(1, num_images + 1):
        canvas, objects = generate_canvas(rng, digits, labels, (width, height), tuple(num_digits),
                                          tuple(scale_range))
        images.append(canvas)
        coco_images.append(dict(id=image_id, file_name=f"{image_id:06d}.png", width=width, height=height))
        for obj in objects:
            x1, y1, x2, y2 = obj["bbox"]
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id, category_id=obj["label"] + 1,
                bbox=[x1, y1, x2 - x1, y2 - y1], area=int(obj["mask"].sum()), iscrowd=0,
                segmentation=_rle(obj["mask"], obj["bbox"], height, width), digit_index=obj["digit_index"]))
    coco = dict(images=coco_images, annotations=annotations,
                categories=[dict(id=i + 1, name=str(i)) for i in range(10)])
    return images, coco


def _write_atomic(path: str, write) -> None:
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=osp.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def write_digits_det(ann_file: str, img_dir: str, split: str, **generation) -> str:
    """Generate ``split``: the canvases as ``img_dir/000001.png``... and the COCO json ``ann_file``,
    unless a set made with the same arguments is there; returns ``ann_file``.

    Files are written to temporary names and renamed, so processes generating
    at the same time (one per GPU) leave a complete set.
    """
    import cv2
    params = dict(generation, split=split, version=GENERATOR_VERSION)
    if osp.isfile(ann_file):
        try:
            with open(ann_file, encoding="utf-8") as f:
                existing = json.load(f).get("info", {}).get("generation")
        except (OSError, ValueError):
            existing = None
        if existing == json.loads(json.dumps(params)) and all(
                osp.isfile(osp.join(img_dir, f"{i:06d}.png")) for i in range(1, params["num_images"] + 1)):
            return ann_file
    images, coco = generate_digits_det(split, **generation)
    coco["info"] = dict(description="digits detection set generated by loomdet", generation=params)
    for image, entry in zip(images, coco["images"]):
        _write_atomic(osp.join(img_dir, entry["file_name"]),
                      lambda tmp, image=image: check(cv2.imwrite(tmp, image), "DigitsDetDataset",
                                                     f"could not write {tmp!r}", OSError))

    def dump(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(coco, f)
    _write_atomic(ann_file, dump)
    return ann_file


@DATASETS.register_module()
class DigitsDetDataset(CocoDataset):
    """The generated digits detection set, read as a COCO dataset (classes '0'..'9').

    Args:
        split: 'train' (from the digits' train split) or 'val' (from their test split).
        num_images: canvases in the split (default 1000 train, 200 val).
        img_size: canvas side, or (width, height).
        num_digits: (min, max) digits per canvas.
        scale_range: (min, max) upscale of the 8x8 digits (1.5-4: 12 to 32 px).
        seed: generation seed; train and val draw from separate streams of it.
        data_root: where the images and json are written (default ``data/digits_det/``).
    Other arguments: those of :class:`CocoDataset` (``ann_file`` and
    ``data_prefix`` default to the generated ones).
    """

    METAINFO = {"classes": tuple(str(i) for i in range(10))}

    def __init__(self, split: str = "train", num_images: Optional[int] = None,
                 img_size: Union[int, Sequence[int]] = 128, num_digits: Sequence[int] = (2, 5),
                 scale_range: Sequence[float] = (1.5, 4.0), seed: int = 0, data_root: str = "data/digits_det/",
                 ann_file: str = "", data_prefix: Optional[dict] = None, **kwargs):
        check_choice(self, "split", split, SPLITS)
        num_images = DEFAULT_NUM_IMAGES[split] if num_images is None else num_images
        check_positive(self, "num_images", num_images, integer=True)
        sizes = (img_size, img_size) if isinstance(img_size, int) else img_size
        check(isinstance(sizes, (list, tuple)) and len(sizes) == 2
              and all(isinstance(s, int) and s >= 32 for s in sizes), self,
              f"img_size must be an int >= 32 or a (width, height) pair of them, got {img_size!r}")
        low, high = check_range(self, "num_digits", tuple(num_digits), low=1)
        check(all(isinstance(v, int) for v in (low, high)), self, f"num_digits must be ints, got {num_digits!r}")
        check_range(self, "scale_range", tuple(scale_range), low=1.0)
        check(isinstance(seed, int), self, f"seed must be an int, got {seed!r}")
        self.split = split
        self.generation = dict(num_images=int(num_images), img_size=[int(s) for s in sizes],
                               num_digits=[low, high], scale_range=[float(v) for v in scale_range], seed=seed)
        super().__init__(data_root=data_root, ann_file=ann_file or f"annotations/instances_{split}.json",
                         data_prefix=dict(img=f"{split}/") if data_prefix is None else data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix.get("img") or self.data_root or "."
        write_digits_det(self.ann_file, img_dir, self.split, **self.generation)
        return super().load_data_list()
