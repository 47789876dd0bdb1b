"""VisionTransformer's DINOv2 archs: layer scale, the SwiGLU MLP of the giant, published counts."""

import pytest
import torch

import loomcls.models  # noqa: F401  (registers)
from loomcls.models.utils.swiglu_ffn import SwiGLUFFNFused
from loomcls.registry import MODELS
from loomcv.config import Config
from loomcv.config.loader import find_config


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("config,published_m", [
    ("vit-small-p14_dinov2-pre_headless", 22.06), ("vit-base-p14_dinov2-pre_headless", 86.58),
    ("vit-large-p14_dinov2-pre_headless", 304.37), ("vit-giant-p14_dinov2-pre_headless", 1136.48)])
def test_published_parameter_counts(config, published_m):
    cfg = Config.fromfile(find_config(config))
    with torch.device("meta"):
        model = MODELS.build(cfg.model)
    assert round(count(model) / 1e6, 2) == published_m


def test_keys_and_layer_scale():
    with torch.device("meta"):
        net = MODELS.build(dict(type="VisionTransformer", arch="dinov2-giant", img_size=518, patch_size=14,
                                layer_scale_init_value=1e-5, layer_cfgs=dict(ffn_type="swiglu_fused")))
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    # SwiGLU hidden width: (int(6144 * 2 / 3) + 7) // 8 * 8 = 4096
    assert got["layers.0.ffn.w12.weight"] == (8192, 1536) and got["layers.0.ffn.w3.weight"] == (1536, 4096)
    assert got["layers.39.attn.gamma1.weight"] == got["layers.39.ffn.gamma2.weight"] == (1536,)
    assert got["pos_embed"] == (1, 37 * 37 + 1, 1536)
    small = MODELS.build(dict(type="VisionTransformer", arch="dinov2-s", img_size=28, patch_size=14,
                              layer_scale_init_value=1e-5))
    assert small.arch_settings == MODELS.get("VisionTransformer").arch_zoo["deit-small"]
    torch.testing.assert_close(small.layers[0].ffn.gamma2.weight, torch.full((384,), 1e-5))
    assert small(torch.randn(1, 3, 28, 28))[0].shape == (1, 384)


def test_swiglu_by_hand():
    torch.manual_seed(0)
    ffn = SwiGLUFFNFused(4, 12)  # hidden (int(12 * 2 / 3) + 7) // 8 * 8 = 8
    x = torch.randn(3, 4)
    h = ffn.w12(x)
    expected = x + ffn.w3(torch.nn.functional.silu(h[:, :8]) * h[:, 8:])
    torch.testing.assert_close(ffn(x), expected)


def test_bad_ffn_type():
    with pytest.raises(ValueError, match="ffn_type must be 'origin' or 'swiglu_fused'"):
        MODELS.build(dict(type="VisionTransformer", arch="dinov2-small", layer_cfgs=dict(ffn_type="swiglu")))
