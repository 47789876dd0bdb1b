"""HRNet with the HRFuseScales neck, Inception V3, and the LinearNeck and
GeneralizedMeanPooling necks: published parameter counts, MMPretrain's key names,
the branch exchange, outputs, norm_eval, state-dict round trips, bad arguments and
the shipped configs."""

import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.hrnet import HRModule
from loomcls.models.backbones.resnet import BasicBlock
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL_HRNET = dict(type="HRNet", extra=dict(
    stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(1,), num_channels=(8,)),
    stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(1, 1), num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_branches=3, block="BASIC", num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
    stage4=dict(num_modules=2, num_branches=4, block="BASIC", num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32))))


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# classifiers, from MMPretrain's metafiles
PUBLISHED = [("hrnet/hrnet-w18.py", 21295164), ("hrnet/hrnet-w30.py", 37708380), ("hrnet/hrnet-w32.py", 41228840),
             ("hrnet/hrnet-w40.py", 57553320), ("hrnet/hrnet-w44.py", 67061144), ("hrnet/hrnet-w48.py", 77466024),
             ("hrnet/hrnet-w64.py", 128056104), ("inception_v3.py", 23834568)]


@pytest.mark.parametrize("base,count", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_parameter_count_is_the_published_one(base, count):
    assert n_params(meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", base)).model)) == count


def test_hrnet_w18_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", "hrnet", "hrnet-w18.py")).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("hrnet-w18_in1k.statedict.txt", prefix="")


def test_inception_v3_keys_are_torchvisions():
    keys = {k: tuple(v.shape) for k, v in meta_build(dict(type="InceptionV3", aux_logits=True)).state_dict().items()}
    assert keys["Conv2d_1a_3x3.conv.weight"] == (32, 3, 3, 3) and keys["Conv2d_1a_3x3.bn.running_var"] == (32,)
    assert keys["Mixed_5b.branch_pool.conv.weight"] == (32, 192, 1, 1)
    assert keys["Mixed_6e.branch7x7dbl_5.conv.weight"] == (192, 192, 1, 7)
    assert keys["Mixed_7c.branch3x3dbl_3b.conv.weight"] == (384, 384, 3, 1)
    assert keys["AuxLogits.conv1.conv.weight"] == (768, 128, 5, 5) and keys["AuxLogits.fc.weight"] == (1000, 768)
    assert keys["fc.weight"] == (1000, 2048)
    assert not any(k.startswith("AuxLogits") for k in meta_build(dict(type="InceptionV3")).state_dict())


def test_hrnet_outputs_one_map_per_branch():
    net = MODELS.build(SMALL_HRNET).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 4, 16, 16), (2, 8, 8, 8), (2, 16, 4, 4), (2, 32, 2, 2)]
    single = MODELS.build(dict(SMALL_HRNET, multiscale_output=False)).eval()
    with torch.no_grad():
        assert [tuple(o.shape) for o in single(torch.randn(1, 3, 64, 64))] == [(1, 4, 16, 16)]
    assert len(single.stage4[0].fuse_layers) == 4 and len(single.stage4[1].fuse_layers) == 1  # only the last module


def test_hr_module_exchange_is_the_resampled_sum():
    module = HRModule(3, BasicBlock, (1, 1, 1), (4, 8, 16), (4, 8, 16)).eval()
    x = [torch.randn(1, 4, 8, 8), torch.randn(1, 8, 4, 4), torch.randn(1, 16, 2, 2)]
    inputs = list(x)
    with torch.no_grad():
        out = module(inputs)
        branches = [b(f) for b, f in zip(module.branches, x)]
        # output 1 = relu(down(branch 0) + branch 1 + up(branch 2))
        down = module.fuse_layers[1][0](branches[0])
        up = module.fuse_layers[1][2](branches[2])
        assert torch.allclose(out[1], torch.relu(down + branches[1] + up), atol=1e-6)
        assert module.fuse_layers[1][1] is None
        # the upsampling is nearest-neighbour by 2 ** (j - i)
        conv_bn = module.fuse_layers[0][2][:2]
        assert torch.allclose(module.fuse_layers[0][2](branches[2]),
                              F.interpolate(conv_bn(branches[2]), scale_factor=4, mode="nearest"))
        assert len(module.fuse_layers[2][0]) == 2  # two stride-2 steps from the finest branch
    assert all(a is b for a, b in zip(inputs, x))  # the caller's list is left as given (MMPretrain overwrites it)


def test_hrnet_norm_eval_and_zero_init_residual(checks):
    checks.assert_norm_eval(MODELS.build(dict(SMALL_HRNET, norm_eval=True)))
    net = MODELS.build(dict(SMALL_HRNET, zero_init_residual=True))
    net.init_weights()
    assert torch.all(net.stage2[0].branches[0][0].norm2.weight == 0)
    assert torch.all(net.stage4[1].branches[3][0].norm2.weight == 0)
    assert not torch.all(net.layer1[0].norm3.weight == 0)  # stage 1 is left alone, as MMPretrain


def test_hr_fuse_scales_neck():
    neck = MODELS.build(dict(type="HRFuseScales", in_channels=(4, 8, 16, 32), out_channels=64)).eval()
    feats = (torch.randn(2, 4, 16, 16), torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4), torch.randn(2, 32, 2, 2))
    with torch.no_grad():
        (out,) = neck(feats)
        assert out.shape == (2, 64, 2, 2)
        expected = neck.increase_layers[0](feats[0])
        for i in range(3):
            expected = neck.downsample_layers[i](expected) + neck.increase_layers[i + 1](feats[i + 1])
        assert torch.allclose(out, neck.final_layer(expected))
    with pytest.raises(ValueError, match="HRFuseScales takes a tuple of 4 feature maps"):
        neck(feats[:3])


def test_hrnet_classifier_forward_and_round_trip(tmp_path):
    widths = (4, 8, 16, 32)
    cfg = dict(type="ImageClassifier", backbone=SMALL_HRNET,
               neck=[dict(type="HRFuseScales", in_channels=widths, out_channels=64), dict(type="GlobalAveragePooling")],
               head=dict(type="LinearClsHead", in_channels=64, num_classes=5))
    source = MODELS.build(cfg)
    source.train()
    source(torch.randn(2, 3, 64, 64))
    torch.save(source.state_dict(), tmp_path / "model.pth")
    assert "neck.0.final_layer.conv.weight" in source.state_dict()
    fresh = MODELS.build(cfg)
    result = fresh.load_state_dict(torch.load(tmp_path / "model.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert fresh.eval()(x).shape == (1, 5)
        assert torch.allclose(source.eval()(x), fresh(x))


def test_inception_v3_outputs_and_aux_branch():
    net = MODELS.build(dict(type="InceptionV3", num_classes=7, aux_logits=True))
    net.eval()
    with torch.no_grad():
        aux, logits = net(torch.randn(1, 3, 75, 75))  # the smallest input the network takes
    assert aux is None and logits.shape == (1, 7)
    with torch.no_grad():
        assert net.AuxLogits(torch.randn(2, 768, 17, 17)).shape == (2, 7)  # the map a 299 px input gives
    with pytest.raises(ValueError, match="dropout must be"):
        MODELS.build(dict(type="InceptionV3", dropout=1.5))


def test_linear_neck():
    neck = MODELS.build(dict(type="LinearNeck", in_channels=8, out_channels=4, gap_dim=2,
                             act_cfg=dict(type="ReLU"))).eval()
    x = torch.randn(3, 8, 5, 5)
    with torch.no_grad():
        (out,) = neck((torch.randn(3, 2, 5, 5), x))  # only the last feature is used
        expected = torch.relu(neck.norm(neck.fc(x.mean((2, 3)))))
        assert torch.allclose(out, expected, atol=1e-6)
    plain = MODELS.build(dict(type="LinearNeck", in_channels=8, out_channels=4, norm_cfg=None))
    v = torch.randn(2, 8)
    assert torch.allclose(plain(v)[0], plain.fc(v))
    assert set(MODELS.build(dict(type="LinearNeck", in_channels=8, out_channels=4)).state_dict()) == {
        "fc.weight", "fc.bias", "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var",
        "norm.num_batches_tracked"}
    with pytest.raises(ValueError, match=r"gap_dim must be one of \[0, 1, 2, 3\]"):
        MODELS.build(dict(type="LinearNeck", in_channels=8, out_channels=4, gap_dim=4))


def test_generalized_mean_pooling():
    gem = MODELS.build(dict(type="GeneralizedMeanPooling", p=3.))
    x = torch.rand(2, 3, 4, 4) + 0.1
    expected = x.pow(3).mean((2, 3)).pow(1 / 3)
    assert torch.allclose(gem(x), expected, atol=1e-6)
    assert torch.allclose(MODELS.build(dict(type="GeneralizedMeanPooling", p=1.))(x), x.mean((2, 3)), atol=1e-6)
    big = MODELS.build(dict(type="GeneralizedMeanPooling", p=60.))(x)
    assert torch.allclose(big, x.amax((2, 3)), rtol=0.05)  # a large p approaches max pooling
    outs = gem((x, x[:1]))
    assert [tuple(o.shape) for o in outs] == [(2, 3), (1, 3)]
    fixed = MODELS.build(dict(type="GeneralizedMeanPooling", p_trainable=False))
    assert gem.p.requires_grad and not fixed.p.requires_grad
    gem(x).sum().backward()
    assert gem.p.grad is not None
    negative = -torch.rand(1, 2, 3, 3)  # clamped to eps: the result is eps, not NaN
    assert torch.allclose(gem(negative), torch.full((1, 2), 1e-6))
    with pytest.raises(ValueError, match="p must be >= 1"):
        MODELS.build(dict(type="GeneralizedMeanPooling", p=0.5))


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="HRNet", arch="w20"), ValueError, "arch must be one of"),
    (dict(type="HRNet", extra=dict(stage1={})), KeyError, "missing"),
    (dict(SMALL_HRNET, extra=dict(SMALL_HRNET["extra"], stage2=dict(SMALL_HRNET["extra"]["stage2"], block="BASE"))),
     ValueError, "block'\\] must be one of"),
    (dict(SMALL_HRNET, extra=dict(SMALL_HRNET["extra"], stage3=dict(SMALL_HRNET["extra"]["stage3"], num_blocks=(1,)))),
     ValueError, "one entry per branch"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(p for d in ("hrnet", "inception_v3") for p in glob.glob(osp.join(CONFIGS, d, "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "backbone" in capsys.readouterr().out
    meta_build(Config.fromfile(path).model)
