"""TNT: the published parameter count, MMPretrain's key names (torch attention inside
MMCV's wrapper, no qkv bias), pixel tokens and the inner-to-outer projection
against their definitions, the fixed input size, state-dict round trips, bad
arguments and the shipped config. The full-size model is built on the meta
device; forward passes use a narrow custom arch at 32 px."""

import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.tnt import TnTLayer, TorchMultiheadAttention
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL = dict(type="TNT", arch=dict(embed_dims_outer=32, embed_dims_inner=8, num_layers=2, num_heads_outer=2,
                                   num_heads_inner=2), img_size=32)


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def test_published_parameter_count_and_keys(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "tnt", "tnt-s-p16_16xb64_in1k.py")).model)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == 23.76  # MMPretrain's metafile
    assert checks.state_dict_shapes(model) == checks.read_manifest("tnt-small-p16_in1k.statedict.txt", prefix="")
    assert meta_build(dict(type="TNT", arch="b")).feat_dim == 640


def test_attention_is_torch_attention_plus_identity():
    torch.manual_seed(0)
    attn = TorchMultiheadAttention(8, 2, qkv_bias=False).eval()
    assert attn.attn.in_proj_bias is None
    x, identity = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    with torch.no_grad():
        q, k, v = (x @ w.T for w in attn.attn.in_proj_weight.chunk(3))
        heads = [F.scaled_dot_product_attention(q[..., s:s + 4], k[..., s:s + 4], v[..., s:s + 4]) for s in (0, 4)]
        expected = identity + attn.attn.out_proj(torch.cat(heads, -1))
        assert torch.allclose(attn(x, identity=identity), expected, atol=1e-5)


def test_inner_tokens_are_projected_onto_the_patch_tokens_but_not_the_class_token():
    torch.manual_seed(0)
    layer = TnTLayer(num_pixel=4, embed_dims_inner=8, embed_dims_outer=16, num_heads_inner=2,
                     num_heads_outer=2).eval()
    pixels, patches = torch.randn(2 * 3, 4, 8), torch.randn(2, 4, 16)  # 3 patches + the class token
    with torch.no_grad():
        inner = layer.inner_block(pixels)
        added = layer.projection(layer.norm_proj(inner).reshape(2, 3, -1))
        expected = layer.outer_block(torch.cat([patches[:, :1], patches[:, 1:] + added], dim=1))
        out_pixels, out_patches = layer(pixels, patches.clone())
        assert torch.allclose(out_pixels, inner) and torch.allclose(out_patches, expected, atol=1e-5)


def test_output_is_the_normed_class_token_and_the_input_size_is_fixed():
    net = MODELS.build(dict(SMALL)).eval()
    assert net.pixel_embed.new_patch_size == [4, 4] and net.patch_pos.shape == (1, 5, 32)
    with torch.no_grad():
        out = net(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and tuple(out[0].shape) == (2, 32)
    with pytest.raises(ValueError, match="built for 32x32"):
        net(torch.randn(1, 3, 48, 48))


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, qkv_bias=True))
    assert "layers.0.outer_block.attn.attn.in_proj_bias" in source.state_dict()
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, qkv_bias=True))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(source.eval()(x)[0], fresh.eval()(x)[0])


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="TNT", arch="large"), ConfigError, "unknown arch 'large'"),
    (dict(type="TNT", arch=dict(embed_dims_outer=32, embed_dims_inner=8, num_layers=2, num_heads_outer=2)),
     ConfigError, r"missing \['num_heads_inner'\]"),
    (dict(SMALL, arch=dict(SMALL["arch"], num_heads_inner=3)), ValueError,
     r"embed_dims \(8\) must be divisible by num_heads \(3\)"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


def test_config_prints_and_builds(capsys):
    path = osp.join(CONFIGS, "tnt", "tnt-s-p16_16xb64_in1k.py")
    assert main(["print-config", path]) == 0
    assert "TNT" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    assert meta_build(cfg.model).backbone.feat_dim == cfg.model.head.in_channels
    assert cfg.data_preprocessor.mean == [127.5, 127.5, 127.5]
