"""Twins (PCPVT, SVT): published parameter counts of every config, MMPretrain's key
names, the subsampled and the locally-grouped attention against their
definitions (padding and its mask included), conditional position encoding,
outputs per out_index, state-dict round trips, bad arguments and the shipped
configs. Full-size models are built on the meta device; forward passes use
narrow custom archs."""

import glob
import os.path as osp

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.twins import GlobalSubsampledAttention, LocallyGroupedSelfAttention
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
ARCH = dict(embed_dims=[8, 16, 24, 32], depths=[1, 2, 2, 1], num_heads=[1, 2, 2, 4], patch_sizes=[4, 2, 2, 2],
            strides=[4, 2, 2, 2], mlp_ratios=[2, 2, 2, 2], sr_ratios=[4, 2, 1, 1])
SMALL = {"PCPVT": dict(type="PCPVT", arch=ARCH),
         "SVT": dict(type="SVT", arch=dict(ARCH, window_sizes=[2, 2, 2, 2]))}


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


PUBLISHED = [("twins-pcpvt-small_8xb128_in1k.py", 24.11), ("twins-pcpvt-base_8xb128_in1k.py", 43.83),
             ("twins-pcpvt-large_16xb64_in1k.py", 60.99), ("twins-svt-small_8xb128_in1k.py", 24.06),
             ("twins-svt-base_8xb128_in1k.py", 56.07), ("twins-svt-large_16xb64_in1k.py", 99.27)]


@pytest.mark.parametrize("config,millions", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_every_config_has_the_published_parameter_count(config, millions):
    cfg = Config.fromfile(osp.join(CONFIGS, "twins", config))
    assert round(n_params(meta_build(cfg.model)) / 1e6, 2) == millions


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "twins", "twins-svt-small_8xb128_in1k.py")).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("twins-svt-small_in1k.statedict.txt", prefix="")


def test_subsampled_attention_attends_to_the_reduced_map():
    torch.manual_seed(0)
    attn = GlobalSubsampledAttention(8, 2, sr_ratio=2).eval()
    x = torch.randn(2, 16, 8)  # a 4x4 map -> 2x2 keys
    with torch.no_grad():
        reduced = attn.norm(attn.sr(x.transpose(1, 2).reshape(2, 8, 4, 4)).flatten(2).transpose(1, 2))
        q = attn.q(x)
        k, v = attn.kv(reduced).chunk(2, dim=-1)
        heads = [((q[..., s] @ k[..., s].transpose(1, 2)) * 4 ** -0.5).softmax(-1) @ v[..., s]
                 for s in (slice(0, 4), slice(4, 8))]
        assert torch.allclose(attn(x, (4, 4)), attn.proj(torch.cat(heads, -1)), atol=1e-5)


def grouped_by_hand(attn, x, hw, masked):
    """Window attention written per window; ``masked`` hides the padded positions."""
    h, w = hw
    ws = attn.window_size
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    grid = torch.zeros(x.shape[0], hp, wp, x.shape[-1])
    grid[:, :h, :w] = x.view(-1, h, w, x.shape[-1])
    valid = torch.zeros(hp, wp, dtype=torch.bool)
    valid[:h, :w] = True
    out = torch.zeros_like(grid)
    d = x.shape[-1] // attn.num_heads
    for i in range(0, hp, ws):
        for j in range(0, wp, ws):
            tokens = grid[:, i:i + ws, j:j + ws].reshape(x.shape[0], ws * ws, -1)
            keep = valid[i:i + ws, j:j + ws].reshape(-1)
            q, k, v = attn.qkv(tokens).chunk(3, dim=-1)
            heads = []
            for hd in range(attn.num_heads):
                s = slice(hd * d, hd * d + d)
                logits = q[..., s] @ k[..., s].transpose(1, 2) * attn.scale
                if masked:  # a padded key is hidden from real queries and the other way round
                    logits = logits - 1000.0 * (keep[:, None] != keep[None, :])
                heads.append(logits.softmax(-1) @ v[..., s])
            out[:, i:i + ws, j:j + ws] = torch.cat(heads, -1).view(x.shape[0], ws, ws, -1)
    return attn.proj(out[:, :h, :w].reshape(x.shape[0], h * w, -1))


@pytest.mark.parametrize("hw,masked", [((4, 4), False), ((3, 3), True), ((3, 4), False)])
def test_locally_grouped_attention_and_its_padding_mask(hw, masked):
    torch.manual_seed(0)
    attn = LocallyGroupedSelfAttention(8, 2, qkv_bias=True, window_size=2).eval()
    x = torch.randn(2, hw[0] * hw[1], 8)
    with torch.no_grad():
        assert torch.allclose(attn(x, hw), grouped_by_hand(attn, x, hw, masked), atol=1e-5)


def test_position_encoding_follows_the_first_layer_of_each_stage():
    net = MODELS.build(dict(SMALL["PCPVT"])).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        tokens, hw = net.patch_embeds[0](x)
        first = net.stages[0][0](tokens, hw)
        feat = first.transpose(1, 2).reshape(1, 8, *hw)
        expected = (net.position_encodings[0].proj(feat) + feat).flatten(2).transpose(1, 2)
        assert torch.allclose(net.position_encodings[0](first, hw), expected)


@pytest.mark.parametrize("family", sorted(SMALL))
def test_every_out_index_shape(family):
    net = MODELS.build(dict(SMALL[family], out_indices=(0, 1, 2, 3), norm_after_stage=True)).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 24, 4, 4), (2, 32, 2, 2)]
    assert isinstance(MODELS.build(dict(SMALL[family])).norm_after_stage3, torch.nn.Identity)
    if family == "SVT":
        assert [type(b.attn).__name__ for b in net.stages[1]] == ["LocallyGroupedSelfAttention",
                                                                  "GlobalSubsampledAttention"]


@pytest.mark.parametrize("family", sorted(SMALL))
def test_state_dict_round_trip(family, tmp_path):
    source = MODELS.build(dict(SMALL[family], out_indices=(1, 3)))
    source.init_weights()  # the official init (init_cfg=None)
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL[family], out_indices=(1, 3)))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(source.eval()(x), fresh.eval()(x)))


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="PCPVT", arch="tiny"), ConfigError, r"unknown arch 'tiny'"),
    (dict(type="SVT", arch=ARCH), ConfigError, r"missing \['window_sizes'\]"),
    (dict(type="PCPVT", arch=dict(ARCH, depths=[1, 1, 1])), ValueError, "one value per stage"),
    (dict(type="PCPVT", arch="small", norm_after_stage=[True, False]), ValueError,
     "norm_after_stage must be a bool or 4 bools"),
    (dict(type="PCPVT", arch="small", out_indices=(4,)), ValueError, "out_indices entry 4 is out of range"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "twins", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    out = capsys.readouterr().out
    assert ("type='SVT'" in out) == ("svt" in osp.basename(path)) and "norm_after_stage" in out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels and len(FULL_CONFIGS) == 6
