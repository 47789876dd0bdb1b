"""LearningRateDecayOptimWrapperConstructor: learning rates worked out by hand for a 2-layer ViT."""

import pytest
import torch.nn as nn

from loomcls.models.utils.layer_depth import convnext_layer_depth, swin_layer_depth
from loomcls.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from loomcv.errors import ConfigError
from loomcv.optim import build_optim_wrapper
from loomcv.registry import DefaultScope


def _vit_classifier():
    return MODELS.build(dict(
        type="ImageClassifier",
        backbone=dict(type="VisionTransformer", img_size=8, patch_size=4,
                      arch=dict(embed_dims=8, num_layers=2, num_heads=2, feedforward_channels=16)),
        head=dict(type="VisionTransformerClsHead", num_classes=3, in_channels=8)))


def _groups(wrapper):
    return {g["param_name"]: (g["lr"], g["weight_decay"]) for g in wrapper.param_groups}


def test_two_layer_vit_learning_rates_by_hand():
    model = _vit_classifier()
    cfg = dict(optimizer=dict(type="AdamW", lr=0.1, weight_decay=0.05),
               constructor="LearningRateDecayOptimWrapperConstructor",
               paramwise_cfg=dict(layer_decay_rate=0.5, norm_decay_mult=0.0, bias_decay_mult=0.0,
                                  custom_keys={".cls_token": dict(decay_mult=0.0),
                                               ".pos_embed": dict(decay_mult=0.0)}))
    with DefaultScope.overwrite_default_scope("loomcls"):
        got = _groups(build_optim_wrapper(model, cfg))
    # 4 depths: embeddings 0, layers.0 -> 1, layers.1 -> 2, final norm and head 3.
    # lr = 0.1 * 0.5 ** (3 - depth): 0.0125, 0.025, 0.05, 0.1
    expected = {
        "backbone.cls_token": (0.0125, 0.0),
        "backbone.pos_embed": (0.0125, 0.0),
        "backbone.patch_embed.projection.weight": (0.0125, 0.05),
        "backbone.patch_embed.projection.bias": (0.0125, 0.0),
        "backbone.ln1.weight": (0.1, 0.0),
        "backbone.ln1.bias": (0.1, 0.0),
        "head.layers.head.weight": (0.1, 0.05),
        "head.layers.head.bias": (0.1, 0.0),
    }
    for layer, lr in ((0, 0.025), (1, 0.05)):
        p = f"backbone.layers.{layer}."
        expected.update({
            p + "ln1.weight": (lr, 0.0), p + "ln1.bias": (lr, 0.0),
            p + "ln2.weight": (lr, 0.0), p + "ln2.bias": (lr, 0.0),
            p + "attn.qkv.weight": (lr, 0.05), p + "attn.qkv.bias": (lr, 0.0),
            p + "attn.proj.weight": (lr, 0.05), p + "attn.proj.bias": (lr, 0.0),
            p + "ffn.layers.0.0.weight": (lr, 0.05), p + "ffn.layers.0.0.bias": (lr, 0.0),
            p + "ffn.layers.1.weight": (lr, 0.05), p + "ffn.layers.1.bias": (lr, 0.0),
        })
    assert set(got) == set(expected)
    for name, (lr, wd) in expected.items():
        assert got[name] == pytest.approx((lr, wd)), name


def test_frozen_parameters_get_no_group_and_flat_mult_applies():
    model = _vit_classifier()
    model.backbone.cls_token.requires_grad = False
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.get("LearningRateDecayOptimWrapperConstructor")(
        dict(optimizer=dict(type="SGD", lr=1.0, weight_decay=1.0)),
        dict(layer_decay_rate=0.9, flat_decay_mult=0.25))
    got = _groups(ctor(model))
    assert "backbone.cls_token" not in got
    assert got["backbone.pos_embed"] == pytest.approx((0.9 ** 3, 1.0))  # 3-D: not flat
    assert got["backbone.layers.1.ln2.bias"] == pytest.approx((0.9, 0.25))
    assert got["head.layers.head.weight"] == pytest.approx((1.0, 1.0))


def test_bad_paramwise_cfg_and_unknown_backbone():
    ctor_cls = OPTIM_WRAPPER_CONSTRUCTORS.get("LearningRateDecayOptimWrapperConstructor")
    with pytest.raises(ConfigError, match="layer_decay_rate.*Did you mean|layer_decay_rate"):
        ctor_cls(dict(optimizer=dict(type="SGD", lr=0.1)), dict(layer_decay=0.5))
    with pytest.raises(ConfigError, match="layer_decay_rate must be a number in"):
        ctor_cls(dict(optimizer=dict(type="SGD", lr=0.1)), dict(layer_decay_rate=1.5))
    model = nn.Module()
    model.backbone = nn.Linear(2, 2)
    with pytest.raises(NotImplementedError, match="Linear has no get_layer_depth"):
        ctor_cls(dict(optimizer=dict(type="SGD", lr=0.1)), dict(layer_decay_rate=0.5))(model)


def test_swin_and_convnext_depths():
    depths = [2, 2, 6, 2]  # 14 depths
    assert swin_layer_depth(depths, "backbone.patch_embed.projection.weight", "backbone.") == (0, 14)
    assert swin_layer_depth(depths, "backbone.stages.0.blocks.1.attn.w_msa.qkv.weight", "backbone.") == (2, 14)
    assert swin_layer_depth(depths, "backbone.stages.1.downsample.reduction.weight", "backbone.") == (4, 14)
    assert swin_layer_depth(depths, "backbone.stages.2.blocks.0.norm1.weight", "backbone.") == (5, 14)
    assert swin_layer_depth(depths, "backbone.norm3.weight", "backbone.") == (13, 14)
    assert swin_layer_depth(depths, "head.fc.weight", "backbone.") == (13, 14)
    deep = [3, 3, 27, 3]  # ConvNeXt-B: 14 depths, the third stage in groups of three
    assert convnext_layer_depth(deep, "backbone.downsample_layers.0.0.weight", "backbone.") == (0, 14)
    assert convnext_layer_depth(deep, "backbone.stages.1.2.gamma", "backbone.") == (2, 14)
    assert convnext_layer_depth(deep, "backbone.downsample_layers.2.1.weight", "backbone.") == (3, 14)
    assert convnext_layer_depth(deep, "backbone.stages.2.7.depthwise_conv.weight", "backbone.") == (5, 14)
    assert convnext_layer_depth(deep, "backbone.stages.3.0.gamma", "backbone.") == (12, 14)
    assert convnext_layer_depth(deep, "backbone.norm3.weight", "backbone.") == (13, 14)
    assert convnext_layer_depth([3, 3, 9, 3], "head.fc.bias", "backbone.") == (7, 8)


def test_swin_backbone_groups():
    model = MODELS.build(dict(type="SwinTransformer", arch=dict(embed_dims=8, depths=[1, 1], num_heads=[1, 1]),
                              img_size=16, window_size=2, out_indices=(1,)))
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.get("LearningRateDecayOptimWrapperConstructor")(
        dict(optimizer=dict(type="SGD", lr=1.0)), dict(layer_decay_rate=0.5))
    got = {g["param_name"]: g["lr"] for g in ctor(model).param_groups}
    # 4 depths: patch_embed 0, stage 0 block 0 -> 1 (its merging too), stage 1 block 0 -> 2, norms 3
    assert got["patch_embed.projection.weight"] == pytest.approx(0.125)
    assert got["stages.0.downsample.reduction.weight"] == pytest.approx(0.25)
    assert got["stages.1.blocks.0.ffn.layers.1.weight"] == pytest.approx(0.5)
    assert got["norm1.weight"] == pytest.approx(1.0)
