"""Detection train pipeline throughput: LoadImageFromFile + LoadAnnotations + Resize(416, keep_ratio)
+ RandomFlip + PhotoMetricDistortion + PackDetInputs against a hand-written OpenCV loop doing the
same steps to the image and its boxes, over generated 500x375 JPEGs with 1-8 boxes each.

Prints images per second for both and the ratio. Single process, one thread:
it measures per-sample cost, not DataLoader parallelism.

    python benchmarks/det_pipeline.py [--images 200] [--rounds 5]
"""

import argparse
import math
import os.path as osp
import tempfile
import time

import cv2
import numpy as np
import torch

from loomcv.registry import DefaultScope
from loomcv.transforms import Compose
from loomdet.registry import TRANSFORMS

SCALE = (416, 416)


def make_data(root: str, n: int) -> list:
    """``n`` JPEGs and their MMDetection data_info entries (boxes as x1, y1, x2, y2)."""
    rng = np.random.RandomState(0)
    infos = []
    for i in range(n):
        small = rng.randint(0, 256, (24, 32, 3), np.uint8)
        img = cv2.resize(small, (500, 375), interpolation=cv2.INTER_CUBIC)
        img = cv2.add(img, rng.randint(0, 20, img.shape, np.uint8))
        path = osp.join(root, f"{i:04d}.jpg")
        cv2.imwrite(path, img)
        instances = []
        for _ in range(rng.randint(1, 9)):
            x1, y1 = rng.uniform(0, 400), rng.uniform(0, 300)
            w, h = rng.uniform(10, 100), rng.uniform(10, 75)
            instances.append(dict(bbox=[x1, y1, x1 + w, y1 + h], bbox_label=int(rng.randint(80)), ignore_flag=0))
        infos.append(dict(img_path=path, img_id=i, height=375, width=500, instances=instances))
    return infos


def photometric(img: np.ndarray) -> np.ndarray:
    """SSD's colour jitter written out by hand (each step with probability 0.5)."""
    mode, bright, contrast, sat, hue, swap = np.random.randint(2, size=6)
    delta, alpha = np.random.uniform(-32, 32), np.random.uniform(0.5, 1.5)
    sat_factor, hue_delta, order = np.random.uniform(0.5, 1.5), np.random.uniform(-18, 18), np.random.permutation(3)
    img = img.astype(np.float32)
    if bright:
        img += delta
    if mode == 1 and contrast:
        img *= alpha
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    if sat:
        hsv[..., 1] *= sat_factor
    if hue:
        channel = hsv[..., 0]
        channel += hue_delta
        channel[channel > 360] -= 360
        channel[channel < 0] += 360
    img = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    if mode == 0 and contrast:
        img *= alpha
    if swap:
        img = img[..., order]
    return img


def hand_written(infos: list) -> int:
    """What one would write without a framework."""
    count = 0
    for info in infos:
        img = cv2.imread(info["img_path"], cv2.IMREAD_COLOR)
        boxes = np.array([inst["bbox"] for inst in info["instances"]], np.float32).reshape(-1, 4)
        labels = np.array([inst["bbox_label"] for inst in info["instances"]], np.int64)
        h, w = img.shape[:2]
        scale = min(SCALE[0] / w, SCALE[1] / h)
        new_w, new_h = int(w * scale + 0.5), int(h * scale + 0.5)
        img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        boxes *= np.array([new_w / w, new_h / h, new_w / w, new_h / h], np.float32)
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, new_w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, new_h)
        if np.random.rand() < 0.5:
            img = cv2.flip(img, 1)
            boxes[:, [0, 2]] = new_w - boxes[:, [2, 0]]
        img = photometric(img)
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        target = (torch.from_numpy(boxes), torch.from_numpy(labels))
        count += inputs.shape[0] > 0 and target[0].shape[0] > 0
    return count


def with_pipeline(infos: list, pipeline: Compose, preload_boxes: bool) -> int:
    count = 0
    for info in infos:
        results = dict(info)
        if preload_boxes:  # what LoadAnnotations would add
            results.update(gt_bboxes=np.array([i["bbox"] for i in info["instances"]], np.float32),
                           gt_bboxes_labels=np.array([i["bbox_label"] for i in info["instances"]], np.int64),
                           gt_ignore_flags=np.zeros(len(info["instances"]), bool))
        out = pipeline(results)
        count += out["inputs"].shape[0] > 0 and len(out["data_samples"].gt_instances) > 0
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    preload = TRANSFORMS.get("LoadAnnotations") is None
    steps = [dict(type="LoadImageFromFile"),
             *([] if preload else [dict(type="LoadAnnotations", with_bbox=True)]),
             dict(type="Resize", scale=SCALE, keep_ratio=True),
             dict(type="RandomFlip", prob=0.5),
             dict(type="PhotoMetricDistortion"),
             dict(type="PackDetInputs")]
    with DefaultScope.overwrite_default_scope("loomdet"):
        pipeline = Compose(steps)
    with tempfile.TemporaryDirectory() as root:
        infos = make_data(root, args.images)
        hand_written(infos)  # warm the page cache and both code paths
        with_pipeline(infos, pipeline, preload)
        best = {"hand": math.inf, "loomdet": math.inf}
        for r in range(args.rounds):  # interleaved, best of N: robust to noisy neighbours
            np.random.seed(r)
            t0 = time.perf_counter()
            hand_written(infos)
            best["hand"] = min(best["hand"], time.perf_counter() - t0)
            np.random.seed(r)
            t0 = time.perf_counter()
            with_pipeline(infos, pipeline, preload)
            best["loomdet"] = min(best["loomdet"], time.perf_counter() - t0)
    n = len(infos)
    hand_ips, loom_ips = n / best["hand"], n / best["loomdet"]
    print(f"images: {n} x 500x375 JPEG with 1-8 boxes, resized to fit {SCALE}, best of {args.rounds} rounds, "
          f"1 thread")
    if preload:
        print("note: no LoadAnnotations is registered in this checkout: the timed loop builds gt_bboxes/labels "
              "from the instances itself, as LoadAnnotations would")
    print(f"hand-written cv2 loop : {hand_ips:8.1f} img/s")
    print(f"loomdet pipeline      : {loom_ips:8.1f} img/s")
    print(f"ratio (loomdet / hand): {loom_ips / hand_ips:.3f}")


if __name__ == "__main__":
    main()
