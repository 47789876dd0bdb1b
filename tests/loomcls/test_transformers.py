"""Vision Transformer, Swin Transformer and their bricks: shapes, MMPretrain
state-dict layout, parameter counts, position-embedding resizing, freezing,
window-shift masking and error messages. Behaviour tests use tiny archs."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import loomcls.models  # noqa: F401  (registers)
from loomcls.registry import MODELS
from loomcls.structures import DataSample
from loomcv.config import Config
from loomcv.model.bricks import FFN, MultiheadAttention, PatchEmbed, PatchMerging, resize_pos_embed

CONFIGS = Path(loomcls.models.__file__).parents[1] / "configs"
TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)
TINY_SWIN = dict(embed_dims=16, depths=[2, 2], num_heads=[2, 4])


def vit(**kw):
    args = dict(type="VisionTransformer", arch=TINY_VIT, img_size=32, patch_size=8)
    return MODELS.build({**args, **kw})


def swin(**kw):
    args = dict(type="SwinTransformer", arch=TINY_SWIN, img_size=32, patch_size=2, window_size=4, out_indices=(1,))
    return MODELS.build({**args, **kw})


def count_params(cfg) -> float:
    with torch.device("meta"):  # no memory, no init: the structure alone
        model = MODELS.build(cfg)
    return sum(p.numel() for p in model.parameters()) / 1e6


# ---- structure: the published sizes and MMPretrain's keys -------------------------------------------

@pytest.mark.parametrize("arch,dims,millions", [("b", 768, 86.57), ("deit-s", 384, 22.05), ("deit-t", 192, 5.72)])
def test_vit_parameter_counts_match_published(arch, dims, millions):
    cfg = dict(type="ImageClassifier", backbone=dict(type="VisionTransformer", arch=arch, img_size=224),
               head=dict(type="VisionTransformerClsHead", num_classes=1000, in_channels=dims))
    assert count_params(cfg) == pytest.approx(millions, abs=0.005)


@pytest.mark.parametrize("arch,dims,millions", [("tiny", 768, 28.29), ("s", 768, 49.61), ("base", 1024, 87.77)])
def test_swin_parameter_counts_match_published(arch, dims, millions):
    cfg = dict(type="ImageClassifier", backbone=dict(type="SwinTransformer", arch=arch, img_size=224),
               neck=dict(type="GlobalAveragePooling"),
               head=dict(type="LinearClsHead", num_classes=1000, in_channels=dims))
    assert count_params(cfg) == pytest.approx(millions, abs=0.005)


def mmpretrain_vit_keys(num_layers, final="ln1"):
    """The (key, shape) layout of MMPretrain 1.2's ViT-B/16 at 224, written from its source."""
    keys = {"cls_token": (1, 1, 768), "pos_embed": (1, 197, 768),
            "patch_embed.projection.weight": (768, 3, 16, 16), "patch_embed.projection.bias": (768,)}
    for i in range(num_layers):
        p = f"layers.{i}."
        keys.update({p + "ln1.weight": (768,), p + "ln1.bias": (768,),
                     p + "attn.qkv.weight": (2304, 768), p + "attn.qkv.bias": (2304,),
                     p + "attn.proj.weight": (768, 768), p + "attn.proj.bias": (768,),
                     p + "ln2.weight": (768,), p + "ln2.bias": (768,),
                     p + "ffn.layers.0.0.weight": (3072, 768), p + "ffn.layers.0.0.bias": (3072,),
                     p + "ffn.layers.1.weight": (768, 3072), p + "ffn.layers.1.bias": (768,)})
    keys.update({f"{final}.weight": (768,), f"{final}.bias": (768,)})
    return keys


def test_vit_base_state_dict_layout_is_mmpretrains():
    with torch.device("meta"):
        backbone = MODELS.build(dict(type="VisionTransformer", arch="base"))
        avg = MODELS.build(dict(type="VisionTransformer", arch="base", out_type="avg_featmap", final_norm=False))
        head = MODELS.build(dict(type="VisionTransformerClsHead", num_classes=10, in_channels=768, hidden_dim=32))
    assert {k: tuple(v.shape) for k, v in backbone.state_dict().items()} == mmpretrain_vit_keys(12)
    assert {k: tuple(v.shape) for k, v in avg.state_dict().items()} == mmpretrain_vit_keys(12, final="ln2")
    assert list(head.state_dict()) == ["layers.pre_logits.weight", "layers.pre_logits.bias",
                                       "layers.head.weight", "layers.head.bias"]


def test_swin_tiny_state_dict_layout_is_mmpretrains():
    with torch.device("meta"):
        model = MODELS.build(dict(type="SwinTransformer", arch="tiny", out_indices=(0, 3)))
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    block = "stages.2.blocks.5."
    assert shapes[block + "attn.w_msa.relative_position_bias_table"] == (169, 12)
    assert shapes[block + "attn.w_msa.relative_position_index"] == (49, 49)
    assert shapes[block + "attn.w_msa.qkv.weight"] == (1152, 384)
    assert shapes[block + "attn.w_msa.proj.weight"] == (384, 384)
    assert shapes[block + "norm1.weight"] == shapes[block + "norm2.bias"] == (384,)
    assert shapes[block + "ffn.layers.0.0.weight"] == (1536, 384)
    assert shapes[block + "ffn.layers.1.weight"] == (384, 1536)
    assert shapes["stages.0.downsample.norm.weight"] == (384,)
    assert shapes["stages.0.downsample.reduction.weight"] == (192, 384)
    assert "stages.3.downsample.reduction.weight" not in shapes  # the last stage does not merge
    assert shapes["patch_embed.projection.weight"] == (96, 3, 4, 4) and "patch_embed.norm.weight" in shapes
    assert shapes["norm0.weight"] == (96,) and shapes["norm3.weight"] == (768,)
    assert "norm1.weight" not in shapes
    per_block = 14  # norm1 x2, table, index, qkv x2, proj x2, norm2 x2, ffn x4
    assert len(shapes) == 4 + 12 * per_block + 3 * 3 + 2 * 2


# ---- bricks --------------------------------------------------------------------------------------------

def test_multihead_attention_equals_the_textbook_formula():
    torch.manual_seed(0)
    attn = MultiheadAttention(16, 4, qkv_bias=True).eval()
    x = torch.randn(2, 5, 16)
    q, k, v = attn.qkv(x).view(2, 5, 3, 4, 4).permute(2, 0, 3, 1, 4)
    weights = torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1)  # head_dims 4 -> scale 1/2
    expected = attn.proj((weights @ v).transpose(1, 2).reshape(2, 5, 16))
    torch.testing.assert_close(attn(x), expected)
    scaled = MultiheadAttention(16, 4, layer_scale_init_value=0.1)
    assert list(scaled.state_dict())[-1] == "gamma1.weight"
    # MMCV's LayerScale keeps its scale as `weight` (DINOv2 checkpoints: layers.N.ffn.gamma2.weight)
    assert list(FFN(16, 32, layer_scale_init_value=0.1).state_dict())[-1] == "gamma2.weight"
    with pytest.raises(ValueError, match="embed_dims .* divisible by num_heads"):
        MultiheadAttention(10, 4)


def test_patch_embed_pads_corner_and_patch_merging_order():
    embed = PatchEmbed(in_channels=3, embed_dims=8, kernel_size=4, input_size=10, norm_cfg=dict(type="LN"))
    assert embed.init_out_size == (3, 3)  # 10 padded to 12
    tokens, size = embed(torch.randn(2, 3, 10, 10))
    assert tokens.shape == (2, 9, 8) and size == (3, 3)
    merge = PatchMerging(4, 6, norm_cfg=None)
    x = torch.randn(1, 4, 4, 4)  # B, C, H, W
    out, size = merge(x.flatten(2).transpose(1, 2), (4, 4))
    # nn.Unfold order: channel-major, then the 2x2 neighbourhood (what MMPretrain checkpoints expect)
    expected = merge.reduction(F.unfold(x, 2, stride=2).transpose(1, 2))
    assert size == (2, 2)
    torch.testing.assert_close(out, expected)


def test_resize_pos_embed_keeps_cls_token_and_interpolates_the_grid():
    grid = torch.arange(16.0).view(1, 4, 4, 1).expand(1, 4, 4, 3).reshape(1, 16, 3)
    pos = torch.cat([torch.full((1, 1, 3), -7.0), grid], dim=1)
    out = resize_pos_embed(pos, (4, 4), (8, 6))
    assert out.shape == (1, 1 + 48, 3)
    assert torch.equal(out[:, 0], pos[:, 0])
    expected = F.interpolate(grid.view(1, 4, 4, 3).permute(0, 3, 1, 2), size=(8, 6), mode="bicubic")
    torch.testing.assert_close(out[:, 1:], expected.flatten(2).transpose(1, 2))
    assert resize_pos_embed(pos, (4, 4), (4, 4)) is pos
    with pytest.raises(ValueError, match="check img_size and patch_size"):
        resize_pos_embed(pos, (5, 5), (4, 4))


# ---- Vision Transformer behaviour -----------------------------------------------------------------------

@pytest.mark.parametrize("out_type,shape", [("raw", (2, 17, 32)), ("cls_token", (2, 32)),
                                            ("featmap", (2, 32, 4, 4)), ("avg_featmap", (2, 32))])
def test_vit_out_types_and_indices(out_type, shape):
    model = vit(out_type=out_type, out_indices=(0, -1)).eval()
    assert model.out_indices == (0, 1)
    outs = model(torch.randn(2, 3, 32, 32))
    assert len(outs) == 2 and all(tuple(o.shape) == shape for o in outs)


def test_vit_without_cls_token_and_final_norm_order():
    model = vit(out_type="featmap", with_cls_token=False)
    assert model.cls_token is None and model.pos_embed.shape == (1, 16, 32)
    assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 32, 4, 4)
    raw = vit(out_type="raw", out_indices=-1).eval()
    x = torch.randn(1, 3, 32, 32)
    out = raw(x)[0]  # the final norm is applied: per-token mean ~0 and std ~1 before the affine
    torch.testing.assert_close(out.mean(-1), torch.zeros(1, 17), atol=1e-5, rtol=0)


def test_vit_interpolates_pos_embed_for_another_input_size():
    model = vit(out_type="featmap").eval()
    torch.nn.init.normal_(model.pos_embed)
    x = torch.randn(1, 3, 48, 40)
    out = model(x)[0]
    assert out.shape == (1, 32, 6, 5)
    # the same as a model built for 48x40 that holds the interpolated embedding
    big = vit(out_type="featmap", img_size=(48, 40)).eval()
    state = model.state_dict()
    state["pos_embed"] = resize_pos_embed(model.pos_embed.detach(), (4, 4), (6, 5))
    big.load_state_dict(state)
    torch.testing.assert_close(big(x)[0], out)


def test_vit_loads_checkpoint_from_another_img_size(capsys):
    small = vit()
    torch.nn.init.normal_(small.pos_embed)
    large = vit(img_size=48)
    report = large.load_state_dict(small.state_dict())
    assert not report.missing_keys and not report.unexpected_keys
    assert large.pos_embed.shape == (1, 37, 32)
    torch.testing.assert_close(large.pos_embed.detach(),
                               resize_pos_embed(small.pos_embed.detach(), (4, 4), (6, 6)))
    assert "Resize the pos_embed shape from (1, 17, 32) to (1, 37, 32)" in "".join(capsys.readouterr())
    # a checkpoint with a class token loads into a model without one
    no_cls = vit(with_cls_token=False, out_type="featmap")
    no_cls.load_state_dict({k: v for k, v in small.state_dict().items() if k != "cls_token"})
    torch.testing.assert_close(no_cls.pos_embed.detach(), small.pos_embed.detach()[:, 1:])


def test_vit_state_dict_round_trip_and_prefix_loading():
    src, dst = vit(out_type="avg_featmap"), vit(out_type="avg_featmap")
    report = dst.load_state_dict(src.state_dict(), strict=True)
    assert not report.missing_keys and not report.unexpected_keys
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(src.eval()(x)[0], dst.eval()(x)[0])


def test_vit_frozen_stages_stop_gradients():
    model = vit(frozen_stages=1)
    model.train()
    frozen = [model.pos_embed, model.cls_token, *model.patch_embed.parameters(), *model.layers[0].parameters()]
    assert not any(p.requires_grad for p in frozen)
    assert all(p.requires_grad for p in model.layers[1].parameters())
    assert not model.layers[0].training and model.layers[1].training
    model(torch.randn(2, 3, 32, 32))[0].sum().backward()
    assert model.layers[0].attn.qkv.weight.grad is None
    assert model.layers[1].attn.qkv.weight.grad is not None
    all_frozen = vit(frozen_stages=2)
    assert not any(p.requires_grad for p in all_frozen.ln1.parameters())
    assert all(p.requires_grad for p in vit(frozen_stages=0).parameters())  # 0 freezes nothing (MMPretrain)


def test_vit_init_weights_and_drop_path_schedule():
    model = vit(drop_path_rate=0.2, init_cfg=[dict(type="Kaiming", layer="Conv2d", mode="fan_in",
                                                   nonlinearity="linear")])
    model.init_weights()
    assert model.pos_embed.detach().std() > 0  # truncated normal, std 0.02
    assert [layer.ffn.dropout_layer.drop_prob for layer in model.layers] == pytest.approx([0.0, 0.2])


def test_vit_errors_name_the_choices():
    with pytest.raises(ValueError, match=r"unknown arch 'bse'.*'deit-s'.*Did you mean: 'base'"):
        vit(arch="bse")
    with pytest.raises(ValueError, match=r"missing \['feedforward_channels'\]"):
        vit(arch=dict(embed_dims=32, num_layers=2, num_heads=2))
    with pytest.raises(ValueError, match="out_indices entry 5 is out of range for 2 layers"):
        vit(out_indices=5)
    with pytest.raises(ValueError, match="unknown out_type 'cls'.*'cls_token'"):
        vit(out_type="cls")
    with pytest.raises(ValueError, match="needs with_cls_token=True"):
        vit(with_cls_token=False)
    with pytest.raises(ValueError, match="smaller than the patch"):
        vit(img_size=4, patch_cfg=dict(padding=0))  # without corner padding no 8x8 patch fits
    model = vit()
    bad = dict(model.state_dict(), pos_embed=torch.zeros(1, 1 + 15, 32))
    with pytest.raises(ValueError, match="15 patch tokens are not a square grid"):
        model.load_state_dict(bad)


def test_classifier_with_vit_head_train_step_and_predict():
    from loomcv.optim import build_optim_wrapper

    model = MODELS.build(dict(
        type="ImageClassifier", backbone=dict(type="VisionTransformer", arch=TINY_VIT, img_size=32, patch_size=8),
        head=dict(type="VisionTransformerClsHead", num_classes=3, in_channels=32, hidden_dim=16,
                  loss=dict(type="LabelSmoothLoss", label_smooth_val=0.1)),
        data_preprocessor=dict(type="ClsDataPreprocessor", mean=[127.5] * 3, std=[127.5] * 3, num_classes=3),
        train_cfg=dict(augments=dict(type="Mixup", alpha=0.2))))
    model.init_weights()
    assert not model.head.layers.head.weight.detach().any()  # Constant(0) on the head's Linear layers
    assert model.head.layers.pre_logits.weight.detach().std() > 0  # LeCun normal for the hidden layer
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type="AdamW", lr=1e-3, weight_decay=0.3),
                                              paramwise_cfg=dict(custom_keys={".cls_token": dict(decay_mult=0.0)})))
    data = dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(4)],
                data_samples=[DataSample().set_gt_label(i % 3) for i in range(4)])
    before = model.backbone.layers[0].attn.qkv.weight.detach().clone()
    log_vars = model.train_step(data, wrapper)
    assert torch.isfinite(log_vars["loss"])
    assert not torch.equal(before, model.backbone.layers[0].attn.qkv.weight)
    preds = model.val_step(data)
    assert len(preds) == 4 and preds[0].pred_score.shape == (3,)


# ---- Swin Transformer behaviour ----------------------------------------------------------------------

def test_swin_outputs_for_each_index_and_after_downsample():
    model = swin(out_indices=(0, -1)).eval()
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 16, 16), (2, 32, 8, 8)]
    after = swin(out_indices=(0, 1), out_after_downsample=True).eval()
    assert [tuple(o.shape) for o in after(torch.randn(1, 3, 32, 32))] == [(1, 32, 8, 8), (1, 32, 8, 8)]
    assert after.norm0.normalized_shape == (32,)


def test_swin_shift_mask_keeps_wrapped_regions_apart():
    from loomcls.models.backbones.swin_transformer import ShiftWindowMSA

    attn = ShiftWindowMSA(embed_dims=8, num_heads=2, window_size=4, shift_size=2).eval()
    mask = attn.get_attn_mask((8, 8), 4, 2)
    assert mask.shape == (4, 16, 16)
    assert not mask[0].any()  # the top-left window holds one region only
    assert set(mask[3].unique().tolist()) == {-100.0, 0.0}  # the corner window mixes four regions
    x = torch.randn(1, 64, 8)
    base = attn(x, (8, 8))
    # token (0, 0) is rolled into the bottom-right window next to token (7, 7) but must not reach it
    moved = x.clone()
    moved[0, 0] += 10
    assert torch.allclose(attn(moved, (8, 8))[0, 63], base[0, 63], atol=1e-5)
    # token (6, 6) is in the same region as (7, 7) and does reach it
    near = x.clone()
    near[0, 6 * 8 + 6] += 10
    assert not torch.allclose(attn(near, (8, 8))[0, 63], base[0, 63], atol=1e-3)


def test_window_attention_equals_the_textbook_formula():
    from loomcls.models.backbones.swin_transformer import WindowMSA

    torch.manual_seed(0)
    w_msa = WindowMSA(8, (2, 2), 2).eval()
    torch.nn.init.normal_(w_msa.relative_position_bias_table)
    x, mask = torch.randn(3, 4, 8), torch.zeros(3, 4, 4)
    mask[1, 0, 3] = -100.0
    q, k, v = w_msa.qkv(x).view(3, 4, 3, 2, 4).permute(2, 0, 3, 1, 4)
    # relative offset (dy, dx) of token j seen from token i -> table row (dy + 1) * 3 + (dx + 1)
    ys, xs = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])
    rows = (ys[:, None] - ys[None] + 1) * 3 + (xs[:, None] - xs[None] + 1)
    bias = w_msa.relative_position_bias_table[rows].permute(2, 0, 1)
    logits = q @ k.transpose(-2, -1) * 0.5 + bias + mask[:, None]
    expected = w_msa.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(3, 4, 8))
    torch.testing.assert_close(w_msa(x, mask), expected)


def test_swin_pad_small_map_on_a_non_multiple_input():
    with pytest.raises(ValueError, match=r"img_size 12 gives a 6x6 feature map at stage 0, smaller than "
                                         r"window_size 7.*pad_small_map=True"):
        swin(img_size=12, window_size=7)
    model = swin(img_size=12, window_size=7, pad_small_map=True, out_indices=(0, 1)).eval()
    outs = model(torch.randn(1, 3, 12, 12))  # 6x6 then 3x3 maps, padded to one 7x7 window
    assert [tuple(o.shape) for o in outs] == [(1, 16, 6, 6), (1, 32, 3, 3)]
    odd = swin(out_indices=(0, 1)).eval()  # 36x36 input: 18x18 map, not a multiple of the window 4
    outs = odd(torch.randn(1, 3, 36, 36))
    assert [tuple(o.shape) for o in outs] == [(1, 16, 18, 18), (1, 32, 9, 9)]
    unpadded = odd.stages[0].blocks[1].attn
    with pytest.raises(ValueError, match="smaller than window_size 4; set pad_small_map=True"):
        unpadded(torch.randn(1, 9, 16), (3, 3))


def test_swin_frozen_stages_and_norm_eval():
    model = swin(frozen_stages=0, out_indices=(0, 1), norm_eval=True,
                 patch_cfg=dict(norm_cfg=dict(type="BN")))  # a BN layer so norm_eval has something to hold
    model.train()
    assert not any(p.requires_grad for p in model.patch_embed.parameters())
    assert not any(p.requires_grad for p in model.stages[0].parameters())
    assert not any(p.requires_grad for p in model.norm0.parameters())
    assert all(p.requires_grad for p in model.stages[1].parameters())
    assert not model.stages[0].training and model.stages[1].training
    bn = swin(norm_eval=True, patch_cfg=dict(norm_cfg=dict(type="BN1d")))
    bn.train()
    assert not bn.patch_embed.norm.training and bn.stages[0].training
    assert swin(norm_eval=False, patch_cfg=dict(norm_cfg=dict(type="BN1d"))).train().patch_embed.norm.training


def test_swin_state_dict_round_trip_and_old_versions():
    src, dst = swin(out_indices=(0, 1)), swin(out_indices=(0, 1))
    state = src.state_dict()
    report = dst.load_state_dict(state, strict=True)
    assert not report.missing_keys and not report.unexpected_keys
    # an MMPretrain v1 checkpoint named the last output norm 'norm' and v2 stored attn_mask buffers
    old = {("norm." + k[len("norm1."):] if k.startswith("norm1.") else k): v for k, v in state.items()}
    old["stages.0.blocks.1.attn.attn_mask"] = torch.zeros(4, 16, 16)
    old = type(state)(old)
    old._metadata = {"": {"version": 1}}
    dst.load_state_dict(old, strict=True)
    torch.testing.assert_close(dst.norm1.weight, src.norm1.weight)


def test_swin_loads_relative_position_table_of_another_window(capsys):
    small = swin(window_size=2, pad_small_map=True)
    large = swin(window_size=4)
    report = large.load_state_dict(small.state_dict())
    assert not report.missing_keys and not report.unexpected_keys
    assert large.stages[0].blocks[0].attn.w_msa.relative_position_bias_table.shape == (49, 2)
    assert "Resize the relative_position_bias_table from (9, 2) to (49, 2)" in "".join(capsys.readouterr())


def test_swin_errors_and_abs_pos_embed():
    with pytest.raises(ValueError, match=r"unknown arch 'tinny'.*Did you mean: 'tiny'"):
        swin(arch="tinny")
    with pytest.raises(ValueError, match=r"missing \['num_heads'\]"):
        swin(arch=dict(embed_dims=16, depths=[2, 2]))
    with pytest.raises(ValueError, match="frozen_stages must be in -1..1"):
        swin(frozen_stages=2)
    model = swin(use_abs_pos_embed=True).eval()
    assert model.absolute_pos_embed.shape == (1, 256, 16)
    assert model(torch.randn(1, 3, 40, 40))[0].shape == (1, 32, 10, 10)
    assert "absolute_pos_embed" in model.state_dict()


# ---- configs --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,params", [("vision_transformer/vit-base-p16_64xb64_in1k.py", 91.23),
                                         ("swin_transformer/swin-tiny_16xb64_in1k.py", 28.29)])
def test_configs_load_and_build(path, params):
    cfg = Config.fromfile(str(CONFIGS / path))
    assert cfg.optim_wrapper.optimizer.type == "AdamW"
    assert [s.type for s in cfg.param_scheduler] == ["LinearLR", "CosineAnnealingLR"]
    assert cfg.param_scheduler[0].convert_to_iter_based
    model_cfg = dict(cfg.model, data_preprocessor=dict(cfg.data_preprocessor, type="ClsDataPreprocessor"))
    assert count_params(model_cfg) == pytest.approx(params, abs=0.01)  # ViT: the 3072-wide pre-logits layer adds 4.67M
    from loomcls.registry import TRANSFORMS
    for t in cfg.train_pipeline + cfg.test_pipeline:
        TRANSFORMS.build(t)


def test_print_config_cli_loads_the_configs(capsys):
    from loomcv.cli.main import main

    assert main(["print-config", str(CONFIGS / "swin_transformer/swin-tiny_16xb64_in1k.py")]) == 0
    assert "SwinTransformer" in capsys.readouterr().out
