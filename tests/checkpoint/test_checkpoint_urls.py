"""Checkpoint URL schemes: names resolve through tables, files come from torch.hub's cache
($TORCH_HOME/hub/checkpoints, prepared here), and a missing file offline names the URL and the path."""

import os
import os.path as osp
import re
import warnings
from collections import OrderedDict

import pytest
import torch

from loomcv.checkpoint import _load_checkpoint, load_state_dict
from loomcv.checkpoint.urls import cache_path, known_schemes, register_url_table, resolve
from loomcv.errors import CheckpointError

COMPAT = osp.join(osp.dirname(osp.dirname(__file__)), "fixtures", "compat")


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch.hub cache under tmp_path; returns its checkpoints folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("LOOMCV_OFFLINE", raising=False)
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


def torchvision_resnet18_state_dict():
    """torchvision's resnet18 keys and shapes, written out from its architecture (no torchvision here);
    as in the 2017-era files, BatchNorm has no num_batches_tracked."""
    gen = torch.Generator().manual_seed(0)
    state = OrderedDict()

    def conv(name, out_c, in_c, k):
        state[f"{name}.weight"] = torch.randn(out_c, in_c, k, k, generator=gen)

    def bn(name, c):
        state[f"{name}.weight"] = torch.rand(c, generator=gen)
        state[f"{name}.bias"] = torch.randn(c, generator=gen)
        state[f"{name}.running_mean"] = torch.randn(c, generator=gen)
        state[f"{name}.running_var"] = torch.rand(c, generator=gen) + 0.5

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    in_c = 64
    for layer, width in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            prefix = f"layer{layer}.{block}"
            conv(f"{prefix}.conv1", width, in_c if block == 0 else width, 3)
            bn(f"{prefix}.bn1", width)
            conv(f"{prefix}.conv2", width, width, 3)
            bn(f"{prefix}.bn2", width)
            if block == 0 and layer > 1:
                conv(f"{prefix}.downsample.0", width, in_c, 1)
                bn(f"{prefix}.downsample.1", width)
        in_c = width
    state["fc.weight"] = torch.randn(1000, 512, generator=gen)
    state["fc.bias"] = torch.randn(1000, generator=gen)
    return state


def mmpretrain_state_dict(manifest):
    """Random tensors with the keys and shapes of an MMPretrain 1.2 model (a compat manifest)."""
    gen = torch.Generator().manual_seed(1)
    state = OrderedDict()
    with open(osp.join(COMPAT, manifest), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            key, shape = line.rstrip("\n").split("\t")
            shape = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
            state[key] = (torch.tensor(7) if key.endswith("num_batches_tracked")
                          else torch.randn(shape, generator=gen))
    return state


def test_torchvision_resnet_loads_into_loomcls_resnet_with_fc_reported(hub):
    from loomcls.models.backbones import ResNet
    url, _ = resolve("torchvision://resnet18")
    assert url == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert cache_path(url) == str(hub / "resnet18-f37072fd.pth")
    weights = torchvision_resnet18_state_dict()
    torch.save(weights, hub / "resnet18-f37072fd.pth")

    model = ResNet(depth=18)
    report = load_state_dict(model, _load_checkpoint("torchvision://resnet18"))
    assert report.unexpected_keys == ["fc.weight", "fc.bias"] and not report.missing_keys
    assert not report.mismatched and len(report.matched) == len(weights) - 2
    assert re.search(r"\n  unexpected +2  fc\.weight\n +fc\.bias\n", report.table())

    model = ResNet(depth=18, init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet18"))
    model.init_weights()
    torch.testing.assert_close(model.layer3[0].downsample[0].weight, weights["layer3.0.downsample.0.weight"])
    torch.testing.assert_close(model.bn1.running_var, weights["bn1.running_var"])
    # torchvision >= 0.13 spells weights by enum; MMEngine maps them the same way
    assert resolve("torchvision://ResNet50_Weights.IMAGENET1K_V2")[0].endswith("resnet50-11ad3fa6.pth")
    with pytest.warns(DeprecationWarning, match='"modelzoo://" is deprecated'):
        assert resolve("modelzoo://resnet18")[0] == url


def test_mmcls_classifier_checkpoint_gives_its_backbone(hub):
    from loomcls.models.backbones import MobileNetV2
    url, table = resolve("mmcls://mobilenet_v2")
    assert url.startswith("https://download.openmmlab.com/mmclassification/") and table.take_prefix == "backbone."
    classifier = mmpretrain_state_dict("mobilenet_v2_in1k.statedict.txt")   # backbone.* and head.fc.*
    torch.save(dict(meta=dict(epoch=100), state_dict=classifier), cache_path(url))

    checkpoint = _load_checkpoint("mmcls://mobilenet_v2")
    assert set(checkpoint) == {"state_dict", "meta"}
    assert all(not k.startswith(("backbone.", "head.")) for k in checkpoint["state_dict"])
    for prefix in (None, "backbone.", "backbone"):   # MMPretrain-style prefix='backbone.' on top is accepted
        model = MobileNetV2(init_cfg=dict(type="Pretrained", checkpoint="mmcls://mobilenet_v2", prefix=prefix))
        model.init_weights()
        report = load_state_dict(MobileNetV2(), checkpoint["state_dict"])
        assert report.ok and len(report.matched) == len(classifier) - 2        # all but head.fc.weight/bias
        torch.testing.assert_close(model.conv2.conv.weight, classifier["backbone.conv2.conv.weight"])


def test_seed_000_cross_library_backbone(hub):
    """``type='mmcls.MobileNetV3'`` with ``checkpoint='mmcls://mobilenet_v3_large'``, as seed 000 writes it."""
    from loomcls.models.backbones import MobileNetV3
    from loomcv.registry import MODELS, init_default_scope
    init_default_scope("loomcv")
    gen = torch.Generator().manual_seed(2)
    classifier = OrderedDict((f"backbone.{k}", torch.randn(v.shape, generator=gen) if v.is_floating_point() else v)
                             for k, v in MobileNetV3(arch="large").state_dict().items())
    classifier.update({"head.layers.0.fc.weight": torch.randn(1280, 960),       # a StackedLinearClsHead
                       "head.layers.1.fc.weight": torch.randn(10, 1280)})
    url, _ = resolve("mmcls://mobilenet_v3_large")
    torch.save(dict(state_dict=classifier), cache_path(url))
    backbone = MODELS.build(dict(type="mmcls.MobileNetV3", arch="large", out_indices=(5, 11, 14),
                                 init_cfg=dict(type="Pretrained", checkpoint="mmcls://mobilenet_v3_large")))
    backbone.init_weights()
    for key, value in backbone.state_dict().items():
        torch.testing.assert_close(value, classifier[f"backbone.{key}"])


def test_offline_error_names_the_url_and_the_path(hub, monkeypatch):
    monkeypatch.setenv("LOOMCV_OFFLINE", "1")
    path = hub / "mobilenet_v3_large-3ea3c186.pth"
    with pytest.raises(CheckpointError) as info:
        _load_checkpoint("mmcls://mobilenet_v3_large")
    message = str(info.value)
    assert ("mmcls://mobilenet_v3_large -> https://download.openmmlab.com/mmclassification/v0/mobilenet_v3/"
            "convert/mobilenet_v3_large-3ea3c186.pth") in message
    assert f"put the file at\n  {path}\n" in message and "LOOMCV_OFFLINE is set" in message
    assert not path.exists()


def test_a_failed_download_names_the_url_and_the_path(hub, monkeypatch):
    # port 9 (discard) on this machine refuses connections at once: a real, fast network failure
    register_url_table("loomtestzoo", {"tiny": "http://127.0.0.1:9/tiny-00000000.pth"}, force=True)
    with pytest.raises(CheckpointError, match=r"could not download checkpoint loomtestzoo://tiny -> "
                                              r"http://127.0.0.1:9/tiny-00000000.pth \(URLError") as info:
        _load_checkpoint("loomtestzoo://tiny")
    assert str(hub / "tiny-00000000.pth") in str(info.value)
    assert not (hub / "tiny-00000000.pth").exists()              # no partial file left behind
    # a plain URL whose file is in the cache never touches the network
    torch.save({"w": torch.ones(2)}, hub / "cached-1234.pth")
    assert torch.equal(_load_checkpoint("http://127.0.0.1:9/models/cached-1234.pth")["w"], torch.ones(2))


def test_unknown_names_and_schemes(hub):
    with pytest.raises(CheckpointError, match=r"mmcls://mobilenet_v3_larg: no checkpoint named .* "
                                              r"Did you mean: 'mobilenet_v3_large'"):
        _load_checkpoint("mmcls://mobilenet_v3_larg")
    with pytest.raises(CheckpointError, match=r"unknown checkpoint URL scheme mmcsl://; known: .*mmcls://.*"
                                              r"Did you mean: 'mmcls'"):
        _load_checkpoint("mmcsl://resnet50")
    assert {"mmcls", "torchvision", "open-mmlab", "openmmlab"} <= set(known_schemes())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        url, _ = resolve("open-mmlab://resnet50_caffe")
    assert url.endswith("resnet50_caffe-788b5fa3.pth")
    assert "in favour of open-mmlab://detectron/resnet50_caffe" in str(caught[0].message)
    assert resolve("openmmlab://mmdet/mobilenet_v2")[0].endswith("mobilenet_v2_batch256_imagenet-ff34753d.pth")


def test_toolboxes_declare_their_tables(monkeypatch, hub):
    from loomcv.registry import toolbox as toolbox_module
    from loomcv.registry.toolbox import Toolbox
    with pytest.raises(ValueError, match=r"checkpoint_urls\['zoo'\] must be 'module:ATTR'"):
        Toolbox(scope="urlbox", checkpoint_urls={"zoo": "loomcls.hub.MMCLS_URLS"})
    declared = Toolbox(scope="urlbox", checkpoint_urls={"urlzoo": "loomcls.hub:MMCLS_URLS",
                                                       "brokenzoo": "no_such_module_here:TABLE"})
    monkeypatch.setitem(toolbox_module._registered, "urlbox", declared)
    assert resolve("urlzoo://resnet50")[0] == resolve("mmcls://resnet50")[0]
    with pytest.raises(CheckpointError, match=r"toolbox 'urlbox' declares checkpoint_urls\['brokenzoo'\] = "
                                              r"'no_such_module_here:TABLE', which cannot be loaded"):
        resolve("brokenzoo://x")
    assert os.environ["TORCH_HOME"].startswith(str(hub.parent.parent))
