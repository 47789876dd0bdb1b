import pytest
import torch

import loomcls.models.backbones  # noqa: F401  (registers)
from loomcls.registry import MODELS


def build(**kw):
    return MODELS.build(dict(type="MobileNetV3", **kw))


# the published MobileNetV3 models have 2,542,856 (small) and 5,483,032 (large) parameters;
# their classifiers are 576->1024->1000 and 960->1280->1000 fully connected layers
@pytest.mark.parametrize("arch,total,classifier", [
    ("small", 2542856, 576 * 1024 + 1024 + 1024 * 1000 + 1000),
    ("large", 5483032, 960 * 1280 + 1280 + 1280 * 1000 + 1000)])
def test_parameter_count_matches_the_published_models(arch, total, classifier):
    net = build(arch=arch)
    assert sum(p.numel() for p in net.parameters()) == total - classifier


def test_small_layout_and_default_output():
    net = build(arch="small")
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes["layer0.conv.weight"] == (16, 3, 3, 3)
    assert "layer1.expand_conv.conv.weight" not in shapes
    assert shapes["layer1.se.conv1.conv.weight"] == (8, 16, 1, 1)
    assert shapes["layer1.se.conv1.conv.bias"] == (8,)
    assert shapes["layer2.expand_conv.conv.weight"] == (72, 16, 1, 1)
    assert shapes["layer4.depthwise_conv.conv.weight"] == (96, 1, 5, 5)
    assert shapes["layer11.linear_conv.bn.running_mean"] == (96,)
    assert shapes["layer12.conv.weight"] == (576, 96, 1, 1)
    assert net.layer0.bn.eps == 1e-3 and net.layer0.bn.momentum == 0.01
    assert [tuple(o.shape) for o in net(torch.randn(1, 3, 64, 64))] == [(1, 576, 2, 2)]


@pytest.mark.parametrize("arch,widths,strides", [
    ("small", (16, 16, 24, 24, 40, 40, 40, 48, 48, 96, 96, 96, 576), (2, 4, 8, 8, 16, 16, 16, 16, 16, 32, 32, 32, 32)),
    ("large", (16, 16, 24, 24, 40, 40, 40, 80, 80, 80, 80, 112, 112, 160, 160, 160, 960),
     (2, 2, 4, 4, 8, 8, 8, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32))])
def test_every_out_index_shape(arch, widths, strides):
    net = build(arch=arch, out_indices=range(len(widths)))
    outs = net(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, w, 64 // s, 64 // s) for w, s in zip(widths, strides)]


def test_frozen_stages_and_norm_eval(checks):
    net = build(arch="small", frozen_stages=2)
    checks.assert_frozen_after_step(net, ["layer0.", "layer1.", "layer2."], torch.randn(2, 3, 32, 32))
    assert all(p.requires_grad for p in net.layer3.parameters())
    checks.assert_norm_eval(build(arch="small", norm_eval=True))


def test_bad_arguments():
    with pytest.raises(ValueError, match="arch must be one of"):
        build(arch="medium")
    with pytest.raises(ValueError, match="out_indices"):
        build(arch="small", out_indices=(13,))
    with pytest.raises(ValueError, match="frozen_stages"):
        build(arch="large", frozen_stages=17)
