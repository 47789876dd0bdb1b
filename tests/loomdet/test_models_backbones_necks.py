"""Darknet, loomcls' ResNet/MobileNetV2 under MMDetection's arguments and keys, FPN and YOLOV3Neck."""

import pytest
import torch

import loomdet.models  # noqa: F401  (registers)
from loomcls.models.backbones import MobileNetV2 as ClsMobileNetV2
from loomcls.models.backbones import ResNet as ClsResNet
from loomcv.registry import MODELS as ROOT_MODELS
from loomdet.models.backbones import Darknet, MobileNetV2, ResNet
from loomdet.registry import MODELS


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run faster on one thread, and far faster when other processes load the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_darknet_outputs_and_frozen_stages():
    net = Darknet(out_indices=(3, 4, 5))
    with torch.no_grad():
        outs = net.eval()(torch.empty(1, 3, 32, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 4, 8), (1, 512, 2, 4), (1, 1024, 1, 2)]
    assert len(net.conv_res_block3) == 1 + 8 and hasattr(net.conv_res_block5, "res3")
    frozen = Darknet(frozen_stages=2, norm_eval=False)
    frozen.train()
    assert not any(p.requires_grad for p in frozen.conv_res_block1.parameters())
    assert all(p.requires_grad for p in frozen.conv_res_block2.parameters())
    assert not frozen.conv1.bn.training and frozen.conv_res_block2.conv.bn.training
    with pytest.raises(KeyError, match="depth must be one of"):
        Darknet(depth=21)
    with pytest.raises(ValueError, match="out_indices"):
        Darknet(out_indices=(6,))


def test_resnet_is_loomcls_with_mmdet_defaults():
    assert issubclass(ResNet, ClsResNet) and MODELS.get("ResNet") is ResNet
    net = ResNet(depth=18, base_channels=8)
    assert net.out_indices == (0, 1, 2, 3) and net.norm_eval and net.stem_channels == 8
    outs = net(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16, 16), (1, 16, 8, 8), (1, 32, 4, 4), (1, 64, 2, 2)]
    net.train()
    assert not net.bn1.training  # norm_eval
    # caffe style strides the first 1x1 conv; BN frozen with requires_grad=False
    caffe = ResNet(depth=50, base_channels=4, num_stages=2, strides=(1, 2), dilations=(1, 1), style="caffe",
                   out_indices=(1,), norm_cfg=dict(type="BN", requires_grad=False))
    assert caffe.layer2[0].conv1.stride == (2, 2) and caffe.layer2[0].conv2.stride == (1, 1)
    assert not caffe.bn1.weight.requires_grad
    with pytest.raises(ValueError, match="deformable"):
        ResNet(depth=18, dcn=dict(type="DCNv2"))
    with pytest.raises(ValueError, match="num_stages=4"):
        ResNet(depth=18, strides=(1, 2))


def test_resnet_zero_init_only_under_default_init():
    default = ResNet(depth=18, base_channels=4, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,))
    default.init_weights()
    assert torch.all(default.layer1[0].bn2.weight == 0)
    custom = ResNet(depth=18, base_channels=4, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,),
                    init_cfg=dict(type="Constant", val=1, layer="_BatchNorm"))
    custom.init_weights()
    assert torch.all(custom.layer1[0].bn2.weight == 1)
    with pytest.warns(DeprecationWarning, match="pretrained"):
        assert ResNet(depth=18, pretrained="x.pth").init_cfg == dict(type="Pretrained", checkpoint="x.pth")
    with pytest.raises(ValueError, match="not both"):
        ResNet(depth=18, pretrained="x.pth", init_cfg=dict(type="Pretrained", checkpoint="y.pth"))


def test_resnet_v1d_has_mmdet_stem_and_pooled_shortcuts():
    net = MODELS.build(dict(type="ResNetV1d", depth=50, base_channels=4, stem_channels=8, num_stages=2,
                            strides=(1, 2), dilations=(1, 1), out_indices=(1,)))
    keys = net.state_dict().keys()
    assert "stem.0.weight" in keys and "stem.1.running_mean" in keys and "stem.6.weight" in keys
    # MMDetection pools even the stride-1 shortcut of layer1, so its conv is downsample.1 too
    assert "layer1.0.downsample.1.weight" in keys and "layer2.0.downsample.1.weight" in keys
    assert net(torch.randn(1, 3, 32, 32))[0].shape == (1, 32, 4, 4)


def test_mobilenet_v2_mmdet_keys_same_outputs_as_loomcls():
    assert issubclass(MobileNetV2, ClsMobileNetV2)
    det = MobileNetV2(widen_factor=0.5, out_indices=(2, 4, 6))
    cls = ClsMobileNetV2(widen_factor=0.5, out_indices=(2, 4, 6))
    det_keys, cls_keys = list(det.state_dict()), list(cls.state_dict())
    assert "layer1.0.depthwise_conv.conv.weight" in det_keys and "layer2.0.expand_conv.bn.weight" in det_keys
    assert "layer2.0.linear_conv.conv.weight" in det_keys and not any(".conv.0." in k for k in det_keys)
    assert len(det_keys) == len(cls_keys)
    # same network: loomcls' weights, renamed in order, give the same features
    det.load_state_dict(dict(zip(det_keys, cls.state_dict().values())))
    det.eval(), cls.eval()
    x = torch.randn(2, 3, 64, 64)
    for a, b in zip(det(x), cls(x)):
        torch.testing.assert_close(a, b)
    assert [o.shape[1] for o in det(x)] == [16, 48, 160]  # layer3, layer5, layer7 at widen 0.5
    assert MobileNetV2().out_indices == (1, 2, 4, 7)
    frozen = MobileNetV2(widen_factor=0.25, frozen_stages=1)
    frozen.train()
    assert not any(p.requires_grad for p in frozen.conv1.parameters()) and frozen.conv1.bn.training
    assert not frozen.layer1.training and frozen.layer2.training
    with pytest.raises(ValueError, match="out_indices"):
        MobileNetV2(out_indices=(8,))


def test_loomcls_backbones_stay_reachable_by_scope():
    assert ROOT_MODELS.get("mmcls.MobileNetV3").__module__.startswith("loomcls")
    assert ROOT_MODELS.get("mmdet.MobileNetV2") is MobileNetV2


def _feats(channels, size=32, strides=(4, 8, 16, 32)):
    return tuple(torch.randn(1, c, size // s, size // s) for c, s in zip(channels, strides))


@pytest.mark.parametrize("extra,first_in", [("on_input", 64), ("on_output", 16), ("on_lateral", 16), (True, 64)])
def test_fpn_extra_levels(extra, first_in):
    fpn = MODELS.build(dict(type="FPN", in_channels=[8, 16, 32, 64], out_channels=16, start_level=1,
                            add_extra_convs=extra, num_outs=5))
    assert len(fpn.lateral_convs) == 3 and len(fpn.fpn_convs) == 5
    assert fpn.fpn_convs[3].conv.in_channels == first_in and fpn.fpn_convs[3].conv.stride == (2, 2)
    outs = fpn(_feats([8, 16, 32, 64], size=128))
    assert [tuple(o.shape[2:]) for o in outs] == [(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]
    assert "lateral_convs.0.conv.bias" in fpn.state_dict()


def test_fpn_pooled_extras_relu_and_errors():
    pooled = MODELS.build(dict(type="FPN", in_channels=[8, 16], out_channels=4, num_outs=3))
    outs = pooled(_feats([8, 16], size=32, strides=(4, 8)))
    torch.testing.assert_close(outs[2], outs[1][:, :, ::2, ::2])
    kw = dict(type="FPN", in_channels=[8, 16], out_channels=4, num_outs=4, add_extra_convs="on_output")
    plain, relu = MODELS.build(kw), MODELS.build(dict(kw, relu_before_extra_convs=True))
    relu.load_state_dict(plain.state_dict())
    feats = _feats([8, 16], size=64, strides=(4, 8))
    a, b = plain(feats), relu(feats)
    torch.testing.assert_close(a[2], b[2])
    assert not torch.allclose(a[3], b[3])
    with pytest.raises(ValueError, match="add_extra_convs must be"):
        MODELS.build(dict(kw, add_extra_convs="on_top"))
    with pytest.raises(ValueError, match="fewer than"):
        MODELS.build(dict(kw, num_outs=1))


def test_yolov3_neck_shapes_keys_and_channel_error():
    neck = MODELS.build(dict(type="YOLOV3Neck", num_scales=3, in_channels=[32, 16, 8], out_channels=[12, 8, 4]))
    outs = neck(_feats([8, 16, 32], size=64, strides=(8, 16, 32)))
    assert [tuple(o.shape[1:]) for o in outs] == [(12, 2, 2), (8, 4, 4), (4, 8, 8)]
    sd = neck.state_dict()
    assert sd["detect2.conv1.conv.weight"].shape == (8, 16 + 8, 1, 1)
    assert sd["conv1.conv.weight"].shape == (8, 12, 1, 1) and sd["detect1.conv2.conv.weight"].shape == (24, 12, 3, 3)
    with pytest.raises(ValueError, match="coarsest first"):
        neck(_feats([32, 16, 8], size=64, strides=(8, 16, 32)))
