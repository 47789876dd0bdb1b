import json
import sys

import cv2
import numpy as np
import pytest
import torch

from loomcv.config import Config
from loomcv.registry import VISBACKENDS, VISUALIZERS
from loomcv.visualization import LocalVisBackend, MLflowVisBackend, Visualizer


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


def drawn_picture():
    """A small drawn image (a box and a mask over noise), as a task visualizer would log."""
    vis = Visualizer("picture", image=np.random.default_rng(3).integers(0, 256, (20, 28, 3), dtype=np.uint8))
    mask = np.zeros((20, 28), bool)
    mask[2:6, 3:9] = True
    return vis.draw_bboxes(np.array([4, 4, 20, 16]), edge_colors="r").draw_binary_masks(mask).get_image()


def test_local_backend_png_reads_back_equal(tmp_path):
    image = drawn_picture()
    vis = Visualizer("local_png", vis_backends=[dict(type="LocalVisBackend")], save_dir=str(tmp_path))
    vis.add_image("pred", image, step=12)
    path = tmp_path / "vis_data" / "vis_image" / "pred_12.png"   # MMEngine's layout
    np.testing.assert_array_equal(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1], image)


def test_tensorboard_image_summary_holds_the_pixels(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    image = drawn_picture()
    vis = Visualizer("tb_png", vis_backends=[dict(type="TensorboardVisBackend")], save_dir=str(tmp_path))
    vis.add_image("val/pred", image, step=3)
    vis.close()
    acc = EventAccumulator(str(tmp_path / "vis_data"))
    acc.Reload()
    assert acc.Tags()["images"] == ["val/pred"]
    event = acc.Images("val/pred")[0]
    assert (event.step, event.height, event.width) == (3, 20, 28)
    decoded = cv2.imdecode(np.frombuffer(event.encoded_image_string, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded[..., :3][..., ::-1], image)   # HWC RGB, not transposed


def test_mlflow_image_artifact(tmp_path):
    mlflow = pytest.importorskip("mlflow")   # optional extra: loomcv[mlflow]
    image = drawn_picture()
    vis = Visualizer("mlflow_png", save_dir=str(tmp_path), vis_backends=[dict(type="MLflowVisBackend")])
    vis.add_image("pred", image, step=2)
    run_id = mlflow.active_run().info.run_id
    vis.close()
    client = mlflow.tracking.MlflowClient("file://" + str(tmp_path / "vis_data" / "mlruns"))
    assert "pred_2.png" in {a.path for a in client.list_artifacts(run_id)}
    local = client.download_artifacts(run_id, "pred_2.png", str(tmp_path))
    np.testing.assert_array_equal(cv2.imread(local)[..., ::-1], image)


def test_mlflow_missing_named_for_images_too(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    backend = MLflowVisBackend(str(tmp_path))
    with pytest.raises(ImportError, match=r"pip install loomcv\[mlflow\]"):
        backend.add_image("x", np.zeros((2, 2, 3), np.uint8))


def test_visualizer_arguments_are_checked_at_build():
    from loomcv.errors import BuildArgumentError

    with pytest.raises(BuildArgumentError, match="Visualizer got an unexpected argument 'fig_cfg'"):
        VISUALIZERS.build(dict(type="Visualizer", name="bad_arg", fig_cfg={}))
    with pytest.raises(TypeError, match="fig_save_cfg must be a dict"):
        Visualizer("bad_cfg", fig_save_cfg=3)
