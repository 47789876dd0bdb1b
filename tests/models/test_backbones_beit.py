"""BEiTViT: published parameter counts, MMPretrain's keys, relative position bias, checkpoint hooks."""

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.beit import relative_position_index
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config

TINY = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def build(**kw):
    return MODELS.build(dict(type="BEiTViT", **kw))


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("arch,published", [("base", 86_530_984), ("large", 304_430_568)])
def test_published_parameter_counts(arch, published):
    with torch.device("meta"):
        net = build(arch=arch)
    assert count(net) + net.embed_dims * 1000 + 1000 == published  # with the 1000-way LinearClsHead


@pytest.mark.parametrize("arch", sorted(MODELS.get("BEiTViT").arch_zoo))
def test_every_arch_builds(arch):
    with torch.device("meta"):
        net = build(arch=arch)
    assert len(net.layers) == net.arch_settings["num_layers"]


def test_mmpretrain_keys():
    got = {k: tuple(v.shape) for k, v in build(arch="base").state_dict().items()}
    assert got["layers.0.attn.relative_position_bias_table"] == (27 * 27 + 3, 12)
    assert got["layers.0.attn.relative_position_index"] == (197, 197)
    assert got["layers.0.attn.q_bias"] == (768,) and got["layers.0.attn.v_bias"] == (768,)
    assert "layers.0.attn.qkv.bias" not in got
    assert got["layers.0.gamma_1"] == (768,) and got["layers.11.gamma_2"] == (768,)
    assert got["layers.0.ffn.layers.0.0.weight"] == (3072, 768)
    assert got["ln2.weight"] == (768,) and "ln1.weight" not in got and "pos_embed" not in got
    shared = {k for k in build(arch=TINY, img_size=32, use_rel_pos_bias=False,
                                use_shared_rel_pos_bias=True).state_dict()}
    assert "rel_pos_bias.relative_position_bias_table" in shared
    assert not any("attn.relative_position" in k for k in shared)


def test_relative_position_index_by_hand():
    index = relative_position_index((2, 2))
    # 4 patches + class token; 9 patch offsets, then cls->token 9, token->cls 10, cls->cls 11
    assert index.shape == (5, 5)
    assert index[0, 0] == 11 and index[0, 1] == 9 and index[1, 0] == 10
    assert index[1, 1] == index[2, 2] == index[4, 4] == 4  # zero offset: (0 + 1) * 3 + (0 + 1)
    assert index[1, 2] == 3 and index[2, 1] == 5  # dx = -1 and +1
    assert index[1, 3] == 1  # dy = -1: (0 * 3) + 1


@pytest.mark.parametrize("out_type,shape", [("avg_featmap", (2, 32)), ("cls_token", (2, 32)),
                                            ("featmap", (2, 32, 2, 2)), ("raw", (2, 5, 32))])
def test_outputs(out_type, shape):
    net = build(arch=TINY, img_size=32, out_indices=(0, 1), out_type=out_type).eval()
    outs = net(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [shape, shape]


def test_relative_bias_changes_the_output_and_shared_bias_loads_into_every_layer():
    torch.manual_seed(0)
    net = build(arch=TINY, img_size=32).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        before = net(x)[0]
        net.layers[0].attn.relative_position_bias_table.normal_()
        assert not torch.allclose(before, net(x)[0])
    shared = build(arch=TINY, img_size=32, use_rel_pos_bias=False, use_shared_rel_pos_bias=True)
    with torch.no_grad():
        shared.rel_pos_bias.relative_position_bias_table.normal_()
    per_layer = build(arch=TINY, img_size=32)
    missing, unexpected = per_layer.load_state_dict(shared.state_dict(), strict=False)
    assert not unexpected and not [k for k in missing if "relative_position" in k]
    for layer in per_layer.layers:
        assert torch.equal(layer.attn.relative_position_bias_table, shared.rel_pos_bias.relative_position_bias_table)
    with torch.no_grad():
        torch.testing.assert_close(per_layer.eval()(x)[0], shared.eval()(x)[0])


def test_checkpoint_of_another_size_is_resized():
    small = build(arch=TINY, img_size=32)
    big = build(arch=TINY, img_size=48)
    big.load_state_dict(small.state_dict())
    assert big.layers[0].attn.relative_position_bias_table.shape == (5 * 5 + 3, 2)


def test_state_dict_round_trip_and_frozen_stages(checks):
    a, b = build(arch=TINY, img_size=32).eval(), build(arch=TINY, img_size=32).eval()
    with torch.no_grad():
        for p in a.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(a(x)[0], b(x)[0])
    net = build(arch=TINY, img_size=32, frozen_stages=1)
    checks.assert_frozen_after_step(net, ["patch_embed.", "layers.0.", "cls_token"], torch.randn(2, 3, 32, 32))


def test_bad_arguments():
    with pytest.raises(Exception, match="cannot both be True"):
        build(arch=TINY, use_rel_pos_bias=True, use_shared_rel_pos_bias=True)
    with pytest.raises(ValueError, match="unknown out_type"):
        build(arch=TINY, out_type="tokens")


def test_finetune_config_builds_layer_decay_groups():
    from loomcv.optim import build_optim_wrapper
    from loomcv.registry import DefaultScope
    cfg = Config.fromfile(find_config("beit-base-p16_8xb128-coslr-100e_in1k"))
    cfg.model.backbone.arch = TINY
    cfg.model.backbone.img_size = 32
    cfg.model.head.in_channels = 32
    with DefaultScope.overwrite_default_scope("loomcls"):
        model = MODELS.build(cfg.model)
        groups = {g["param_name"]: g for g in build_optim_wrapper(model, cfg.optim_wrapper).param_groups}
    # 4 depths (embeddings, 2 layers, the rest); lr = 4e-3 * 0.65 ** (3 - depth)
    assert groups["backbone.cls_token"]["lr"] == pytest.approx(4e-3 * 0.65 ** 3)
    assert groups["backbone.cls_token"]["weight_decay"] == 0.0
    assert groups["backbone.layers.1.attn.qkv.weight"]["lr"] == pytest.approx(4e-3 * 0.65)
    assert groups["backbone.layers.1.attn.qkv.weight"]["weight_decay"] == pytest.approx(0.05)
    assert groups["backbone.layers.0.gamma_1"]["weight_decay"] == 0.0
    assert groups["head.fc.weight"]["lr"] == pytest.approx(4e-3)
