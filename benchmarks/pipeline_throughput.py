"""Pipeline throughput: LoadImageFromFile + RandomResizedCrop(224) + RandomFlip + PackInputs
against a hand-written cv2 loop doing the same work, over 200 generated 500x375 JPEGs.

Prints images per second for both and the ratio (target: >= 0.95). Single
process, so it measures per-sample cost, not DataLoader parallelism.

    python benchmarks/pipeline_throughput.py [--images 200] [--rounds 5]
"""

import argparse
import math
import os.path as osp
import tempfile
import time

import cv2
import numpy as np
import torch

from loomcv.transforms import Compose


def make_images(root: str, n: int) -> list:
    rng = np.random.RandomState(0)
    paths = []
    for i in range(n):
        # smooth-ish content so JPEG sizes look like photos rather than noise
        small = rng.randint(0, 256, (24, 32, 3), np.uint8)
        img = cv2.resize(small, (500, 375), interpolation=cv2.INTER_CUBIC)
        img = cv2.add(img, rng.randint(0, 20, img.shape, np.uint8))
        path = osp.join(root, f"{i:04d}.jpg")
        cv2.imwrite(path, img)
        paths.append(path)
    return paths


def hand_written(paths: list, labels: list) -> int:
    """What one would write without a framework: imread, random-resized-crop, flip, to CHW tensor."""
    log_ratio = (math.log(3 / 4), math.log(4 / 3))
    count = 0
    for path, label in zip(paths, labels):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        area = h * w
        for _ in range(10):
            target_area = np.random.uniform(0.08, 1.0) * area
            ratio = math.exp(np.random.uniform(*log_ratio))
            tw = int(round(math.sqrt(target_area * ratio)))
            th = int(round(math.sqrt(target_area / ratio)))
            if 0 < tw <= w and 0 < th <= h:
                y = np.random.randint(0, h - th + 1)
                x = np.random.randint(0, w - tw + 1)
                break
        else:
            th, tw, y, x = h, w, 0, 0
        img = cv2.resize(img[y:y + th, x:x + tw], (224, 224), interpolation=cv2.INTER_LINEAR)
        if np.random.rand() < 0.5:
            img = cv2.flip(img, 1)
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        target = torch.tensor([label])
        count += inputs.shape[0] > 0 and target.numel()
    return count


def with_pipeline(paths: list, labels: list, pipeline: Compose) -> int:
    count = 0
    for path, label in zip(paths, labels):
        out = pipeline(dict(img_path=path, gt_label=label))
        count += out["inputs"].shape[0] > 0
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    pipeline = Compose([
        dict(type="LoadImageFromFile"),
        dict(type="loomcls.RandomResizedCrop", scale=224),
        dict(type="RandomFlip", prob=0.5, direction="horizontal"),
        dict(type="loomcls.PackInputs"),
    ])
    with tempfile.TemporaryDirectory() as root:
        paths = make_images(root, args.images)
        labels = [i % 10 for i in range(len(paths))]
        hand_written(paths, labels)  # warm the page cache and both code paths
        with_pipeline(paths, labels, pipeline)
        best = {"hand": math.inf, "loomcv": math.inf}
        for r in range(args.rounds):  # interleaved, best of N: robust to noisy neighbours
            np.random.seed(r)
            t0 = time.perf_counter()
            hand_written(paths, labels)
            best["hand"] = min(best["hand"], time.perf_counter() - t0)
            np.random.seed(r)
            t0 = time.perf_counter()
            with_pipeline(paths, labels, pipeline)
            best["loomcv"] = min(best["loomcv"], time.perf_counter() - t0)
    n = len(paths)
    hand_ips, loom_ips = n / best["hand"], n / best["loomcv"]
    print(f"images: {n} x 500x375 JPEG, best of {args.rounds} rounds, 1 thread")
    print(f"hand-written cv2 loop : {hand_ips:8.1f} img/s")
    print(f"loomcv pipeline       : {loom_ips:8.1f} img/s")
    print(f"ratio (loomcv / hand) : {loom_ips / hand_ips:.3f}  (target >= 0.95)")


if __name__ == "__main__":
    main()
