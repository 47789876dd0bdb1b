import json

import cv2
import numpy as np
import pytest

from loomcls.datasets import load_digits
from loomcv.cli.main import main


@pytest.fixture(scope="module")
def digits_ckpt(tmp_path_factory):
    """The default config trained briefly (3 epochs) through the CLI."""
    work = tmp_path_factory.mktemp("digits")
    rc = main(["train", "lenet5_1xb64_digits", "--work-dir", str(work), "--cfg-options",
               "train_cfg.max_epochs=3", "train_cfg.val_interval=3", "default_hooks.checkpoint.interval=3",
               "default_hooks.checkpoint.save_best=None"])
    assert rc == 0
    return work / "epoch_3.pth"


def test_test_reproduces_accuracy_and_infer_prints_classes(digits_ckpt, tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["test", "lenet5_1xb64_digits", str(digits_ckpt), "--out", str(out),
                 "--work-dir", str(tmp_path / "t")]) == 0
    top1 = json.loads(out.read_text())["metrics"]["accuracy/top1"]
    assert top1 > 80  # 3 epochs; the full schedule reaches 99%
    images, labels = load_digits("test")
    paths = []
    for i in range(5):
        paths.append(str(tmp_path / f"digit_{i}.png"))
        cv2.imwrite(paths[-1], images[i])
    capsys.readouterr()
    assert main(["infer", "lenet5_1xb64_digits", str(digits_ckpt), *paths, "--topk", "2",
                 "--out-dir", str(tmp_path / "vis")]) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith(str(tmp_path))]
    assert len(lines) == 5 and all(l.count("(") == 2 for l in lines)
    predicted = [int(l.split(": ")[1][0]) for l in lines]
    assert sum(p == int(t) for p, t in zip(predicted, labels[:5])) >= 4
    assert (tmp_path / "vis" / "digit_0.png").is_file()
    assert main(["plot-confusion", "lenet5_1xb64_digits", str(digits_ckpt), "--out", str(tmp_path / "cm.png"),
                 "--work-dir", str(tmp_path / "t")]) == 0
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_python_api(digits_ckpt, tmp_path):
    from loomcls.apis import ImageClassificationInferencer, inference_model, init_model, show_result
    model = init_model("lenet5_1xb64_digits", str(digits_ckpt))
    assert model.dataset_meta["classes"][3] == "3"  # from the checkpoint's meta
    images, labels = load_digits("test")
    result = inference_model(model, images[0])
    assert set(result) >= {"pred_label", "pred_score", "pred_class"} and 0 <= result["pred_score"] <= 1
    results = ImageClassificationInferencer(model)(list(images[:16]), batch_size=8)
    assert sum(r["pred_label"] == l for r, l in zip(results, labels[:16])) >= 13
    png = show_result(images[0], result, str(tmp_path / "shown.png"))
    assert cv2.imread(png).shape[0] >= 256
    with pytest.raises(FileNotFoundError, match="nope.png"):
        inference_model(model, str(tmp_path / "nope.png"))


@pytest.mark.parametrize("config, layout, extra", [
    ("resnet18_8xb16_cifar10", "cifar10", ["model.backbone.depth=18"]),
    ("lenet5_1xb64_mnist", "mnist", []),
    ("resnet50_8xb32_in1k", "imagenet", ["model.head.num_classes=3", "data_preprocessor.num_classes=3",
                                         "val_evaluator.topk=[1]", "test_evaluator.topk=[1]"]),
])
def test_shipped_configs_train_one_epoch_on_fixtures(tmp_path, layouts, config, layout, extra):
    root = getattr(layouts, layout)(tmp_path / "data")
    opts = [f"{d}.dataset.data_root={root}" for d in ("train_dataloader", "val_dataloader", "test_dataloader")]
    opts += [f"{d}.{k}" for d in ("train_dataloader", "val_dataloader", "test_dataloader")
             for k in ("batch_size=4", "num_workers=0")]
    opts += ["train_cfg.max_epochs=1", *extra]
    assert main(["train", config, "--work-dir", str(tmp_path / "work"), "--cfg-options", *opts]) == 0
    assert (tmp_path / "work" / "epoch_1.pth").is_file()


def test_show_dir_draws_in_memory_digits_from_their_packed_inputs(digits_ckpt, tmp_path):
    show = tmp_path / "shown"
    assert main(["test", "lenet5_1xb64_digits", str(digits_ckpt), "--work-dir", str(tmp_path / "t"),
                 "--show-dir", str(show), "--interval", "90"]) == 0
    assert sorted(p.name for p in show.iterdir()) == ["0_0.png", "180_0.png", "270_0.png", "90_0.png"]
    images, _ = load_digits("test")
    picture = cv2.imread(str(show / "90_0.png"))
    assert picture.shape == (224, 224, 3)          # the packed 32x32 input, enlarged so the labels can be read
    packed = cv2.resize(images[90], (32, 32), interpolation=cv2.INTER_LINEAR)   # the test pipeline's Resize
    enlarged = cv2.resize(packed, (224, 224), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(picture[150:, :, 0], enlarged[150:])   # below the text box: the digit itself
