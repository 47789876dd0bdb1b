"""ResNeXt, SE-ResNet/SE-ResNeXt, Res2Net, ShuffleNetV1 and RegNet: published
parameter counts (which catch structural slips), MMPretrain key names, outputs
per out_index, frozen stages, norm_eval, state-dict round trips, bad arguments
and the shipped configs. Full-size models are built on the meta device (no
memory, no init); forward passes use small widths or small inputs."""

import glob
import os.path as osp

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")


def build(**cfg):
    return MODELS.build(cfg)


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# -- published ImageNet classifier sizes (backbone + GAP + 1000-class linear head), in millions --

PUBLISHED = [
    ("resnext50_32x4d.py", 25.03), ("resnext101_32x4d.py", 44.18), ("seresnet50.py", 28.09),
    ("seresnet101.py", 49.33), ("res2net50-w14-s8.py", 25.06), ("shufflenet_v1_1x.py", 1.87),
    ("regnet/regnetx_400mf.py", 5.16), ("regnet/regnetx_1.6gf.py", 9.19), ("regnet/regnetx_3.2gf.py", 15.3),
]


@pytest.mark.parametrize("base,millions", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_classifier_parameter_count_matches_the_published_figure(base, millions):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", base))
    model = meta_build(cfg.model)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == millions


# -- MMPretrain's key names and shapes --

def test_resnext_keys_and_groups_1_is_a_plain_resnet(checks):
    keys = shapes(meta_build(dict(type="ResNeXt", depth=50, groups=32, width_per_group=4)))
    assert keys["layer1.0.conv1.weight"] == (128, 64, 1, 1)
    assert keys["layer1.0.conv2.weight"] == (128, 4, 3, 3)  # 32 groups of 4 channels
    assert keys["layer4.2.conv2.weight"] == (1024, 32, 3, 3)
    assert keys["layer2.0.downsample.0.weight"] == (512, 256, 1, 1)
    plain = shapes(meta_build(dict(type="ResNeXt", depth=50, groups=1)))
    assert plain == checks.read_manifest("resnet50_in1k.statedict.txt")


def test_se_layer_keys():
    keys = shapes(meta_build(dict(type="SEResNet", depth=50)))
    assert keys["layer1.0.se_layer.conv1.conv.weight"] == (16, 256, 1, 1)
    assert keys["layer1.0.se_layer.conv1.conv.bias"] == (16,)
    assert keys["layer4.2.se_layer.conv2.conv.weight"] == (2048, 128, 1, 1)
    assert keys["layer4.2.se_layer.conv2.conv.bias"] == (2048,)
    assert not any(".se_layer." in k and ".bn." in k for k in keys)
    grouped = shapes(meta_build(dict(type="SEResNeXt", depth=50)))
    assert grouped["layer1.0.conv2.weight"] == (128, 4, 3, 3)
    assert grouped["layer1.0.se_layer.conv1.conv.weight"] == (16, 256, 1, 1)


def test_res2net_keys_stem_and_shortcuts():
    original = shapes(meta_build(dict(type="Res2Net", depth=50, scales=8, base_width=14, deep_stem=False,
                                      avg_down=False)))
    assert original["conv1.weight"] == (64, 3, 7, 7)
    assert original["layer1.0.conv1.weight"] == (112, 64, 1, 1)  # 8 scales x 14 channels
    assert original["layer1.0.convs.6.weight"] == (14, 14, 3, 3)
    assert original["layer1.0.bns.6.running_var"] == (14,)
    assert original["layer2.0.convs.0.weight"] == (28, 28, 3, 3)
    assert original["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert "layer1.0.conv2.weight" not in original and "layer1.0.convs.7.weight" not in original
    default = shapes(meta_build(dict(type="Res2Net", depth=50)))  # deep stem, pooled shortcuts
    assert default["stem.0.conv.weight"] == (32, 3, 3, 3)
    assert default["layer1.0.downsample.1.weight"] == (256, 64, 1, 1)  # pool even at stride 1
    assert default["layer2.0.downsample.1.weight"] == (512, 256, 1, 1)


def test_shufflenet_v1_keys():
    keys = shapes(meta_build(dict(type="ShuffleNetV1", groups=3)))
    assert keys["conv1.conv.weight"] == (24, 3, 3, 3)
    assert keys["layers.0.0.g_conv_1x1_compress.conv.weight"] == (60, 24, 1, 1)  # first unit: ungrouped
    assert keys["layers.0.0.depthwise_conv3x3_bn.conv.weight"] == (60, 1, 3, 3)
    assert keys["layers.0.0.g_conv_1x1_expand.conv.weight"] == (216, 20, 1, 1)  # 240 - 24 concatenated
    assert keys["layers.0.1.g_conv_1x1_compress.conv.weight"] == (60, 80, 1, 1)
    assert keys["layers.2.3.g_conv_1x1_expand.bn.running_mean"] == (960,)


REGNET_WIDTHS = {  # stage widths of the named RegNetX designs
    "regnetx_400mf": (32, 64, 160, 384), "regnetx_800mf": (64, 128, 288, 672),
    "regnetx_1.6gf": (72, 168, 408, 912), "regnetx_3.2gf": (96, 192, 432, 1008),
    "regnetx_4.0gf": (80, 240, 560, 1360), "regnetx_6.4gf": (168, 392, 784, 1624),
    "regnetx_8.0gf": (80, 240, 720, 1920), "regnetx_12gf": (224, 448, 896, 2240),
}


@pytest.mark.parametrize("arch", sorted(REGNET_WIDTHS))
def test_regnet_stage_widths(arch):
    net = meta_build(dict(type="RegNet", arch=arch))
    keys = shapes(net)
    assert keys["conv1.weight"] == (32, 3, 3, 3)
    for i, width in enumerate(REGNET_WIDTHS[arch]):
        last = f"layer{i + 1}.{net.stage_blocks[i] - 1}"
        assert keys[f"{last}.bn3.weight"] == (width,)
        groups = width // net.group_widths[i]
        assert keys[f"{last}.conv2.weight"] == (width, width // groups, 3, 3)
    assert net.feat_dim == REGNET_WIDTHS[arch][-1]
    assert shapes(meta_build(dict(type="RegNet", arch=dict(net.arch_settings[arch])))) == keys


# -- forward, per family --

SMALL = {  # narrow versions, for real forward/backward passes
    "ResNeXt": dict(type="ResNeXt", depth=50, groups=4, width_per_group=2, stem_channels=8, base_channels=8),
    "SEResNet": dict(type="SEResNet", depth=50, se_ratio=4, stem_channels=8, base_channels=8),
    "SEResNeXt": dict(type="SEResNeXt", depth=50, groups=4, width_per_group=2, stem_channels=8,
                      base_channels=8),
    "Res2Net": dict(type="Res2Net", depth=50, scales=4, base_width=4, stem_channels=8, base_channels=8),
    "ShuffleNetV1": dict(type="ShuffleNetV1", groups=2, widen_factor=0.25),
    "RegNet": dict(type="RegNet", arch=dict(w0=8, wa=8.0, wm=1.5, group_w=8, depth=5, bot_mul=1.0)),
}
STAGE_CHANNELS = {"ResNeXt": (32, 64, 128, 256), "SEResNet": (32, 64, 128, 256), "SEResNeXt": (32, 64, 128, 256),
                  "Res2Net": (32, 64, 128, 256), "ShuffleNetV1": (48, 104, 200), "RegNet": (8, 16, 24, 40)}
FROZEN_PREFIXES = {"ResNeXt": ["conv1.", "bn1.", "layer1."], "SEResNet": ["conv1.", "bn1.", "layer1."],
                   "SEResNeXt": ["conv1.", "bn1.", "layer1."], "Res2Net": ["stem.", "layer1."],
                   "ShuffleNetV1": ["conv1.", "layers.0."], "RegNet": ["conv1.", "bn1.", "layer1."]}


@pytest.mark.parametrize("family", sorted(SMALL))
def test_every_out_index_shape(family):
    channels = STAGE_CHANNELS[family]
    indices = tuple(range(len(channels)))
    net = build(**SMALL[family], out_indices=indices).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    # ResNets reach stride 4 after the stem, RegNet stride 4 after its first stage, ShuffleNet stride 8
    first = 8 if family == "ShuffleNetV1" else 16
    assert [tuple(o.shape) for o in outs] == [(2, c, first >> i, first >> i) for i, c in enumerate(channels)]
    assert net.feat_dim == channels[-1]
    last_only = build(**SMALL[family], out_indices=(-1,) if family != "ShuffleNetV1" else (2,)).eval()
    assert len(last_only(torch.randn(1, 3, 32, 32))) == 1


@pytest.mark.parametrize("depth", [50, 101, 152])
@pytest.mark.parametrize("family", ["ResNeXt", "SEResNet", "SEResNeXt", "Res2Net"])
def test_every_depth_builds_and_runs(family, depth):
    net = build(**dict(SMALL[family], depth=depth), out_indices=(0, 3)).eval()
    blocks = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}[depth]
    assert [len(getattr(net, f"layer{i + 1}")) for i in range(4)] == list(blocks)
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 32, 8, 8), (1, 256, 1, 1)]


@pytest.mark.parametrize("groups,widths", [(1, (144, 288, 576)), (2, (200, 400, 800)), (3, (240, 480, 960)),
                                           (4, (272, 544, 1088)), (8, (384, 768, 1536))])
def test_shufflenet_v1_every_group_count(groups, widths):
    net = build(type="ShuffleNetV1", groups=groups, out_indices=(0, 1, 2)).eval()
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == list(widths)
    assert [o.shape[-1] for o in outs] == [4, 2, 1]


def test_regnet_400mf_forward():
    net = build(type="RegNet", arch="regnetx_400mf", out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, c, s, s) for c, s in zip((32, 64, 160, 384), (16, 8, 4, 2))]


# -- block behaviour --

def test_se_gate_scales_the_residual_branch():
    net = build(**SMALL["SEResNet"]).eval()
    block = net.layer1[1]  # stride 1, identity shortcut
    x = torch.randn(1, 32, 4, 4)
    with torch.no_grad():
        block.se_layer.conv2.conv.weight.zero_()
        block.se_layer.conv2.conv.bias.fill_(-100.0)  # gate ~ 0: only the shortcut is left
        assert torch.allclose(block(x), torch.relu(x), atol=1e-5)
        block.se_layer.conv2.conv.bias.fill_(100.0)  # gate ~ 1: a plain bottleneck
        plain = torch.relu(block.norm3(block.conv3(block._middle(block.relu(block.norm1(block.conv1(x)))))) + x)
        assert torch.allclose(block(x), plain, atol=1e-5)


def test_res2net_splits_chain_in_normal_blocks_only():
    net = build(**SMALL["Res2Net"]).eval()
    first, second = net.layer1[0], net.layer1[1]
    assert first.stage_type == "stage" and hasattr(first, "pool")
    assert second.stage_type == "normal" and not hasattr(second, "pool")
    x = torch.randn(1, second.width * second.scales, 4, 4)
    with torch.no_grad():
        out = second._middle(x)
        assert torch.equal(out[:, -second.width:], x[:, -second.width:])  # last split passes untouched
        changed = x.clone()
        changed[:, :second.width] += 1.0  # the first split feeds every later conv in a normal block
        assert not torch.allclose(second._middle(changed)[:, second.width:2 * second.width],
                                  out[:, second.width:2 * second.width])


def test_zero_init_residual_on_every_bottleneck_family():
    for family in ("ResNeXt", "SEResNeXt", "Res2Net", "RegNet"):
        net = build(**SMALL[family])
        net.init_weights()
        assert torch.all(net.layer1[0].norm3.weight == 0), family


# -- frozen stages, norm_eval, checkpoints --

@pytest.mark.parametrize("family", sorted(SMALL))
def test_frozen_stages_and_norm_eval(family, checks):
    net = build(**SMALL[family], frozen_stages=1)
    checks.assert_frozen_after_step(net, FROZEN_PREFIXES[family], torch.randn(2, 3, 32, 32))
    checks.assert_norm_eval(build(**SMALL[family], norm_eval=True))


@pytest.mark.parametrize("family", sorted(SMALL))
def test_state_dict_round_trip(family, tmp_path):
    source = build(**SMALL[family])
    source.train()
    source(torch.randn(2, 3, 32, 32))  # move the BN statistics away from their defaults
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = build(**SMALL[family])
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True), strict=False)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(source.eval()(x)[0], fresh.eval()(x)[0])


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = build(**SMALL["Res2Net"])
    ckpt = build(**SMALL["Res2Net"], with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    for net in (plain, ckpt):
        net.train()
        net(x)[0].sum().backward()
    assert torch.allclose(plain.layer2[0].conv1.weight.grad, ckpt.layer2[0].conv1.weight.grad, atol=1e-5)


# -- bad arguments --

@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="ResNeXt", depth=18), KeyError, r"depth must be one of \[50, 101, 152\]"),
    (dict(type="SEResNet", depth=34), KeyError, r"depth must be one of \[50, 101, 152\]"),
    (dict(type="Res2Net", depth=26), KeyError, r"depth must be one of \[50, 101, 152\]"),
    (dict(type="ResNeXt", depth=50, groups=0), ValueError, "groups must be a positive int"),
    (dict(type="ResNeXt", depth=50, groups=2.0), ValueError, "groups must be a positive int, got 2.0"),
    (dict(type="ShuffleNetV1", groups=8, widen_factor=0.5), ValueError, "cannot be split into 8 groups"),
    (dict(type="SEResNeXt", depth=50, width_per_group=2.5), ValueError, "width_per_group must be a positive"),
    (dict(type="SEResNet", depth=50, se_ratio=0), ValueError, "se_ratio must be a positive int"),
    (dict(type="ResNeXt", depth=50, out_indices=(4,)), ValueError, r"out_indices \[4\] out of range; valid.*0\.\.3"),
    (dict(type="Res2Net", depth=50, scales=1), ValueError, "scales must be an int >= 2"),
    (dict(type="ShuffleNetV1", groups=5), ValueError, r"groups must be one of \[1, 2, 3, 4, 8\]"),
    (dict(type="ShuffleNetV1", out_indices=(3,)), ValueError, r"out_indices must be in range\(0, 3\)"),
    (dict(type="ShuffleNetV1", frozen_stages=4), ValueError, "frozen_stages must be in range"),
    (dict(type="ShuffleNetV1", widen_factor=0), ValueError, "widen_factor must be a positive number"),
    (dict(type="RegNet", arch="regnetx_400"), ConfigError,
     r"unknown arch.*regnetx_12gf.*Did you mean: 'regnetx_400mf'"),
    (dict(type="RegNet", arch=dict(w0=24, wa=24.48, wm=2.54)), ConfigError,
     r"missing \['depth', 'group_w', 'bot_mul'\]"),
    (dict(type="RegNet", arch=50), TypeError, "arch must be a name from"),
    (dict(type="RegNet", arch="regnetx_400mf", out_indices=(4,)), ValueError, "out_indices"),
    (dict(type="RegNet", arch="regnetx_400mf", strides=(2, 2)), ValueError, "strides and dilations need 4"),
    (dict(type="RegNet", arch="regnetx_400mf", deep_stem=True), ValueError, "deep_stem is not supported"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


# -- shipped configs --

FULL_CONFIGS = sorted(p for d in ("resnext", "seresnet", "res2net", "shufflenet_v1", "regnet")
                      for p in glob.glob(osp.join(CONFIGS, d, "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "backbone" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
