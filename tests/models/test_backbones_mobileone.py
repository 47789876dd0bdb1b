"""MobileOne: every arch, published parameter counts, MMPretrain's keys, and deploy == training form."""

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

import loomcls.models.backbones  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config

TINY = dict(num_blocks=[1, 2, 1, 1], width_factor=[0.25, 0.25, 0.25, 0.25], num_conv_branches=[2, 3, 1, 2],
            num_se_blocks=[0, 1, 0, 1])


def build(**kw):
    return MODELS.build(dict(type="MobileOne", **kw))


def count(module):
    return sum(p.numel() for p in module.parameters())


def randomize_bn(model):
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


# MMPretrain's README: train-time / deploy-time parameters (M) with the 1000-way fc
@pytest.mark.parametrize("arch,head,train,deploy", [
    ("s0", 1024, 5.29, 2.08), ("s1", 1280, 4.83, 4.76), ("s2", 2048, 7.88, 7.81), ("s3", 2048, 10.17, 10.08),
    ("s4", 2048, 14.95, 14.84)])
def test_published_parameter_counts(arch, head, train, deploy):
    with torch.device("meta"):
        net = build(arch=arch)
        fc = head * 1000 + 1000
        assert round((count(net) + fc) / 1e6, 2) == train
        net.switch_to_deploy()
        assert round((count(net) + fc) / 1e6, 2) == deploy


def test_out_indices_shapes():
    net = build(arch=TINY, out_indices=(0, 1, 2, 3)).eval()
    outs = net(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 16, 16, 16), (1, 32, 8, 8), (1, 64, 4, 4), (1, 128, 2, 2)]
    s0 = build(arch="s0", out_indices=(0, 1, 2, 3)).eval()
    with torch.no_grad():
        assert [o.shape[1] for o in s0(torch.randn(1, 3, 32, 32))] == [48, 128, 256, 1024]


def test_mmpretrain_state_dict_keys():
    shapes = {k: tuple(v.shape) for k, v in build(arch="s4").state_dict().items()}
    assert shapes["stage0.branch_conv_list.0.conv.weight"] == (64, 3, 3, 3)
    assert shapes["stage0.branch_scale.conv.weight"] == (64, 3, 1, 1)
    assert "stage0.branch_norm.weight" not in shapes
    assert shapes["stage1.0.branch_conv_list.0.conv.weight"] == (64, 1, 3, 3)  # depthwise
    assert shapes["stage1.1.branch_conv_list.0.conv.weight"] == (192, 64, 1, 1)  # pointwise
    assert "stage1.1.branch_scale.conv.weight" not in shapes  # 1x1 blocks have no scale branch
    assert shapes["stage1.2.branch_norm.running_mean"] == (192,)
    assert shapes["stage3.10.se.conv1.conv.weight"] == (56, 896, 1, 1)  # first of the 5 SE blocks
    assert "stage3.9.se.conv1.conv.weight" not in shapes
    assert shapes["stage4.1.se.conv2.conv.bias"] == (2048,)
    s0 = {k for k in build(arch="s0").state_dict()}
    assert {f"stage2.0.branch_conv_list.{i}.norm.weight" for i in range(4)} <= s0
    deploy = {k: tuple(v.shape) for k, v in build(arch="s0", deploy=True).state_dict().items()}
    assert deploy["stage2.0.branch_reparam.weight"] == (48, 1, 3, 3)
    assert deploy["stage2.0.branch_reparam.bias"] == (48,)


def test_deploy_gives_the_training_outputs():
    torch.manual_seed(0)
    net = build(arch=TINY, out_indices=(1, 3))
    randomize_bn(net)
    net.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = net(x)
        net.switch_to_deploy()
        after = net(x)
    for b, a in zip(before, after):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    fresh = build(arch=TINY, out_indices=(1, 3), deploy=True).eval()
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
    net = build(arch=TINY, frozen_stages=2, out_indices=(3,))
    checks.assert_frozen_after_step(net, ["stage0.", "stage1.", "stage2."], torch.randn(2, 3, 32, 32))
    checks.assert_norm_eval(build(arch=TINY, norm_eval=True))


def test_bad_arguments():
    with pytest.raises(Exception, match="MobileOne: unknown arch 's9'"):
        build(arch="s9")
    with pytest.raises(Exception, match="stage 1 has 2 blocks but num_se_blocks asks for 3"):
        build(arch=dict(TINY, num_se_blocks=[0, 3, 0, 0]))
    with pytest.raises(Exception, match="list of 4 entries"):
        build(arch=dict(TINY, num_blocks=[1, 1, 1]))
    with pytest.raises(ValueError, match="out_indices"):
        build(arch="s0", out_indices=(4,))


@pytest.mark.parametrize("name,params", [("mobileone-s0_8xb32_in1k", 5.29), ("mobileone-s0_deploy_8xb32_in1k", 2.08),
                                         ("mobileone-s4_8xb32_in1k", 14.95)])
def test_shipped_configs_build(name, params):
    cfg = Config.fromfile(find_config(name))
    assert cfg.train_dataloader.dataset.pipeline[1].scale == 160  # progressive resizing starts small
    assert cfg.custom_hooks[0].type == "SwitchRecipeHook"
    with torch.device("meta"):
        model = MODELS.build(cfg.model)
    assert round(count(model) / 1e6, 2) == params
