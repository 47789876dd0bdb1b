"""EfficientNet (B0-B8, L2, EdgeTPU) and EfficientNetV2: published parameter counts,
MMPretrain's key names, the compound scaling, TF 'SAME' padding, outputs per index,
frozen stages, norm_eval, state-dict round trips, bad arguments and shipped configs.
Full-size models are built on the meta device; forward passes use 32-64 px inputs."""

import functools
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.efficientnet import model_scaling
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.model.bricks import Conv2dAdaptivePadding

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


@functools.lru_cache(maxsize=None)
def backbone(family, arch):
    """Each full-size backbone is built once (on the meta device) for all the tests that look at it."""
    return meta_build(dict(type=family, arch=arch))


def classifier(backbone, channels):
    return dict(type="ImageClassifier", backbone=backbone, neck=dict(type="GlobalAveragePooling"),
                head=dict(type="LinearClsHead", num_classes=1000, in_channels=channels))


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ImageNet classifiers: exact counts from MMPretrain's metafile, millions from its README tables
EXACT = {"b0": 5288548, "b1": 7794184, "b2": 9109994, "b3": 12233232, "b4": 19341616, "b5": 30389784,
         "b6": 43040704, "b7": 66347960}
MILLIONS = {("EfficientNet", "b8"): 87.41, ("EfficientNet", "l2"): 480.31, ("EfficientNetV2", "s"): 21.46,
            ("EfficientNetV2", "m"): 54.14, ("EfficientNetV2", "l"): 118.52, ("EfficientNetV2", "xl"): 208.12,
            ("EfficientNetV2", "b0"): 7.14, ("EfficientNetV2", "b1"): 8.14, ("EfficientNetV2", "b2"): 10.10,
            ("EfficientNetV2", "b3"): 14.36}
HEAD = {"b0": 1280, "b1": 1280, "b2": 1408, "b3": 1536, "b4": 1792, "b5": 2048, "b6": 2304, "b7": 2560, "b8": 2816,
        "l2": 5504, "es": 1280, "em": 1280, "el": 1536}


@pytest.mark.parametrize("arch,count", sorted(EXACT.items()))
def test_efficientnet_parameter_count_is_the_published_one(arch, count):
    config = Config.fromfile(osp.join(CONFIGS, "_base_", "models", f"efficientnet_{arch}.py"))
    assert n_params(meta_build(config.model)) == count


@pytest.mark.parametrize("family,arch", sorted(MILLIONS))
def test_parameter_count_in_millions(family, arch):
    net = backbone(family, arch)
    head = net.feat_dim * 1000 + 1000  # the linear classifier on the pooled features
    assert round((n_params(net) + head) / 1e6, 2) == MILLIONS[family, arch]


@pytest.mark.parametrize("arch", sorted(HEAD))
def test_every_efficientnet_arch_builds_seven_layers(arch):
    net = backbone("EfficientNet", arch)
    assert len(net.layers) == 7 and net.feat_dim == HEAD[arch] == net.layers[6].conv.out_channels


@pytest.mark.parametrize("arch", ["s", "m", "l", "xl", "b0", "b1", "b2", "b3"])
def test_every_efficientnet_v2_arch_builds(arch):
    settings = MODELS.get("EfficientNetV2").arch_settings
    long_name = {"s": "small", "m": "medium", "l": "large"}.get(arch, arch)
    assert settings[long_name] == settings[arch]
    net = backbone("EfficientNetV2", arch)
    table = net.arch_settings[arch]
    assert len(net.layers) == len(table) + 1
    assert [len(layer) for layer in net.layers[1:-1]] == [row[0] for row in table[:-1]]


@pytest.mark.parametrize("config,manifest", [
    ("efficientnet_b0.py", "efficientnet-b0_in1k.statedict.txt"),
    ("efficientnet_v2/efficientnetv2_b0.py", "efficientnetv2-b0_in1k.statedict.txt")])
def test_state_dict_keys_match_mmpretrain(config, manifest, checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", config)).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest(manifest, prefix="")


def test_compound_scaling_of_b4():
    table = model_scaling(MODELS.get("EfficientNet").layer_settings["b"], (1.4, 1.8))
    # depth 1.8: pieces of 1, 2, 2, 3, 3, 4, 1 blocks -> 2, 4, 4, 6, 6, 8, 2; the stride-1 pieces
    # (112 and 320 channels) join the layer before them
    assert [len(layer) for layer in table] == [1, 2, 4, 4, 12, 10, 1]
    # width 1.4, rounded to multiples of 8 (never more than 10% down)
    assert [layer[-1][1] for layer in table] == [48, 24, 32, 56, 160, 448, 1792]
    assert table[4][5][1] == 112 and table[4][6][1] == 160


def test_edgetpu_repeated_first_block_expands_four_times_without_shortcut():
    net = backbone("EfficientNet", "em")  # depth 1.1: the one-block first layer becomes two
    first, second = net.layers[1]
    assert first.conv1.conv.weight.shape == (96, 32, 3, 3) and first.conv2.conv.weight.shape == (24, 96, 1, 1)
    assert second.conv1.conv.weight.shape == (96, 24, 3, 3) and not second.with_residual
    assert net.layers[2][1].with_residual


@pytest.mark.parametrize("size,stride,kernel", [(7, 2, 3), (8, 2, 3), (9, 1, 5), (10, 2, 5)])
def test_adaptive_padding_is_tensorflow_same(size, stride, kernel):
    conv = Conv2dAdaptivePadding(2, 3, kernel, stride=stride, padding=99)
    x = torch.randn(1, 2, size, size + 1)
    out = conv(x)
    assert out.shape[-2:] == (-(-size // stride), -(-(size + 1) // stride))
    pads = []
    for n in (size + 1, size):  # F.pad order: width first
        total = max((-(-n // stride) - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]  # the odd pixel goes to the bottom/right
    assert torch.allclose(out, F.conv2d(F.pad(x, pads), conv.weight, conv.bias, stride), atol=1e-6)


@pytest.mark.parametrize("family,channels", [
    ("EfficientNet", [32, 16, 24, 40, 112, 320, 1280]), ("EfficientNetV2", [32, 16, 32, 48, 96, 112, 192, 1280])])
def test_every_out_index_shape(family, channels):
    indices = tuple(range(len(channels)))
    net = MODELS.build(dict(type=family, arch="b0", out_indices=indices)).eval()
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 64, 64))
    sizes = [32, 32, 16, 8, 4, 2, 2] if family == "EfficientNet" else [32, 32, 16, 8, 4, 4, 2, 2]
    assert [tuple(o.shape) for o in outs] == [(1, c, s, s) for c, s in zip(channels, sizes)]
    assert net.feat_dim == 1280
    with torch.no_grad():  # odd sizes: 'SAME' padding rounds up
        assert net(torch.randn(1, 3, 33, 47))[-1].shape[-2:] == (2, 2)


@pytest.mark.parametrize("family", ["EfficientNet", "EfficientNetV2"])
def test_frozen_stages_and_norm_eval(family, checks):
    net = MODELS.build(dict(type=family, arch="b0", frozen_stages=2, out_indices=(-1,) if family[-1] == "2" else (6,)))
    checks.assert_frozen_after_step(net, ["layers.0.", "layers.1."], torch.randn(2, 3, 32, 32))
    checks.assert_norm_eval(MODELS.build(dict(type=family, arch="b0", norm_eval=True)))


@pytest.mark.parametrize("family", ["EfficientNet", "EfficientNetV2"])
def test_state_dict_round_trip(family, tmp_path):
    torch.manual_seed(0)
    source = MODELS.build(dict(type=family, arch="b0", drop_path_rate=0.2))
    source.train()
    source(torch.randn(2, 3, 32, 32))  # move the BN statistics away from their defaults
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(type=family, arch="b0"))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(source.eval()(x)[0], fresh.eval()(x)[0])


def test_drop_path_only_on_shortcut_blocks_and_rising():
    net = MODELS.build(dict(type="EfficientNetV2", arch="b0", drop_path_rate=0.3))
    assert isinstance(net.layers[1][0].drop_path, torch.nn.Identity)  # 32 -> 16: no shortcut, no drop path
    last = net.layers[6][7].drop_path
    assert last.drop_prob == pytest.approx(0.3)


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="EfficientNet", arch="b9"), KeyError, "arch must be one of"),
    (dict(type="EfficientNet", out_indices=(7,)), ValueError, r"out_indices entries must be in range\(0, 7\)"),
    (dict(type="EfficientNet", frozen_stages=8), ValueError, r"frozen_stages must be in range\(0, 8\)"),
    (dict(type="EfficientNetV2", arch="xxl"), KeyError, "arch must be one of"),
    (dict(type="EfficientNetV2", out_indices=(8,)), ValueError, "out_indices entry 8 is out of range for 8 layers"),
    (dict(type="EfficientNetV2", frozen_stages=9), ValueError, r"frozen_stages must be in range\(0, 8\)"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(p for d in ("efficientnet", "efficientnet_v2") for p in glob.glob(osp.join(CONFIGS, d, "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "EfficientNet" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    net = backbone(cfg.model.backbone.type, cfg.model.backbone.arch)
    assert set(cfg.model.backbone) == {"type", "arch"} or cfg.model.backbone.conv_cfg.type == "Conv2dAdaptivePadding"
    assert net.feat_dim == cfg.model.head.in_channels
    from loomcv.registry import TRANSFORMS, default_scope
    with default_scope("loomcls"):
        for step in cfg.test_dataloader.dataset.pipeline:
            TRANSFORMS.build(step)
