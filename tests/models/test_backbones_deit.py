"""DeiT: published parameter counts of every config (plain ViT and distilled),
MMPretrain's key names, the distillation token and the head's averaged score,
frozen stages, loading a 224-px checkpoint at 384 px, state-dict round trips,
bad arguments and the shipped configs. Full-size models are built on the meta
device; forward passes use a narrow custom arch."""

import glob
import os.path as osp

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
ARCH = dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32)
SMALL = dict(type="DistilledVisionTransformer", arch=ARCH, img_size=32, patch_size=8)


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# MMPretrain's metafile (exact counts)
PUBLISHED = [("deit-tiny_4xb256_in1k.py", 5717416), ("deit-tiny-distilled_4xb256_in1k.py", 5910800),
             ("deit-small_4xb256_in1k.py", 22050664), ("deit-small-distilled_4xb256_in1k.py", 22436432),
             ("deit-base_16xb64_in1k.py", 86567656), ("deit-base-distilled_16xb64_in1k.py", 87338192),
             ("deit-base_16xb32_in1k-384px.py", 86859496), ("deit-base-distilled_16xb32_in1k-384px.py", 87630032)]


@pytest.mark.parametrize("config,count", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_every_config_has_the_published_parameter_count(config, count):
    assert n_params(meta_build(Config.fromfile(osp.join(CONFIGS, "deit", config)).model)) == count


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "deit", "deit-tiny-distilled_4xb256_in1k.py")).model)
    expected = checks.read_manifest("deit-tiny-distilled_in1k.statedict.txt", prefix="")
    assert checks.state_dict_shapes(model) == expected


def test_distillation_token_and_the_averaged_score():
    torch.manual_seed(0)
    model = MODELS.build(dict(type="ImageClassifier", backbone=SMALL,
                              head=dict(type="DeiTClsHead", num_classes=5, in_channels=16))).eval()
    backbone, head = model.backbone, model.head
    assert backbone.pos_embed.shape == (1, 18, 16)  # 16 patches + 2 tokens
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        cls_token, dist_token = backbone(x)[-1]
        tokens, _ = backbone.patch_embed(x)
        seq = torch.cat([backbone.cls_token.expand(2, -1, -1), backbone.dist_token.expand(2, -1, -1), tokens], 1)
        seq = seq + backbone.pos_embed
        for layer in backbone.layers:
            seq = layer(seq)
        seq = backbone.ln1(seq)
        assert torch.allclose(cls_token, seq[:, 0], atol=1e-5) and torch.allclose(dist_token, seq[:, 1], atol=1e-5)
        score = model(x, mode="tensor")
        expected = (head.layers.head(cls_token) + head.layers.head_dist(dist_token)) / 2
        assert torch.allclose(score, expected, atol=1e-6)
    head.train()
    with pytest.warns(UserWarning, match="distillation from a teacher is not supported"):
        head(((cls_token, dist_token),))


def test_other_out_types_and_frozen_stages(checks):
    maps = MODELS.build(dict(SMALL, out_type="featmap")).eval()
    with torch.no_grad():
        assert tuple(maps(torch.randn(1, 3, 32, 32))[0].shape) == (1, 16, 4, 4)  # both tokens dropped
    net = MODELS.build(dict(SMALL, frozen_stages=1, out_type="avg_featmap"))
    checks.assert_frozen_after_step(net, ["patch_embed.", "layers.0.", "cls_token", "dist_token", "pos_embed"],
                                    torch.randn(2, 3, 32, 32))
    assert not net.dist_token.requires_grad and not net.cls_token.requires_grad
    assert net.get_layer_depth("dist_token") == (0, 4)


def test_a_224px_checkpoint_loads_at_384px():
    small = MODELS.build(dict(SMALL))
    large = MODELS.build(dict(SMALL, img_size=48))
    result = large.load_state_dict(small.state_dict())
    assert not result.missing_keys and large.pos_embed.shape == (1, 38, 16)
    assert torch.equal(large.pos_embed[:, :2], small.pos_embed[:, :2])  # both extra tokens kept


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL))
    source.init_weights()
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(source.eval()(x)[0], fresh.eval()(x)[0]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="DeiTClsHead: expects the \\(class token, distillation token\\) pair"):
        MODELS.build(dict(type="DeiTClsHead", num_classes=5, in_channels=16))((torch.randn(2, 16),))
    with pytest.raises(ValueError, match="out_indices entry 2 is out of range"):
        meta_build(dict(SMALL, out_indices=(2,)))


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "deit", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    distilled = "distilled" in osp.basename(path)
    assert ("DistilledVisionTransformer" in capsys.readouterr().out) == distilled
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.embed_dims == cfg.model.head.in_channels
    assert hasattr(model.head.layers, "head_dist") == distilled and len(FULL_CONFIGS) == 8
