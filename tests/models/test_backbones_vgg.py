import pytest
import torch

import loomcls.models.backbones  # noqa: F401  (registers)
from loomcls.registry import MODELS


VGG_STAGES = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


def build(**kw):
    return MODELS.build(dict(type="VGG", **kw))


@pytest.mark.parametrize("depth,convs", [(11, 8), (13, 10), (16, 13), (19, 16)])
def test_depths_out_indices_and_keys(depth, convs):
    net = build(depth=depth, out_indices=(0, 1, 2, 3, 4))
    outs = net(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [
        (1, 64, 16, 16), (1, 128, 8, 8), (1, 256, 4, 4), (1, 512, 2, 2), (1, 512, 1, 1)]
    # MMPretrain's layout: one flat Sequential where each stage's pool takes an index too
    expected, index = [], 0
    for num_blocks in VGG_STAGES[depth]:
        expected += [f"features.{index + j}.conv.weight" for j in range(num_blocks)]
        index += num_blocks + 1
    assert [k for k in net.state_dict() if k.endswith("conv.weight")] == expected
    assert len(expected) == convs
    assert net.state_dict()["features.0.conv.bias"].shape == (64,)


def test_bn_layout_and_last_pool():
    net = build(depth=11, norm_cfg=dict(type="BN"), with_last_pool=False)
    sd = net.state_dict()
    assert {"features.0.conv.weight", "features.0.conv.bias", "features.0.bn.running_var",
            "features.2.conv.weight"} <= set(sd)
    assert net(torch.randn(1, 3, 32, 32))[0].shape == (1, 512, 2, 2)
    assert not isinstance(net.features[-1], torch.nn.MaxPool2d)


def test_classifier_shapes_on_meta_device():
    with torch.device("meta"):
        net = build(depth=16, num_classes=10, out_indices=(4, 5))
        feats, logits = net(torch.empty(2, 3, 224, 224))
    assert feats.shape == (2, 512, 7, 7) and logits.shape == (2, 10)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items() if k.startswith("classifier")}
    assert shapes == {"classifier.0.weight": (4096, 25088), "classifier.0.bias": (4096,),
                      "classifier.3.weight": (4096, 4096), "classifier.3.bias": (4096,),
                      "classifier.6.weight": (10, 4096), "classifier.6.bias": (10,)}


def test_default_out_indices():
    assert build(depth=11).out_indices == (4,)
    with torch.device("meta"):
        assert build(depth=11, num_classes=3).out_indices == (5,)


def test_frozen_stages_and_norm_eval(checks):
    net = build(depth=11, norm_cfg=dict(type="BN"), frozen_stages=2)
    # stage 0 is features.0-1, stage 1 is features.2-3
    checks.assert_frozen_after_step(net, ["features.0.", "features.2."], torch.randn(2, 3, 32, 32))
    assert all(p.requires_grad for p in net.features[4].parameters())
    checks.assert_norm_eval(build(depth=11, norm_cfg=dict(type="BN"), norm_eval=True))


def test_bad_arguments():
    with pytest.raises(KeyError, match="depth must be one of"):
        build(depth=12)
    with pytest.raises(ValueError, match="out_indices"):
        build(depth=11, out_indices=(5,))
    with pytest.raises(ValueError, match="224x224"):
        with torch.device("meta"):
            build(depth=11, num_classes=3)(torch.empty(1, 3, 32, 32))
