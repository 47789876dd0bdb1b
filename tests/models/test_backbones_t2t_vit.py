"""T2T-ViT: published parameter counts of every config, MMPretrain's key names, the
sinusoid table and the value shortcut against their definitions, token grids for
other input sizes, outputs per out_index, loading a checkpoint made for another
size, state-dict round trips, bad arguments and the shipped configs. Full-size
models are built on the meta device; forward passes use a narrow custom model."""

import glob
import math
import os.path as osp

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.t2t_vit import T2TTransformerLayer, get_sinusoid_encoding
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL = dict(type="T2T_ViT", img_size=64, embed_dims=48, num_layers=3, layer_cfgs=dict(num_heads=2),
             t2t_cfg=dict(token_dims=16))


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


PUBLISHED = [("14", 21.47), ("19", 39.08), ("24", 64.00)]


@pytest.mark.parametrize("depth,millions", PUBLISHED)
def test_every_config_has_the_published_parameter_count(depth, millions):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", f"t2t-vit-t-{depth}.py"))
    assert round(n_params(meta_build(cfg.model)) / 1e6, 2) == millions


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", "t2t-vit-t-14.py")).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("t2t-vit-t-14_in1k.statedict.txt", prefix="")


def test_sinusoid_table():
    table = get_sinusoid_encoding(5, 6)[0]
    for pos in range(5):
        for i in range(6):
            angle = pos / 10000 ** (2 * (i // 2) / 6)
            assert table[pos, i].item() == pytest.approx(math.sin(angle) if i % 2 == 0 else math.cos(angle), abs=1e-6)
    built = MODELS.build(dict(SMALL))
    assert built.pos_embed.shape == (1, 17, 48) and "pos_embed" in dict(built.named_buffers())


def test_layer_with_other_input_width_replaces_its_input_by_the_attention():
    torch.manual_seed(0)
    layer = T2TTransformerLayer(embed_dims=8, num_heads=1, feedforward_channels=8, input_dims=12).eval()
    assert layer.attn.scale == pytest.approx(12 ** -0.5)  # the official code scales by the input width
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        normed = layer.norm1(x)
        q, k, v = layer.attn.qkv(normed).chunk(3, dim=-1)
        attn = ((q @ k.transpose(1, 2)) * 12 ** -0.5).softmax(-1)
        mid = v + layer.attn.proj(attn @ v)
        assert torch.allclose(layer(x), mid + layer.ffn.layers(layer.norm2(mid)), atol=1e-5)


def test_outputs_and_other_input_sizes():
    net = MODELS.build(dict(SMALL, out_indices=(0, 2))).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
        assert [[tuple(t.shape) for t in o] for o in outs] == [[(2, 48, 4, 4), (2, 48)]] * 2
        wide = net(torch.randn(1, 3, 96, 80))  # the position table is interpolated
        assert tuple(wide[-1][0].shape) == (1, 48, 6, 5)
    maps = MODELS.build(dict(SMALL, output_cls_token=False)).eval()
    with torch.no_grad():
        assert tuple(maps(torch.randn(1, 3, 64, 64))[0].shape) == (1, 48, 4, 4)


def test_checkpoint_made_for_another_size_loads_with_a_resized_table():
    small = MODELS.build(dict(SMALL))
    large = MODELS.build(dict(SMALL, img_size=96))
    result = large.load_state_dict(small.state_dict())
    assert not result.missing_keys and large.pos_embed.shape == (1, 37, 48)
    assert torch.equal(large.pos_embed[:, 0], small.pos_embed[:, 0])  # the class token's entry is kept


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, out_indices=(1, 2)))
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, out_indices=(1, 2)))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(source.eval()(x), fresh.eval()(x)):
            assert all(torch.equal(s, t) for s, t in zip(a, b))


@pytest.mark.parametrize("cfg,error,match", [
    (dict(SMALL, with_cls_token=False), ValueError, "output_cls_token=True needs with_cls_token=True"),
    (dict(SMALL, out_indices=(3,)), ValueError, "out_indices entry 3 is out of range for 3 layers"),
    (dict(SMALL, layer_cfgs=[dict()] * 2), ValueError, r"layer_cfgs needs one dict per layer \(3\)"),
    (dict(SMALL, interpolate_mode="area"), KeyError, "interpolate_mode must be one of"),
    (dict(SMALL, t2t_cfg=dict(use_performer=True)), NotImplementedError, "Performer"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "t2t_vit", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "T2T_ViT" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
    assert cfg.param_scheduler[-1].type == "ConstantLR" and len(FULL_CONFIGS) == 3
