"""Image IO and numpy ops on tiny synthetic images, checked against hand-computed values or Pillow."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from loomcv import image as I
from loomcv.errors import ConfigError


@pytest.fixture
def img():
    return np.random.RandomState(0).randint(0, 256, (6, 8, 3), np.uint8)


def test_imread_backends_orders_and_flags(tmp_path, img):
    path = tmp_path / "x.png"
    assert I.imwrite(img, path)
    assert np.array_equal(I.imread(path), img)
    assert np.array_equal(I.imread(str(path), channel_order="rgb"), img[..., ::-1])
    assert np.array_equal(I.imread(path, backend="pillow"), img)
    assert np.array_equal(I.imread(path, backend="pillow", channel_order="rgb"), img[..., ::-1])
    gray = I.imread(path, flag="grayscale")
    assert gray.shape == (6, 8)
    assert np.abs(gray.astype(int) - cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)).max() <= 1  # decoder rounding
    assert I.imread(img) is img
    with open(path, "rb") as f:
        assert np.array_equal(I.imfrombytes(f.read()), img)


def test_missing_and_corrupt_images_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        I.imread(tmp_path / "nope.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg at all")
    for backend in ("cv2", "pillow"):
        with pytest.raises(I.ImageDecodeError, match="broken.jpg"):
            I.imread(tmp_path / "broken.jpg", backend=backend)
    with pytest.raises(ConfigError, match="Did you mean: 'grayscale'"):
        I.imread(tmp_path / "broken.jpg", flag="greyscale")


def test_resize_and_rescale(img):
    out, ws, hs = I.imresize(img, (4, 3), return_scale=True)
    assert out.shape == (3, 4, 3) and (ws, hs) == (0.5, 0.5)
    assert I.imresize(img, (16, 12), interpolation="nearest")[::2, ::2].tolist() == img.tolist()
    assert I.imresize(img, (4, 3), backend="pillow", interpolation="bicubic").shape == (3, 4, 3)
    assert I.rescale_size((8, 6), 0.5) == (4, 3)
    assert I.rescale_size((8, 6), (100, 3)) == (4, 3)  # short edge 6 -> 3 wins
    assert I.imrescale(img, 2.0).shape == (12, 16, 3)
    with pytest.raises(ConfigError, match="interpolation='bilnear'"):
        I.imresize(img, (4, 3), interpolation="bilnear")


def test_crop_single_multi_and_padded(img):
    patch = I.imcrop(img, np.array([1, 2, 3, 4]))
    assert np.array_equal(patch, img[2:5, 1:4])
    patches = I.imcrop(img, np.array([[0, 0, 1, 1], [6, 4, 7, 5]]))
    assert [p.shape for p in patches] == [(2, 2, 3), (2, 2, 3)]
    padded = I.imcrop(img, np.array([6, 4, 9, 6]), pad_fill=7)
    assert padded.shape == (3, 4, 3)
    assert np.array_equal(padded[:2, :2], img[4:6, 6:8]) and (padded[2] == 7).all() and (padded[:, 2:] == 7).all()


def test_pad_values_and_modes(img):
    out = I.impad(img, shape=(8, 10), pad_val=(1, 2, 3))
    assert out.shape == (8, 10, 3) and np.array_equal(out[:6, :8], img)
    assert out[7, 9].tolist() == [1, 2, 3] and out[0, 9].tolist() == [1, 2, 3]
    out = I.impad(img, padding=(1, 2, 3, 4), pad_val=9)
    assert out.shape == (12, 12, 3) and np.array_equal(out[2:8, 1:9], img) and (out[0] == 9).all()
    edge = I.impad(img, padding=1, padding_mode="edge")
    assert np.array_equal(edge[0, 1:9], img[0]) and np.array_equal(edge[1:7, 0], img[:, 0])
    assert I.impad_to_multiple(img, 5).shape == (10, 10, 3)
    with pytest.raises(ConfigError, match="exactly one"):
        I.impad(img)


def test_flip_rotate_shear_translate(img):
    assert np.array_equal(I.imflip(img), img[:, ::-1])
    assert np.array_equal(I.imflip(img, "vertical"), img[::-1])
    assert np.array_equal(I.imflip(img, "diagonal"), img[::-1, ::-1])
    assert np.array_equal(I.imflip(I.imflip(img)), img)
    sq = img[:, :6]
    assert np.array_equal(I.imrotate(sq, 90, interpolation="nearest"), np.rot90(sq, k=-1))  # clockwise
    assert I.imrotate(img, 90, auto_bound=True).shape == (8, 6, 3)
    shifted = I.imtranslate(img, 2, border_value=5, interpolation="nearest")
    assert np.array_equal(shifted[:, 2:], img[:, :-2]) and (shifted[:, :2] == 5).all()
    down = I.imtranslate(img, -1, "vertical", interpolation="nearest")
    assert np.array_equal(down[:-1], img[1:])
    sheared = I.imshear(img, 1.0, interpolation="nearest", border_value=0)
    assert np.array_equal(sheared[1, 1:], img[1, :-1])  # row y shifted right by y


def test_normalize_and_color(img):
    out = I.imnormalize(img, [1, 2, 3], [2, 4, 8], to_rgb=True)
    expected = (img[..., ::-1].astype(np.float32) - [1, 2, 3]) / [2, 4, 8]
    assert out.dtype == np.float32 and np.allclose(out, expected)
    assert np.allclose(I.imdenormalize(out, [1, 2, 3], [2, 4, 8]), img)
    assert np.array_equal(I.bgr2rgb(img), img[..., ::-1])
    assert I.bgr2gray(img, keepdim=True).shape == (6, 8, 1)
    assert np.array_equal(I.imconvert(img, "bgr", "rgb"), img[..., ::-1])


def _pil(img):
    return Image.fromarray(img[..., ::-1])


def _back(pil):
    return np.asarray(pil)[..., ::-1]


def test_photometric_ops_match_pillow(img):
    big = np.random.RandomState(3).randint(10, 200, (16, 16, 3), np.uint8)
    assert np.array_equal(I.equalize(big), _back(ImageOps.equalize(_pil(big))))
    assert np.array_equal(I.auto_contrast(big), _back(ImageOps.autocontrast(_pil(big))))
    assert np.array_equal(I.posterize(img, 3), _back(ImageOps.posterize(_pil(img), 3)))
    assert np.array_equal(I.solarize(img, 100), _back(ImageOps.solarize(_pil(img), 100)))
    assert np.array_equal(I.iminvert(img), 255 - img)
    assert np.array_equal(I.adjust_brightness(img, 0.0), np.zeros_like(img))
    assert np.array_equal(I.adjust_brightness(img, 1.0), img)
    assert np.abs(I.adjust_brightness(img, 0.5).astype(int) - img // 2).max() <= 1
    gray = I.adjust_color(img, 0.0)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    flat = I.adjust_contrast(img, 0.0)
    assert len(np.unique(flat)) == 1
    assert np.array_equal(I.adjust_sharpness(img, 1.0), img)
    assert np.array_equal(I.adjust_hue(img, 0.0), cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL),
                                                               cv2.COLOR_HSV2BGR_FULL))
    np.random.seed(0)
    lit = I.adjust_lighting(img, np.array([1., 1., 1.]), np.eye(3), alphastd=0.0, to_rgb=False)
    assert np.allclose(lit, img)
    np.random.seed(0)
    cut = I.cutout(img, 2, pad_val=0)
    assert 1 <= (cut != img).any(axis=2).sum() <= 4 and (cut[(cut != img).any(axis=2)] == 0).all()
