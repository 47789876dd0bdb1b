"""HorNet: published parameter counts of every arch (DW and GF), MMPretrain's key
names, gnConv and the global filter against their definitions, outputs per
out_index (pooled and as maps), frozen stages, with_cp, state-dict round trips,
bad arguments and the shipped configs. Full-size models are built on the meta
device; forward passes use a narrow custom arch."""

import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.hornet import GlobalLocalFilter, HorNetLayerNorm, gnConv
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
GF = [dict(type="DW", kernel_size=7), dict(type="DW", kernel_size=3), dict(type="GF", h=4, w=3),
      dict(type="GF", h=2, w=2)]
SMALL = dict(type="HorNet", arch=dict(base_dim=8, depths=[1, 1, 2, 1], orders=[2, 2, 3, 3], dw_cfg=GF))


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# MMPretrain's metafile (exact counts)
PUBLISHED = [("tiny", 22409512), ("tiny-gf", 22991848), ("small", 49528264), ("small-gf", 50401768),
             ("base", 87256680), ("base-gf", 88421352)]


@pytest.mark.parametrize("arch,count", PUBLISHED)
def test_every_arch_has_the_published_parameter_count(arch, count):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", "hornet", f"hornet-{arch}.py"))
    assert n_params(meta_build(cfg.model)) == count


def test_large_archs_match_the_readme_with_a_1000_class_head():
    counts = [n_params(meta_build(dict(type="HorNet", arch=a))) + 1536 * 1000 + 1000
              for a in ("large", "large-gf", "large-gf384")]
    assert [round(c / 1e6, 2) for c in counts] == [194.54, 196.29, 201.23]


def test_state_dict_keys_match_mmpretrain(checks):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", "hornet", "hornet-tiny-gf.py"))
    model = meta_build(cfg.model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("hornet-tiny-gf_in1k.statedict.txt", prefix="")


def test_gnconv_is_recursive_gating():
    torch.manual_seed(0)
    conv = gnConv(8, order=3, scale=0.5)
    assert conv.dims == [2, 4, 8]
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        both = conv.proj_in(x)
        gate, rest = both[:, :2], both[:, 2:]
        dw = conv.dwconv(rest) * 0.5
        out = gate * dw[:, :2]
        out = conv.projs[0](out) * dw[:, 2:6]
        out = conv.projs[1](out) * dw[:, 6:14]
        assert torch.allclose(conv(x), conv.proj_out(out), atol=1e-6)


def test_global_filter_with_a_unit_filter_passes_its_half_unchanged():
    gf = GlobalLocalFilter(8, h=6, w=4)
    with torch.no_grad():
        gf.complex_weight.zero_()
        gf.complex_weight[..., 0] = 1.0  # 1 + 0j at every frequency
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        normed = gf.pre_norm(x)
        local = gf.dw(normed[:, :4])
        interleaved = torch.stack([local, normed[:, 4:]], dim=2).reshape(2, 8, 6, 6)
        assert torch.allclose(gf(x), gf.post_norm(interleaved), atol=1e-5)
        # an input whose spectrum is not 6x4 uses the filter resized to it
        assert gf(torch.randn(1, 8, 10, 7)).shape == (1, 8, 10, 7)


def test_hornet_layer_norm_in_both_layouts():
    x = torch.randn(2, 6, 3, 4)
    norm = HorNetLayerNorm(6, data_format="channels_first")
    with torch.no_grad():
        norm.weight.uniform_()
        norm.bias.uniform_()
    expected = F.layer_norm(x.permute(0, 2, 3, 1), (6,), norm.weight, norm.bias, 1e-6)
    assert torch.allclose(norm(x), expected.permute(0, 3, 1, 2), atol=1e-5)
    last = HorNetLayerNorm(6)
    assert torch.allclose(last(x.permute(0, 2, 3, 1)), F.layer_norm(x.permute(0, 2, 3, 1), (6,), eps=1e-6))


@pytest.mark.parametrize("gap", [True, False])
def test_every_out_index_shape(gap):
    net = MODELS.build(dict(SMALL, out_indices=(0, 1, 2, 3), gap_before_final_norm=gap)).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    if gap:
        assert [tuple(o.shape) for o in outs] == [(2, 8), (2, 16), (2, 32), (2, 64)]
    else:
        assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4), (2, 64, 2, 2)]
    last = MODELS.build(dict(SMALL))
    assert last.out_indices == (3,) and hasattr(last, "norm3") and not hasattr(last, "norm0")


def test_frozen_stages_freeze_the_norm_of_a_frozen_output(checks):
    net = MODELS.build(dict(SMALL, frozen_stages=1, out_indices=(1, 3)))
    checks.assert_frozen_after_step(net, ["downsample_layers.0.", "downsample_layers.1.", "stages.0.", "stages.1.",
                                          "norm1."], torch.randn(2, 3, 32, 32))
    assert all(p.requires_grad for p in MODELS.build(dict(SMALL, frozen_stages=-1)).parameters())


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = MODELS.build(dict(SMALL))
    ckpt = MODELS.build(dict(SMALL, with_cp=True))
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    for net in (plain, ckpt):
        net(x)[0].sum().backward()
    assert torch.allclose(plain.stages[2][0].pwconv1.weight.grad, ckpt.stages[2][0].pwconv1.weight.grad, atol=1e-6)


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, out_indices=(1, 3), gap_before_final_norm=False))
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, out_indices=(1, 3), gap_before_final_norm=False))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(source.eval()(x), fresh.eval()(x)))


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="HorNet", arch="tiny-fg"), ConfigError, r"unknown arch 'tiny-fg'.*Did you mean: 'tiny-gf'"),
    (dict(type="HorNet", arch=dict(base_dim=8, depths=[1] * 4, orders=[2] * 4)), ConfigError,
     r"missing \['dw_cfg'\]"),
    (dict(type="HorNet", arch=dict(base_dim=8, depths=[1] * 3, orders=[2] * 3, dw_cfg=GF[:3])), ValueError,
     r"one entry per stage \(4\)"),
    (dict(SMALL, arch=dict(SMALL["arch"], dw_cfg=[dict(type="XX")] * 4)), KeyError,
     r"dw_cfg type must be one of \['DW', 'GF'\]"),
    (dict(SMALL, arch=dict(SMALL["arch"], orders=[5, 2, 3, 3])), ValueError, "divisible by 2 \\*\\* \\(order - 1\\)"),
    (dict(type="HorNet", out_indices=(4,)), ValueError, "out_indices entry 4 is out of range"),
    (dict(type="HorNet", frozen_stages=4), ValueError, r"frozen_stages must be in -1\.\.3"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "hornet", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "HorNet" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels and "neck" not in cfg.model
    assert cfg.custom_hooks[0].type == "EMAHook" and len(FULL_CONFIGS) == 6
