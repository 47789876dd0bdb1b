"""MobileViT: published parameter counts of every arch, MMPretrain's key names, the
unfold/fold of the MobileViT block against per-offset sequences, inputs the
patch size does not divide, outputs per out_index, frozen stages, state-dict
round trips, bad arguments and the shipped configs. Full-size models are built
on the meta device; forward passes use xx_small at 64 px or a narrow custom arch."""

import glob
import os.path as osp

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.mobilevit import MobileVitBlock
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
TINY_ARCH = [["mobilenetv2", 8, 1, 1, 2], ["mobilenetv2", 8, 2, 1, 2], ["mobilevit", 16, 2, 16, 32, 1, 2]]
SMALL = dict(type="MobileViT", arch=TINY_ARCH, stem_channels=8, out_indices=(2,))


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


PUBLISHED = [("mobilevit_s.py", 5.58), ("mobilevit_xs.py", 2.32), ("mobilevit_xxs.py", 1.27)]


@pytest.mark.parametrize("base,millions", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_every_arch_has_the_published_parameter_count(base, millions):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", "mobilevit", base))
    assert round(n_params(meta_build(cfg.model)) / 1e6, 2) == millions


def test_state_dict_keys_match_mmpretrain(checks):
    cfg = Config.fromfile(osp.join(CONFIGS, "_base_", "models", "mobilevit", "mobilevit_xxs.py"))
    model = meta_build(cfg.model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("mobilevit-xxsmall_in1k.statedict.txt", prefix="")


def test_block_attends_among_pixels_at_the_same_offset_of_every_patch():
    torch.manual_seed(0)
    block = MobileVitBlock(8, 16, 32, 8, num_transformer_blocks=1, patch_size=2).eval()
    x = torch.randn(2, 8, 6, 4)
    with torch.no_grad():
        local = block.local_rep(x)
        folded = torch.empty_like(local)
        for i in range(2):
            for j in range(2):
                tokens = local[:, :, i::2, j::2]  # (B, C, 3, 2): one offset of each 2x2 patch
                seq = block.global_rep(tokens.flatten(2).transpose(1, 2))
                folded[:, :, i::2, j::2] = seq.transpose(1, 2).reshape(tokens.shape)
        expected = block.conv_fusion(torch.cat((x, block.conv_proj(folded)), dim=1))
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_maps_the_patch_size_does_not_divide_are_resized_and_back():
    block = MobileVitBlock(8, 16, 32, 8, num_transformer_blocks=1, no_fusion=True).eval()
    assert block.conv_fusion is None
    with torch.no_grad():
        assert block(torch.randn(1, 8, 5, 7)).shape == (1, 8, 5, 7)
    net = MODELS.build(dict(type="MobileViT", arch="xx_small")).eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 50, 70))[0].shape == (1, 320, 2, 3)


def test_every_out_index_shape():
    net = MODELS.build(dict(type="MobileViT", arch="xx_small", out_indices=(0, 1, 2, 3, 4))).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 32), (2, 24, 16, 16), (2, 48, 8, 8), (2, 64, 4, 4),
                                              (2, 320, 2, 2)]
    assert net.feat_dim == 320 and MODELS.build(dict(SMALL, last_exp_factor=2)).feat_dim == 32


def test_frozen_stages_leave_the_stem_trainable(checks):
    net = MODELS.build(dict(SMALL, frozen_stages=2))
    checks.assert_frozen_after_step(net, ["layers.0.", "layers.1."], torch.randn(2, 3, 32, 32))
    assert all(p.requires_grad for p in net.stem.parameters())
    assert all(p.requires_grad for p in MODELS.build(dict(SMALL, frozen_stages=0)).parameters())


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, out_indices=(1, 2)))
    source.train()
    source(torch.randn(2, 3, 32, 32))  # move the BN statistics away from their defaults
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, out_indices=(1, 2)))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(source.eval()(x), fresh.eval()(x)))


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="MobileViT", arch="tiny"), KeyError, r"arch must be one of \['small', 'x_small', 'xx_small'\]"),
    (dict(type="MobileViT", arch=[["resnet", 8, 1, 1, 2]]), ConfigError, "starting with one of"),
    (dict(type="MobileViT", out_indices=(5,)), ValueError, "out_indices entry 5 is out of range for 5 layers"),
    (dict(type="MobileViT", frozen_stages=5), ValueError, r"frozen_stages must be in -1\.\.4"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "mobilevit", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "MobileViT" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
    assert cfg.test_pipeline[2].crop_size == 256 and len(FULL_CONFIGS) == 3
