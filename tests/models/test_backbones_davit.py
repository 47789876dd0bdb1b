"""DaViT: published parameter counts of every MMPretrain arch, MMPretrain's key
names, channel attention and window attention against their definitions,
outputs per out_index (and after the downsample), frozen stages, with_cp,
state-dict round trips, bad arguments and the shipped configs. Full-size models
are built on the meta device; forward passes use a narrow custom arch with
2-token windows."""

import glob
import os.path as osp

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.davit import ChannelAttention, DaViTDownSample, SpatialBlock
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL = dict(type="DaViT", arch=dict(embed_dims=8, depths=[1, 1, 2, 1], num_heads=[1, 2, 2, 4]), window_size=2)


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# MMPretrain's metafile (exact counts)
PUBLISHED = [("tiny", 28360168), ("small", 49745896), ("base", 87954408)]


@pytest.mark.parametrize("arch,count", PUBLISHED)
def test_every_arch_has_the_published_parameter_count(arch, count):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", "davit", f"davit-{arch}.py"))
    assert n_params(meta_build(cfg.model)) == count
    for name in ("large", "huge", "giant"):  # the larger archs build too
        assert meta_build(dict(type="DaViT", arch=name)).feat_dim == MODELS.get("DaViT").arch_zoo[name][
            "embed_dims"] * 8


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", "davit", "davit-tiny.py")).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("davit-tiny_in1k.statedict.txt", prefix="")


def test_channel_attention_mixes_channels_within_each_head():
    torch.manual_seed(0)
    attn = ChannelAttention(8, num_heads=2, qkv_bias=True)
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        q, k, v = attn.qkv(x).chunk(3, dim=-1)  # each (B, N, C)
        heads = []
        for h in range(2):
            sl = slice(4 * h, 4 * h + 4)
            weights = (k[..., sl].transpose(1, 2) @ v[..., sl] * 4 ** -0.5).softmax(-1)  # (B, d, d)
            heads.append(q[..., sl] @ weights.transpose(1, 2))  # each token's channels mixed
        assert torch.allclose(attn(x), attn.proj(torch.cat(heads, -1)), atol=1e-5)


def test_spatial_block_attends_within_windows_only():
    torch.manual_seed(0)
    block = SpatialBlock(8, 2, window_size=2).eval()
    x = torch.randn(1, 16, 8, requires_grad=True)  # a 4x4 map: four 2x2 windows
    inner = block.attn(block.norm1(x), (4, 4))
    inner[0, 0].sum().backward()  # token (0, 0) depends on its own window only
    reached = (x.grad[0].abs().sum(-1) != 0).view(4, 4)
    assert reached[:2, :2].all() and not reached[2:].any() and not reached[:, 2:].any()
    with pytest.raises(ValueError, match="smaller than window_size 2"):
        block(torch.randn(1, 1, 8), (1, 1))
    padded = SpatialBlock(8, 2, window_size=2, pad_small_map=True).eval()
    assert padded(torch.randn(1, 3, 8), (1, 3)).shape == (1, 3, 8)


def test_downsample_pads_odd_maps():
    down = DaViTDownSample(8, 16, norm_cfg=dict(type="LN"))
    out, size = down(torch.randn(2, 15, 8), (5, 3))
    assert size == (3, 2) and out.shape == (2, 6, 16)


def test_every_out_index_shape():
    net = MODELS.build(dict(SMALL, out_indices=(0, 1, 2, 3))).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 32, 4, 4), (2, 64, 2, 2)]
    after = MODELS.build(dict(SMALL, out_indices=(0, 3), out_after_downsample=True)).eval()
    with torch.no_grad():
        outs = after(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 8, 8), (2, 64, 2, 2)]
    assert after.norm0.normalized_shape == (16,)


def test_frozen_stages(checks):
    net = MODELS.build(dict(SMALL, frozen_stages=1, out_indices=(1, 3)))
    checks.assert_frozen_after_step(net, ["patch_embed.", "stages.0.", "stages.1.", "norm1."],
                                    torch.randn(2, 3, 64, 64))
    assert all(p.requires_grad for p in MODELS.build(dict(SMALL, frozen_stages=-1)).parameters())


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = MODELS.build(dict(SMALL, drop_path_rate=0.))
    ckpt = MODELS.build(dict(SMALL, drop_path_rate=0., with_cp=True))
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    for net in (plain, ckpt):
        net(x)[0].sum().backward()
    grad = [n.stages[1].blocks[0].spatial_block.ffn.layers[1].weight.grad for n in (plain, ckpt)]
    assert torch.allclose(grad[0], grad[1], atol=1e-5)


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, out_indices=(1, 3)))
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, out_indices=(1, 3)))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(source.eval()(x), fresh.eval()(x)))


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="DaViT", arch="tinny"), ConfigError, r"unknown arch 'tinny'.*Did you mean: 'tiny'"),
    (dict(type="DaViT", arch=dict(embed_dims=8, depths=[1])), ConfigError, r"missing \['num_heads'\]"),
    (dict(type="DaViT", arch=dict(embed_dims=8, depths=[1, 1], num_heads=[1])), ValueError, "equally long"),
    (dict(type="DaViT", arch=dict(embed_dims=8, depths=[1], num_heads=[3]), out_indices=0), ValueError,
     r"embed_dims \(8\) must be divisible by num_heads \(3\)"),
    (dict(type="DaViT", stage_cfgs=[dict()] * 3), ValueError, r"stage_cfgs needs one dict per stage \(4\)"),
    (dict(type="DaViT", out_indices=(4,)), ValueError, "out_indices entry 4 is out of range"),
    (dict(type="DaViT", frozen_stages=4), ValueError, r"frozen_stages must be in -1\.\.3"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "davit", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "DaViT" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
    assert cfg.train_dataloader.batch_size == 256 and cfg.test_pipeline[1].scale == 236 and len(FULL_CONFIGS) == 3
