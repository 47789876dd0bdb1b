"""ViTEVA02: published parameter counts, MMPretrain's keys, rotary position embedding, outputs."""

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.utils.position_encoding import RotaryEmbeddingFast
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config

TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=48)


def build(**kw):
    return MODELS.build(dict(type="ViTEVA02", **kw))


def count(module):
    return sum(p.numel() for p in module.parameters())


# MMPretrain's metafile, with the 1000-way LinearClsHead (base/large use sub-LN, at 448 px)
@pytest.mark.parametrize("arch,img,sub_ln,published", [
    ("tiny", 336, False, 5_758_888), ("small", 336, False, 22_133_608), ("base", 448, True, 87_126_760),
    ("large", 448, True, 305_104_808)])
def test_published_parameter_counts(arch, img, sub_ln, published):
    with torch.device("meta"):
        net = build(arch=arch, img_size=img, patch_size=14, sub_ln=sub_ln, final_norm=False, out_type="avg_featmap")
    assert count(net) + net.embed_dims * 1000 + 1000 == published


def test_mmpretrain_keys():
    got = {k: tuple(v.shape) for k, v in build(arch="tiny", img_size=336, patch_size=14, sub_ln=True,
                                                final_norm=False, out_type="avg_featmap").state_dict().items()}
    assert got["layers.0.mlp.w12.weight"] == (2 * 512, 192)
    assert got["layers.0.mlp.norm.weight"] == (512,)
    assert got["layers.0.mlp.w3.weight"] == (192, 512)
    assert got["layers.0.norm1.weight"] == got["layers.0.norm2.bias"] == (192,)
    assert got["rope.freqs_cos"] == got["layers.3.attn.rope.freqs_sin"] == (576, 64)
    assert got["pos_embed"] == (1, 577, 192) and got["ln2.weight"] == (192,)


def test_rope_by_hand():
    rope = RotaryEmbeddingFast(embed_dims=8, patch_resolution=(2, 2))
    # half_dim 4: frequencies 1/10000**(0/4), 1/10000**(2/4) = 1, 0.01, tiled over each half;
    # positions t = [0, 2] (arange(2) / 2 * 4) for rows (first half) and columns (second half)
    f = torch.tensor([1.0, 0.01, 1.0, 0.01])
    row, col = torch.tensor([0.0, 2.0]), torch.tensor([0.0, 2.0])
    expected = torch.stack([torch.cat((row[i] * f, col[j] * f)) for i in range(2) for j in range(2)])
    torch.testing.assert_close(rope.freqs_cos, expected.cos())
    x = torch.arange(32.0).reshape(1, 1, 4, 8)
    rotated = torch.stack((-x[..., 1::2], x[..., 0::2]), dim=-1).reshape(1, 1, 4, 8)
    torch.testing.assert_close(rope(x, (2, 2)), x * expected.cos() + rotated * expected.sin())
    assert rope(torch.zeros(1, 1, 9, 8), (3, 3)).shape == (1, 1, 9, 8) and rope.freqs_cos.shape == (9, 8)


@pytest.mark.parametrize("out_type,shape", [("avg_featmap", (2, 32)), ("cls_token", (2, 32)),
                                            ("featmap", (2, 32, 2, 2))])
def test_outputs_and_other_input_sizes(out_type, shape):
    net = build(arch=TINY, img_size=28, patch_size=14, sub_ln=True, out_indices=(0, 1), out_type=out_type).eval()
    assert [tuple(o.shape) for o in net(torch.randn(2, 3, 28, 28))] == [shape, shape]
    assert net(torch.randn(1, 3, 42, 42))[0].shape[1] == 32  # RoPE and pos_embed follow the 3x3 grid


def test_state_dict_round_trip_and_frozen_stages(checks):
    a = build(arch=TINY, img_size=28, patch_size=14).eval()
    b = build(arch=TINY, img_size=28, patch_size=14).eval()
    with torch.no_grad():
        for p in a.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 28, 28)
    with torch.no_grad():
        assert torch.equal(a(x)[0], b(x)[0])
    net = build(arch=TINY, img_size=28, patch_size=14, frozen_stages=1)
    checks.assert_frozen_after_step(net, ["patch_embed.", "layers.0.", "cls_token", "pos_embed"],
                                    torch.randn(2, 3, 28, 28))


@pytest.mark.parametrize("arch", sorted(MODELS.get("ViTEVA02").arch_zoo))
def test_every_arch_builds(arch):
    with torch.device("meta"):
        net = build(arch=arch)
    assert len(net.layers) == net.arch_settings["num_layers"]


def test_shipped_config_builds():
    cfg = Config.fromfile(find_config("eva02-base-p14_in1k"))
    with torch.device("meta"):
        assert count(MODELS.build(cfg.model)) == 87_126_760
