"""analyze-logs on generated scalars.json files: curves of several runs, parsed series, train time."""

import json

import cv2
import pytest

from loomcv.cli.analyze_logs import (find_scalars, iters_per_epoch, load_scalars, plot_curves, series,
                                     train_time_stats)
from loomcv.cli.main import main
from loomcv.visualization import LocalVisBackend

# MMEngine's layout: 4 iterations per epoch, logged at inner iterations 1, 2 and 4 of 2 epochs
MMENGINE_LINES = [
    {"lr": 0.1, "data_time": 0.01, "loss": 2.3, "time": 0.9, "epoch": 1, "iter": 1, "memory": 100, "step": 1},
    {"lr": 0.1, "data_time": 0.01, "loss": 2.0, "time": 0.2, "epoch": 1, "iter": 2, "memory": 100, "step": 2},
    {"lr": 0.1, "data_time": 0.01, "loss": 1.5, "time": 0.4, "epoch": 1, "iter": 4, "memory": 100, "step": 4},
    {"accuracy/top1": 40.0, "accuracy/top5": 90.0, "data_time": 0.01, "time": 0.05, "step": 1},
    {"lr": 0.01, "data_time": 0.01, "loss": 1.2, "time": 0.8, "epoch": 2, "iter": 5, "memory": 100, "step": 5},
    {"lr": 0.01, "data_time": 0.01, "loss": 1.0, "time": 0.1, "epoch": 2, "iter": 6, "memory": 100, "step": 6},
    {"lr": 0.01, "data_time": 0.01, "loss": 0.9, "time": 0.3, "epoch": 2, "iter": 8, "memory": 100, "step": 8},
    {"accuracy/top1": 60.0, "accuracy/top5": 95.0, "data_time": 0.01, "time": 0.05, "step": 2},
]


@pytest.fixture
def two_runs(tmp_path):
    """An MMEngine-written scalars.json in a work dir, and a loomcv LocalVisBackend one (iteration-based)."""
    first = tmp_path / "mmengine_run" / "20240101_000000" / "vis_data"
    first.mkdir(parents=True)
    (first / "scalars.json").write_text("".join(json.dumps(line) + "\n" for line in MMENGINE_LINES))
    backend = LocalVisBackend(str(tmp_path / "loom_run" / "20240202_000000" / "vis_data"))
    for step in (10, 20, 30):
        backend.add_scalars({"lr": 0.1, "loss": 3.0 / step, "time": 0.5, "epoch": 0, "iter": step}, step=step)
    backend.add_scalars({"accuracy/top1": 55.0}, step=30)
    return tmp_path / "mmengine_run", tmp_path / "loom_run"


def test_parsed_series_equal_the_json(two_runs):
    log = load_scalars(find_scalars(str(two_runs[0])))
    assert len(log["train"]) == 6 and len(log["val"]) == 2
    assert iters_per_epoch(log) == 4
    xs, ys = series(log, "loss", "iter")
    train = [line for line in MMENGINE_LINES if "lr" in line]
    assert xs.tolist() == [line["step"] for line in train] and ys.tolist() == [line["loss"] for line in train]
    assert series(log, "loss", "epoch")[0].tolist() == [line["step"] / 4 for line in train]
    xs, ys = series(log, "accuracy/top1", "iter")   # validation is stepped by epoch: 1 -> iteration 4
    assert xs.tolist() == [4, 8] and ys.tolist() == [40.0, 60.0]
    assert series(log, "accuracy/top1", "epoch")[0].tolist() == [1, 2]
    loom = load_scalars(find_scalars(str(two_runs[1])))
    assert series(loom, "accuracy/top1", "iter")[0].tolist() == [30]  # an iteration-based run
    with pytest.raises(ValueError, match="iteration-based"):
        series(loom, "loss", "epoch")


def test_plot_curve_draws_several_runs_at_the_size_asked(two_runs, tmp_path, capsys):
    out = tmp_path / "curves.png"
    assert main(["analyze-logs", "plot-curve", str(two_runs[0]), str(two_runs[1]), "--keys", "loss",
                 "accuracy/top1", "--window-size", "6*4", "--dpi", "50", "--out", str(out)]) == 0
    assert cv2.imread(str(out)).shape == (200, 300, 3)
    fig = plot_curves([find_scalars(str(r)) for r in two_runs], ["loss"], legend=["a", "b"])
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["a", "b"]
    assert lines[1].get_ydata().tolist() == [0.3, 0.15, 0.1]
    default = plot_curves([find_scalars(str(r)) for r in two_runs], ["loss"])
    assert [line.get_label() for line in default.axes[0].get_lines()] == ["mmengine_run_loss", "loom_run_loss"]
    with pytest.raises(KeyError, match="has no 'top1'.*accuracy/top1"):
        plot_curves([find_scalars(str(two_runs[0]))], ["top1"])
    with pytest.raises(ValueError, match="one entry per run and key"):
        plot_curves([find_scalars(str(two_runs[0]))], ["loss", "lr"], legend=["x"])


def test_cal_train_time_matches_hand_computed_numbers(two_runs, capsys):
    stats = train_time_stats(load_scalars(find_scalars(str(two_runs[0]))))
    # first logged time of each epoch left out: epoch 1 (0.2 + 0.4) / 2, epoch 2 (0.1 + 0.3) / 2
    assert stats["epoch_iter_times"] == pytest.approx({1: 0.3, 2: 0.2})
    assert (stats["slowest_epoch"], stats["fastest_epoch"]) == (1, 2)
    assert stats["std_over_epochs"] == pytest.approx(0.05)
    assert stats["mean_iter_time"] == pytest.approx(2.7 / 6)
    with_outliers = train_time_stats(load_scalars(find_scalars(str(two_runs[0]))), include_outliers=True)
    assert with_outliers["epoch_iter_times"] == pytest.approx({1: 0.5, 2: 0.4})
    assert main(["analyze-logs", "cal_train_time", str(two_runs[0])]) == 0
    out = capsys.readouterr().out
    assert "slowest epoch 1, average time is 0.3000" in out and "average iter time: 0.4500" in out


def test_finding_the_scalars_file(two_runs, tmp_path):
    later = two_runs[0] / "20240301_000000" / "vis_data"
    later.mkdir(parents=True)
    (later / "scalars.json").write_text(json.dumps({"lr": 1.0, "loss": 1.0, "iter": 1, "step": 1}) + "\n")
    assert find_scalars(str(two_runs[0])).endswith("20240301_000000/vis_data/scalars.json")  # the latest run
    assert find_scalars(str(later.parent)) == str(later / "scalars.json")
    with pytest.raises(FileNotFoundError, match="no scalars.json"):
        find_scalars(str(tmp_path))
    bad = tmp_path / "bad.json"
    bad.write_text('{"loss": 1}\n')
    with pytest.raises(ValueError, match="has no 'step'"):
        load_scalars(str(bad))
    assert iters_per_epoch(load_scalars(str(later / "scalars.json"))) is None  # no epoch: iteration-based
