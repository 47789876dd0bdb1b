"""CocoMetric against pycocotools' COCOeval on hand-built ground truth and predictions."""

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval

from loomcv.errors import ConfigError
from loomcv.evaluator import Evaluator
from loomcv.structures import InstanceData
from loomdet.evaluation import CocoMetric
from loomdet.structures import DetDataSample

CLASSES = ("cat", "dog")
# category ids in the file are not 0-based and not in class order: labels must map by name
GT = dict(
    images=[dict(id=7, file_name="a.jpg", width=100, height=80), dict(id=9, file_name="b.jpg", width=100, height=80)],
    categories=[dict(id=5, name="dog"), dict(id=3, name="cat")],
    annotations=[
        dict(id=1, image_id=7, category_id=3, bbox=[10, 10, 10, 10], area=100, iscrowd=0),
        dict(id=2, image_id=7, category_id=5, bbox=[50, 20, 40, 40], area=1600, iscrowd=0),
        dict(id=3, image_id=9, category_id=3, bbox=[0, 0, 20, 30], area=600, iscrowd=0),
    ])


@pytest.fixture()
def ann_file(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(GT))
    return str(path)


def sample(img_id, boxes, labels, scores, instances=None):
    s = DetDataSample(metainfo=dict(img_id=img_id, ori_shape=(80, 100)))
    if instances is not None:
        s.set_metainfo(dict(instances=instances))
    s.pred_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                                    labels=torch.tensor(labels, dtype=torch.long),
                                    scores=torch.tensor(scores, dtype=torch.float32))
    return s.to_dict()


def perfect_samples(shift=0.0):
    return [sample(7, [[10 + shift, 10, 20 + shift, 20], [50, 20, 90, 60]], [0, 1], [0.9, 0.8]),
            sample(9, [[0, 0, 20, 30]], [0], [0.7])]


def run_metric(metric, samples, classes=CLASSES):
    metric.dataset_meta = dict(classes=classes)
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def pycocotools_stats(ann_file, detections):
    with redirect_stdout(io.StringIO()):
        gt = PyCOCO(ann_file)
        dt = gt.loadRes(detections)
        ev = COCOeval(gt, dt, "bbox")
        ev.params.maxDets = [100, 300, 1000]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_a_perfect_prediction_scores_one(ann_file):
    res = run_metric(CocoMetric(ann_file=ann_file), perfect_samples())
    assert list(res) == ["coco/bbox_mAP", "coco/bbox_mAP_50", "coco/bbox_mAP_75", "coco/bbox_mAP_s",
                         "coco/bbox_mAP_m", "coco/bbox_mAP_l"]
    assert res["coco/bbox_mAP"] == 1.0 and res["coco/bbox_mAP_50"] == 1.0 and res["coco/bbox_mAP_75"] == 1.0
    # areas 100 and 600 are small (< 32^2), 1600 medium, no large box: pycocotools says -1
    assert res["coco/bbox_mAP_s"] == 1.0 and res["coco/bbox_mAP_m"] == 1.0 and res["coco/bbox_mAP_l"] == -1.0


def test_a_shifted_box_gets_the_iou_dependent_value_pycocotools_computes(ann_file):
    # the 10x10 cat box shifted 2 px: IoU = 80 / 120 = 0.667, a match at IoU 0.50..0.65 only
    res = run_metric(CocoMetric(ann_file=ann_file, classwise=True), perfect_samples(shift=2.0))
    stats = pycocotools_stats(ann_file, [
        dict(image_id=7, category_id=3, bbox=[12, 10, 10, 10], score=0.9),
        dict(image_id=7, category_id=5, bbox=[50, 20, 40, 40], score=0.8),
        dict(image_id=9, category_id=3, bbox=[0, 0, 20, 30], score=0.7)])
    assert res["coco/bbox_mAP"] == pytest.approx(round(stats[0], 3))
    assert res["coco/bbox_mAP_75"] == pytest.approx(round(stats[2], 3))
    # by hand: cat has 2 boxes, one found at every IoU; the shifted one only at 4 of 10 thresholds.
    # Per threshold the cat AP is 1.0 (both matched) or ~0.5 (101-point interpolation of recall 0.5)
    assert res["coco/bbox_mAP_50"] == 1.0
    assert res["coco/cat_precision"] < 1.0 and res["coco/dog_precision"] == 1.0
    assert res["coco/bbox_mAP"] == pytest.approx((res["coco/cat_precision"] + 1.0) / 2, abs=1e-3)


def test_single_box_shift_gives_four_tenths(tmp_path):
    # one gt, one prediction at IoU 2/3: matched at 0.50, 0.55, 0.60, 0.65 -> mAP = 0.4
    gt = dict(images=[dict(id=1, file_name="x.jpg", width=50, height=50)], categories=[dict(id=1, name="cat")],
              annotations=[dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 10, 10], area=100, iscrowd=0)])
    path = tmp_path / "one.json"
    path.write_text(json.dumps(gt))
    res = run_metric(CocoMetric(ann_file=str(path)), [sample(1, [[2, 0, 12, 10]], [0], [0.9])], classes=("cat",))
    assert res["coco/bbox_mAP"] == 0.4 and res["coco/bbox_mAP_50"] == 1.0 and res["coco/bbox_mAP_75"] == 0.0


def test_without_ann_file_the_ground_truth_comes_from_the_samples(ann_file):
    instances = {7: [dict(bbox=[10, 10, 20, 20], bbox_label=0, ignore_flag=0),
                     dict(bbox=[50, 20, 90, 60], bbox_label=1, ignore_flag=0)],
                 9: [dict(bbox=[0, 0, 20, 30], bbox_label=0, ignore_flag=0)]}
    samples = [sample(7, [[12, 10, 22, 20], [50, 20, 90, 60]], [0, 1], [0.9, 0.8], instances[7]),
               sample(9, [[0, 0, 20, 30]], [0], [0.7], instances[9])]
    converted = run_metric(CocoMetric(), samples)
    from_file = run_metric(CocoMetric(ann_file=ann_file), samples)
    assert converted == from_file


def test_missing_instances_without_ann_file_says_what_to_add():
    with pytest.raises(KeyError, match="instances.*meta_keys"):
        CocoMetric().process(None, perfect_samples())


def test_evaluator_takes_det_data_samples_and_the_prefix(ann_file):
    evaluator = Evaluator(dict(type="loomdet.CocoMetric", ann_file=ann_file, metric_items=["mAP", "mAP_50"]))
    evaluator.dataset_meta = dict(classes=CLASSES)
    s = DetDataSample(metainfo=dict(img_id=9, ori_shape=(80, 100)))
    s.pred_instances = InstanceData(bboxes=torch.tensor([[0., 0, 20, 30]]), labels=torch.tensor([0]),
                                    scores=torch.tensor([0.5]))
    evaluator.process([s])
    res = evaluator.evaluate(1)
    # image 7 has no prediction: its two boxes are missed
    assert set(res) == {"coco/bbox_mAP", "coco/bbox_mAP_50"}
    assert 0 < res["coco/bbox_mAP"] < 1


def test_format_only_writes_coco_results_and_returns_nothing(ann_file, tmp_path):
    prefix = str(tmp_path / "out" / "preds")
    (tmp_path / "out").mkdir()
    res = run_metric(CocoMetric(ann_file=ann_file, format_only=True, outfile_prefix=prefix), perfect_samples())
    assert res == {}
    written = json.loads((tmp_path / "out" / "preds.bbox.json").read_text())
    assert written[0] == dict(image_id=7, bbox=[10.0, 10.0, 10.0, 10.0], score=pytest.approx(0.9), category_id=3)
    assert [d["category_id"] for d in written] == [3, 5, 3]


def test_no_predictions_give_zeros(ann_file):
    res = run_metric(CocoMetric(ann_file=ann_file), [sample(7, np.zeros((0, 4)), [], [])])
    assert res["coco/bbox_mAP"] == 0.0


def test_bad_arguments_and_inputs_are_named(ann_file):
    with pytest.raises(ConfigError, match="outfile_prefix"):
        CocoMetric(format_only=True)
    with pytest.raises(ConfigError, match="metric must be one of"):
        CocoMetric(metric="box")
    with pytest.raises(ConfigError, match="metric_items"):
        CocoMetric(metric_items=["AP"])
    with pytest.raises(ValueError, match="label 5.*2 classes.*num_classes"):
        run_metric(CocoMetric(ann_file=ann_file), [sample(7, [[0, 0, 5, 5]], [5], [0.9])])
    with pytest.raises(ConfigError, match="'dgo'.*closest category in the file: 'dog'"):
        run_metric(CocoMetric(ann_file=ann_file), perfect_samples(), classes=("cat", "dgo"))
