import json

import cv2
import numpy as np
import pytest


def make_jpeg_folder(root, n=16, size=(48, 64), classes=2):
    """n random JPEGs under root/imgs and an OpenMMLab 2.0 annotation file; returns its path."""
    rng = np.random.RandomState(0)
    (root / "imgs").mkdir(parents=True, exist_ok=True)
    data_list = []
    for i in range(n):
        img = rng.randint(0, 256, (*size, 3), np.uint8)
        cv2.imwrite(str(root / "imgs" / f"{i:03d}.jpg"), img)
        data_list.append(dict(img_path=f"{i:03d}.jpg", gt_label=i % classes))
    ann = root / "ann.json"
    ann.write_text(json.dumps(dict(metainfo=dict(classes=[f"c{k}" for k in range(classes)]), data_list=data_list)))
    return ann


@pytest.fixture
def jpeg_folder(tmp_path):
    return make_jpeg_folder(tmp_path)
