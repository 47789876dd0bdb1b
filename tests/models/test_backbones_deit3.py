"""DeiT III: every arch, published parameter counts, MMPretrain's keys, outputs, frozen stages."""

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config

TINY_VIT = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)


def count(module):
    return sum(p.numel() for p in module.parameters())


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def round_trip(build, x):
    """A state dict copied into a fresh model gives the same outputs (eval mode)."""
    a, b = build().eval(), build().eval()
    with torch.no_grad():
        for p in a.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        for oa, ob in zip(a(x), b(x)):
            assert torch.equal(oa, ob)


def build(**kw):
    return MODELS.build(dict(type="DeiT3", **kw))


# MMPretrain's metafile: parameters with the 1000-way VisionTransformerClsHead
@pytest.mark.parametrize("arch,patch,img,published", [
    ("s", 16, 224, 22_059_496), ("m", 16, 224, 38_849_512), ("b", 16, 224, 86_585_320),
    ("l", 16, 224, 304_374_760), ("h", 14, 224, 632_126_440), ("s", 16, 384, 22_205_416)])
def test_published_parameter_counts(arch, patch, img, published):
    with torch.device("meta"):
        net = build(arch=arch, patch_size=patch, img_size=img)
    assert count(net) + net.embed_dims * 1000 + 1000 == published


def test_mmpretrain_keys_and_class_token_after_position_embedding():
    got = shapes(build(arch="s"))
    assert got["pos_embed"] == (1, 196, 384)  # patches only
    assert got["cls_token"] == (1, 1, 384)
    for key in ("layers.0.attn.gamma1.weight", "layers.0.ffn.gamma2.weight", "layers.11.ln2.bias", "ln1.weight",
                "layers.0.ffn.layers.0.0.weight", "layers.0.ffn.layers.1.weight", "patch_embed.projection.weight"):
        assert key in got, key
    assert got["layers.0.ffn.gamma2.weight"] == (384,)
    plain = shapes(build(arch="s", use_layer_scale=False))
    assert not any("gamma" in k for k in plain)


@pytest.mark.parametrize("out_type,shape", [("cls_token", (2, 32)), ("featmap", (2, 32, 2, 2)),
                                            ("avg_featmap", (2, 32)), ("raw", (2, 5, 32))])
def test_outputs(out_type, shape):
    net = build(arch=TINY_VIT, img_size=32, out_indices=(0, -1), out_type=out_type).eval()
    outs = net(torch.randn(2, 3, 32, 32))
    assert len(outs) == 2 and all(tuple(o.shape) == shape for o in outs)
    torch.testing.assert_close(net.layers[0].ffn.gamma2.weight, torch.full((32,), 1e-5))


def test_other_input_sizes_resize_the_position_embedding():
    net = build(arch=TINY_VIT, img_size=32, out_type="featmap").eval()
    assert tuple(net(torch.randn(1, 3, 48, 48))[0].shape) == (1, 32, 3, 3)


def test_state_dict_round_trip_and_frozen_stages(checks):
    round_trip(lambda: build(arch=TINY_VIT, img_size=32), torch.randn(1, 3, 32, 32))
    net = build(arch=TINY_VIT, img_size=32, frozen_stages=1)
    checks.assert_frozen_after_step(net, ["patch_embed.", "layers.0.", "cls_token", "pos_embed"],
                                    torch.randn(2, 3, 32, 32))


def test_bad_arguments():
    with pytest.raises(Exception, match="DeiT3: unknown arch 'xl'"):
        build(arch="xl")
    with pytest.raises(ValueError, match="with_cls_token=True"):
        build(arch=TINY_VIT, with_cls_token=False)


@pytest.mark.parametrize("name,params", [("deit3-small-p16_64xb64_in1k", 22_059_496),
                                         ("deit3-base-p16_64xb32_in1k-384px", 86_877_160)])
def test_shipped_configs_build(name, params):
    cfg = Config.fromfile(find_config(name))
    with torch.device("meta"):
        assert count(MODELS.build(cfg.model)) == params
