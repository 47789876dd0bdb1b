"""ConvNeXt V1/V2: published parameter counts of every arch, MMPretrain's key names,
outputs per out_index (pooled and as maps), the two pointwise layouts, GRN and LN2d
against their formulas, frozen stages, state-dict round trips, bad arguments and the
shipped configs. Full-size models are built on the meta device."""

import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.utils import GRN, LayerNorm2d
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL = dict(type="ConvNeXt", arch=dict(depths=[1, 1, 2, 1], channels=[8, 16, 24, 32]))


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ImageNet classifiers (backbone + linear head), as MMPretrain's metafiles give them
PUBLISHED = [("convnext/convnext-tiny.py", 28589128), ("convnext/convnext-small.py", 50223688),
             ("convnext/convnext-base.py", 88591464), ("convnext/convnext-large.py", 197767336),
             ("convnext/convnext-xlarge.py", 350196968), ("convnext_v2/atto.py", 3708400),
             ("convnext_v2/femto.py", 5233240), ("convnext_v2/pico.py", 9066280), ("convnext_v2/nano.py", 15623800),
             ("convnext_v2/tiny.py", 28635496), ("convnext_v2/base.py", 88717800),
             ("convnext_v2/large.py", 197956840), ("convnext_v2/huge.py", 660289640)]


@pytest.mark.parametrize("base,count", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_every_arch_has_the_published_parameter_count(base, count):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", base))
    assert n_params(meta_build(cfg.model)) == count


@pytest.mark.parametrize("config,manifest", [("convnext_v2/atto.py", "convnext-v2-atto_in1k.statedict.txt"),
                                             ("convnext/convnext-tiny.py", "convnext-tiny_in1k.statedict.txt")])
def test_state_dict_keys_match_mmpretrain(config, manifest, checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", config)).model)
    expected = checks.read_manifest(manifest, prefix="")
    assert checks.state_dict_shapes(model) == expected


@pytest.mark.parametrize("gap", [True, False])
def test_every_out_index_shape(gap):
    net = MODELS.build(dict(SMALL, out_indices=(0, 1, 2, 3), gap_before_final_norm=gap)).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    if gap:
        assert [tuple(o.shape) for o in outs] == [(2, 8), (2, 16), (2, 24), (2, 32)]
    else:
        assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 24, 4, 4), (2, 32, 2, 2)]
    assert [hasattr(net, f"norm{i}") for i in range(4)] == [True] * 4
    last = MODELS.build(dict(SMALL, out_indices=-1))
    assert last.out_indices == (3,) and not hasattr(last, "norm0") and last.feat_dim == 32


def test_pooled_output_is_the_norm_of_the_mean_feature_map():
    maps = MODELS.build(dict(SMALL, gap_before_final_norm=False)).eval()
    pooled = MODELS.build(dict(SMALL, gap_before_final_norm=True)).eval()
    pooled.load_state_dict(maps.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before_norm = maps.stages[3](maps.downsample_layers[3](maps.stages[2](maps.downsample_layers[2](
            maps.stages[1](maps.downsample_layers[1](maps.stages[0](maps.downsample_layers[0](x))))))))
        expected = F.layer_norm(before_norm.mean((2, 3)), (32,), maps.norm3.weight, maps.norm3.bias, 1e-6)
        assert torch.allclose(pooled(x)[0], expected, atol=1e-5)


@pytest.mark.parametrize("v2", [False, True])
def test_linear_and_conv_pointwise_layers_compute_the_same_function(v2):
    extra = dict(use_grn=True, layer_scale_init_value=0.) if v2 else dict(layer_scale_init_value=0.5)
    linear = MODELS.build(dict(SMALL, linear_pw_conv=True, **extra)).eval()
    conv = MODELS.build(dict(SMALL, linear_pw_conv=False, **extra)).eval()
    state = linear.state_dict()
    for key, value in state.items():
        if "pointwise_conv" in key and key.endswith("weight"):
            state[key] = value[:, :, None, None]  # (out, in) -> (out, in, 1, 1)
        if key.endswith("grn.gamma") or key.endswith("grn.beta"):
            state[key] = torch.randn_like(value)  # make GRN do something
    linear.load_state_dict({k: v.flatten(1) if v.dim() == 4 and "pointwise" in k else v for k, v in state.items()})
    conv.load_state_dict(state)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(linear(x)[0], conv(x)[0], atol=1e-4)
    assert conv.stages[0][0].pointwise_conv1.weight.shape == (32, 8, 1, 1)


def test_v1_has_layer_scale_and_v2_has_grn_instead():
    v1 = MODELS.build(dict(SMALL))
    block = v1.stages[0][0]
    assert torch.equal(block.gamma, torch.full((8,), 1e-6)) and block.grn is None
    v2 = MODELS.build(dict(SMALL, use_grn=True, layer_scale_init_value=0.))
    block = v2.stages[0][0]
    assert block.gamma is None and isinstance(block.grn, GRN) and block.grn.gamma.shape == (32,)


def test_grn_matches_its_formula_in_both_layouts():
    grn = GRN(6)
    with torch.no_grad():
        grn.gamma.copy_(torch.linspace(-1, 1, 6))
        grn.beta.copy_(torch.linspace(0.5, -0.5, 6))
    x = torch.randn(2, 6, 5, 4)
    norms = x.pow(2).sum((2, 3), keepdim=True).sqrt()
    scale = norms / (norms.mean(1, keepdim=True) + 1e-6)
    expected = grn.gamma.view(1, -1, 1, 1) * x * scale + grn.beta.view(1, -1, 1, 1) + x
    assert torch.allclose(grn(x), expected, atol=1e-6)
    last = grn(x.permute(0, 2, 3, 1), data_format="channel_last").permute(0, 3, 1, 2)
    assert torch.allclose(last, expected, atol=1e-6)
    with pytest.raises(ValueError, match="data_format must be one of"):
        grn(x, data_format="nchw")


def test_layer_norm_2d_normalizes_over_channels():
    norm = LayerNorm2d(5, eps=1e-6)
    x = torch.randn(2, 5, 3, 4)
    expected = torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (5,), eps=1e-6).permute(0, 3, 1, 2)
    assert torch.allclose(norm(x), expected, atol=1e-6) and norm(x).is_contiguous()
    assert torch.allclose(norm(x.permute(0, 2, 3, 1), data_format="channel_last"), expected.permute(0, 2, 3, 1))
    with pytest.raises(ValueError, match="LayerNorm2d takes"):
        norm(torch.randn(2, 5))


def test_drop_path_rises_linearly_over_all_blocks():
    net = MODELS.build(dict(SMALL, drop_path_rate=0.4))
    blocks = [b for stage in net.stages for b in stage]
    rates = [b.drop_path.drop_prob if hasattr(b.drop_path, "drop_prob") else 0.0 for b in blocks]
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize("frozen,prefixes", [(1, ["downsample_layers.0.", "stages.0."]),
                                             (3, ["downsample_layers.0.", "downsample_layers.1.",
                                                  "downsample_layers.2.", "stages.0.", "stages.1.", "stages.2."])])
def test_frozen_stages(frozen, prefixes, checks):
    net = MODELS.build(dict(SMALL, frozen_stages=frozen, out_indices=(3,)))
    checks.assert_frozen_after_step(net, prefixes, torch.randn(2, 3, 32, 32))
    assert all(p.requires_grad for p in MODELS.build(dict(SMALL, frozen_stages=0)).parameters())


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, use_grn=True, out_indices=(1, 3), gap_before_final_norm=False))
    for param in source.parameters():  # move every parameter (GRN and norms included) off its init
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, use_grn=True, out_indices=(1, 3), gap_before_final_norm=False))
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
        net(x)[0].sum().backward()
    assert torch.allclose(plain.stages[1][0].pointwise_conv1.weight.grad,
                          ckpt.stages[1][0].pointwise_conv1.weight.grad, atol=1e-6)


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="ConvNeXt", arch="tinny"), ConfigError, r"unknown arch 'tinny'.*Did you mean: 'tiny'"),
    (dict(type="ConvNeXt", arch=dict(depths=[2, 2])), ConfigError, r"missing \['channels'\]"),
    (dict(type="ConvNeXt", arch=dict(depths=[2, 2], channels=[8])), ValueError, "must be non-empty and equally"),
    (dict(type="ConvNeXt", out_indices=(4,)), ValueError, "out_indices entry 4 is out of range for 4 layers"),
    (dict(type="ConvNeXt", frozen_stages=5), ValueError, r"frozen_stages must be in -1\.\.4"),
    (dict(type="ConvNeXt", stem_patch_size=0), ValueError, "stem_patch_size must be a positive int"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(p for d in ("convnext", "convnext_v2") for p in glob.glob(osp.join(CONFIGS, d, "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "ConvNeXt" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
    assert (model.backbone.stages[0][0].grn is not None) == ("convnext_v2" in path)
