import pytest
import torch

from loomcls.evaluation import Accuracy, AveragePrecision, ConfusionMatrix, MultiLabelMetric, SingleLabelMetric
from loomcls.registry import METRICS

# 4 samples, 3 classes. Sample 0 ties classes 0 and 1 (label 1): the lower index ranks first.
SCORES = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2], [0.1, 0.6, 0.3]])
LABELS = torch.tensor([1, 2, 2, 0])


def run(metric, scores, labels, key="gt_label"):
    samples = [{"pred_score": s, key: torch.as_tensor(l).reshape(-1)} for s, l in zip(scores, labels)]
    metric.process({}, samples[:2])
    metric.process({}, samples[2:])
    return metric.compute_metrics(metric.results)


def test_accuracy_topk_with_ties_and_thresholds():
    assert run(Accuracy(topk=(1, 2)), SCORES, LABELS) == {"top1": 25.0, "top2": 50.0}
    # a hit also needs score > thr: at 0.5 neither the tie (0.5) nor sample 1 (0.5) counts
    got = run(Accuracy(topk=(1, 2), thrs=(None, 0.45, 0.5)), SCORES, LABELS)
    assert got == {"top1_no-thr": 25.0, "top1_thr-0.45": 25.0, "top1_thr-0.50": 0.0,
                   "top2_no-thr": 50.0, "top2_thr-0.45": 50.0, "top2_thr-0.50": 0.0}
    assert Accuracy.calculate(torch.tensor([1, 2, 0, 1]), LABELS).item() == 50.0
    with pytest.raises(ValueError, match="topk=5"):
        Accuracy.calculate(SCORES, LABELS, topk=(5,))
    # labels-only predictions
    m = Accuracy()
    m.process({}, [{"pred_label": torch.tensor([1]), "gt_label": torch.tensor([1])},
                   {"pred_label": torch.tensor([0]), "gt_label": torch.tensor([1])}])
    assert m.compute_metrics(m.results) == {"top1": 50.0}


def test_single_label_metric_with_a_class_without_samples():
    # predictions (argmax, ties -> lower index) [0, 1, 1, 2] vs labels [0, 0, 1, 1]: class 2 has no sample
    scores = torch.tensor([[0.9, 0.1, 0.0], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    labels = torch.tensor([0, 0, 1, 1])
    got = run(SingleLabelMetric(items=("precision", "recall", "f1-score", "support")), scores, labels)
    f1_0 = 2 * 100 * 50 / 150
    assert got["precision"] == pytest.approx((100 + 50 + 0) / 3)
    assert got["recall"] == pytest.approx((50 + 50 + 0) / 3)
    assert got["f1-score"] == pytest.approx((f1_0 + 50 + 0) / 3)
    assert got["support"] == 4
    micro = run(SingleLabelMetric(average="micro"), scores, labels)
    assert micro == pytest.approx({"precision_micro": 50.0, "recall_micro": 50.0, "f1-score_micro": 50.0})
    per = run(SingleLabelMetric(average=None, items=("precision", "recall", "support")), scores, labels)
    assert per["precision_classwise"] == pytest.approx([100.0, 50.0, 0.0])
    assert per["recall_classwise"] == pytest.approx([50.0, 50.0, 0.0])
    assert per["support_classwise"] == [2, 2, 0]
    # threshold 0.65 drops predictions 0.6 of sample 1 (class 1): class 1 precision 100
    thr = run(SingleLabelMetric(thrs=(None, 0.65), average=None), scores, labels)
    assert thr["precision_classwise_thr-0.65"] == pytest.approx([100.0, 100.0, 0.0])
    with pytest.raises(ValueError, match="average must be one of"):
        SingleLabelMetric(average="weighted")
    with pytest.raises(ValueError, match="unknown item 'f1'"):
        SingleLabelMetric(items=("f1",))


def test_multi_label_metric_and_average_precision():
    scores = torch.tensor([[0.9, 0.2, 0.6], [0.1, 0.7, 0.4]])
    gt = torch.tensor([[1, 0, 0], [0, 1, 1]])
    got = run(MultiLabelMetric(), scores, gt, key="gt_score")
    assert got == pytest.approx({"precision_thr-0.50": 200 / 3, "recall_thr-0.50": 200 / 3,
                                 "f1-score_thr-0.50": 200 / 3})
    # gt given as index lists gives the same; top-1 predicts classes 0 and 1
    samples = [{"pred_score": scores[0], "gt_label": torch.tensor([0])},
               {"pred_score": scores[1], "gt_label": torch.tensor([1, 2])}]
    m = MultiLabelMetric(topk=1, average=None)
    m.process({}, samples)
    top = m.compute_metrics(m.results)
    assert top["precision_classwise_top1"] == pytest.approx([100.0, 100.0, 0.0])
    assert top["recall_classwise_top1"] == pytest.approx([100.0, 100.0, 0.0])
    # AP of one class: positives ranked 1st and 3rd -> (1 + 2/3) / 2
    ap = AveragePrecision.calculate(torch.tensor([[0.9], [0.8], [0.3], [0.1]]), torch.tensor([[1], [0], [1], [0]]))
    assert ap.item() == pytest.approx(100 * (1 + 2 / 3) / 2)
    # -1 targets are ignored
    ap = AveragePrecision.calculate(torch.tensor([[0.9], [0.8], [0.3]]), torch.tensor([[1], [-1], [1]]))
    assert ap.item() == pytest.approx(100.0)
    assert run(AveragePrecision(average=None), scores, gt, key="gt_score") == {
        "AP_classwise": pytest.approx([100.0, 100.0, 100 * 0.5])}


def test_confusion_matrix_and_plot(tmp_path):
    matrix = ConfusionMatrix.calculate(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 0, 1, 1]), num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 1], [0, 0, 0]]
    scores = torch.tensor([[0.9, 0.1, 0.0], [0.3, 0.6, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    got = run(METRICS.build(dict(type="ConfusionMatrix")), scores, torch.tensor([0, 0, 1, 1]))
    assert got["result"].tolist() == matrix.tolist()
    fig = ConfusionMatrix.plot(matrix, classes=["a", "b", "c"])
    fig.savefig(tmp_path / "cm.png")
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_metric_prefixes():
    assert Accuracy.default_prefix == "accuracy"
    assert SingleLabelMetric.default_prefix == "single-label"
    assert MultiLabelMetric.default_prefix == AveragePrecision.default_prefix == "multi-label"


def test_evaluate_adds_prefix_and_clears_results():
    metric = Accuracy(topk=(1, 2))
    metric.process({}, [{"pred_score": s, "gt_label": l.reshape(1)} for s, l in zip(SCORES, LABELS)])
    assert metric.evaluate(4) == {"accuracy/top1": 25.0, "accuracy/top2": 50.0}
    assert metric.results == []
