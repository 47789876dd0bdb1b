"""Experiment trackers as vis backends: wandb offline run files, DVCLive files, missing extras."""

import json
import sys
import time

import numpy as np
import pytest

from loomcv.visualization import DVCLiveVisBackend, Visualizer, WandbVisBackend


def wandb_history(run_file):
    """The ``history`` rows of a wandb ``.wandb`` run file (a LevelDB-style log of protobuf records)."""
    from wandb.proto import wandb_internal_pb2 as pb
    data = open(run_file, "rb").read()
    assert data[:4] == b":W&B"
    block, pos, pending, rows = 32768, 7, b"", []
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):      # a full record, or the last piece of one
            record = pb.Record()
            record.ParseFromString(pending + chunk)
            pending = b""
            if record.WhichOneof("record_type") == "history":
                rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                             for item in record.history.item})
        elif kind in (2, 3):    # first / middle piece
            pending += chunk
    return rows


def test_wandb_offline_run_holds_the_logged_scalars(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    vis = Visualizer(name="wandb-test", save_dir=str(tmp_path), vis_backends=[
        dict(type="LocalVisBackend"), dict(type="WandbVisBackend", init_kwargs=dict(project="loomcv-test"))])
    assert not (tmp_path / "vis_data" / "wandb").exists()  # nothing until first use
    vis.add_config(dict(model=dict(type="LeNet5", num_classes=10), lr=0.1))
    logged = [dict(loss=2.0 / (i + 1), lr=0.1 * 0.5 ** i) for i in range(4)]
    for step, values in enumerate(logged, 1):
        vis.add_scalars(values, step=step * 10)
    vis.close()
    runs = list((tmp_path / "vis_data" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    run_file = next(runs[0].glob("run-*.wandb"))
    deadline = time.monotonic() + 20  # wandb-core may still be flushing the file when finish() returns
    while len(rows := wandb_history(run_file)) < len(logged) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [{k: r[k] for k in ("loss", "lr")} for r in rows] == logged
    local = [json.loads(line) for line in (tmp_path / "vis_data" / "scalars.json").read_text().splitlines()]
    assert [r["loss"] for r in local] == [r["loss"] for r in rows]


def test_dvclive_writes_metric_files(tmp_path, monkeypatch):
    pytest.importorskip("dvclive")
    monkeypatch.chdir(tmp_path)  # DVCLive writes dvc.yaml into the working directory
    backend = DVCLiveVisBackend(save_dir=str(tmp_path / "vis_data"))
    backend.add_config(dict(optim=dict(lr=0.1, betas=(0.9, 0.99))))
    for step in range(3):
        backend.add_scalars({"loss": 1.0 / (step + 1), "accuracy/top1": 10.0 * step}, step=step)
    backend.add_image("sample", np.zeros((4, 6, 3), np.uint8))
    backend.close()
    root = tmp_path / "vis_data"
    rows = (root / "plots" / "metrics" / "loss.tsv").read_text().split()
    assert rows == ["step", "loss", "0", "1.0", "1", "0.5", "2", "0.3333333333333333"]
    assert json.loads((root / "metrics.json").read_text())["accuracy"]["top1"] == 20.0
    assert "lr: 0.1" in (root / "params.yaml").read_text()
    assert (root / "plots" / "images" / "sample.png").is_file()


@pytest.mark.parametrize("backend, package, extra", [(WandbVisBackend, "wandb", "wandb"),
                                                     (DVCLiveVisBackend, "dvclive", "dvclive")])
def test_a_missing_tracker_names_its_extra(tmp_path, monkeypatch, backend, package, extra):
    monkeypatch.setitem(sys.modules, package, None)  # makes `import package` fail as if not installed
    tracker = backend(save_dir=str(tmp_path))  # building needs nothing
    with pytest.raises(ImportError, match=rf"pip install 'loomcv\[{extra}\]'"):
        tracker.add_scalars({"loss": 1.0})
    with pytest.raises(TypeError, match="init_kwargs must be a dict"):
        backend(save_dir=str(tmp_path), init_kwargs=["project"])
