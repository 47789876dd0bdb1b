import json
import sys

import cv2
import numpy as np
import pytest
import torch

from loomcv.config import Config
from loomcv.registry import VISBACKENDS, VISUALIZERS
from loomcv.visualization import LocalVisBackend, MLflowVisBackend, TensorboardVisBackend, Visualizer


def test_registered_under_mmengine_names():
    assert VISUALIZERS.get("Visualizer") is Visualizer
    for name in ("LocalVisBackend", "TensorboardVisBackend", "MLflowVisBackend"):
        assert VISBACKENDS.get(name) is not None


def test_local_backend_files(tmp_path):
    vis = VISUALIZERS.build(dict(type="Visualizer", name="local_files",
                                 vis_backends=[dict(type="LocalVisBackend")], save_dir=str(tmp_path)))
    assert Visualizer.get_current_instance() is vis
    vis.add_scalars({"loss": torch.tensor(0.5), "lr": 0.01}, step=1)
    vis.add_scalar("acc", np.float32(0.25), step=2)
    vis.add_scalars({"accuracy/top1": 80.0}, step=3, file_path="val.json")
    image = np.zeros((6, 5, 3), np.uint8)
    image[..., 0] = 255                                    # pure red in RGB
    vis.add_image("sample", image, step=4)
    vis.add_config(Config(dict(model=dict(type="Net", depth=3), lr=0.1)))
    vis.close()

    data = tmp_path / "vis_data"
    lines = [json.loads(x) for x in (data / "scalars.json").read_text().splitlines()]
    assert lines == [{"loss": 0.5, "lr": 0.01, "step": 1}, {"acc": 0.25, "step": 2},
                     {"accuracy/top1": 80.0, "step": 3}]
    assert [json.loads(x) for x in (data / "val.json").read_text().splitlines()] == [lines[2]]
    saved = cv2.imread(str(data / "vis_image" / "sample_4.png"))   # BGR on disk
    assert saved.shape == (6, 5, 3) and saved[0, 0].tolist() == [0, 0, 255]
    config = Config.fromfile(str(data / "config.py"))
    assert config.model.depth == 3 and config.lr == 0.1


def test_local_backend_bad_input(tmp_path):
    backend = LocalVisBackend(str(tmp_path))
    assert not (tmp_path / "scalars.json").exists()       # nothing written until used
    with pytest.raises(TypeError, match="number or a one-element"):
        backend.add_scalars({"loss": "high"})
    with pytest.raises(ValueError, match="HxW or HxWxC"):
        backend.add_image("x", np.zeros((2, 2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="scalar_save_file must end with '.json'"):
        LocalVisBackend(str(tmp_path), scalar_save_file="s.txt")


def test_tensorboard_event_file_reads_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    vis = Visualizer("tb_test", vis_backends=[dict(type="TensorboardVisBackend")], save_dir=str(tmp_path))
    for step in range(3):
        vis.add_scalars({"train/loss": 1.0 / (step + 1), "train/lr": torch.tensor(0.1)}, step=step)
    vis.add_image("sample", np.full((4, 4, 3), 128, np.uint8), step=7)
    vis.add_config(dict(lr=0.1))
    vis.close()
    events = list((tmp_path / "vis_data").glob("events.out.tfevents.*"))
    assert len(events) == 1
    acc = EventAccumulator(str(tmp_path / "vis_data"))
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == {"train/loss", "train/lr"}
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == [0, 1, 2]
    assert [e.value for e in loss] == pytest.approx([1.0, 0.5, 1 / 3])
    assert acc.Images("sample")[0].step == 7


def test_two_backends_and_names(tmp_path):
    vis = Visualizer("two", vis_backends=[dict(type="LocalVisBackend"),
                                          dict(type="LocalVisBackend", name="extra",
                                               scalar_save_file="more.json")],
                     save_dir=str(tmp_path))
    assert list(vis.vis_backends) == ["LocalVisBackend", "extra"]
    vis.add_scalar("x", 1, step=0)
    assert (tmp_path / "vis_data" / "more.json").exists()
    with pytest.raises(ValueError, match="both named 'LocalVisBackend'"):
        Visualizer("dup", vis_backends=[dict(type="LocalVisBackend")] * 2, save_dir=str(tmp_path))


def test_no_save_dir_means_no_backends():
    vis = Visualizer("nosave", vis_backends=[dict(type="LocalVisBackend")])
    assert not vis.vis_backends
    vis.add_scalars({"a": 1.0})   # nothing to write to, and no error


def test_mlflow_missing_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)      # as if mlflow were not installed
    backend = MLflowVisBackend(str(tmp_path))            # building is cheap and needs no mlflow
    with pytest.raises(ImportError, match=r"pip install loomcv\[mlflow\]"):
        backend.add_scalar("loss", 1.0)


def test_mlflow_local_file_store(tmp_path):
    mlflow = pytest.importorskip("mlflow")   # optional extra: loomcv[mlflow]
    vis = Visualizer("mlflow_test", save_dir=str(tmp_path),
                     vis_backends=[dict(type="MLflowVisBackend", exp_name="exp", run_name="r1",
                                        params=dict(lr=0.1))])
    for step in range(3):
        vis.add_scalars({"loss": 1.0 / (step + 1)}, step=step)
    vis.add_config(dict(lr=0.1))
    (tmp_path / "run.log").write_text("a log line\n")       # artifact uploaded at close
    run_id = mlflow.active_run().info.run_id
    vis.close()
    client = mlflow.tracking.MlflowClient("file://" + str(tmp_path / "vis_data" / "mlruns"))
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, round(m.value, 4)) for m in history] == [(0, 1.0), (1, 0.5), (2, 0.3333)]
    run = client.get_run(run_id)
    assert run.data.params == {"lr": "0.1"} and run.info.run_name == "r1"
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.py", "run.log"} <= artifacts


def test_subclass_instance_is_current_for_base():
    class TaskVisualizer(Visualizer):
        pass

    task = TaskVisualizer("task_vis")
    assert Visualizer.get_current_instance() is task
    plain = Visualizer("plain_vis")
    assert Visualizer.get_current_instance() is plain
    with pytest.raises(RuntimeError, match="no OtherVis has been created"):
        type("OtherVis", (Visualizer,), {}).get_current_instance()
