import pytest
import torch

import loomcls.models.backbones  # noqa: F401  (registers)
from loomcls.registry import MODELS


def build(**kw):
    return MODELS.build(dict(type="ShuffleNetV2", **kw))


def test_layout_and_size_of_the_1x_model():
    net = build(widen_factor=1.0)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert shapes["conv1.conv.weight"] == (24, 3, 3, 3)
    assert shapes["layers.0.0.branch1.0.conv.weight"] == (24, 1, 3, 3)
    assert shapes["layers.0.0.branch1.1.conv.weight"] == (58, 24, 1, 1)
    assert shapes["layers.0.1.branch2.0.conv.weight"] == (58, 58, 1, 1)
    assert shapes["layers.2.3.branch2.2.bn.running_var"] == (232,)
    assert shapes["layers.3.conv.weight"] == (1024, 464, 1, 1)
    assert "layers.0.1.branch1.0.conv.weight" not in shapes
    # the published ShuffleNetV2 1.0x has 2,278,604 parameters, 1,025,000 of them in the 1000-class fc
    assert sum(p.numel() for p in net.parameters()) == 2278604 - 1025000


@pytest.mark.parametrize("widen_factor,channels", [(0.5, (48, 96, 192, 1024)), (2.0, (244, 488, 976, 2048))])
def test_every_out_index_shape(widen_factor, channels):
    net = build(widen_factor=widen_factor, out_indices=(0, 1, 2, 3))
    outs = net(torch.randn(1, 3, 64, 64))
    sizes = (8, 4, 2, 2)
    assert [tuple(o.shape) for o in outs] == [(1, c, s, s) for c, s in zip(channels, sizes)]


def test_stride1_block_keeps_half_and_shuffles():
    block = build(widen_factor=0.5).layers[0][1].eval()
    x = torch.randn(1, 48, 4, 4)
    out = block(x)
    assert torch.equal(out[:, 0::2], x[:, :24])  # untouched half lands on the even channels


def test_frozen_stages_norm_eval_and_init(checks):
    net = build(widen_factor=0.5, frozen_stages=1)
    checks.assert_frozen_after_step(net, ["conv1.", "layers.0."], torch.randn(2, 3, 32, 32))
    assert all(p.requires_grad for p in net.layers[1].parameters())
    checks.assert_norm_eval(build(widen_factor=0.5, norm_eval=True))
    net = build(widen_factor=0.5)
    net.init_weights()
    w = net.layers[3].conv.weight
    assert abs(w.std().item() - 1 / w.shape[1]) < 0.2 / w.shape[1]


def test_bad_arguments():
    with pytest.raises(ValueError, match="widen_factor must be one of"):
        build(widen_factor=0.75)
    with pytest.raises(ValueError, match="out_indices"):
        build(out_indices=(4,))
    with pytest.raises(ValueError, match="frozen_stages"):
        build(frozen_stages=4)
