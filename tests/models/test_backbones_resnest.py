"""ResNeSt: published parameter counts of every depth, MMPretrain's key names, the
split-attention conv against a loop written from its definition, the avg-down
stride, outputs per out_index, frozen stages, norm_eval, state-dict round trips,
bad arguments and the shipped configs. Full-size models are built on the meta
device; forward passes use narrow custom widths."""

import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.datasets  # noqa: F401  (registers the transforms)
import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.resnest import SplitAttentionConv2d
from loomcls.registry import MODELS, TRANSFORMS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.transforms import Compose

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL = dict(type="ResNeSt", depth=50, stem_channels=16, base_channels=8)


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ImageNet classifiers as MMClassification's model zoo lists the converted weights (millions)
PUBLISHED = [("resnest50.py", 27.48), ("resnest101.py", 48.28), ("resnest200.py", 70.20), ("resnest269.py", 110.93)]


@pytest.mark.parametrize("base,millions", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_every_depth_has_the_published_parameter_count(base, millions):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", base)).model)
    assert round(n_params(model) / 1e6, 2) == millions


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", "resnest50.py")).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("resnest50_in1k.statedict.txt", prefix="")


def split_attention_by_hand(module, x):
    """The split-attention conv written per group and radix split from the paper's definition."""
    radix, groups, channels = module.radix, module.groups, module.channels
    feats = F.relu(module.norm0(module.conv(x)))
    splits = feats.chunk(radix, dim=1)  # radix-major: split r holds channels [r*C, (r+1)*C)
    pooled = sum(splits).mean((2, 3), keepdim=True)
    logits = module.fc2(F.relu(module.norm1(module.fc1(pooled)))).flatten(1)  # (N, groups*radix*C/groups)
    per_group = channels // groups
    out = torch.zeros_like(splits[0])
    for g in range(groups):
        # fc2's output of group g is (radix, per_group) in that order
        block = logits[:, g * radix * per_group:(g + 1) * radix * per_group].view(-1, radix, per_group)
        weights = block.softmax(dim=1) if radix > 1 else block.sigmoid()
        for r in range(radix):
            sl = slice(g * per_group, (g + 1) * per_group)
            out[:, sl] += weights[:, r, :, None, None] * splits[r][:, sl]
    return out


@pytest.mark.parametrize("radix,groups", [(2, 1), (4, 2), (1, 2)])
def test_split_attention_matches_the_definition(radix, groups):
    torch.manual_seed(0)
    module = SplitAttentionConv2d(8, 8, 3, padding=1, groups=groups, radix=radix).eval()
    for bn in (module.norm0, module.norm1):  # non-trivial statistics
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 8, 6, 5)
    with torch.no_grad():
        assert torch.allclose(module(x), split_attention_by_hand(module, x), atol=1e-5)
    assert module.fc1.out_channels == 32  # max(8 * radix // 4, 32)
    assert module.conv.groups == groups * radix and module.conv.out_channels == 8 * radix


def test_avg_down_stride_moves_the_stride_to_a_pool():
    net = MODELS.build(dict(SMALL))
    block = net.layer2[0]
    assert block.conv2.conv.stride == (1, 1) and block.avd_layer.stride == 2
    assert not hasattr(net.layer2[1], "avd_layer") and not hasattr(net.layer1[0], "avd_layer")
    assert not hasattr(block, "bn2")
    strided = MODELS.build(dict(SMALL, avg_down_stride=False)).layer2[0]
    assert strided.conv2.conv.stride == (2, 2) and not hasattr(strided, "avd_layer")
    # the deep stem and avg-pooled shortcuts of ResNet-D
    assert [type(m).__name__ for m in block.downsample] == ["AvgPool2d", "Conv2d", "BatchNorm2d"]
    assert net.stem[0].conv.out_channels == 8


def test_groups_widen_the_middle_as_resnext():
    net = MODELS.build(dict(SMALL, groups=2, width_per_group=8))
    assert net.layer1[0].conv2.conv.in_channels == 2 * 8 * 8 // 8  # groups * width * planes / base
    assert net.layer1[0].conv2.conv.groups == 4  # groups * radix


def test_every_out_index_shape():
    net = MODELS.build(dict(SMALL, out_indices=(0, 1, 2, 3))).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 16), (2, 64, 8, 8), (2, 128, 4, 4), (2, 256, 2, 2)]
    assert net.feat_dim == 256


def test_zero_init_residual():
    net = MODELS.build(dict(SMALL))
    net.init_weights()
    assert all(torch.all(getattr(net, f"layer{i}")[0].norm3.weight == 0) for i in range(1, 5))


def test_frozen_stages_and_norm_eval(checks):
    net = MODELS.build(dict(SMALL, frozen_stages=1))
    checks.assert_frozen_after_step(net, ["stem.", "layer1."], torch.randn(2, 3, 32, 32))
    checks.assert_norm_eval(MODELS.build(dict(SMALL, norm_eval=True)))


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, out_indices=(1, 3)))
    source.train()
    source(torch.randn(2, 3, 32, 32))  # move the BN statistics away from their defaults
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, out_indices=(1, 3)))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(source.eval()(x), fresh.eval()(x)))


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = MODELS.build(dict(SMALL))
    ckpt = MODELS.build(dict(SMALL, with_cp=True))
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    for net in (plain, ckpt):
        net.train()
        net(x)[0].sum().backward()
    assert torch.allclose(plain.layer2[0].conv2.fc1.weight.grad, ckpt.layer2[0].conv2.fc1.weight.grad, atol=1e-5)


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="ResNeSt", depth=34), KeyError, r"depth must be one of \[50, 101, 152, 200, 269\]"),
    (dict(type="ResNeSt", depth=50, radix=0), ValueError, "ResNeSt: radix must be a positive int"),
    (dict(type="ResNeSt", depth=50, reduction_factor=1.5), ValueError, "reduction_factor must be a positive int"),
    (dict(type="ResNeSt", depth=50, groups=0), ValueError, "groups must be a positive int"),
    (dict(type="ResNeSt", depth=50, out_indices=(4,)), ValueError, r"out_indices \[4\] out of range"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "resnest", "resnest*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "ResNeSt" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    assert len(cfg.policies) == 16 and cfg.train_pipeline[1].policies == cfg.policies
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
    assert len(FULL_CONFIGS) == 4
    # MMPretrain's RandAugment level 12 of 10 and its 0.x `magnitude_key` entries build as there
    augment = TRANSFORMS.build(cfg.train_pipeline[1])
    assert len(augment.transforms) == 16 and augment.transforms[3].magnitude_level == 12
    Compose([TRANSFORMS.build(t) for t in cfg.test_pipeline])
