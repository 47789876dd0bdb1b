"""The picture in docs/data.md: one image with boxes, masks and keypoints before and after a
detection-style pipeline, drawn with the Visualizer. The test redraws it and checks that the
committed PNG is what the code draws today.

To redraw after a deliberate change: ``LOOMCV_UPDATE_DOC_IMAGES=1 pytest tests/transforms/test_pipeline_picture.py``.
"""

import os
from pathlib import Path

import cv2
import numpy as np

from loomcv.transforms import Compose
from loomcv.visualization import Visualizer

PICTURE = Path(__file__).resolve().parents[2] / "docs" / "images" / "detection_pipeline.png"
COLORS = [(220, 20, 60), (0, 130, 230)]
PIPELINE = [
    dict(type="LoadAnnotations", with_mask=True, with_keypoints=True),
    dict(type="RandomResize", scale=(200, 150), ratio_range=(0.9, 1.1), keep_ratio=True),
    dict(type="RandomFlip", prob=1.0, direction="horizontal"),
    dict(type="RandomCrop", crop_size=(0.75, 0.75), crop_type="relative"),
    dict(type="Pad", size_divisor=32, pad_val=dict(img=114)),
]


def scene():
    """A 120x160 BGR image with a house (polygon) and a ball (circle), annotated MMDetection-style."""
    h, w = 120, 160
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = np.linspace(40, 110, w, dtype=np.uint8)[None, :, None]
    house = np.array([[20, 60], [55, 25], [90, 60], [90, 105], [20, 105]], np.float32)
    ball = np.array([[125 + 22 * np.cos(a), 70 + 22 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 24,
                                                                                        endpoint=False)], np.float32)
    cv2.fillPoly(img, [np.round(house).astype(np.int32)], (60, 170, 230))
    cv2.fillPoly(img, [np.round(ball).astype(np.int32)], (200, 120, 40))
    instances = [
        dict(bbox=[20, 25, 90, 105], bbox_label=0, ignore_flag=0, mask=[house.ravel().tolist()],
             keypoints=[[55, 25, 2], [20, 105, 2], [90, 105, 2]]),
        dict(bbox=[103, 48, 147, 92], bbox_label=1, ignore_flag=0, mask=[ball.ravel().tolist()],
             keypoints=[[125, 70, 2], [147, 70, 2], [125, 48, 2]]),
    ]
    return dict(img=img, img_shape=(h, w), ori_shape=(h, w), instances=instances)


def draw(results):
    vis = Visualizer()
    vis.set_image(cv2.cvtColor(results["img"], cv2.COLOR_BGR2RGB))
    labels = results["gt_bboxes_labels"]
    vis.draw_binary_masks(results["gt_masks"].astype(bool), colors=[COLORS[i] for i in labels], alphas=0.45)
    vis.draw_bboxes(results["gt_bboxes"], edge_colors=[COLORS[i] for i in labels], line_widths=2)
    points = results["gt_keypoints"]
    visible = points[..., 2] > 0
    vis.draw_points(points[visible][:, :2], colors="yellow", sizes=30)
    return vis.get_image()


def render():
    np.random.seed(7)
    before = Compose([PIPELINE[0]])(scene())
    after = Compose(PIPELINE)(scene())
    left, right = draw(before), draw(after)
    height = max(left.shape[0], right.shape[0])
    canvas = np.full((height, left.shape[1] + 12 + right.shape[1], 3), 255, np.uint8)
    canvas[:left.shape[0], :left.shape[1]] = left
    canvas[:right.shape[0], left.shape[1] + 12:] = right
    return canvas, after


def test_the_data_doc_picture_is_what_the_pipeline_draws(tmp_path):
    picture, after = render()
    # the picture shows the property the tests check: masks, boxes and keypoints moved together
    assert after["gt_masks"].shape[1:] == after["img"].shape[:2] and after["img"].shape[0] % 32 == 0
    for mask, box in zip(after["gt_masks"], after["gt_bboxes"]):
        ys, xs = np.nonzero(mask)
        assert abs(xs.min() - box[0]) <= 1.5 and abs(xs.max() + 1 - box[2]) <= 1.5
    if os.environ.get("LOOMCV_UPDATE_DOC_IMAGES"):
        PICTURE.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(PICTURE), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    assert PICTURE.exists(), f"{PICTURE} is missing; run with LOOMCV_UPDATE_DOC_IMAGES=1 to draw it"
    committed = cv2.cvtColor(cv2.imread(str(PICTURE)), cv2.COLOR_BGR2RGB)
    assert committed.shape == picture.shape, "the pipeline's output size changed: redraw the doc picture"
    diff = np.abs(committed.astype(int) - picture.astype(int))
    # antialiased edges may differ by a shade between matplotlib builds; the content may not
    assert diff.mean() < 1.0 and (diff > 40).mean() < 0.002, (
        "docs/images/detection_pipeline.png is out of date: run with LOOMCV_UPDATE_DOC_IMAGES=1 to redraw it")
