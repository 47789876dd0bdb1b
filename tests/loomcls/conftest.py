"""Write tiny data sets in the real on-disk layouts (CIFAR pickles, MNIST IDX, ImageNet folders)."""

import gzip
import types
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest


def make_cifar10(root: Path, n_train=20, n_test=10, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    per = n_train // 5
    for i in range(1, 6):
        batch = {"data": rng.integers(0, 255, (per, 3072), dtype=np.uint8), "labels": list(rng.integers(0, 10, per))}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch))
    test = {"data": rng.integers(0, 255, (n_test, 3072), dtype=np.uint8), "labels": list(range(n_test))}
    (folder / "test_batch").write_bytes(pickle.dumps(test))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))
    return root


def write_idx(path: Path, array: np.ndarray, gz: bool):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(str(path) + (".gz" if gz else ""), "wb").write(data)


def make_mnist(root: Path, n_train=16, n_test=8, gz=True, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte", rng.integers(0, 255, (n, 28, 28)), gz)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, gz)
    return root


def make_imagenet(root: Path, classes=("n01", "n02", "n03"), per_class=3, n_val=4, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    for c in classes:
        (root / "train" / c).mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(root / "train" / c / f"{c}_{i}.JPEG"), rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    (root / "val").mkdir()
    (root / "meta").mkdir()
    lines = []
    for i in range(n_val):
        name = f"ILSVRC2012_val_{i:08d}.JPEG"
        cv2.imwrite(str(root / "val" / name), rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
        lines.append(f"{name} {i % len(classes)}")
    (root / "meta" / "val.txt").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def layouts():
    """Writers of the on-disk layouts: ``layouts.cifar10(root)``, ``.mnist(root, gz=)``, ``.imagenet(root)``."""
    return types.SimpleNamespace(cifar10=make_cifar10, mnist=make_mnist, imagenet=make_imagenet)
