"""Grad-CAM / Grad-CAM++ look where a synthetic model is made to look; ViT/Swin token reshape."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from loomcls.analysis import GradCAM, TokenReshape, default_target_layers, token_grid


class TwoEvidenceNet(nn.Module):
    """Class k's score is the mean of a 3x3-smoothed, thresholded copy of input channel k."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(2, 2, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2)
        with torch.no_grad():
            self.features[0].weight.zero_()
            for k in range(2):
                self.features[0].weight[k, k] = 1 / 9
            self.features[0].bias.fill_(-0.3)
            self.fc.weight.copy_(torch.eye(2))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def _evidence_image(size=32):
    """Channel 0 bright in the top-left quadrant, channel 1 in the bottom-right one."""
    image = torch.zeros(1, 2, size, size)
    q = size // 2
    image[0, 0, 4:q - 4, 4:q - 4] = 1.0
    image[0, 1, q + 4:size - 4, q + 4:size - 4] = 1.0
    return image


def _quadrant_of_peak(cam):
    y, x = np.unravel_index(np.argmax(cam), cam.shape)
    return int(y >= cam.shape[0] // 2), int(x >= cam.shape[1] // 2)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_cam_peaks_in_the_quadrant_holding_the_class_evidence(method):
    model = TwoEvidenceNet().eval()
    image = _evidence_image()
    cam = GradCAM(model, ["features.0"], method=method)
    maps, categories = cam(image, target_category=0)
    assert maps.shape == (1, 32, 32) and categories == [0]
    assert maps.min() == 0 and maps.max() == pytest.approx(1)
    assert _quadrant_of_peak(maps[0]) == (0, 0)
    q = 16
    assert maps[0, :q, :q].mean() > 5 * maps[0, q:, q:].mean()
    maps, _ = cam(image, target_category=1)
    assert _quadrant_of_peak(maps[0]) == (1, 1)
    # the default is the top class: make channel 1's evidence stronger
    image[0, 1] *= 2
    maps, categories = cam(image)
    assert categories == [1] and _quadrant_of_peak(maps[0]) == (1, 1)


def test_cam_errors_name_the_problem():
    model = TwoEvidenceNet().eval()
    with pytest.raises(ValueError, match="method must be one of"):
        GradCAM(model, ["features.0"], method="scorecam")
    with pytest.raises(ValueError, match="no layer 'features.9'"):
        GradCAM(model, ["features.9"])
    with pytest.raises(ValueError, match="outside"):
        GradCAM(model, ["features.0"])(_evidence_image(), target_category=5)
    with pytest.raises(ValueError, match=r"gives shape \(1, 2\)"):
        GradCAM(model, [model.fc])(_evidence_image())  # not a spatial map
    assert default_target_layers(model) == ["features.0"]  # no norm layer: the last convolution


def test_token_reshape_keeps_the_patch_order():
    tokens = torch.arange(1 + 8 * 4, dtype=torch.float32)[None, :, None].repeat(2, 1, 3)  # (2, 33, 3)
    grid = TokenReshape(num_extra_tokens=1, input_hw=(64, 32))(tokens)
    assert grid.shape == (2, 3, 8, 4)
    np.testing.assert_array_equal(grid[0, 0].numpy(), np.arange(1, 33).reshape(8, 4))
    swin = TokenReshape(num_extra_tokens=0, input_hw=(32, 64))(tokens[:, 1:])  # Swin: no extra token
    assert swin.shape == (2, 3, 4, 8)
    assert token_grid(49, (224, 224)) == (7, 7) and token_grid(12, (30, 40)) == (3, 4)
    with pytest.raises(ValueError, match="square"):
        TokenReshape(0)(torch.zeros(1, 12, 3))


def test_cam_on_a_tiny_vit_and_swin():
    from loomcls.models.backbones.swin_transformer import SwinTransformer
    from loomcls.models.backbones.vision_transformer import VisionTransformer
    torch.manual_seed(0)
    vit = VisionTransformer(arch=dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32),
                            img_size=32, patch_size=8, in_channels=3)
    head = nn.Linear(16, 3)

    class ViTClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = vit, head

        def forward(self, x):
            return self.head(self.backbone(x)[-1])

    model = ViTClassifier().eval()
    layers = default_target_layers(model, vit_like=True)
    assert layers[0].startswith("backbone.") and "ln" in layers[0]
    image = torch.rand(1, 3, 32, 32)
    maps, _ = GradCAM(model, layers, reshape_transform=TokenReshape(1))(image)
    assert maps.shape == (1, 32, 32) and np.isfinite(maps).all() and maps.max() == pytest.approx(1)
    with pytest.raises(ValueError, match="token reshape"):
        GradCAM(model, layers)(image)

    swin = SwinTransformer(arch=dict(embed_dims=8, depths=[1, 1], num_heads=[1, 2]), img_size=(64, 128),
                           patch_size=4, window_size=4, out_indices=(1,), drop_path_rate=0.0)  # 16x32 then 8x16 maps

    class SwinClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = swin, nn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.backbone(x)[-1].mean(dim=(2, 3)))

    model = SwinClassifier().eval()
    layers = default_target_layers(model, vit_like=True)
    maps, _ = GradCAM(model, layers, reshape_transform=TokenReshape(0))(torch.rand(1, 3, 64, 128))
    assert maps.shape == (1, 64, 128) and np.isfinite(maps).all()
