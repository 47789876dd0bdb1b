import pytest
import torch
import torch.nn as nn

from loomcv.errors import ConfigError
from loomcv.optim import OptimWrapper, build_optim_wrapper
from loomcv.registry import OPTIM_WRAPPER_CONSTRUCTORS


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.conv = nn.Conv2d(3, 4, 3, bias=True)
        self.backbone.bn = nn.BatchNorm2d(4)
        self.backbone.dw = nn.Conv2d(4, 4, 3, groups=4, bias=False)
        self.backbone.cls_token = nn.Parameter(torch.zeros(4))
        self.head = nn.Linear(4, 2)
        self.gamma = nn.Parameter(torch.ones(2))


def _settings(wrapper):
    out = {}
    for group in wrapper.param_groups:
        for p in group["params"]:
            out[id(p)] = (group["lr"], group["weight_decay"])
    return out


def test_paramwise_cfg_every_parameter():
    model = Small()
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-2),
        paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.5, norm_decay_mult=0.0,
                           dwconv_decay_mult=0.1, flat_decay_mult=0.3,
                           custom_keys={"head": dict(lr_mult=0.5, decay_mult=0.0),
                                        "backbone.cls_token": dict(decay_mult=0.0, lr_mult=3.0),
                                        "backbone": dict(lr_mult=0.1)})))
    got = {name: _settings(wrapper)[id(p)] for name, p in model.named_parameters()}
    expected = {
        "gamma": (0.1, 1e-2 * 0.3),  # flat parameter, no custom key
        "backbone.cls_token": (0.3, 0.0),  # the longest key wins over 'backbone'
        "backbone.conv.weight": (0.1 * 0.1, 1e-2),
        "backbone.conv.bias": (0.1 * 0.1, 1e-2),  # custom key takes precedence over bias mults
        "backbone.bn.weight": (0.01, 1e-2),
        "backbone.bn.bias": (0.01, 1e-2),
        "backbone.dw.weight": (0.01, 1e-2),
        "head.weight": (0.05, 0.0),
        "head.bias": (0.05, 0.0),
    }
    assert set(got) == set(expected)
    for name, (lr, wd) in expected.items():
        assert got[name] == pytest.approx((lr, wd)), name


def test_paramwise_rules_without_custom_keys():
    model = Small()
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-2),
        paramwise_cfg=dict(bias_lr_mult=2.0, bias_decay_mult=0.5, norm_decay_mult=0.0,
                           dwconv_decay_mult=0.1, flat_decay_mult=0.3)))
    s = _settings(wrapper)
    b = model.backbone
    assert s[id(b.conv.weight)] == pytest.approx((0.1, 1e-2))
    assert s[id(b.conv.bias)] == pytest.approx((0.2, 5e-3))
    assert s[id(b.bn.weight)] == pytest.approx((0.1, 0.0))
    assert s[id(b.bn.bias)] == pytest.approx((0.1, 0.0))  # norm bias: norm rule, no bias lr mult
    assert s[id(b.dw.weight)] == pytest.approx((0.1, 1e-3))
    assert s[id(b.cls_token)] == pytest.approx((0.1, 3e-3))
    assert s[id(model.head.bias)] == pytest.approx((0.2, 5e-3))


def test_duplicate_parameters_and_bad_cfg():
    model = Small()
    model.tied = nn.Linear(4, 2)
    model.tied.weight = model.head.weight  # one tensor in two modules
    cfg = dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4), paramwise_cfg=dict(norm_decay_mult=0.0))
    with pytest.raises(ValueError, match="tied.weight is the same tensor as head.weight"):
        build_optim_wrapper(model, cfg)
    cfg["paramwise_cfg"]["bypass_duplicate"] = True
    assert isinstance(build_optim_wrapper(model, cfg), OptimWrapper)
    with pytest.raises(ConfigError, match="norm_decay_mult"):
        build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=0.1), paramwise_cfg=dict(norm_decay_mult=0)))
    with pytest.raises(ConfigError, match="Did you mean: 'bias_lr_mult'"):
        build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=0.1), paramwise_cfg=dict(bias_lr_mul=2)))


def test_wrapper_type_and_clip_from_config():
    model = Small()
    wrapper = build_optim_wrapper(model, dict(type="AmpOptimWrapper", dtype="bfloat16",
                                              optimizer=dict(type="AdamW", lr=1e-3),
                                              clip_grad=dict(max_norm=1.0), accumulative_counts=2))
    assert type(wrapper).__name__ == "AmpOptimWrapper" and wrapper.clip_grad_kwargs == {"max_norm": 1.0}


def test_mmcls_0x_tutorial_style_custom_constructor():
    @OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
    class MyOptimizerConstructor:
        def __init__(self, optimizer_cfg, paramwise_cfg=None):
            self.optimizer_cfg = optimizer_cfg

        def __call__(self, model):
            return torch.optim.SGD(model.head.parameters(), lr=self.optimizer_cfg["lr"])

    wrapper = build_optim_wrapper(Small(), dict(constructor="MyOptimizerConstructor",
                                                optimizer=dict(type="SGD", lr=0.05)))
    assert isinstance(wrapper, OptimWrapper) and wrapper.get_lr() == {"lr": [0.05]}


def test_a_misspelled_delete_key_warns_and_is_ignored_but_other_unknown_keys_fail():
    """MMPretrain's Twins configs write paramwise_cfg=dict(_delete=True, ...); MMEngine never reads it."""
    cfg = dict(optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-4),
               paramwise_cfg=dict(_delete=True, norm_decay_mult=0.0))
    with pytest.warns(UserWarning, match="did you mean `_delete_`"):
        wrapper = build_optim_wrapper(Small(), cfg)
    assert {wd for _, wd in _settings(wrapper).values()} == {0.0, 1e-4}  # the other settings still apply
    with pytest.raises(ConfigError, match="unknown paramwise_cfg key 'norm_decay_mul'"):
        build_optim_wrapper(Small(), dict(optimizer=dict(type="SGD", lr=0.1), paramwise_cfg=dict(norm_decay_mul=0.)))
