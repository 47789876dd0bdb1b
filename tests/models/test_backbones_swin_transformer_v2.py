"""SwinTransformerV2: published parameter counts, MMPretrain's keys, cosine attention with the
continuous position bias, post-norm blocks, window-size changes when loading, frozen stages."""

import math

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.swin_transformer_v2 import WindowMSAV2, log_spaced_coords_table
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config

TINY = dict(embed_dims=16, depths=[1, 2], num_heads=[2, 4], extra_norm_every_n_blocks=0)


def build(**kw):
    if isinstance(kw.get("arch"), dict):
        kw.setdefault("out_indices", (1,))  # TINY has two stages
        kw.setdefault("pretrained_window_sizes", [0, 0])
    return MODELS.build(dict(type="SwinTransformerV2", **kw))


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("config,published_m", [
    ("swinv2-tiny-w8_16xb64_in1k-256px", 28.35), ("swinv2-tiny-w16_16xb64_in1k-256px", 28.35),
    ("swinv2-small-w8_16xb64_in1k-256px", 49.73), ("swinv2-base-w16_in21k-pre_16xb64_in1k-256px", 87.92)])
def test_published_parameter_counts(config, published_m):
    cfg = Config.fromfile(find_config(config))
    with torch.device("meta"):
        assert round(count(MODELS.build(cfg.model)) / 1e6, 2) == published_m


def test_large_and_every_arch_build():
    with torch.device("meta"):
        large = build(arch="large", img_size=192, window_size=12)
        assert round((count(large) + 1536 * 1000 + 1000) / 1e6, 2) == 196.74  # swinv2-large-w12 (in21k-192px)
        for arch in ("huge", "giant"):
            net = build(arch=arch)
            norm3 = [name for name, _ in net.named_modules() if ".blocks." in name and name.endswith("norm3")]
            assert len(norm3) == sum(d // 6 for d in net.depths)  # an extra norm every 6 blocks


def test_mmpretrain_keys_and_outputs():
    net = build(arch="tiny", img_size=64, window_size=2, out_indices=(0, 1, 2, 3)).eval()
    keys = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert "stages.0.downsample.reduction.weight" not in keys  # V2 merges patches at the start of stages 1-3
    assert keys["stages.1.downsample.reduction.weight"] == (192, 384)
    assert keys["stages.1.downsample.norm.weight"] == (192,)  # post-norm: normalizes the merged tokens
    w = "stages.0.blocks.1.attn.w_msa."
    assert keys[w + "cpb_mlp.0.weight"] == (512, 2) and keys[w + "cpb_mlp.2.weight"] == (3, 512)
    assert keys[w + "logit_scale"] == (3, 1, 1) and keys[w + "q_bias"] == (96,)
    assert keys[w + "relative_coords_table"] == (1, 3, 3, 2)
    assert "stages.0.blocks.1.attn.w_msa.qkv.bias" not in keys
    assert keys["norm3.weight"] == (768,)
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 96, 16, 16), (1, 192, 8, 8), (1, 384, 4, 4), (1, 768, 2, 2)]


def test_window_attention_by_hand():
    torch.manual_seed(0)
    attn = WindowMSAV2(embed_dims=8, window_size=(2, 2), num_heads=2).eval()
    with torch.no_grad():
        attn.q_bias.normal_()
        attn.v_bias.normal_()
        attn.logit_scale.fill_(math.log(3.0))
    x = torch.randn(1, 4, 8)
    qkv = F.linear(x, attn.qkv.weight, torch.cat((attn.q_bias, torch.zeros(8), attn.v_bias)))
    q, k, v = qkv.view(1, 4, 3, 2, 4).permute(2, 0, 3, 1, 4)
    cosine = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
    # offsets (dy, dx) in {-1, 0, 1}^2, scaled by the window (2 - 1), times 8, log-spaced
    offsets = torch.tensor([[dy, dx] for dy in (-1.0, 0.0, 1.0) for dx in (-1.0, 0.0, 1.0)]) * 8
    coords = torch.sign(offsets) * torch.log2(offsets.abs() + 1) / 3.0
    torch.testing.assert_close(log_spaced_coords_table((2, 2), (0, 0)).view(9, 2), coords)
    table = attn.cpb_mlp(coords)  # (9, heads)
    pos = [(i, j) for i in range(2) for j in range(2)]
    index = torch.tensor([[(a[0] - b[0] + 1) * 3 + (a[1] - b[1] + 1) for b in pos] for a in pos])
    bias = 16 * torch.sigmoid(table[index].permute(2, 0, 1))
    expected = ((cosine * 3.0 + bias).softmax(-1) @ v).transpose(1, 2).reshape(1, 4, 8)
    torch.testing.assert_close(attn(x), attn.proj(expected))


def test_checkpoint_of_another_window_size_loads():
    small_window = build(arch=TINY, img_size=32, window_size=2)
    big_window = build(arch=TINY, img_size=32, window_size=[4, 2], pretrained_window_sizes=[2, 2])
    big_window.load_state_dict(small_window.state_dict())  # strict: index/coords tables are rebuilt
    coords = big_window.stages[0].blocks[0].attn.w_msa.relative_coords_table
    assert coords.shape == (1, 7, 7, 2) and coords.abs().max() > 1.0  # scaled by the pretrained window


def test_state_dict_round_trip_and_frozen_stages(checks):
    a, b = build(arch=TINY, img_size=32, window_size=2).eval(), build(arch=TINY, img_size=32, window_size=2).eval()
    with torch.no_grad():
        for p in a.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(a(x)[0], b(x)[0])
    net = build(arch=TINY, img_size=32, window_size=2, frozen_stages=0, out_indices=(1,))
    checks.assert_frozen_after_step(net, ["patch_embed.", "stages.0."], torch.randn(2, 3, 32, 32))


def test_bad_arguments():
    with pytest.raises(Exception, match="exactly the keys"):
        build(arch=dict(embed_dims=16, depths=[1], num_heads=[1]))
    with pytest.raises(Exception, match="window_size must be an int or one value per stage"):
        build(arch=TINY, window_size=[2, 2, 2])
