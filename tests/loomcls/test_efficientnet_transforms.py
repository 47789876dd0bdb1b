"""EfficientNet's crops and the pillow/bicubic resizes of the classification pipelines,
checked against PIL itself and against hand-computed crop windows."""

import numpy as np
import pytest
from PIL import Image

from loomcls.datasets.transforms import (EfficientNetCenterCrop, EfficientNetRandomCrop, RandomResizedCrop,
                                         ResizeEdge)
from loomcls.registry import TRANSFORMS
from loomcv.registry import default_scope
from loomcv.transforms import Resize


def image(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def pil_resize(img, size_wh, method=Image.BICUBIC):
    return np.asarray(Image.fromarray(img).resize(size_wh, method))


def test_pillow_bicubic_resize_edge_and_resize_are_pils_output():
    img = image(37, 53)
    out = ResizeEdge(scale=24, edge="short", backend="pillow", interpolation="bicubic").transform({"img": img})
    assert out["img"].shape == (24, 34, 3)  # 53 * 24 / 37 = 34.4 -> 34
    assert np.array_equal(out["img"], pil_resize(img, (34, 24)))
    out = Resize(scale=29, backend="pillow", interpolation="bicubic").transform({"img": img})
    assert np.array_equal(out["img"], pil_resize(img, (29, 29)))
    cv2_out = Resize(scale=29, backend="cv2", interpolation="bicubic").transform({"img": img})["img"]
    assert not np.array_equal(cv2_out, out["img"])  # the backends differ, so the test above can tell them apart


def test_pillow_bicubic_random_resized_crop_is_pils_resize_of_the_drawn_crop():
    img = image(40, 60)
    crop = RandomResizedCrop(scale=(20, 28), backend="pillow", interpolation="bicubic")
    np.random.seed(3)
    out = crop.transform({"img": img})["img"]
    np.random.seed(3)
    top, left, h, w = crop.rand_crop_params(img)
    assert out.shape == (20, 28, 3)
    assert np.array_equal(out, pil_resize(img[top:top + h, left:left + w], (28, 20)))


def test_center_crop_window_is_the_padded_fraction_of_the_short_side():
    img = image(100, 80)
    out = EfficientNetCenterCrop(crop_size=32, crop_padding=32, backend="pillow").transform({"img": img})
    # side = 32 / 64 * 80 = 40; offsets round((100 - 40) / 2) = 30 and round((80 - 40) / 2) = 20
    assert np.array_equal(out["img"], pil_resize(img[30:70, 20:60], (32, 32)))
    assert out["img_shape"] == (32, 32)
    img = image(50, 70, seed=1)
    out = EfficientNetCenterCrop(crop_size=24, backend="pillow", interpolation="bilinear").transform({"img": img})
    # side = 24 / 56 * 50 = 21.43 -> 21 pixels; offsets round(14.29) = 14 and round(24.29) = 24
    assert np.array_equal(out["img"], pil_resize(img[14:35, 24:45], (24, 24), Image.BILINEAR))
    no_padding = EfficientNetCenterCrop(crop_size=25, crop_padding=0, backend="pillow").transform({"img": img})
    assert np.array_equal(no_padding["img"], pil_resize(img[0:50, 10:60], (25, 25)))


def test_random_crop_draws_stay_within_the_area_ratio_and_coverage_bounds():
    img = image(60, 90)
    crop = EfficientNetRandomCrop(scale=16, min_covered=0.25, crop_ratio_range=(0.08, 1.0))
    area, fallbacks = 60 * 90, 0
    np.random.seed(0)
    for _ in range(300):
        top, left, h, w = crop.rand_crop_params(img)
        assert 0 <= top <= 60 - h and 0 <= left <= 90 - w
        if (top, left, h, w) == (20, 35, 20, 20):  # the centre-crop fallback: side 16 / 48 * 60 = 20
            fallbacks += 1
            continue
        assert max(0.25, 0.08) * area <= h * w <= area
        assert 3 / 4 - 0.05 <= w / h <= 4 / 3 + 0.05
    assert fallbacks < 30
    out = crop.transform({"img": img})
    assert out["img"].shape == (16, 16, 3) and out["img_shape"] == (16, 16)


def test_random_crop_falls_back_to_the_center_crop():
    img = image(45, 70)
    for kwargs in (dict(max_attempts=0), dict(min_covered=1.5)):  # no draw, or no draw can be kept
        crop = EfficientNetRandomCrop(scale=24, crop_padding=8, backend="pillow", **kwargs)
        expected = EfficientNetCenterCrop(crop_size=24, crop_padding=8, backend="pillow").transform({"img": img})
        # side = 24 / 32 * 45 = 33.75 -> 33; offsets round(5.625) = 6 and round(18.125) = 18
        assert crop.rand_crop_params(img) == (6, 18, 33, 33)
        assert np.array_equal(crop.transform({"img": img})["img"], expected["img"])


def test_random_crop_aspect_ratio_is_drawn_uniformly():
    """TF's sampler draws the ratio uniformly in the range (RandomResizedCrop draws its log)."""
    img = image(400, 400)
    crop = EfficientNetRandomCrop(scale=16, aspect_ratio_range=(0.25, 4.0), crop_ratio_range=(0.08, 0.1),
                                  min_covered=0.0)
    np.random.seed(1)
    ratios = []
    for _ in range(400):
        top, left, h, w = crop.rand_crop_params(img)
        ratios.append(w / h)
    ratios = np.array(ratios)
    # every ratio in [0.25, 4] fits at 8-10% of the area: uniform draws put about 79% of them
    # above 1.05 and 19% below 0.95 (log-uniform draws would split about evenly)
    assert (ratios > 1.05).mean() > 0.7 and (ratios < 0.95).mean() < 0.3


@pytest.mark.parametrize("cfg,match", [
    (dict(type="EfficientNetRandomCrop", scale=(224, 224)), "scale must be a positive int"),
    (dict(type="EfficientNetRandomCrop", scale=224, min_covered=-0.1), "min_covered must be a number >= 0"),
    (dict(type="EfficientNetRandomCrop", scale=224, crop_padding=-1), "crop_padding must be an int >= 0"),
    (dict(type="EfficientNetCenterCrop", crop_size=0), "crop_size must be a positive int"),
    (dict(type="EfficientNetCenterCrop", crop_size=224, interpolation="cubic"), "interpolation must be one of"),
])
def test_bad_arguments(cfg, match):
    with default_scope("loomcls"), pytest.raises(ValueError, match=match):
        TRANSFORMS.build(cfg)
