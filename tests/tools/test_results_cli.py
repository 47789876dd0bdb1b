"""test --out keeps every prediction (json and pkl round trip); analyze-results galleries; vis-cam."""

import json
import pickle

import cv2
import pytest

from loomcls.datasets import load_digits
from loomcv.cli.main import main


@pytest.fixture(scope="module")
def predictions(digits_run, tmp_path_factory):
    """The digits test split predicted by the shared run, saved as pkl (bare list) and json (default)."""
    _, ckpt = digits_run
    folder = tmp_path_factory.mktemp("results")
    pkl, js = folder / "results.pkl", folder / "results.json"
    assert main(["test", "lenet5_1xb64_digits", str(ckpt), "--out", str(pkl), "--out-item", "pred",
                 "--work-dir", str(folder / "t")]) == 0
    assert main(["test", "lenet5_1xb64_digits", str(ckpt), "--out", str(js), "--work-dir", str(folder / "t")]) == 0
    return pkl, js


def test_test_out_round_trips_every_prediction(predictions, digits_run, tmp_path):
    pkl, js = predictions
    listed = pickle.loads(pkl.read_bytes())
    both = json.loads(js.read_text())
    assert isinstance(listed, list) and len(listed) == 360
    assert set(both) == {"config", "checkpoint", "metrics", "predictions"}
    _, labels = load_digits("test")
    for i, (a, b) in enumerate(zip(listed, both["predictions"])):
        assert a["sample_idx"] == b["sample_idx"] == i and a["img_path"] == b["img_path"] == f"digits/test/{i}"
        assert int(a["gt_label"]) == b["gt_label"][0] == labels[i]
        assert a["pred_score"].tolist() == pytest.approx(b["pred_score"])
        assert int(a["pred_label"]) == b["pred_label"][0] == int(a["pred_score"].argmax())
    top1 = sum(int(p["pred_label"]) == int(p["gt_label"]) for p in listed) / len(listed) * 100
    assert both["metrics"]["accuracy/top1"] == pytest.approx(top1, abs=1e-3)
    metrics_only = tmp_path / "m.json"
    assert main(["test", "lenet5_1xb64_digits", str(digits_run[1]), "--out", str(metrics_only),
                 "--out-item", "metrics", "--work-dir", str(tmp_path / "t")]) == 0
    assert set(json.loads(metrics_only.read_text())) == {"config", "checkpoint", "metrics"}
    with pytest.raises(SystemExit):
        main(["test", "lenet5_1xb64_digits", str(digits_run[1]), "--out", "x.json", "--out-item", "all"])
    assert main(["test", "lenet5_1xb64_digits", str(digits_run[1]), "--out", str(tmp_path / "r.txt")]) == 1


@pytest.mark.parametrize("which", [0, 1])
def test_analyze_results_galleries(predictions, tmp_path, which):
    out = tmp_path / "analysis"
    assert main(["analyze-results", "lenet5_1xb64_digits", str(predictions[which]), "--out-dir", str(out),
                 "--topk", "6"]) == 0
    for folder, right in (("success", True), ("fail", False)):
        listed = json.loads((out / folder / f"{folder}.json").read_text())
        assert 0 < len(listed) <= 6
        assert all((r["gt_label"] == r["pred_label"]) == right for r in listed)
        scores = [r["pred_score"] for r in listed]
        assert scores == sorted(scores, reverse=True)  # the most confident first
        files = sorted(p.name for p in (out / folder).glob("0*.png"))
        assert files == [r["file"] for r in listed] == [f"{k:03d}_{r['sample_idx']}.png" for k, r in enumerate(listed)]
        assert cv2.imread(str(out / folder / files[0])).shape == (128, 128, 3)  # 8x8 digits enlarged
        assert (out / folder / "gallery.png").is_file()
    all_scores = [max(p["pred_score"]) for p in json.loads(predictions[1].read_text())["predictions"]]
    best = json.loads((out / "success" / "success.json").read_text())[0]["pred_score"]
    worst_wrong = json.loads((out / "fail" / "fail.json").read_text())[0]["pred_score"]
    assert max(best, worst_wrong) == pytest.approx(max(all_scores))


def test_vis_cam_command(digits_run, tmp_path, capsys):
    images, labels = load_digits("test")
    image = tmp_path / "digit.png"
    cv2.imwrite(str(image), images[0])
    out = tmp_path / "cam.png"
    assert main(["vis-cam", "lenet5_1xb64_digits", str(digits_run[1]), str(image), "--target-layers",
                 "backbone.features.3", "--method", "gradcam++", "--target-category", str(labels[0]),
                 "--out", str(out)]) == 0
    assert cv2.imread(str(out)).shape == (224, 224, 3)  # the 32x32 input, enlarged for viewing
    assert f"gradcam++ of class {labels[0]}" in capsys.readouterr().out
    assert main(["vis-cam", "lenet5_1xb64_digits", str(digits_run[1]), str(image), "--target-layers",
                 "backbone.nope", "--out", str(out)]) == 1
    assert "no layer 'backbone.nope'" in capsys.readouterr().err
