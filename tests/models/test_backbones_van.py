"""VAN: published parameter counts of every MMPretrain arch (and the paper's b4-b6),
MMPretrain's key names, large-kernel attention against its definition, outputs
per out_index, frozen stages (MMPretrain's inclusive index), norm_eval,
state-dict round trips, bad arguments and the shipped configs. Full-size models
are built on the meta device; forward passes use a narrow custom arch."""

import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.datasets  # noqa: F401  (registers the transforms)
import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.van import LKA, VANBlock
from loomcls.registry import MODELS, TRANSFORMS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
VAN_ZOO = MODELS.get("VAN").arch_zoo
SMALL = dict(type="VAN", arch=dict(embed_dims=[8, 16, 24, 32], depths=[1, 1, 2, 1], ffn_ratios=[2, 2, 2, 2]))


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ImageNet classifiers as MMPretrain's metafile gives them (millions)
PUBLISHED = [("tiny", 4.11), ("small", 13.86), ("base", 26.58), ("large", 44.77)]


@pytest.mark.parametrize("arch,millions", PUBLISHED)
def test_every_arch_has_the_published_parameter_count(arch, millions):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", "van", f"van_{arch}.py"))
    assert round(n_params(meta_build(cfg.model)) / 1e6, 2) == millions


def test_paper_names_and_larger_archs():
    # b0-b3 are tiny-large; b4-b6 with a 1000-class head: the paper's 60.3M, 90.0M and 200M
    assert VAN_ZOO["b0"] == VAN_ZOO["tiny"] and VAN_ZOO["b3"] == VAN_ZOO["l"]
    counts = [n_params(meta_build(dict(type="VAN", arch=a))) + (VAN_ZOO[a]["embed_dims"][-1] + 1) * 1000
              for a in ("b4", "b5", "b6")]
    assert [round(c / 1e6, 1) for c in counts] == [60.3, 90.0, 199.8]


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", "van", "van_tiny.py")).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("van-tiny_in1k.statedict.txt", prefix="")


def test_lka_gates_the_input_with_its_three_convs():
    torch.manual_seed(0)
    lka = LKA(4)
    x = torch.randn(2, 4, 25, 25)
    attn = F.conv2d(x, lka.DW_conv.weight, lka.DW_conv.bias, padding=2, groups=4)
    attn = F.conv2d(attn, lka.DW_D_conv.weight, lka.DW_D_conv.bias, padding=9, dilation=3, groups=4)
    attn = F.conv2d(attn, lka.conv1.weight, lka.conv1.bias)
    assert torch.allclose(lka(x), x * attn, atol=1e-6)
    # receptive field: radius 2 (5x5) + 9 (7x7 dilated by 3) = 11 pixels each way
    probe = torch.zeros(1, 4, 27, 27, requires_grad=True)
    lka.conv1(lka.DW_D_conv(lka.DW_conv(probe)))[0, :, 13, 13].sum().backward()
    reached = probe.grad[0].abs().sum(0) != 0
    assert reached[13, 2] and reached[13, 24] and not reached[13, 1] and not reached[13, 25]


def test_block_layer_scale_and_residuals():
    block = VANBlock(8, ffn_ratio=2).eval()
    assert torch.equal(block.layer_scale_1, torch.full((8,), 1e-2))
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        mid = x + block.layer_scale_1.view(1, -1, 1, 1) * block.attn(block.norm1(x))
        expected = mid + block.layer_scale_2.view(1, -1, 1, 1) * block.mlp(block.norm2(mid))
        assert torch.allclose(block(x), expected, atol=1e-6)
    assert VANBlock(8, layer_scale_init_value=0).layer_scale_1 is None


def test_every_out_index_shape():
    net = MODELS.build(dict(SMALL, out_indices=(0, 1, 2, 3))).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 24, 4, 4), (2, 32, 2, 2)]
    assert MODELS.build(dict(SMALL)).feat_dim == 32
    # the stage norm is a LayerNorm over the channels of each position
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        feats, _ = net.patch_embed1(x)
        for block in net.blocks1:
            feats = block(feats)
        expected = F.layer_norm(feats.permute(0, 2, 3, 1), (8,), net.norm1.weight, net.norm1.bias)
        assert torch.allclose(net(x)[0], expected.permute(0, 3, 1, 2), atol=1e-5)


def test_drop_path_rises_linearly_over_all_blocks():
    net = MODELS.build(dict(SMALL, drop_path_rate=0.4))
    blocks = [b for i in range(1, 5) for b in getattr(net, f"blocks{i}")]
    assert [getattr(b.drop_path, "drop_prob", 0.0) for b in blocks] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("frozen,prefixes", [(0, ["patch_embed1.", "blocks1.", "norm1."]),
                                             (2, ["patch_embed1.", "blocks1.", "norm1.", "patch_embed2.",
                                                  "blocks2.", "norm2.", "patch_embed3.", "blocks3.", "norm3."])])
def test_frozen_stages_and_norm_eval(frozen, prefixes, checks):
    net = MODELS.build(dict(SMALL, frozen_stages=frozen))
    checks.assert_frozen_after_step(net, prefixes, torch.randn(2, 3, 32, 32))
    checks.assert_norm_eval(MODELS.build(dict(SMALL, norm_eval=True)))
    assert all(p.requires_grad for p in MODELS.build(dict(SMALL, frozen_stages=-1)).parameters())


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


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="VAN", arch="tinny"), ConfigError, r"unknown arch 'tinny'.*Did you mean: 'tiny'"),
    (dict(type="VAN", arch=dict(embed_dims=[8], depths=[1])), ConfigError, r"missing \['ffn_ratios'\]"),
    (dict(type="VAN", arch=dict(embed_dims=[8], depths=[1], ffn_ratios=[2], heads=[1])), ConfigError,
     r"unknown \['heads'\]"),
    (dict(type="VAN", arch=dict(embed_dims=[8, 8], depths=[1], ffn_ratios=[2])), ValueError, "equally long"),
    (dict(type="VAN", patch_sizes=[7, 3]), ValueError, r"patch_sizes needs one size per stage \(4\)"),
    (dict(type="VAN", out_indices=(4,)), ValueError, "out_indices entry 4 is out of range"),
    (dict(type="VAN", frozen_stages=4), ValueError, r"frozen_stages must be in -1\.\.3"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "van", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "VAN" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
    assert [type(a).__name__ for a in model.data_preprocessor.batch_augments.augments] == ["Mixup", "CutMix"]
    assert all(TRANSFORMS.build(t) for t in cfg.train_pipeline + cfg.test_pipeline)
    assert len(FULL_CONFIGS) == 4
