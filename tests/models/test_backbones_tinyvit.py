"""TinyViT: published parameter counts (exact), MMPretrain's keys, outputs, freezing, window attention."""

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.tinyvit import LeAttention
from loomcls.registry import MODELS, TRANSFORMS
from loomcv.config import Config
from loomcv.config.loader import find_config
from loomcv.registry import DefaultScope

TINY = dict(channels=[8, 16, 16, 32], num_heads=[1, 2, 2, 4], depths=[1, 1, 2, 1])


def build(**kw):
    return MODELS.build(dict(type="TinyViT", **kw))


def count(module):
    return sum(p.numel() for p in module.parameters())


# MMPretrain's metafile, with the 1000-way fc
@pytest.mark.parametrize("config,published", [
    ("tinyvit-5m_8xb256_in1k", 5_392_764), ("tinyvit-11m_8xb256_in1k", 10_996_972),
    ("tinyvit-21m_8xb256_in1k", 21_198_568), ("tinyvit-21m-distill_8xb256_in1k-384px", 21_230_488),
    ("tinyvit-21m-distill_8xb256_in1k-512px", 21_268_120)])
def test_published_parameter_counts(config, published):
    cfg = Config.fromfile(find_config(config))
    with torch.device("meta"):
        assert count(MODELS.build(cfg.model)) == published
    with DefaultScope.overwrite_default_scope("loomcls"):
        for t in cfg.test_pipeline:
            TRANSFORMS.build(t)


def test_mmpretrain_keys():
    keys = {k: tuple(v.shape) for k, v in build(arch="5m").state_dict().items()}
    assert keys["patch_embed.seq.0.conv2d.weight"] == (32, 3, 3, 3)
    assert keys["patch_embed.seq.2.bn2d.running_var"] == (64,)
    assert keys["stages.0.blocks.0.conv1.conv2d.weight"] == (256, 64, 1, 1)  # MBConv expand 4
    assert keys["stages.0.downsample.conv2.conv2d.weight"] == (128, 1, 3, 3)  # depthwise merging
    assert keys["stages.1.blocks.0.attn.qkv.weight"] == (3 * 128, 128)
    assert keys["stages.1.blocks.0.attn.attention_biases"] == (4, 49)  # 7x7 window offsets
    assert "stages.1.blocks.0.attn.attention_bias_idxs" not in keys  # rebuilt, not saved
    assert keys["stages.2.blocks.0.attn.attention_biases"] == (5, 196)  # 14x14 window
    assert keys["stages.1.blocks.0.local_conv.conv2d.weight"] == (128, 1, 3, 3)
    assert keys["stages.1.blocks.0.mlp.norm.weight"] == (128,)
    assert keys["stages.1.blocks.0.mlp.fc1.weight"] == (512, 128)
    assert keys["norm3.weight"] == (320,) and "stages.3.downsample.conv1.conv2d.weight" not in keys
    with_index = dict(build(arch="5m").state_dict())
    with_index["stages.1.blocks.0.attn.attention_bias_idxs"] = torch.zeros(49, 49, dtype=torch.long)
    build(arch="5m").load_state_dict(with_index)  # checkpoints that saved the index still load


@pytest.mark.parametrize("gap,shapes", [(True, [(2, 16), (2, 16), (2, 32), (2, 32)]),
                                        (False, [(2, 16, 4, 4), (2, 16, 2, 2), (2, 32, 1, 1), (2, 32, 1, 1)])])
def test_outputs(gap, shapes):
    net = build(arch=TINY, img_size=32, window_size=[2, 2, 2, 1], out_indices=(0, 1, 2, 3),
                gap_before_final_norm=gap).eval()
    with torch.no_grad():
        assert [tuple(o.shape) for o in net(torch.randn(2, 3, 32, 32))] == shapes


def test_windowed_attention_attends_within_each_window():
    torch.manual_seed(0)
    block = build(arch=TINY, img_size=32, window_size=[2, 2, 2, 1], out_indices=(1,)).eval().stages[1].blocks[0]
    tokens = torch.randn(1, 16, 16)  # a 4x4 map: four 2x2 windows
    with torch.no_grad():
        block.attn.attention_biases.normal_()
        out = block._windowed_attention(tokens).view(1, 4, 4, 16)
        grid = tokens.view(1, 4, 4, 16)
        for r in (0, 2):
            for c in (0, 2):
                window = grid[:, r:r + 2, c:c + 2].reshape(1, 4, 16)
                torch.testing.assert_close(out[:, r:r + 2, c:c + 2].reshape(1, 4, 16), block.attn(window))


def test_le_attention_bias_index_by_hand():
    attn = LeAttention(8, 4, num_heads=2, attn_ratio=1, resolution=(2, 2))
    # offsets of 4 tokens: (0,0)->0, (0,1)->1, (1,0)->2, (1,1)->3
    expected = torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2], [2, 3, 0, 1], [3, 2, 1, 0]])
    assert torch.equal(attn.attention_bias_idxs, expected)


def test_state_dict_round_trip_and_frozen_stages(checks):
    kw = dict(arch=TINY, img_size=32, window_size=[2, 2, 2, 1])
    a, b = build(**kw).eval(), build(**kw).eval()
    with torch.no_grad():
        for p in a.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(a(x)[0], b(x)[0])
    checks.assert_frozen_after_step(build(**kw, frozen_stages=2), ["stages.0.", "stages.1."],
                                    torch.randn(2, 3, 32, 32))


def test_bad_arguments():
    with pytest.raises(Exception, match="TinyViT: unknown arch '7m'"):
        build(arch="7m")
    with pytest.raises(Exception, match="window_size needs one value per stage"):
        build(arch=TINY, img_size=32, window_size=[2, 2])
    with pytest.raises(ValueError, match="frozen_stages must be in 0..4"):
        build(arch=TINY, img_size=32, window_size=[2, 2, 2, 1], frozen_stages=-1)


@pytest.mark.parametrize("keys,queries,stride", [((3, 4), None, 1), ((7, 7), (4, 4), 2), ((5, 5), (3, 3), 2)])
def test_offset_index_matches_the_reference_loop(keys, queries, stride):
    from loomcls.models.utils.position_encoding import attention_offset_index
    queries = queries or keys
    k_points = [(y, x) for y in range(keys[0]) for x in range(keys[1])]
    q_points = [(y, x) for y in range(queries[0]) for x in range(queries[1])]
    offsets, expected = {}, []
    for q in q_points:
        for k in k_points:
            expected.append(offsets.setdefault((abs(q[0] * stride - k[0]), abs(q[1] * stride - k[1])), len(offsets)))
    count, index = attention_offset_index(keys, queries, stride)
    assert count == len(offsets)
    assert index.tolist() == torch.tensor(expected).view(len(q_points), len(k_points)).tolist()
