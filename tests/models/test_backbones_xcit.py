"""XCiT: published parameter counts of every size and patch, MMPretrain's key
names, cross-covariance and class attention against their definitions, the
Fourier position encoding, outputs per layer and type, MMPretrain's frozen-stage
counting, state-dict round trips, bad arguments and the shipped configs.
Full-size models are built on the meta device; forward passes use a narrow
custom model at 32 px."""

import glob
import math
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.xcit import XCA, ClassAttention, PositionalEncodingFourier
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL = dict(type="XCiT", embed_dims=32, depth=2, num_heads=4, img_size=32)


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# MMPretrain's metafile (exact counts); the 384-px configs share them
PUBLISHED = [("nano-12-p16", 3053224), ("nano-12-p8", 3049016), ("tiny-12-p16", 6716272), ("tiny-12-p8", 6706504),
             ("tiny-24-p16", 12116896), ("tiny-24-p8", 12107128), ("small-12-p16", 26253304),
             ("small-12-p8", 26213032), ("small-24-p16", 47671384), ("small-24-p8", 47631112),
             ("medium-24-p16", 84395752), ("medium-24-p8", 84323624), ("large-24-p16", 189096136),
             ("large-24-p8", 188932648)]


@pytest.mark.parametrize("arch,count", PUBLISHED)
def test_every_size_has_the_published_parameter_count(arch, count):
    for suffix in ("", "-384px"):
        cfg = Config.fromfile(osp.join(CONFIGS, "xcit", f"xcit-{arch}_8xb128_in1k{suffix}.py"))
        assert n_params(meta_build(cfg.model)) == count


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "xcit", "xcit-nano-12-p16_8xb128_in1k.py")).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("xcit-nano-12-p16_in1k.statedict.txt", prefix="")


def test_cross_covariance_attention_mixes_channels():
    torch.manual_seed(0)
    attn = XCA(8, num_heads=2).eval()
    with torch.no_grad():
        attn.temperature.copy_(torch.tensor([0.5, 2.0]).view(2, 1, 1))
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        q, k, v = attn.qkv(x).chunk(3, dim=-1)
        heads = []
        for h, t in enumerate((0.5, 2.0)):
            s = slice(4 * h, 4 * h + 4)
            qn, kn = F.normalize(q[..., s], dim=1), F.normalize(k[..., s], dim=1)  # over the tokens
            weights = (t * qn.transpose(1, 2) @ kn).softmax(-1)  # (B, d, d)
            heads.append((weights @ v[..., s].transpose(1, 2)).transpose(1, 2))
        assert torch.allclose(attn(x), attn.proj(torch.cat(heads, -1)), atol=1e-5)


def test_class_attention_only_queries_with_the_class_token():
    torch.manual_seed(0)
    attn = ClassAttention(8, num_heads=2, qkv_bias=True).eval()
    x = torch.randn(2, 6, 8)
    with torch.no_grad():
        q, k, v = attn.q(x[:, :1]), attn.k(x), attn.v(x)
        heads = [((q[..., s] @ k[..., s].transpose(1, 2)) * 4 ** -0.5).softmax(-1) @ v[..., s]
                 for s in (slice(0, 4), slice(4, 8))]
        out = attn(x)
        assert out.shape == (2, 1, 8) and torch.allclose(out, attn.proj(torch.cat(heads, -1)), atol=1e-5)


def test_fourier_position_encoding():
    enc = PositionalEncodingFourier(hidden_dim=4, dim=6)
    with torch.no_grad():
        enc.token_projection.conv.weight.copy_(torch.eye(6, 8)[..., None, None])
        enc.token_projection.conv.bias.zero_()
        pos = enc(2, 3, 5)
    assert pos.shape == (2, 6, 3, 5)
    y, x = 2, 4  # row 3 of 3, column 5 of 5: both scaled to ~2*pi
    y_val, x_val = (y + 1) / (3 + 1e-6) * 2 * math.pi, (x + 1) / (5 + 1e-6) * 2 * math.pi
    freqs = [10000 ** (2 * (i // 2) / 4) for i in range(4)]
    expected = [math.sin(y_val / freqs[0]), math.cos(y_val / freqs[1]), math.sin(y_val / freqs[2]),
                math.cos(y_val / freqs[3]), math.sin(x_val / freqs[0]), math.cos(x_val / freqs[1])]
    assert pos[1, :, y, x].tolist() == pytest.approx(expected, abs=1e-5)


def test_outputs_per_layer_and_type():
    maps = MODELS.build(dict(SMALL, out_type="featmap", out_indices=(0, 1, 2, 3))).eval()
    cls = MODELS.build(dict(SMALL)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert [tuple(o.shape) for o in maps(x)] == [(2, 32, 2, 2)] * 4
        assert [tuple(o.shape) for o in cls(x)] == [(2, 32)]
    assert cls.out_indices == (3,) and cls.xca_layers[0].gamma1[0].item() == 1.0


@pytest.mark.parametrize("frozen,prefixes", [
    (0, ["patch_embed.", "pos_embed."]),
    (2, ["patch_embed.", "pos_embed.", "xca_layers.0."]),
    (4, ["patch_embed.", "pos_embed.", "xca_layers.", "ca_layers.0.", "cls_token", "norm."]),
])
def test_frozen_stages_count_as_mmpretrain(frozen, prefixes, checks):
    net = MODELS.build(dict(SMALL, frozen_stages=frozen, out_type="featmap", out_indices=(3,)))
    checks.assert_frozen_after_step(net, prefixes, torch.randn(2, 3, 32, 32))
    assert net.cls_token.requires_grad == (frozen <= 2)


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL))
    source.train()
    source(torch.randn(2, 3, 32, 32))  # move the BN statistics away from their defaults
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(source.eval()(x)[0], fresh.eval()(x)[0])


@pytest.mark.parametrize("cfg,error,match", [
    (dict(SMALL, patch_size=4), KeyError, r"patch_size must be one of \[8, 16\]"),
    (dict(SMALL, img_size=40), ValueError, r"patch_size \(16\) must divide img_size"),
    (dict(SMALL, out_indices=(0,)), ValueError, "are XCA layers, which have no class token"),
    (dict(SMALL, out_type="tokens"), KeyError, "out_type must be one of"),
    (dict(SMALL, frozen_stages=6), ValueError, r"frozen_stages must be in -1\.\.5"),
    (dict(SMALL, num_heads=3), ValueError, r"dim \(32\) must be divisible by num_heads \(3\)"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "xcit", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS[::7], ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "XCiT" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels and len(FULL_CONFIGS) == 28
    assert [type(a).__name__ for a in model.data_preprocessor.batch_augments.augments] == ["Mixup", "CutMix"]
