"""RIFormer: published parameter counts (of the deployed models) of every arch,
MMPretrain's key names, deploy mode giving the same outputs as the trained
model, outputs per network position, frozen stages (MMPretrain's inclusive
count), state-dict round trips, bad arguments and the shipped configs (deploy/
included). Full-size models are built on the meta device; forward passes use a
narrow custom arch."""

import glob
import os.path as osp

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.riformer import RIFormerBlock
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")
SMALL = dict(type="RIFormer", arch=dict(layers=[1, 1, 2, 1], embed_dims=[8, 16, 24, 32]))


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# MMPretrain's metafile counts (thousands) are those of the deployed models
PUBLISHED = [("s12_8xb128_in1k", 11915), ("s24_8xb128_in1k", 21389), ("s36_8xb128_in1k", 30863),
             ("m36_8xb128_in1k", 56173), ("m48_8xb64_in1k", 73473)]


@pytest.mark.parametrize("name,thousands", PUBLISHED)
def test_every_arch_has_the_published_parameter_count(name, thousands):
    arch = name.split("_")[0]
    cfg = Config.fromfile(osp.join(CONFIGS, "riformer", "deploy", f"riformer-{arch}-deploy_{name[4:]}.py"))
    assert round(n_params(meta_build(cfg.model)) / 1e3) == thousands


def test_state_dict_keys_match_mmpretrain(checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "riformer", "riformer-s12_8xb128_in1k.py")).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest("riformer-s12_in1k.statedict.txt", prefix="")
    deployed = meta_build(dict(type="RIFormer", arch="s12", deploy=True)).state_dict()
    assert "network.0.0.norm_reparam.weight" in deployed and "network.0.0.token_mixer.affine.weight" not in deployed


def test_deploy_mode_gives_the_same_outputs():
    torch.manual_seed(0)
    net = MODELS.build(dict(SMALL, out_indices=(0, 4, 6))).eval()
    for param in net.parameters():  # move every affine, norm and layer scale off its init
        param.data.add_(0.2 * torch.randn_like(param))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = net(x)
        net.switch_to_deploy()
        after = net(x)
    assert net.deploy and all(isinstance(b, RIFormerBlock) and b.deploy for s in (0, 2, 4, 6) for b in net.network[s])
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(before, after))
    # a model built in deploy mode loads the switched weights
    built = MODELS.build(dict(SMALL, out_indices=(0, 4, 6), deploy=True)).eval()
    assert not built.load_state_dict(net.state_dict()).missing_keys
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(after, built(x)))


def test_every_out_index_shape():
    net = MODELS.build(dict(SMALL, out_indices=tuple(range(7)))).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 16, 8, 8), (2, 24, 4, 4),
                                              (2, 24, 4, 4), (2, 32, 2, 2), (2, 32, 2, 2)]


@pytest.mark.parametrize("frozen,prefixes", [(0, ["patch_embed.", "network.0."]),
                                             (2, ["patch_embed.", "network.0.", "network.1.", "network.2.",
                                                  "norm2."])])
def test_frozen_stages_include_the_named_position(frozen, prefixes, checks):
    net = MODELS.build(dict(SMALL, frozen_stages=frozen, out_indices=(2, 6)))
    checks.assert_frozen_after_step(net, prefixes, torch.randn(2, 3, 32, 32))
    net.switch_to_deploy()
    assert not net.network[0][0].norm_reparam.weight.requires_grad  # folded norms of frozen stages stay frozen


def test_state_dict_round_trip(tmp_path):
    source = MODELS.build(dict(SMALL, out_indices=(2, 6)))
    for param in source.parameters():
        param.data.add_(0.1 * torch.randn_like(param))
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(dict(SMALL, out_indices=(2, 6)))
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(source.eval()(x), fresh.eval()(x)))


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="RIFormer", arch="s18"), ConfigError, r"unknown arch 's18'.*Did you mean: 's12'"),
    (dict(type="RIFormer", arch=dict(layers=[1, 1, 1, 1])), ConfigError, r"missing \['embed_dims'\]"),
    (dict(type="RIFormer", arch=dict(layers=[1, 1, 1, 1], embed_dims=[8, 8, 16, 24])), ValueError,
     "must change between stages"),
    (dict(type="RIFormer", out_indices=(7,)), ValueError, "out_indices entry 7 is out of range"),
    (dict(type="RIFormer", frozen_stages=7), ValueError, r"frozen_stages must be in -1\.\.6"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FULL_CONFIGS = sorted(glob.glob(osp.join(CONFIGS, "riformer", "*.py")) +
                      glob.glob(osp.join(CONFIGS, "riformer", "deploy", "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS[::3], ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "RIFormer" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels and len(FULL_CONFIGS) == 20
    assert model.backbone.deploy == ("deploy" in path)
    assert cfg.test_pipeline[-2].crop_size == (384 if "384px" in path else 224)
