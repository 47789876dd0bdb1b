"""The model index: list_models / get_model / loomcv infer NAME resolve names from the metafiles.

Weights come from a torch.hub cache folder the test prepares ($TORCH_HOME), never from the network.
"""

import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from loomcls.apis import ModelHub, get_model, init_model, list_models
from loomcls.apis.model_index import PACKAGE_ROOT, parse_metafile
from loomcv.cli.main import main
from loomcv.config import Config

SHUFFLENET = "shufflenet-v1-1x_16xb64_in1k"


def test_every_shipped_config_is_indexed_with_mmpretrain_names_and_urls():
    configs = {osp.abspath(p) for p in glob.glob(osp.join(PACKAGE_ROOT, "configs", "*", "*.py"))
               if "/_base_/" not in p and not osp.basename(p).startswith("_")}
    # a '_'-prefixed file in a family folder is a fragment its configs inherit (resnest/_randaug_policies.py)
    fragments = glob.glob(osp.join(PACKAGE_ROOT, "configs", "*", "_*.py"))
    assert all("model" not in Config.fromfile(p) for p in fragments)
    indexed = {ModelHub.info(name).config for name in list_models()}
    assert configs <= indexed, sorted(configs - indexed)
    assert all(osp.isfile(path) for path in indexed)
    from loomcv.config.loader import shipped_configs  # the metafiles are not configs
    assert not any(path.endswith("metafile.yml") for _, path in shipped_configs())
    info = ModelHub.info("RESNET50_8XB32_IN1K")  # case-insensitive, as MMPretrain's
    assert info.weights == ("https://download.openmmlab.com/mmclassification/v0/resnet/"
                            "resnet50_8xb32_in1k_20210831-ea4938fc.pth")
    assert info.top1 == 76.55 and info.in_collection == "ResNet"
    assert info.metadata["Epochs"] == 100 and info.metadata["FLOPs"] == 4120000000  # collection + own
    # a model name that is not a config name points at its config
    res2net = ModelHub.info("res2net50-w14-s8_3rdparty_8xb32_in1k")
    assert res2net.config.endswith("res2net/res2net50-w14-s8_8xb32_in1k.py") and res2net.top1 == 78.14
    for name in list_models():
        weights = ModelHub.info(name).weights
        assert weights is None or (weights.startswith("https://download.openmmlab.com/") and
                                   weights.endswith(".pth"))


def test_list_models_patterns_excludes_and_task():
    assert list_models("resnet*") == ["resnet18_8xb16_cifar10", "resnet50_8xb32-ft_custom",
                                      "resnet50_8xb32_in1k"]
    assert list_models("resnet", exclude_patterns=["*cifar", "*custom"]) == ["resnet50_8xb32_in1k"]
    assert list_models("swin", exclude_patterns=["swinv2*"]) == ["swin-tiny_16xb64_in1k", "swin-tiny_3rdparty_in1k"]
    assert "swinv2-tiny-w8_3rdparty_in1k-256px" in list_models("swin")
    classification = list_models(task="Image Classification")
    assert "resnet50_8xb32_in1k" in classification and "lenet5_1xb64_mnist" not in classification
    assert "lenet5_1xb64_mnist" in list_models(task="null")
    assert list_models("nothing-like-this") == []


def test_unknown_names_and_conflicts_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"not a model name either"):
        get_model("resnet50_8xb32_in1kk")
    with pytest.raises(ValueError, match=r"Did you mean: 'resnet50_8xb32_in1k'"):
        ModelHub.info("resnet50_8xb32_in1kk")
    dup = tmp_path / "metafile.yml"
    dup.write_text("Models:\n  - Name: ResNet50_8xb32_in1k\n    Config: x.py\n")
    with pytest.raises(ValueError, match="defined twice"):
        ModelHub.register_model_index(dup)
    bad = tmp_path / "bad.yml"
    bad.write_text("Models:\n  - Name: m\n    In Collection: Nope\n    Config: x.py\n")
    with pytest.raises(ValueError, match="In Collection: Nope"):
        parse_metafile(str(bad))


def test_a_registered_metafile_imports_and_inherits(tmp_path):
    cfg = tmp_path / "configs" / "tiny.py"
    cfg.parent.mkdir()
    cfg.write_text("_base_ = 'loomcls::lenet/lenet5_1xb64_mnist.py'\n")
    (tmp_path / "family.yml").write_text(
        "Collections:\n  - Name: Tiny\n    Metadata:\n      Training Data: MNIST\n"
        "Models:\n  - Name: my-tiny-lenet\n    In Collection: Tiny\n    Config: configs/tiny.py\n"
        "    Results:\n      - Task: Image Classification\n        Dataset: MNIST\n"
        "        Metrics:\n          Top 1 Accuracy: 99.1\n")
    (tmp_path / "model-index.yml").write_text("Import:\n  - family.yml\n")
    ModelHub.register_model_index(tmp_path / "model-index.yml", config_prefix=tmp_path)
    try:
        assert list_models("my-tiny") == ["my-tiny-lenet"]
        info = ModelHub.get("my-tiny-lenet")
        assert info.metadata == {"Training Data": "MNIST"} and info.top1 == 99.1
        assert info.config.model.type == "ImageClassifier" and info.config_path == str(cfg)
    finally:
        ModelHub._models_dict.pop("my-tiny-lenet")


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """$TORCH_HOME with the ShuffleNet checkpoint under the file name of its published URL."""
    home = tmp_path / "torch_home"
    folder = home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(home))
    torch.manual_seed(0)
    model = get_model(SHUFFLENET)
    state = {k: v + 0.01 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    classes = [f"class_{i}" for i in range(1000)]
    path = folder / osp.basename(ModelHub.info(SHUFFLENET).weights)
    torch.save(dict(state_dict=state, meta=dict(dataset_meta=dict(classes=classes))), path)
    return state, path


def test_get_model_pretrained_true_reads_the_hub_cache_and_a_path(hub_cache):
    state, path = hub_cache
    model = get_model(SHUFFLENET, pretrained=True)
    assert not model.training and model.dataset_meta["classes"][7] == "class_7"
    assert model._metainfo.name == SHUFFLENET
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    by_path = get_model(SHUFFLENET, pretrained=str(path), device="cpu")
    assert torch.equal(by_path.state_dict()["head.fc.weight"], state["head.fc.weight"])
    # url_mapping points the published address at a local mirror folder
    mirrored = get_model(SHUFFLENET, pretrained=True,
                         url_mapping=(r"https://download.openmmlab.com/.*/", str(path.parent) + "/"))
    assert torch.equal(mirrored.state_dict()["head.fc.weight"], state["head.fc.weight"])


def test_get_model_kwargs_update_the_model_config_and_init_model_takes_names():
    model = get_model("resnet18_8xb16_cifar10", head=dict(num_classes=3))
    assert model.head.fc.out_features == 3 and model._metainfo.name == "resnet18_8xb16_cifar10"
    assert model.dataset_meta["classes"][0] == "airplane"  # from the config's dataset
    same = init_model("res2net50-w14-s8_3rdparty_8xb32_in1k", head=dict(num_classes=2))
    assert same.head.fc.out_features == 2 and same.backbone.scales == 8
    with pytest.warns(UserWarning, match="no published weights"):
        get_model("lenet5_1xb64_mnist", pretrained=True)
    with pytest.raises(ValueError, match="device_map"):
        get_model("lenet5_1xb64_mnist", device_map="auto")


def test_loomcv_infer_takes_a_model_name(hub_cache, tmp_path, capsys):
    image = tmp_path / "cat.png"
    cv2.imwrite(str(image), np.random.RandomState(0).randint(0, 255, (40, 48, 3), dtype=np.uint8))
    assert main(["infer", SHUFFLENET, str(image), "--topk", "2"]) == 0
    line = [t for t in capsys.readouterr().out.splitlines() if t.startswith(str(image))]
    assert len(line) == 1 and line[0].count("class_") == 2
    # the explicit checkpoint form still works with a model name
    assert main(["infer", SHUFFLENET, str(hub_cache[1]), str(image)]) == 0
    capsys.readouterr()
    assert main(["infer", "lenet5_1xb64_mnist", str(image)]) != 0
    assert "model 'lenet5_1xb64_mnist' has no published weights" in capsys.readouterr().err
    assert main(["infer", osp.join(PACKAGE_ROOT, "configs", "lenet", "lenet5_1xb64_mnist.py"), str(image)]) != 0
    assert "is a config, so it needs a checkpoint" in capsys.readouterr().err

