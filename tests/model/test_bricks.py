import pytest
import torch
import torch.nn as nn

from loomcv.model import (ConvModule, DepthwiseSeparableConvModule, DropPath, SELayer,
                          build_activation_layer, build_conv_layer, build_norm_layer,
                          build_padding_layer, make_divisible)
from loomcv.registry import MODELS


@pytest.mark.parametrize("cfg,cls,name", [
    (dict(type="BN"), nn.BatchNorm2d, "bn1"), (dict(type="BN1d"), nn.BatchNorm1d, "bn1"),
    (dict(type="SyncBN"), nn.SyncBatchNorm, "bn1"), (dict(type="GN", num_groups=2), nn.GroupNorm, "gn1"),
    (dict(type="LN"), nn.LayerNorm, "ln1"), (dict(type="IN"), nn.InstanceNorm2d, "in1")])
def test_norm_names_and_classes(cfg, cls, name):
    got_name, layer = build_norm_layer(cfg, 4, postfix=1)
    assert got_name == name and isinstance(layer, cls)
    assert build_norm_layer(cfg, 4)[0] == name[:-1]


def test_norm_requires_grad_and_errors():
    _, bn = build_norm_layer(dict(type="BN", requires_grad=False), 3)
    assert not any(p.requires_grad for p in bn.parameters())
    with pytest.raises(KeyError, match="num_groups"):
        build_norm_layer(dict(type="GN"), 4)
    with pytest.raises(KeyError, match="'BN'"):
        build_norm_layer(dict(type="BNN"), 4)


def test_conv_activation_padding_builders():
    assert isinstance(build_conv_layer(None, 3, 4, 3), nn.Conv2d)
    assert isinstance(build_conv_layer(dict(type="Conv1d"), 3, 4, 3), nn.Conv1d)
    for name in ["ReLU", "LeakyReLU", "PReLU", "ReLU6", "ELU", "Sigmoid", "Tanh", "GELU", "SiLU",
                 "Swish", "HSigmoid", "HSwish"]:
        act = build_activation_layer(dict(type=name))
        assert act(torch.randn(2, 3)).shape == (2, 3)
    x = torch.linspace(-4, 4, 9)
    assert torch.allclose(build_activation_layer(dict(type="HSigmoid"))(x), nn.Hardsigmoid()(x))
    assert torch.allclose(build_activation_layer(dict(type="Swish"))(x), nn.SiLU()(x))
    assert isinstance(build_padding_layer(dict(type="reflect"), 2), nn.ReflectionPad2d)


def test_conv_module_keys_order_and_bias():
    m = ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"))
    assert list(m.state_dict()) == ["conv.weight", "bn.weight", "bn.bias", "bn.running_mean",
                                    "bn.running_var", "bn.num_batches_tracked"]
    assert m.conv.bias is None and m.norm is m.bn and m.activate.inplace
    plain = ConvModule(3, 8, 1, act_cfg=None)
    assert plain.conv.bias is not None and not hasattr(plain, "activate")
    gn = ConvModule(4, 8, 1, norm_cfg=dict(type="GN", num_groups=2), order=("norm", "act", "conv"))
    assert gn.gn.num_channels == 4  # norm before conv sees the input channels
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(gn(x), gn.conv(gn.activate(gn.gn(x))))
    pad = ConvModule(3, 4, 3, padding=1, padding_mode="reflect")
    assert isinstance(pad.padding_layer, nn.ReflectionPad2d) and pad(torch.randn(1, 3, 5, 5)).shape[-1] == 5
    sn = ConvModule(3, 4, 3, with_spectral_norm=True)
    assert "conv.weight_orig" in sn.state_dict()
    with pytest.raises(ValueError, match="permutation"):
        ConvModule(3, 4, 3, order=("conv", "act"))


def test_depthwise_separable_and_se_and_droppath():
    m = DepthwiseSeparableConvModule(4, 8, 3, padding=1, norm_cfg=dict(type="BN"))
    assert m.depthwise_conv.conv.groups == 4 and m.pointwise_conv.conv.kernel_size == (1, 1)
    assert m(torch.randn(1, 4, 5, 5)).shape == (1, 8, 5, 5)
    se = SELayer(16, ratio=4, act_cfg=(dict(type="ReLU"), dict(type="HSigmoid")))
    assert {"conv1.conv.weight", "conv1.conv.bias", "conv2.conv.weight"} <= set(se.state_dict())
    assert se(torch.randn(2, 16, 4, 4)).shape == (2, 16, 4, 4)
    assert make_divisible(10, 8) == 16 and make_divisible(32, 8) == 32
    dp = DropPath(0.5)
    x = torch.ones(1000, 4)
    dp.eval()
    assert torch.equal(dp(x), x)
    dp.train()
    out = dp(x)
    kept = (out[:, 0] != 0)
    assert torch.all(out[kept] == 2.0) and 350 < kept.sum() < 650


def test_registered_names_build_from_config():
    m = MODELS.build(dict(type="ConvModule", in_channels=3, out_channels=4, kernel_size=1,
                          norm_cfg=dict(type="SyncBN"), act_cfg=dict(type="HSwish")))
    assert m.norm_name == "bn" and isinstance(m.activate, nn.Hardswish)
