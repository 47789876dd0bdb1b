"""DenseNet, MLP-Mixer, ConvMixer, PoolFormer and EdgeNeXt: published parameter counts
of every arch, MMPretrain's key names, outputs per index, frozen stages, state-dict
round trips, block behaviour, bad arguments and the shipped configs. Full-size
models are built on the meta device; forward passes use small custom archs."""

import glob
import math
import os.path as osp

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.backbones.edgenext import PositionEncodingFourier, SDTAEncoder
from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "loomcls", "configs")


def meta_build(cfg):
    with torch.device("meta"):
        return MODELS.build(cfg)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ImageNet classifiers as MMPretrain publishes them: exact counts (DenseNet's metafile) or millions (READMEs)
PUBLISHED = [("densenet/densenet121.py", 7978856), ("densenet/densenet169.py", 14149480),
             ("densenet/densenet201.py", 20013928), ("densenet/densenet161.py", 28681000),
             ("mlp_mixer_base_patch16.py", 59.88), ("mlp_mixer_large_patch16.py", 208.20),
             ("convmixer/convmixer-768-32.py", 21.11), ("convmixer/convmixer-1024-20.py", 24.38),
             ("convmixer/convmixer-1536-20.py", 51.63), ("poolformer/poolformer_s12.py", 11.92),
             ("poolformer/poolformer_s24.py", 21.39), ("poolformer/poolformer_s36.py", 30.86),
             ("poolformer/poolformer_m36.py", 56.17), ("poolformer/poolformer_m48.py", 73.47),
             ("edgenext/edgenext-xxsmall.py", 1.33), ("edgenext/edgenext-xsmall.py", 2.34),
             ("edgenext/edgenext-small.py", 5.59), ("edgenext/edgenext-base.py", 18.51)]


@pytest.mark.parametrize("base,published", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_every_arch_has_the_published_parameter_count(base, published):
    count = n_params(meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", base)).model))
    assert (count if isinstance(published, int) else round(count / 1e6, 2)) == published


@pytest.mark.parametrize("base,manifest", [("densenet/densenet121.py", "densenet121_in1k.statedict.txt"),
                                           ("poolformer/poolformer_s12.py", "poolformer-s12_in1k.statedict.txt"),
                                           ("edgenext/edgenext-xxsmall.py", "edgenext-xxsmall_in1k.statedict.txt")])
def test_state_dict_keys_match_mmpretrain(base, manifest, checks):
    model = meta_build(Config.fromfile(osp.join(CONFIGS, "_base_", "models", base)).model)
    assert checks.state_dict_shapes(model) == checks.read_manifest(manifest, prefix="")


def test_mixer_key_names():
    mixer = {k: tuple(v.shape) for k, v in meta_build(dict(type="MlpMixer", arch="b")).state_dict().items()}
    assert mixer["patch_embed.projection.weight"] == (768, 3, 16, 16)
    assert mixer["layers.0.ln1.weight"] == (768,) and mixer["layers.0.ln2.bias"] == (768,)  # MMCV's norm names
    assert mixer["layers.0.token_mix.layers.0.0.weight"] == (384, 196)  # over the 14 x 14 tokens
    assert mixer["layers.0.token_mix.layers.1.weight"] == (196, 384)
    assert mixer["layers.11.channel_mix.layers.0.0.weight"] == (3072, 768)
    assert mixer["ln1.weight"] == (768,) and "layers.12.ln1.weight" not in mixer
    convmixer = {k: tuple(v.shape) for k, v in meta_build(dict(type="ConvMixer", arch="1024/20")).state_dict().items()}
    assert convmixer["stem.0.weight"] == (1024, 3, 14, 14) and convmixer["stem.2.running_var"] == (1024,)
    assert convmixer["stages.0.0.fn.0.weight"] == (1024, 1, 9, 9) and convmixer["stages.0.0.fn.2.weight"] == (1024,)
    assert convmixer["stages.19.1.weight"] == (1024, 1024, 1, 1) and convmixer["stages.19.3.bias"] == (1024,)


# -- small archs for real forward passes --

SMALL = {
    "DenseNet": dict(type="DenseNet", arch=dict(growth_rate=4, depths=[2, 2, 2, 2], init_channels=8)),
    "ConvMixer": dict(type="ConvMixer", arch=dict(embed_dims=16, depth=3, patch_size=8, kernel_size=5)),
    "PoolFormer": dict(type="PoolFormer", arch=dict(layers=[1, 1, 2, 1], embed_dims=[8, 16, 24, 32])),
    "EdgeNeXt": dict(type="EdgeNeXt", arch=dict(channels=[8, 16, 24, 32], depths=[1, 1, 2, 2], num_heads=[2, 2, 2, 2])),
    "MlpMixer": dict(type="MlpMixer", arch=dict(embed_dims=16, num_layers=3, tokens_mlp_dims=8, channels_mlp_dims=32),
                     img_size=32, patch_size=8),
}
SHAPES = {  # every out index at 64 px (MlpMixer at its 32 px)
    "DenseNet": ((0, 1, 2, 3), [(8, 8, 8), (8, 4, 4), (8, 2, 2), (16, 2, 2)]),
    "ConvMixer": ((0, 1, 2), [(16, 8, 8)] * 3),
    "PoolFormer": (tuple(range(7)), [(8, 16, 16), (16, 8, 8), (16, 8, 8), (24, 4, 4), (24, 4, 4), (32, 2, 2),
                                     (32, 2, 2)]),
    "EdgeNeXt": ((0, 1, 2, 3), [(8, 16, 16), (16, 8, 8), (24, 4, 4), (32, 2, 2)]),
    "MlpMixer": ((0, 1, 2), [(16, 16)] * 3),
}


def size(family):
    return 32 if family == "MlpMixer" else 64


@pytest.mark.parametrize("family", sorted(SMALL))
def test_every_out_index_shape(family):
    indices, shapes = SHAPES[family]
    extra = dict(gap_before_final_norm=False) if family == "EdgeNeXt" else {}
    net = MODELS.build(dict(SMALL[family], out_indices=indices, **extra)).eval()
    with torch.no_grad():
        outs = net(torch.randn(2, 3, size(family), size(family)))
    assert [tuple(o.shape[1:]) for o in outs] == shapes
    last = MODELS.build(dict(SMALL[family], out_indices=-1))
    assert last.feat_dim == shapes[-1][0]


FROZEN = {"DenseNet": (2, ["stages.0.", "stages.1.", "transitions.0.", "transitions.1."]),
          "ConvMixer": (2, ["stages.0.", "stages.1."]),
          "PoolFormer": (2, ["patch_embed.", "network.0.", "network.1."]),
          "EdgeNeXt": (1, ["downsample_layers.0.", "stages.0."])}


@pytest.mark.parametrize("family", sorted(FROZEN))
def test_frozen_stages(family, checks):
    frozen, prefixes = FROZEN[family]
    net = MODELS.build(dict(SMALL[family], frozen_stages=frozen))
    checks.assert_frozen_after_step(net, prefixes, torch.randn(2, 3, 64, 64))
    assert all(p.requires_grad for p in MODELS.build(SMALL[family]).parameters())  # the defaults freeze nothing


def test_poolformer_frozen_stages_zero_freezes_the_stem_as_mmpretrain():
    net = MODELS.build(dict(SMALL["PoolFormer"], frozen_stages=0))
    assert not any(p.requires_grad for p in net.patch_embed.parameters())
    assert all(p.requires_grad for p in net.network.parameters())


@pytest.mark.parametrize("family", sorted(SMALL))
def test_state_dict_round_trip(family, tmp_path):
    torch.manual_seed(0)
    source = MODELS.build(SMALL[family])
    for param in source.parameters():  # move everything (layer scales and norms too) off its init
        param.data.add_(0.05 * torch.randn_like(param))
    x = torch.randn(2, 3, size(family), size(family))
    source.train()
    source(x)  # and the BN statistics
    torch.save(source.state_dict(), tmp_path / "backbone.pth")
    fresh = MODELS.build(SMALL[family])
    result = fresh.load_state_dict(torch.load(tmp_path / "backbone.pth", weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    with torch.no_grad():
        assert torch.allclose(source.eval()(x)[0], fresh.eval()(x)[0])


def test_densenet_layers_see_every_earlier_feature_map():
    net = MODELS.build(SMALL["DenseNet"]).eval()
    block = net.stages[0]
    x = torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        out = block(x)
        assert out.shape[1] == 8 + 2 * 4 and torch.equal(out[:, :8], x)  # the input passes through
        first = block.block[0]([x])
        assert torch.equal(out[:, 8:12], first)
        assert torch.allclose(out[:, 12:], block.block[1]([x, first]))


def test_densenet_memory_efficient_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = MODELS.build(SMALL["DenseNet"])
    efficient = MODELS.build(dict(SMALL["DenseNet"], memory_efficient=True))
    efficient.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    for net in (plain, efficient):
        net(x)[0].sum().backward()
    assert torch.allclose(plain.stages[0].block[1].conv1.weight.grad, efficient.stages[0].block[1].conv1.weight.grad,
                          atol=1e-6)


def test_poolformer_token_mixer_is_average_pool_minus_identity():
    net = MODELS.build(SMALL["PoolFormer"])
    mixer = net.network[0][0].token_mixer
    x = torch.arange(9.).view(1, 1, 3, 3)
    # the corner averages its 2x2 neighbourhood (padding not counted): (0 + 1 + 3 + 4) / 4 - 0
    assert mixer(x)[0, 0, 0, 0].item() == pytest.approx(2.0)
    assert mixer(x)[0, 0, 1, 1].item() == pytest.approx(0.0)  # the centre is the mean of all nine
    rates = [b.drop_path.drop_prob if hasattr(b.drop_path, "drop_prob") else 0.0
             for stage in MODELS.build(dict(SMALL["PoolFormer"], drop_path_rate=0.4)).network[::2] for b in stage]
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_mixer_refuses_other_input_sizes_and_rejects_extra_arch_keys():
    net = MODELS.build(SMALL["MlpMixer"])
    with pytest.raises(ValueError, match=r"built for \(32, 32\) inputs"):
        net(torch.randn(1, 3, 48, 48))
    with pytest.raises(ConfigError, match="exactly the keys"):
        MODELS.build(dict(SMALL["MlpMixer"], arch=dict(SMALL["MlpMixer"]["arch"], depth=3)))


def test_sdta_encoder_splits_channels_into_a_hierarchy():
    block = SDTAEncoder(12, scales=3, num_heads=2, use_pos_emb=False).eval()
    assert block.conv_channels == 4 and len(block.conv_modules) == 2
    with torch.no_grad():
        for conv in block.conv_modules:  # make each depthwise conv the identity
            conv.weight.zero_()
            conv.weight[:, :, 1, 1] = 1.0
            conv.bias.zero_()
        block.gamma_csa.zero_()
        block.gamma.zero_()
        x = torch.randn(1, 12, 3, 3)
        assert torch.allclose(block(x), x)  # both branches scaled to nothing: the shortcut
    groups = torch.split(x, 4, dim=1)
    expected = torch.cat([groups[0], groups[0] + groups[1], groups[2]], 1)  # group 2 adds group 1's output
    split = torch.cat([block.conv_modules[0](groups[0]), block.conv_modules[1](groups[0] + groups[1]), groups[2]], 1)
    assert torch.allclose(split, expected)


def test_fourier_position_encoding_depends_only_on_position():
    pos = PositionEncodingFourier(in_channels=4, embed_dims=6)
    out = pos((2, 3, 5))
    assert out.shape == (2, 6, 3, 5) and torch.equal(out[0], out[1])
    with torch.no_grad():
        pos.proj.weight.zero_()
        pos.proj.weight[0, 4, 0, 0] = 1.0  # the first x channel: sin(2 pi x / (w + eps))
        pos.proj.bias.zero_()
    x_coords = torch.arange(1, 6.) / (5 + 1e-6) * 2 * math.pi
    assert torch.allclose(pos((1, 3, 5))[0, 0], x_coords.sin().expand(3, 5), atol=1e-5)


@pytest.mark.parametrize("cfg,error,match", [
    (dict(type="DenseNet", arch="122"), ConfigError, r"unknown arch '122'.*Did you mean: '121'"),
    (dict(type="DenseNet", arch=dict(growth_rate=32)), ConfigError, r"missing \['depths', 'init_channels'\]"),
    (dict(type="DenseNet", compression_factor=0), ValueError, r"compression_factor must be in \(0, 1\]"),
    (dict(type="ConvMixer", arch="768/33"), ConfigError, "unknown arch '768/33'"),
    (dict(type="ConvMixer", out_indices=(32,)), ValueError, "out_indices entry 32 is out of range for 32 layers"),
    (dict(type="PoolFormer", arch="s13"), ConfigError, "unknown arch 's13'"),
    (dict(type="PoolFormer", out_indices=(7,)), ValueError, "out of range for 7 network positions"),
    (dict(type="PoolFormer", frozen_stages=8), ValueError, r"frozen_stages must be in -1\.\.7"),
    (dict(type="EdgeNeXt", global_block_type=["None", "SDTA", "MHSA", "SDTA"]), ValueError,
     "global_block_type entries must be one of"),
    (dict(type="EdgeNeXt", d2_scales=[2, 2, 3]), ValueError, r"d2_scales needs one entry per stage \(4\)"),
    (dict(type="MlpMixer", arch="xl"), ConfigError, "unknown arch 'xl'"),
    (dict(type="MlpMixer", out_indices=(12,)), ValueError, "out_indices entry 12 is out of range for 12 layers"),
])
def test_bad_arguments(cfg, error, match):
    with pytest.raises(error, match=match):
        meta_build(cfg)


FAMILIES = ("densenet", "mlp_mixer", "convmixer", "poolformer", "edgenext")
FULL_CONFIGS = sorted(p for d in FAMILIES for p in glob.glob(osp.join(CONFIGS, d, "*.py")))


@pytest.mark.parametrize("path", FULL_CONFIGS, ids=osp.basename)
def test_config_prints_and_builds(path, capsys):
    assert main(["print-config", path]) == 0
    assert "backbone" in capsys.readouterr().out
    cfg = Config.fromfile(path)
    model = meta_build(cfg.model)
    assert model.backbone.feat_dim == cfg.model.head.in_channels
