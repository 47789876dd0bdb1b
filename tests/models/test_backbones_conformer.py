"""Conformer and ConformerHead: published parameter counts of every config,
MMPretrain's key names, the feature coupling units against their definitions,
outputs per out_index, the head's summed loss and scores, a training step,
state-dict round trips, bad arguments and the shipped configs. Full-size
models are built on the meta device; forward passes use a narrow custom arch."""

import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.conformer import FCUDown, FCUUp
from loomcls.registry import MODELS
from loomcls.structures import DataSample
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL = dict(type="Conformer", arch=dict(embed_dims=32, channel_ratio=1, num_heads=2, depths=6), base_channels=16)


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# MMPretrain's metafile (exact counts)
PUBLISHED = [("tiny-p16", 23524704), ("small-p16", 37673424), ("small-p32", 38853072), ("base-p16", 83289136)]


@pytest.mark.parametrize("base,count", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_every_config_has_the_published_parameter_count(base, count):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", "conformer", f"{base}.py"))
    assert n_params(meta_build(cfg.model)) == count


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", "conformer", "tiny-p16.py")).model)
    expected = checks.read_manifest("conformer-tiny-p16_in1k.statedict.txt", prefix="")
    assert checks.state_dict_shapes(model) == expected


def test_coupling_units_move_features_between_the_branches():
    torch.manual_seed(0)
    down = FCUDown(8, 16, down_stride=2).eval()
    fmap, tokens = torch.randn(2, 8, 4, 6), torch.randn(2, 7, 16)
    with torch.no_grad():
        pooled = F.avg_pool2d(down.conv_project(fmap), 2).flatten(2).transpose(1, 2)  # 2x3 = 6 tokens
        expected = torch.cat([tokens[:, :1], F.gelu(down.ln(pooled))], dim=1)
        assert torch.allclose(down(fmap, tokens), expected, atol=1e-6)
    up = FCUUp(16, 8, up_stride=2).eval()
    with torch.no_grad():
        grid = tokens[:, 1:].transpose(1, 2).reshape(2, 16, 2, 3)
        expected = F.interpolate(F.relu(up.bn(up.conv_project(grid))), scale_factor=2, mode="nearest")
        assert torch.allclose(up(tokens, 2, 3), expected, atol=1e-6)


def test_every_out_index_is_a_pair_of_features():
    net = MODELS.build(dict(SMALL, out_indices=(2, 4, 6))).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    assert [[tuple(t.shape) for t in o] for o in outs] == [[(2, 16), (2, 32)], [(2, 32), (2, 32)],
                                                           [(2, 64), (2, 32)]]
    assert MODELS.build(dict(SMALL)).out_indices == [6]
    no_cls = MODELS.build(dict(SMALL, with_cls_token=False)).eval()
    with torch.no_grad():
        assert [tuple(t.shape) for t in no_cls(torch.randn(1, 3, 64, 64))[0]] == [(1, 64), (1, 32)]


def test_init_zeroes_the_last_bn_of_every_conv_block_and_bn_keeps_training():
    net = MODELS.build(dict(SMALL))
    net.init_weights()
    assert torch.all(net.conv_trans_3.fusion_block.bn3.weight == 0) and torch.all(net.conv_1.bn3.weight == 0)
    net.train()  # norm_eval=True is MMPretrain's default and has no effect there
    assert all(m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_head_sums_losses_and_scores_and_a_classifier_trains():
    model = MODELS.build(dict(type="ImageClassifier", backbone=SMALL,
                              head=dict(type="ConformerHead", num_classes=5, in_channels=[64, 32], cal_acc=True)))
    head = model.head
    feats = ([torch.randn(4, 64), torch.randn(4, 32)],)
    samples = [DataSample().set_gt_label(i % 5) for i in range(4)]
    conv_score, trans_score = head(feats)
    target = torch.tensor([0, 1, 2, 3])
    expected = F.cross_entropy(conv_score, target) + F.cross_entropy(trans_score, target)
    losses = head.loss(feats, samples)
    assert torch.allclose(losses["loss"], expected, atol=1e-6) and "accuracy_top-1" in losses
    preds = head.predict(feats)
    assert torch.allclose(torch.stack([p.pred_score for p in preds]), (conv_score + trans_score).softmax(1))
    optim = torch.optim.SGD(model.parameters(), lr=0.01)
    loss = model(torch.randn(4, 3, 32, 32), samples, mode="loss")["loss"]
    loss.backward()
    optim.step()
    assert torch.isfinite(loss)


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, out_indices=(4, 6)))
    source.train()
    source(torch.randn(2, 3, 32, 32))  # move the BN statistics away from their defaults
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, out_indices=(4, 6)))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(source.eval()(x), fresh.eval()(x)):
            assert all(torch.equal(s, t) for s, t in zip(a, b))


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="Conformer", arch="large"), ConfigError, r"unknown arch 'large'"),
    (dict(type="Conformer", arch=dict(embed_dims=8, channel_ratio=1, num_heads=2)), ConfigError,
     r"missing \['depths'\]"),
    (dict(type="Conformer", arch=dict(embed_dims=8, channel_ratio=1, num_heads=2, depths=7)), ValueError,
     "depths must be a positive multiple of 3"),
    (dict(type="Conformer", patch_size=8), ValueError, "patch_size must be a positive multiple of 16"),
    (dict(type="Conformer", frozen_stages=2), ValueError, "frozen_stages is not supported"),
    (dict(type="Conformer", out_indices=(1,)), ValueError, r"out_indices are block numbers 2\.\.12"),
    (dict(type="ConformerHead", num_classes=10, in_channels=256), ValueError, r"in_channels must be \[conv_dim"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "conformer", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "Conformer" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
    assert cfg.train_dataloader.batch_size == 128 and cfg.optim_wrapper.optimizer.lr == pytest.approx(1e-3)
    assert len(FULL_CONFIGS) == 4
