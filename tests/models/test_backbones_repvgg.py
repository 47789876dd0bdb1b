"""RepVGG: every arch, published parameter counts, MMPretrain's keys, and deploy == training form."""

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

import loomcls.models.backbones  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config

TINY = dict(num_blocks=[1, 2, 2, 1], width_factor=[0.25, 0.25, 0.25, 0.25],
            group_layer_map={3: 2, 5: 4}, se_cfg=None)


def build(**kw):
    return MODELS.build(dict(type="RepVGG", **kw))


def count(module):
    return sum(p.numel() for p in module.parameters())


def randomize_bn(model):
    """Non-trivial BN statistics and affine terms, so that fusing them is really tested."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


# published: train-time / deploy-time parameters of the ImageNet models (backbone + 1000-way fc)
@pytest.mark.parametrize("arch,head,train,deploy", [
    ("A0", 1280, 9.11, 8.31), ("B1", 2048, 57.42, 51.83), ("B1g4", 2048, 39.97, 36.13),
    ("D2se", 2560, 133.33, 120.39)])
def test_published_parameter_counts(arch, head, train, deploy):
    with torch.device("meta"):
        net = build(arch=arch)
        fc = head * 1000 + 1000
        assert round((count(net) + fc) / 1e6, 2) == train
        net.switch_to_deploy()
        assert round((count(net) + fc) / 1e6, 2) == deploy


@pytest.mark.parametrize("arch", sorted(MODELS.get("RepVGG").arch_settings))
def test_every_arch_builds_with_the_stage_widths(arch):
    settings = MODELS.get("RepVGG").arch_settings[arch]
    with torch.device("meta"):
        net = build(arch=arch, out_indices=(0, 1, 2, 3))
    widths = [int(64 * 2 ** i * w) for i, w in enumerate(settings["width_factor"])]
    assert [getattr(net, f"stage_{i + 1}")[-1].out_channels for i in range(4)] == widths
    assert [len(getattr(net, f"stage_{i + 1}")) for i in range(4)] == settings["num_blocks"]


def test_out_indices_shapes_and_groups():
    net = build(arch=TINY, out_indices=(0, 1, 2, 3)).eval()
    outs = net(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 16, 8, 8), (1, 32, 4, 4), (1, 64, 2, 2), (1, 128, 1, 1)]
    assert net.stage_2[1].branch_3x3.conv.groups == 2  # block 3 in the whole-network count
    assert net.stage_3[1].branch_1x1.conv.groups == 4


def test_mmpretrain_state_dict_keys():
    shapes = {k: tuple(v.shape) for k, v in build(arch="D2se").state_dict().items()}
    assert shapes["stem.branch_3x3.conv.weight"] == (64, 3, 3, 3)
    assert shapes["stem.branch_1x1.conv.weight"] == (64, 3, 1, 1)
    assert shapes["stem.branch_3x3.norm.running_var"] == (64,)
    assert "stem.branch_norm.weight" not in shapes  # 3 -> 64 channels: no identity branch
    assert shapes["stage_1.1.branch_norm.weight"] == (160,)
    assert shapes["stage_1.0.se_layer.conv1.conv.weight"] == (10, 160, 1, 1)  # 160 // 16, divisor 1
    assert shapes["stage_1.0.se_layer.conv2.conv.bias"] == (160,)
    assert shapes["stage_4.0.branch_3x3.conv.weight"] == (2560, 640, 3, 3)
    deploy = {k: tuple(v.shape) for k, v in build(arch="A0", deploy=True).state_dict().items()}
    assert deploy["stage_3.13.branch_reparam.weight"] == (192, 192, 3, 3)
    assert deploy["stage_3.13.branch_reparam.bias"] == (192,)
    assert not any("branch_3x3" in k for k in deploy)


@pytest.mark.parametrize("arch", [TINY, dict(TINY, se_cfg=dict(ratio=4, divisor=1))])
def test_deploy_gives_the_training_outputs(arch):
    torch.manual_seed(0)
    net = build(arch=arch, out_indices=(1, 3))
    randomize_bn(net)
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = net(x)
        net.switch_to_deploy()
        after = net(x)
    assert net.deploy and all(b.deploy for b in net.modules() if hasattr(b, "branch_reparam"))
    for b, a in zip(before, after):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    # the fused weights load into a model built with deploy=True (MMPretrain's deploy checkpoints)
    fresh = build(arch=arch, out_indices=(1, 3), deploy=True).eval()
    fresh.load_state_dict(net.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(fresh(x)[1], before[1], rtol=1e-4, atol=1e-5)


def test_state_dict_round_trip():
    a, b = build(arch=TINY), build(arch=TINY)
    randomize_bn(a)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(a.eval()(x)[0], b.eval()(x)[0])


def test_frozen_stages_and_norm_eval(checks):
    net = build(arch=TINY, frozen_stages=1, out_indices=(3,))
    checks.assert_frozen_after_step(net, ["stem.", "stage_1."], torch.randn(2, 3, 32, 32))
    assert all(p.requires_grad for p in net.stage_2.parameters())
    checks.assert_norm_eval(build(arch=TINY, norm_eval=True))


def test_bad_arguments():
    with pytest.raises(Exception, match="RepVGG: unknown arch 'C9'"):
        build(arch="C9")
    with pytest.raises(ValueError, match="out_indices"):
        build(arch="A0", out_indices=(4,))
    with pytest.raises(ValueError, match="frozen_stages"):
        build(arch="A0", frozen_stages=5)
    with pytest.raises(Exception, match="group_layer_map names block 9"):
        build(arch=dict(TINY, group_layer_map={9: 2}))


@pytest.mark.parametrize("name,params", [("repvgg-A0_8xb32_in1k", 9.11), ("repvgg-A0_deploy_in1k", 8.31),
                                         ("repvgg-D2se_8xb32_in1k", 133.33)])
def test_shipped_configs_build(name, params):
    cfg = Config.fromfile(find_config(name))
    with torch.device("meta"):
        model = MODELS.build(cfg.model)
    assert round(count(model) / 1e6, 2) == params
