"""CSPDarkNet, CSPResNet, CSPResNeXt: published counts, stage outputs, MMPretrain's keys, freezing."""

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config


def count(module):
    return sum(p.numel() for p in module.parameters())


# MMPretrain's metafile: parameters (M) with the 1000-way fc
@pytest.mark.parametrize("config,published_m", [("cspdarknet50_8xb32_in1k", 27.64), ("cspresnet50_8xb32_in1k", 21.62),
                                                ("cspresnext50_8xb32_in1k", 20.57)])
def test_published_parameter_counts(config, published_m):
    cfg = Config.fromfile(find_config(config))
    with torch.device("meta"):
        assert round(count(MODELS.build(cfg.model)) / 1e6, 2) == published_m


@pytest.mark.parametrize("kind,depth,widths,strides", [
    ("CSPDarkNet", 53, (64, 128, 256, 512, 1024), (2, 4, 8, 16, 32)),
    ("CSPResNet", 50, (128, 256, 512, 1024), (4, 8, 16, 32)),
    ("CSPResNeXt", 50, (256, 512, 1024, 2048), (4, 8, 16, 32))])
def test_every_stage_output(kind, depth, widths, strides):
    net = MODELS.build(dict(type=kind, depth=depth, out_indices=tuple(range(len(widths))))).eval()
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, w, 64 // s, 64 // s) for w, s in zip(widths, strides)]


def test_mmpretrain_keys():
    dark = {k: tuple(v.shape) for k, v in MODELS.build(dict(type="CSPDarkNet", depth=53)).state_dict().items()}
    assert dark["stem.conv.weight"] == (32, 3, 3, 3)
    assert dark["stages.0.downsample_conv.conv.weight"] == (64, 32, 3, 3)  # down_growth: straight to 64
    assert dark["stages.0.expand_conv.conv.weight"] == (128, 64, 1, 1)  # expand_ratio 2
    assert dark["stages.0.blocks.0.conv1.conv.weight"] == (32, 64, 1, 1)  # 64 // bottle_ratio 2
    assert dark["stages.0.atfer_blocks_conv.conv.weight"] == (64, 64, 1, 1)
    assert dark["stages.4.final_conv.bn.running_var"] == (1024,)
    nxt = {k: tuple(v.shape) for k, v in MODELS.build(dict(type="CSPResNeXt", depth=50)).state_dict().items()}
    assert nxt["stem.0.conv.weight"] == (64, 3, 7, 7)
    assert "stages.0.downsample_conv.conv.weight" not in nxt
    assert nxt["stages.1.downsample_conv.conv.weight"] == (256, 256 // 32, 3, 3)  # grouped by 32
    # stage 1 blocks: 256 channels, planes 256 // 4 = 64 -> 32 groups x 4 x 64 // 32 = 256 middle channels
    assert nxt["stages.1.blocks.0.conv2.weight"] == (256, 256 // 32, 3, 3)
    assert nxt["stages.1.blocks.0.bn3.weight"] == (256,)
    deep = {k for k in MODELS.build(dict(type="CSPResNet", depth=50, deep_stem=True)).state_dict()}
    assert "stem.2.conv.weight" in deep


def test_leaky_relu_in_blocks_and_state_dict_round_trip():
    a = MODELS.build(dict(type="CSPResNet", depth=50)).eval()
    assert type(a.stages[0].blocks[0].relu).__name__ == "LeakyReLU"
    b = MODELS.build(dict(type="CSPResNet", depth=50)).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(a(x)[0], b(x)[0])


def test_frozen_stages_and_norm_eval(checks):
    net = MODELS.build(dict(type="CSPDarkNet", depth=53, frozen_stages=1, out_indices=(2,)))
    checks.assert_frozen_after_step(net, ["stem.", "stages.0.", "stages.1."], torch.randn(2, 3, 32, 32))
    checks.assert_norm_eval(MODELS.build(dict(type="CSPResNet", depth=50, norm_eval=True)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="depth must be one of \\[53\\]"):
        MODELS.build(dict(type="CSPDarkNet", depth=50))
    with pytest.raises(ValueError, match="frozen_stages must be in -1..3"):
        MODELS.build(dict(type="CSPResNet", depth=50, frozen_stages=4))
