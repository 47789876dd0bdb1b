"""The MMCV 2.x image surface: backends, resize helpers, in-place flip, LUT/CLAHE/equalize, YCbCr/HLS,
tensor2imgs; pixel values equal MMCV's (same formula, same rounding); the crash fixes."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance

from loomcv import image as I
from loomcv.registry import TRANSFORMS


@pytest.fixture
def img():
    return np.random.RandomState(0).randint(0, 256, (6, 8, 3), np.uint8)


def test_use_backend_switches_the_default(tmp_path, img):
    assert I.supported_backends == ["cv2", "pillow"] and I.current_backend() == "cv2"
    I.imwrite(img, tmp_path / "a.png")
    try:
        I.use_backend("pillow")
        assert I.current_backend() == "pillow"
        assert np.array_equal(I.imread(tmp_path / "a.png"), img)
        assert np.array_equal(I.adjust_brightness(img, 0.5), I.adjust_brightness(img, 0.5, backend="pillow"))
    finally:
        I.use_backend("cv2")
    with pytest.raises(ValueError, match="'turbojpeg' is an MMCV backend loomcv does not implement"):
        I.use_backend("turbojpeg")
    with pytest.raises(ValueError, match="backend='pil'"):
        I.use_backend("pil")


def test_imwrite_and_imread_accept_file_client_args(tmp_path, img):
    with pytest.warns(DeprecationWarning, match="file_client_args"):
        assert I.imwrite(img, tmp_path / "deep" / "b.png", file_client_args=dict(backend="disk"))
    with pytest.warns(DeprecationWarning):
        assert np.array_equal(I.imread(tmp_path / "deep" / "b.png", file_client_args=dict(backend="disk")), img)
    assert I.imwrite(img, tmp_path / "c.png", auto_mkdir=False, backend_args=dict(backend="local"))
    with pytest.raises(ValueError, match="not both"):
        I.imwrite(img, tmp_path / "d.png", file_client_args={}, backend_args={})


def test_resize_helpers_and_in_place_flip(img):
    dst = np.zeros((3, 5))
    assert I.imresize_like(img, dst).shape == (3, 5, 3)
    out, ws, hs = I.imresize_like(img, dst, return_scale=True)
    assert (ws, hs) == (5 / 8, 3 / 6)
    assert I.imresize_to_multiple(img, 4, size=(10, 7)).shape == (8, 12, 3)          # (w, h) -> up to 12 x 8
    assert I.imresize_to_multiple(img, (4, 3), scale_factor=0.5).shape == (3, 4, 3)
    assert I.imresize_to_multiple(img, 5, size=(20, 20), keep_ratio=True).shape == (15, 20, 3)
    with pytest.raises(ValueError, match="exactly one of `size` and `scale_factor`"):
        I.imresize_to_multiple(img, 4)
    for direction, expected in (("horizontal", img[:, ::-1]), ("vertical", img[::-1]), ("diagonal", img[::-1, ::-1])):
        copy = img.copy()
        assert I.imflip_(copy, direction) is copy and np.array_equal(copy, expected)
    wide = np.arange(2 * 3 * 6, dtype=np.int16).reshape(2, 3, 6)  # not a cv2 type/channel count
    assert np.array_equal(I.imflip_(wide.copy()), wide[:, ::-1])


def test_blends_equal_mmcv_rounding(img):
    px = np.array([[[10, 200, 50]]], np.uint8)  # BGR; cv2's grey of it is 133
    assert I.bgr2gray(px)[0, 0] == 133
    # 0.5 * 10 + 0.5 * 133 = 71.5: cv2.addWeighted rounds to 72 (MMCV); truncating gave 71
    assert I.adjust_color(px, 0.5)[0, 0, 0] == 72
    expected = cv2.addWeighted(img, 0.3, np.tile(I.bgr2gray(img)[..., None], (1, 1, 3)), 0.7, 0)
    assert np.array_equal(I.adjust_color(img, 0.3), expected)
    assert np.array_equal(I.adjust_brightness(img, 1.7), np.clip(img.astype(np.float32) * 1.7, 0, 255).astype(np.uint8))
    pil = Image.fromarray(img[..., ::-1])
    for fn, enhancer, factor in ((I.adjust_brightness, "Brightness", 0.6), (I.adjust_contrast, "Contrast", 1.4),
                                 (I.adjust_color, "Color", 0.2)):
        ref = np.asarray(getattr(ImageEnhance, enhancer)(pil).enhance(factor))[..., ::-1]
        assert np.array_equal(fn(img, factor, backend="pillow"), ref)
        assert np.abs(fn(img, factor).astype(int) - ref).max() <= 2  # cv2 path: close to Pillow
    with pytest.raises(ValueError, match="backend='opencv'"):
        I.adjust_contrast(img, 1.0, backend="opencv")


def test_random_grayscale_equals_mmcv():
    px = np.array([[[10, 200, 50]]], np.uint8)
    out = TRANSFORMS.build(dict(type="RandomGrayscale", prob=1.0))(dict(img=px))["img"]
    assert out.shape == (1, 1, 1) and out[0, 0, 0] == 86  # (10 + 200 + 50) / 3 = 86.67, truncated as MMCV
    img = np.random.RandomState(1).randint(0, 256, (5, 7, 3), np.uint8)
    weights = np.array([0.3, 0.5, 0.2])
    kept = TRANSFORMS.build(dict(type="RandomGrayscale", prob=1.0, keep_channels=True,
                                 channel_weights=(0.3, 0.5, 0.2)))(dict(img=img))["img"]
    assert kept.shape == img.shape and np.array_equal(kept[..., 1], (weights * img).sum(axis=2).astype(np.uint8))
    hsv = TRANSFORMS.build(dict(type="RandomGrayscale", prob=0.0, color_format="hsv"))(dict(img=I.bgr2hsv(img)))
    assert np.abs(hsv["img"].astype(int) - img).max() <= 8  # back to BGR even when not greyed (as MMCV)


def test_histogram_lut_and_clahe(img):
    big = np.random.RandomState(3).randint(10, 200, (16, 16, 3), np.uint8)
    assert np.array_equal(I.imequalize(big), I.equalize(big))
    table = np.arange(256, dtype=np.uint8)[::-1].copy()
    assert np.array_equal(I.lut_transform(img, table), 255 - img)
    with pytest.raises(ValueError, match=r"shape \(256,\)"):
        I.lut_transform(img, table[:10])
    gray = I.bgr2gray(big)
    assert np.array_equal(I.clahe(gray, 2.0, (2, 2)), cv2.createCLAHE(2.0, (2, 2)).apply(gray))
    with pytest.raises(ValueError, match="2-D"):
        I.clahe(big)


def test_ycbcr_and_hls_conversions(img):
    y = I.rgb2ycbcr(np.array([[[255, 255, 255], [0, 0, 0]]], np.uint8))
    assert y.tolist() == [[[235, 128, 128], [16, 128, 128]]]  # BT.601 studio range
    assert np.array_equal(I.bgr2ycbcr(img), I.rgb2ycbcr(img[..., ::-1]))
    assert np.array_equal(I.bgr2ycbcr(img, y_only=True), I.rgb2ycbcr(img[..., ::-1], y_only=True))
    assert np.abs(I.ycbcr2bgr(I.bgr2ycbcr(img)).astype(int) - img).max() <= 2
    assert np.array_equal(I.ycbcr2rgb(I.bgr2ycbcr(img)), I.ycbcr2bgr(I.bgr2ycbcr(img))[..., ::-1])
    unit = img.astype(np.float32) / 255
    assert np.allclose(I.rgb2ycbcr(unit), I.rgb2ycbcr(img).astype(np.float32) / 255, atol=0.5 / 255 + 1e-6)
    with pytest.raises(TypeError, match="uint8 .* or float32"):
        I.rgb2ycbcr(img.astype(np.float64))
    assert np.array_equal(I.hls2bgr(I.bgr2hls(np.full((2, 2, 3), 128, np.uint8))), np.full((2, 2, 3), 128))


def test_tensor2imgs_undoes_normalization(img):
    mean, std = (10., 20., 30.), (2., 3., 4.)
    norm = I.imnormalize(img, mean, std, to_rgb=True)
    batch = torch.from_numpy(np.stack([norm, norm])).permute(0, 3, 1, 2)
    out = I.tensor2imgs(batch, mean, std, to_rgb=True)
    assert len(out) == 2 and out[0].dtype == np.uint8 and np.abs(out[0].astype(int) - img).max() <= 1
    assert I.tensor2imgs(torch.zeros(1, 1, 4, 5), to_rgb=False)[0].shape[:2] == (4, 5)
    with pytest.raises(ValueError, match="to_rgb=False"):
        I.tensor2imgs(torch.zeros(1, 1, 4, 5))
    with pytest.raises(TypeError, match="NxCxHxW"):
        I.tensor2imgs(torch.zeros(3, 4, 5))


def test_the_three_crash_fixes(img):
    with pytest.raises(ValueError, match="eigval must be a 1-D array"):
        I.adjust_lighting(img, 1.0, np.eye(3))
    with pytest.raises(ValueError, match="RandomFlip: direction must be one of"):
        TRANSFORMS.build(dict(type="RandomFlip", prob=0.1, direction=1))
    with pytest.raises(TypeError, match="adjust_hue: img must be a numpy array"):
        I.adjust_hue(Image.fromarray(img), 0.1)
    # the hue turn itself: a quarter turn moves pure blue's hue by a quarter of the 0-255 circle
    blue = np.zeros((1, 1, 3), np.uint8)
    blue[..., 0] = 255
    turned = I.adjust_hue(blue, 0.25)
    hue = cv2.cvtColor(turned, cv2.COLOR_BGR2HSV_FULL)[0, 0, 0]
    assert abs(int(hue) - (171 + 63)) <= 1  # blue sits at 240/360 * 256 = 171; 0.25 * 255 truncates to 63
    assert np.array_equal(I.adjust_hue(img, 0.1, backend="pillow").shape, img.shape)
