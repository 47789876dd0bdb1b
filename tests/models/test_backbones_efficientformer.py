"""EfficientFormer and EfficientFormerClsHead: published parameter counts,
MMPretrain's key names, attention with relative-offset biases against its
definition, the token/map outputs of the last stage, the averaged distillation
head, frozen stages, state-dict round trips, bad arguments and the shipped
configs. Full-size models are built on the meta device; forward passes use a
narrow custom arch."""

import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.efficientformer import AttentionWithBias
from loomcls.registry import MODELS
from loomcls.structures import DataSample
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
ARCH = dict(layers=[1, 1, 1, 2], embed_dims=[8, 16, 24, 32], downsamples=[False, True, True, True], vit_num=1)
SMALL = dict(type="EfficientFormer", arch=ARCH, resolution=2)  # 64-px inputs end on a 2x2 grid


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("arch,count", [("l3", 31406000), ("l7", 82229328)])
def test_published_parameter_counts(arch, count):
    cfg = Config.fromfile(osp.join(CONFIGS, "efficientformer", f"efficientformer-{arch}_8xb128_in1k.py"))
    assert n_params(meta_build(cfg.model)) == count
    # (MMPretrain's metafile gives l1 12278696; its source, and so this model, has 12289928, see the manifest)


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "efficientformer", "efficientformer-l1_8xb128_in1k.py"))
                       .model)
    expected = checks.read_manifest("efficientformer-l1_in1k.statedict.txt", prefix="")
    assert checks.state_dict_shapes(model) == expected


def test_attention_adds_a_bias_per_relative_offset():
    torch.manual_seed(0)
    attn = AttentionWithBias(16, num_heads=2, key_dim=4, attn_ratio=2, resolution=2).eval()
    assert attn.attention_biases.shape == (2, 4)  # offsets (0,0), (0,1), (1,0), (1,1)
    with torch.no_grad():
        attn.attention_biases.copy_(torch.randn(2, 4))
    x = torch.randn(3, 4, 16)
    points = [(0, 0), (0, 1), (1, 0), (1, 1)]
    with torch.no_grad():
        qkv = attn.qkv(x).view(3, 4, 2, 16)  # per head: q (4), k (4), v (8)
        heads = []
        for h in range(2):
            q, k, v = qkv[:, :, h, :4], qkv[:, :, h, 4:8], qkv[:, :, h, 8:]
            bias = torch.tensor([[0.0] * 4 for _ in points])
            for i, p1 in enumerate(points):
                for j, p2 in enumerate(points):
                    offset = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
                    bias[i, j] = attn.attention_biases[h, [(0, 0), (0, 1), (1, 0), (1, 1)].index(offset)]
            heads.append(((q @ k.transpose(1, 2)) * 4 ** -0.5 + bias).softmax(-1) @ v)
        assert torch.allclose(attn(x), attn.proj(torch.cat(heads, -1)), atol=1e-5)


def test_last_stage_outputs_tokens_or_maps():
    tokens = MODELS.build(dict(SMALL, out_indices=(0, 1, 2, 3))).eval()
    maps = MODELS.build(dict(SMALL, reshape_last_feat=True)).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert [tuple(o.shape) for o in tokens(x)] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 24, 4, 4), (2, 32, 4)]
        assert tuple(maps(x)[0].shape) == (2, 32, 2, 2)
    assert isinstance(tokens.norm3, torch.nn.LayerNorm) and isinstance(maps.norm3, torch.nn.GroupNorm)
    names = [type(m).__name__ for m in tokens.network[3]]
    assert names == ["ConvModule", "Meta4D", "Flat", "Meta3D"]


def test_distillation_head_averages_and_refuses_training():
    head = MODELS.build(dict(type="EfficientFormerClsHead", num_classes=5, in_channels=8))
    feats = (torch.randn(2, 8),)
    expected = (head.head(feats[0]) + head.dist_head(feats[0])) / 2
    assert torch.allclose(head(feats), expected)
    with pytest.raises(NotImplementedError, match="distillation=False"):
        head.loss(feats, [DataSample().set_gt_label(0), DataSample().set_gt_label(1)])
    plain = MODELS.build(dict(type="EfficientFormerClsHead", num_classes=5, in_channels=8, distillation=False))
    losses = plain.loss(feats, [DataSample().set_gt_label(0), DataSample().set_gt_label(1)])
    assert torch.allclose(losses["loss"], F.cross_entropy(plain.head(feats[0]), torch.tensor([0, 1])))


def test_frozen_stages(checks):
    net = MODELS.build(dict(SMALL, frozen_stages=2, out_indices=(1, 3)))
    checks.assert_frozen_after_step(net, ["patch_embed.", "network.0.", "network.1.", "norm1."],
                                    torch.randn(2, 3, 64, 64))


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL))
    source.train()
    source(torch.randn(2, 3, 64, 64))  # move the BN statistics away from their defaults
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(source.eval()(x)[0], fresh.eval()(x)[0])


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="EfficientFormer", arch="l2"), ConfigError, r"unknown arch 'l2'"),
    (dict(type="EfficientFormer", arch=dict(ARCH, pool=3)), ConfigError, r"unknown \['pool'\]"),
    (dict(type="EfficientFormer", arch=dict(ARCH, vit_num=3)), ValueError, r"vit_num must be an int in 0\.\.2"),
    (dict(type="EfficientFormer", out_indices=(4,)), ValueError, "out_indices entry 4 is out of range"),
    (dict(type="EfficientFormer", frozen_stages=5), ValueError, r"frozen_stages must be in -1\.\.4"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


def test_inputs_that_do_not_end_on_the_bias_grid_are_refused():
    with pytest.raises(ValueError, match="the attention bias covers 4 tokens, got 16"):
        MODELS.build(dict(SMALL))(torch.randn(1, 3, 128, 128))


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "efficientformer", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "EfficientFormer" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels and len(FULL_CONFIGS) == 3
