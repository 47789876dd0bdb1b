"""Rebuild loomcls/datasets/data/digits.npz from scikit-learn's bundled copy.

A development tool only: loomcls reads the .npz at run time and never needs
scikit-learn. Run with scikit-learn installed:

    python tools/build_digits_npz.py
"""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import sklearn
from sklearn.model_selection import train_test_split

SRC = Path(sklearn.__file__).parent / "datasets" / "data" / "digits.csv.gz"
DST = Path(__file__).resolve().parents[1] / "loomcls" / "datasets" / "data" / "digits.npz"


def main():
    with gzip.open(SRC, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)  # 0..16, as published
    labels = table[:, 64].astype(np.uint8)
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)), test_size=360, stratify=labels, random_state=0)
    np.savez_compressed(DST, images=images, labels=labels,
                        train_indices=np.sort(train_idx).astype(np.int16),
                        test_indices=np.sort(test_idx).astype(np.int16))
    print(f"wrote {DST} ({DST.stat().st_size} bytes), sha256 "
          f"{hashlib.sha256(DST.read_bytes()).hexdigest()[:16]}")


if __name__ == "__main__":
    main()
