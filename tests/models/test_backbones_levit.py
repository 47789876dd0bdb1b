"""LeViT and LeViTClsHead: every arch, published parameter counts, MMPretrain's keys, and the
BN-folded deploy form gives the training form's outputs."""

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

import loomcls.models  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config

TINY = dict(embed_dims=[32, 48, 64], key_dims=[8, 8, 16], num_heads=[2, 3, 2], depths=[1, 2, 1])


def build(**kw):
    return MODELS.build(dict(type="LeViT", **kw))


def count(module):
    return sum(p.numel() for p in module.parameters())


def randomize(model):
    """Random BN statistics and attention biases, so that folding is really exercised."""
    g = torch.Generator().manual_seed(0)
    for name, p in model.named_parameters():
        if name.endswith("attention_biases"):
            p.data.copy_(torch.randn(p.shape, generator=g))
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


# MMPretrain's metafile: parameters of the folded models with both heads (the converted weights)
@pytest.mark.parametrize("arch,channels,published", [
    ("128s", 384, 7_756_000), ("128", 384, 9_189_000), ("192", 384, 10_919_000), ("256", 512, 18_856_000),
    ("384", 768, 39_074_000)])
def test_published_parameter_counts(arch, channels, published):
    with torch.device("meta"):
        net = build(arch=arch, deploy=True)
        head = MODELS.build(dict(type="LeViTClsHead", in_channels=channels, deploy=True))
    assert round((count(net) + count(head)) / 1000) * 1000 == published


@pytest.mark.parametrize("arch,dims", [("128s", 384), ("256", 512)])
def test_stage_outputs(arch, dims):
    net = build(arch=arch, img_size=64, out_indices=(0, 1, 2)).eval()
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 64, 64))
    widths = MODELS.get("LeViT").arch_zoo[arch]["embed_dims"]
    assert [tuple(o.shape) for o in outs] == [(1, widths[0], 4, 4), (1, widths[1], 2, 2), (1, dims, 1, 1)]


def test_mmpretrain_state_dict_keys():
    shapes = {k: tuple(v.shape) for k, v in build(arch="128s").state_dict().items()}
    assert shapes["patch_embed.patch_embed.0.conv.weight"] == (16, 3, 3, 3)
    assert shapes["patch_embed.patch_embed.6.bn.running_var"] == (128,)
    assert shapes["stages.0.0.block.qkv.linear.weight"] == (256, 128)  # 4 heads x (16 + 16 + 32)
    assert shapes["stages.0.0.block.attention_biases"] == (4, 196)
    assert shapes["stages.0.0.block.attention_bias_idxs"] == (196, 196)
    assert shapes["stages.0.0.block.proj.1.linear.weight"] == (128, 128)
    assert shapes["stages.0.1.block.linear1.bn.weight"] == (256,)
    assert shapes["stages.1.0.kv.linear.weight"] == (8 * 16 + 8 * 64, 128)  # 128 // 16 = 8 heads x (16 + 64)
    assert shapes["stages.1.0.q.1.linear.weight"] == (128, 128)
    assert shapes["stages.1.0.attention_biases"] == (8, 196)
    assert shapes["stages.1.0.attention_bias_idxs"] == (49, 196)
    assert shapes["stages.1.0.proj.1.linear.weight"] == (256, 512)
    assert shapes["stages.1.1.block.linear2.linear.weight"] == (256, 512)
    deploy = {k: tuple(v.shape) for k, v in build(arch="128s", deploy=True).state_dict().items()}
    assert deploy["patch_embed.patch_embed.0.weight"] == (16, 3, 3, 3)
    assert deploy["patch_embed.patch_embed.0.bias"] == (16,)
    assert deploy["stages.0.0.block.qkv.bias"] == (256,)
    assert deploy["stages.1.0.q.1.weight"] == (128, 128)
    head = {k: tuple(v.shape) for k, v in MODELS.build(dict(type="LeViTClsHead", in_channels=384)).state_dict().items()}
    assert head["head.bn.running_mean"] == (384,) and head["head_dist.linear.weight"] == (1000, 384)


def test_deploy_gives_the_training_outputs():
    torch.manual_seed(0)
    net = build(arch=TINY, img_size=64, out_indices=(1, 2))
    head = MODELS.build(dict(type="LeViTClsHead", num_classes=5, in_channels=64))
    randomize(net)
    randomize(head)
    net.eval()
    head.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats = net(x)
        scores = head([feats[-1].mean((2, 3))])
        net.switch_to_deploy()
        head.switch_to_deploy()
        fused = net(x)
        fused_scores = head([fused[-1].mean((2, 3))])
    for b, a in zip(feats, fused):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fused_scores, scores, rtol=1e-4, atol=1e-5)
    assert not any(isinstance(m, _BatchNorm) for m in [*net.modules(), *head.modules()])
    fresh = build(arch=TINY, img_size=64, out_indices=(1, 2), deploy=True).eval()
    fresh.load_state_dict(net.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(fresh(x)[1], feats[1], rtol=1e-4, atol=1e-5)


def test_state_dict_round_trip_and_training_step():
    a, b = build(arch=TINY, img_size=32), build(arch=TINY, img_size=32)
    randomize(a)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(a.eval()(x)[0], b.eval()(x)[0])
    b.train()
    b(x)[0].sum().backward()
    assert b.stages[0][0].block.attention_biases.grad is not None


def test_distillation_head_cannot_train():
    head = MODELS.build(dict(type="LeViTClsHead", num_classes=3, in_channels=8)).train()
    with pytest.raises(NotImplementedError, match="distillation=False"):
        head([torch.randn(2, 8)])
    plain = MODELS.build(dict(type="LeViTClsHead", num_classes=3, in_channels=8, distillation=False)).train()
    assert plain([torch.randn(2, 8)]).shape == (2, 3)


def test_bad_arguments():
    with pytest.raises(Exception, match="LeViT: unknown arch '512'"):
        build(arch="512")
    with pytest.raises(Exception, match="exactly the keys"):
        build(arch=dict(TINY, mlp=2))
    with pytest.raises(Exception, match="multiple of patch_size"):
        build(arch=TINY, img_size=70)
    with pytest.raises(ValueError, match="out_indices"):
        build(arch=TINY, img_size=32, out_indices=(3,))


@pytest.mark.parametrize("name,params", [("levit/levit-128s_8xb256_in1k.py", 7_777_058),
                                         ("levit-256_3rdparty_in1k", 18_856_276)])
def test_shipped_configs_build(name, params):
    from loomcls.apis import ModelHub
    cfg = Config.fromfile(ModelHub.info(name).config if "3rdparty" in name else find_config(name))
    with torch.device("meta"):
        model = MODELS.build(cfg.model)
    assert count(model) == params
