import pickle

import pytest
import torch

from loomcv.evaluator import BaseMetric, DumpResults, Evaluator, build_evaluator
from loomcv.registry import EVALUATOR, METRICS


class Correct(BaseMetric):
    """Fraction of samples whose prediction equals the label."""

    default_prefix = "toy"

    def process(self, data_batch, data_samples):
        for s in data_samples:
            self.results.append(bool(s["pred"] == s["gt"]))

    def compute_metrics(self, results):
        return {"accuracy": 100.0 * sum(results) / max(len(results), 1)}


class Sample:
    """A data-sample-like object: the Evaluator hands metrics its ``to_dict()``."""

    def __init__(self, pred, gt):
        self.pred, self.gt = torch.tensor(pred), torch.tensor(gt)

    def to_dict(self):
        return dict(pred=self.pred, gt=self.gt)


def test_prefixes():
    samples = [dict(pred=1, gt=1), dict(pred=0, gt=1)]
    assert Evaluator(Correct()).offline_evaluate(samples) == {"toy/accuracy": 50.0}
    assert Evaluator(Correct(prefix="val")).offline_evaluate(samples) == {"val/accuracy": 50.0}

    class NoPrefix(Correct):
        default_prefix = None

    assert Evaluator(NoPrefix()).offline_evaluate(samples) == {"accuracy": 50.0}


def test_several_metrics_and_duplicate_names():
    ev = Evaluator([Correct(), Correct(prefix="other")])
    ev.process([Sample(1, 1), Sample(2, 1), Sample(3, 3)])
    assert ev.evaluate(3) == {"toy/accuracy": pytest.approx(200 / 3), "other/accuracy": pytest.approx(200 / 3)}
    assert all(not m.results for m in ev.metrics)         # cleared for the next evaluation
    with pytest.raises(ValueError, match="'toy/accuracy' is produced twice"):
        Evaluator([Correct(), Correct()]).offline_evaluate([dict(pred=1, gt=1)])


def test_evaluate_size_drops_padding():
    ev = Evaluator(Correct())
    ev.process([dict(pred=1, gt=1), dict(pred=1, gt=1), dict(pred=0, gt=1)])   # last one is padding
    assert ev.evaluate(2) == {"toy/accuracy": 100.0}


def test_dataset_meta_propagates():
    ev = Evaluator([Correct(), Correct(prefix="b")])
    ev.dataset_meta = dict(classes=("cat", "dog"))
    assert all(m.dataset_meta == dict(classes=("cat", "dog")) for m in ev.metrics)


def test_offline_evaluate_chunks_and_data():
    seen = []

    class Spy(Correct):
        def process(self, data_batch, data_samples):
            seen.append((data_batch, len(data_samples)))
            super().process(data_batch, data_samples)

    samples = [dict(pred=i % 2, gt=0) for i in range(5)]
    result = Evaluator(Spy()).offline_evaluate(samples, data=list("abcde"), chunk_size=2)
    assert result == {"toy/accuracy": 60.0}
    assert seen == [(["a", "b"], 2), (["c", "d"], 2), (["e"], 1)]
    with pytest.raises(ValueError, match="data has 2 items but data_samples has 5"):
        Evaluator(Correct()).offline_evaluate(samples, data=[1, 2])


def test_empty_results_warn(capsys):
    assert Evaluator(Correct()).evaluate(0) == {"toy/accuracy": 0.0}
    assert "Correct got empty `self.results`" in capsys.readouterr().out


def test_build_from_configs():
    METRICS.register_module(name="ToyCorrect", module=Correct, force=True)
    assert EVALUATOR.get("Evaluator") is Evaluator
    one = build_evaluator(dict(type="ToyCorrect", prefix="x"))
    many = build_evaluator([dict(type="ToyCorrect"), dict(type="ToyCorrect", prefix="y")])
    wrapped = build_evaluator(dict(type="Evaluator", metrics=dict(type="ToyCorrect")))
    assert [m.prefix for m in one.metrics] == ["x"]
    assert [m.prefix for m in many.metrics] == ["toy", "y"]
    assert isinstance(wrapped.metrics[0], Correct)
    assert build_evaluator(one) is one
    with pytest.raises(TypeError, match="must be a BaseMetric or a config dict"):
        Evaluator([object()])
    with pytest.raises(ValueError, match="collect_device must be 'cpu' or 'gpu'"):
        Correct(collect_device="cuda")


def test_dump_results(tmp_path):
    out = tmp_path / "preds.pkl"
    metric = METRICS.build(dict(type="DumpResults", out_file_path=str(out)))
    ev = Evaluator(metric)
    ev.process([Sample(1, 1), Sample(0, 1)])
    assert ev.evaluate(2) == {}
    dumped = pickle.loads(out.read_bytes())
    assert [int(d["pred"]) for d in dumped] == [1, 0]
    # the dump evaluates offline to the same number as online
    assert Evaluator(Correct()).offline_evaluate(dumped) == {"toy/accuracy": 50.0}
    with pytest.raises(ValueError, match="must end with .pkl or .pickle"):
        DumpResults(out_file_path=str(tmp_path / "preds.json"))
