import pytest
import torch

import loomcls.models.backbones  # noqa: F401  (registers)
from loomcls.registry import MODELS


def build(**kw):
    return MODELS.build(dict(type="MobileNetV2", **kw))


def test_state_dict_matches_mmpretrain(checks):
    assert checks.state_dict_shapes(build(widen_factor=1.0)) == checks.read_manifest(
        "mobilenet_v2_in1k.statedict.txt")


def test_every_out_index_shape():
    net = build(widen_factor=0.5, out_indices=range(8))
    outs = net(torch.randn(1, 3, 64, 64))
    # widths are multiples of 8 (16*0.5 -> 8); conv2 stays 1280 below widen_factor 1
    assert [tuple(o.shape) for o in outs] == [
        (1, 8, 32, 32), (1, 16, 16, 16), (1, 16, 8, 8), (1, 32, 4, 4),
        (1, 48, 4, 4), (1, 80, 2, 2), (1, 160, 2, 2), (1, 1280, 2, 2)]
    assert build(widen_factor=1.5).conv2.conv.out_channels == 1920


def test_frozen_stages_stop_gradients(checks):
    net = build(widen_factor=0.25, frozen_stages=2)
    checks.assert_frozen_after_step(net, ["conv1.", "layer1.", "layer2."], torch.randn(2, 3, 32, 32))
    assert all(p.requires_grad for p in net.layer3.parameters())


def test_norm_eval_and_act_cfg(checks):
    checks.assert_norm_eval(build(widen_factor=0.25, norm_eval=True))
    net = build(widen_factor=0.25, act_cfg=dict(type="ReLU"))
    assert type(net.conv1.activate).__name__ == "ReLU"
    assert type(build(widen_factor=0.25).conv1.activate).__name__ == "ReLU6"


def test_residual_blocks_and_bad_arguments():
    net = build(widen_factor=0.25)
    assert [b.use_res_connect for b in net.layer2] == [False, True]
    with pytest.raises(ValueError, match="out_indices must be in range"):
        build(out_indices=(8,))
    with pytest.raises(ValueError, match="frozen_stages"):
        build(frozen_stages=8)
