"""Each transform's geometry, values and keys on small synthetic images; validation; seeding.

These pipelines mix loomcv's transforms with the classification ones that moved to
loomcls, so every test here builds in the loomcls scope (as a classification
config does with default_scope='loomcls'); loomcv's own transforms are found
through the parent registry. The box-aware transforms are tested in test_geometry.py.
"""

import cv2
import numpy as np
import pytest
import torch

from loomcv.errors import ConfigError
from loomcv.registry import TRANSFORMS, default_scope
from loomcls.structures import DataSample
from loomcv.transforms import Compose


@pytest.fixture(autouse=True)
def classification_scope():
    with default_scope("loomcls"):
        yield


def build(**cfg):
    return TRANSFORMS.build(cfg)


@pytest.fixture
def img():
    return np.random.RandomState(0).randint(0, 256, (30, 40, 3), np.uint8)


def res(img, **extra):
    return dict(img=img.copy(), img_shape=img.shape[:2], ori_shape=img.shape[:2], **extra)


def test_load_image_from_file_keys_and_errors(tmp_path, img):
    cv2.imwrite(str(tmp_path / "a.png"), img)
    out = build(type="LoadImageFromFile")(dict(img_path=str(tmp_path / "a.png")))
    assert np.array_equal(out["img"], img) and out["img_shape"] == (30, 40) and out["ori_shape"] == (30, 40)
    out = build(type="LoadImageFromFile", to_float32=True, color_type="grayscale",
                imdecode_backend="pillow")(dict(img_path=str(tmp_path / "a.png")))
    assert out["img"].dtype == np.float32 and out["img"].shape == (30, 40)
    legacy = build(type="LoadImageFromFile", file_client_args=dict(backend="disk"))
    assert legacy(dict(img_prefix=str(tmp_path), img_info=dict(filename="a.png")))["img"].shape == (30, 40, 3)
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.jpg"):
        build(type="LoadImageFromFile")(dict(img_path=str(tmp_path / "bad.jpg")))
    with pytest.raises(FileNotFoundError, match="gone.jpg"):
        build(type="LoadImageFromFile")(dict(img_path=str(tmp_path / "gone.jpg")))
    assert build(type="LoadImageFromFile", ignore_empty=True)(dict(img_path=str(tmp_path / "gone.jpg"))) is None
    with pytest.raises(ConfigError, match="color_type='colour'.*Did you mean: 'color'"):
        build(type="LoadImageFromFile", color_type="colour")


def test_resize_family(img):
    out = build(type="Resize", scale=(20, 10))(res(img))
    assert out["img"].shape == (10, 20, 3) and out["img_shape"] == (10, 20)
    assert out["scale"] == (20, 10) and out["scale_factor"] == (0.5, 1 / 3) and out["keep_ratio"] is False
    out = build(type="Resize", scale=(100, 15), keep_ratio=True)(res(img))
    assert out["img_shape"] == (15, 20) and out["scale_factor"] == (0.5, 0.5)
    out = build(type="Resize", scale_factor=2.0)(res(img))
    assert out["img_shape"] == (60, 80) and out["scale"] == (80, 60)
    out = build(type="ResizeEdge", scale=15)(res(img))  # short edge (h=30) -> 15
    assert out["img_shape"] == (15, 20) and out["scale"] == (20, 15)
    assert build(type="ResizeEdge", scale=20, edge="long")(res(img))["img_shape"] == (15, 20)
    assert build(type="ResizeEdge", scale=10, edge="height")(res(img))["img_shape"] == (10, 13)
    np.random.seed(0)
    rr = build(type="RandomResize", scale=(40, 30), ratio_range=(0.5, 1.0), keep_ratio=True)
    shapes = {rr(res(img))["img_shape"] for _ in range(10)}
    assert len(shapes) > 1 and all(15 <= h <= 30 for h, _ in shapes)
    rr = build(type="RandomResize", scale=[(20, 10), (24, 12)])
    for _ in range(5):
        h, w = rr(res(img))["img_shape"]
        assert 10 <= h <= 12 and 20 <= w <= 24
    with pytest.raises(ConfigError, match="exactly one"):
        build(type="Resize")
    with pytest.raises(ConfigError, match="edge='shrt'.*'short'"):
        build(type="ResizeEdge", scale=3, edge="shrt")


def test_random_resized_crop_crops_inside_and_resizes(img):
    t = build(type="RandomResizedCrop", scale=16)
    assert t.scale == (16, 16)
    np.random.seed(1)
    for _ in range(20):
        oh, ow, th, tw = t.rand_crop_params(img)
        assert 0 <= oh and oh + th <= 30 and 0 <= ow and ow + tw <= 40
        assert 0.08 * 1200 * 0.8 <= th * tw <= 1200
        assert 3 / 4 * 0.8 <= tw / th <= 4 / 3 * 1.25
    out = t(res(img))
    assert out["img"].shape == (16, 16, 3) and out["img_shape"] == (16, 16)
    assert build(type="RandomResizedCrop", scale=(8, 12))(res(img))["img_shape"] == (8, 12)  # (h, w)
    # no attempt succeeds -> centre crop with the ratio clamped to 4/3: 40x30 is 4/3 already -> whole image
    fallback = build(type="RandomResizedCrop", scale=30, max_attempts=0)
    assert fallback.rand_crop_params(img) == (0, 0, 30, 40)
    wide = np.zeros((10, 40, 3), np.uint8)
    assert fallback.rand_crop_params(wide) == (0, (40 - 13) // 2, 10, 13)
    # a crop of the full image with ratio 1 keeps content
    whole = build(type="RandomResizedCrop", scale=(30, 40), crop_ratio_range=(1.0, 1.0),
                  aspect_ratio_range=(4 / 3, 4 / 3), interpolation="nearest")
    assert np.array_equal(whole(res(img))["img"], img)
    with pytest.raises(ConfigError, match="crop_ratio_range"):
        build(type="RandomResizedCrop", scale=3, crop_ratio_range=(0.9, 0.1))
    with pytest.raises(ConfigError, match="interpolation"):
        build(type="RandomResizedCrop", scale=3, interpolation="cubic")


def test_center_and_random_crop(img):
    out = build(type="CenterCrop", crop_size=(20, 10))(res(img))
    assert np.array_equal(out["img"], img[10:20, 10:30]) and out["img_shape"] == (10, 20)
    small = build(type="CenterCrop", crop_size=50, auto_pad=True)(res(img))
    assert small["img"].shape == (50, 50, 3) and (small["img"][40:] == 0).all()
    np.random.seed(0)
    rc = build(type="RandomCrop", crop_size=(10, 12))
    for _ in range(5):
        out = rc(res(img))
        crop = out["img"]
        assert crop.shape == (10, 12, 3)
        hits = [(y, x) for y in range(21) for x in range(29) if np.array_equal(img[y:y + 10, x:x + 12], crop)]
        assert hits, "the crop must be a window of the input"
    padded = build(type="RandomCrop", crop_size=40, padding=5, pad_val=7)
    out = padded(res(img))
    assert out["img"].shape == (40, 40, 3)
    needed = build(type="RandomCrop", crop_size=(36, 44), pad_if_needed=True, pad_val=0)
    assert needed(res(img))["img"].shape == (36, 44, 3)
    with pytest.raises(ConfigError, match="padding_mode='zeros'"):
        build(type="RandomCrop", crop_size=4, padding_mode="zeros")


def test_random_flip(img):
    out = build(type="RandomFlip", prob=1.0)(res(img))
    assert out["flip"] is True and out["flip_direction"] == "horizontal"
    assert np.array_equal(out["img"], img[:, ::-1])
    out = build(type="RandomFlip", prob=0.0)(res(img))
    assert out["flip"] is False and out["flip_direction"] is None and np.array_equal(out["img"], img)
    out = build(type="RandomFlip", prob=1.0, direction="vertical")(res(img))
    assert np.array_equal(out["img"], img[::-1])
    np.random.seed(0)
    t = build(type="RandomFlip", prob=[0.3, 0.3], direction=["horizontal", "vertical"])
    seen = {t(res(img))["flip_direction"] for _ in range(60)}
    assert seen == {"horizontal", "vertical", None}
    flips = [build(type="RandomFlip", prob=0.5)(res(img))["flip"] for _ in range(400)]
    assert 150 < sum(flips) < 250
    with pytest.raises(ConfigError, match="prob"):
        build(type="RandomFlip", prob=1.5)
    with pytest.raises(ConfigError, match="direction='horizonal'"):
        build(type="RandomFlip", prob=0.5, direction="horizonal")


def test_normalize_and_pad(img):
    out = build(type="Normalize", mean=[10, 20, 30], std=[2, 4, 5], to_rgb=True)(res(img))
    expected = (img[..., ::-1].astype(np.float32) - [10, 20, 30]) / [2, 4, 5]
    assert out["img"].dtype == np.float32 and np.allclose(out["img"], expected)
    assert out["img_norm_cfg"]["to_rgb"] is True and out["img_norm_cfg"]["mean"].tolist() == [10, 20, 30]
    out = build(type="Pad", size=(50, 32), pad_val=dict(img=9))(res(img))
    assert out["img"].shape == (32, 50, 3) and out["pad_shape"] == (32, 50, 3)
    assert (out["img"][30:] == 9).all() and (out["img"][:, 40:] == 9).all()
    assert np.array_equal(out["img"][:30, :40], img)
    assert out["pad_fixed_size"] == (50, 32) and out["pad_size_divisor"] is None
    assert build(type="Pad", size_divisor=16)(res(img))["img_shape"] == (32, 48)
    assert build(type="Pad", pad_to_square=True)(res(img))["img_shape"] == (40, 40)
    with pytest.raises(ConfigError, match="std must not contain 0"):
        build(type="Normalize", mean=[0, 0, 0], std=[1, 0, 1])


def test_color_transforms(img):
    np.random.seed(0)
    jit = build(type="ColorJitter", brightness=0.5, contrast=0.5, saturation=0.5, hue=0.1)
    out = jit(res(img))["img"]
    assert out.shape == img.shape and out.dtype == np.uint8 and not np.array_equal(out, img)
    assert np.array_equal(build(type="ColorJitter")(res(img))["img"], img)  # all off
    with pytest.raises(ConfigError, match="hue"):
        build(type="ColorJitter", hue=0.7)
    gray = build(type="RandomGrayscale", prob=1.0, keep_channels=True, channel_weights=(0.114, 0.587, 0.299))(res(img))
    g = gray["img"]
    assert g.shape == img.shape and (g[..., 0] == g[..., 2]).all()
    assert np.abs(g[..., 0].astype(int) - cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)).max() <= 1
    assert build(type="RandomGrayscale", prob=1.0)(res(img))["img"].shape == (30, 40, 1)
    assert np.array_equal(build(type="RandomGrayscale", prob=0.0)(res(img))["img"], img)
    light = build(type="Lighting", eigval=[1., 1., 1.], eigvec=np.eye(3).tolist(), alphastd=0.0)
    assert np.allclose(light(res(img))["img"], img)
    np.random.seed(0)
    erased = build(type="RandomErasing", erase_prob=1.0, min_area_ratio=0.1, max_area_ratio=0.1,
                   fill_color=(1, 2, 3))(res(img))["img"]
    changed = (erased != img).any(axis=2)
    assert 60 <= changed.sum() <= 150 and (erased[changed] == [1, 2, 3]).all()
    assert np.array_equal(build(type="RandomErasing", erase_prob=0.0)(res(img))["img"], img)


def test_augment_ops_values(img):
    apply = dict(prob=1.0, random_negative_prob=0.0)
    assert np.array_equal(build(type="Invert", prob=1.0)(res(img))["img"], 255 - img)
    assert np.array_equal(build(type="Solarize", thr=128, prob=1.0)(res(img))["img"],
                          np.where(img < 128, img, 255 - img))
    assert np.array_equal(build(type="Posterize", bits=2, prob=1.0)(res(img))["img"], img & 0b11000000)
    add = build(type="SolarizeAdd", magnitude=50, prob=1.0)(res(img))["img"]
    assert np.array_equal(add, np.where(img < 128, np.minimum(img.astype(int) + 50, 255), img))
    assert np.array_equal(build(type="Brightness", magnitude=-1.0, **apply)(res(img))["img"], np.zeros_like(img))
    shifted = build(type="Translate", magnitude=0.25, pad_val=0, **apply)(res(img))["img"]
    assert np.array_equal(shifted[:, 10:], img[:, :30]) and (shifted[:, :10] == 0).all()
    sq = img[:, :30]
    rot = build(type="Rotate", angle=90, **apply)(res(sq))["img"]
    assert np.array_equal(rot, np.rot90(sq, -1))
    neg = build(type="Rotate", angle=90, prob=1.0, random_negative_prob=1.0)(res(sq))["img"]
    assert np.array_equal(neg, np.rot90(sq, 1))
    assert build(type="Shear", magnitude=0.3, **apply)(res(img))["img"].shape == img.shape
    assert np.array_equal(build(type="Equalize", prob=0.0)(res(img))["img"], img)
    np.random.seed(0)
    cut = build(type="Cutout", shape=6, pad_val=0, prob=1.0)(res(img))["img"]
    assert 9 <= ((cut != img).any(axis=2)).sum() <= 36
    # magnitude from a range: level 5 of 10 halfway between the ends
    t = build(type="Rotate", magnitude_range=(0, 30), magnitude_level=5, **apply)
    assert t.strength() == pytest.approx(15)
    assert build(type="Posterize", magnitude_range=(4, 0), magnitude_level=5).random_magnitude() == 2
    with pytest.raises(ConfigError, match="exactly one of `angle` and `magnitude_range`"):
        build(type="Rotate")
    with pytest.raises(ConfigError, match="magnitude_level must be >= 0"):
        build(type="Rotate", magnitude_range=(0, 30), magnitude_level=-1)
    # above total_level the range extrapolates, as MMPretrain (its ResNeSt configs use level 12 of 10)
    assert build(type="Rotate", magnitude_range=(0, 30), magnitude_level=12, **apply).strength() == \
        pytest.approx(36)


def test_auto_and_rand_augment(img):
    aa = build(type="AutoAugment", policies="imagenet")
    assert len(aa.sub_policies) == 25
    assert aa.sub_policies[0].transforms[1].pad_val == 128  # hparams filled in
    np.random.seed(0)
    outs = [aa(res(img))["img"] for _ in range(10)]
    assert all(o.shape == img.shape and o.dtype == np.uint8 for o in outs)
    assert any(not np.array_equal(o, img) for o in outs)
    ra = build(type="RandAugment", policies="timm_increasing", num_policies=2, magnitude_level=9,
               magnitude_std=0.5, hparams=dict(pad_val=[104, 116, 124], interpolation="bicubic"))
    assert len(ra.transforms) == 15 and ra.transforms[3].interpolation == "bicubic"
    assert ra.transforms[3].pad_val == (104, 116, 124) and ra.transforms[3].magnitude_level == 9
    assert all(ra(res(img))["img"].shape == img.shape for _ in range(10))
    custom = build(type="AutoAugment", policies=[[dict(type="Invert", prob=1.0)]])
    assert np.array_equal(custom(res(img))["img"], 255 - img)
    with pytest.raises(ConfigError, match="Did you mean: 'imagenet'"):
        build(type="AutoAugment", policies="imagnet")
    with pytest.raises(ConfigError, match="needs a magnitude_range"):
        build(type="RandAugment", policies=[dict(type="Rotate")], num_policies=1, magnitude_level=3)


def test_pack_inputs_and_legacy_formatting(img):
    results = res(img, gt_label=2, img_path="a.jpg", flip=False, sample_idx=4, extra=5)
    packed = build(type="PackInputs", algorithm_keys=["extra"])(results)
    assert set(packed) == {"inputs", "data_samples"}
    inputs, sample = packed["inputs"], packed["data_samples"]
    assert inputs.shape == (3, 30, 40) and inputs.dtype == torch.uint8 and inputs.is_contiguous()
    assert torch.equal(inputs, torch.from_numpy(img).permute(2, 0, 1))
    assert isinstance(sample, DataSample) and sample.gt_label.tolist() == [2] and sample.extra == 5
    assert sample.img_path == "a.jpg" and sample.ori_shape == (30, 40) and sample.sample_idx == 4
    assert "img_path" in sample.metainfo_keys() and "extra" in sample.keys()
    gray = build(type="PackInputs")(dict(img=img[..., 0]))["inputs"]
    assert gray.shape == (1, 30, 40)
    flipped = build(type="PackInputs")(dict(img=img[:, ::-1]))["inputs"]
    assert torch.equal(flipped, torch.from_numpy(img[:, ::-1].copy()).permute(2, 0, 1))
    legacy = Compose([dict(type="ImageToTensor", keys=["img"]), dict(type="ToTensor", keys=["gt_label"]),
                      dict(type="Collect", keys=["img", "gt_label"])])
    out = legacy(res(img, gt_label=3))
    assert set(out) == {"img", "gt_label"} and out["img"].shape == (3, 30, 40)
    assert out["gt_label"].tolist() == [3] and out["gt_label"].dtype == torch.int64
    out = build(type="Transpose", keys=["img"], order=[2, 0, 1])(res(img))
    assert out["img"].shape == (3, 30, 40)
    out = build(type="ToNumpy", keys=["t"], dtype=np.float32)(dict(t=torch.ones(2)))
    assert isinstance(out["t"], np.ndarray) and out["t"].dtype == np.float32
    with pytest.raises(KeyError, match="gt_label"):
        build(type="Collect", keys=["gt_label"])(res(img))


def test_wrappers(img):
    assert np.array_equal(build(type="RandomApply", transforms=[dict(type="Invert", prob=1.0)], prob=1.0)(
        res(img))["img"], 255 - img)
    assert np.array_equal(build(type="RandomApply", transforms=[dict(type="Invert", prob=1.0)], prob=0.0)(
        res(img))["img"], img)
    choice = build(type="RandomChoice", transforms=[[dict(type="Invert", prob=1.0)], []], prob=[1.0, 0.0])
    assert np.array_equal(choice(res(img))["img"], 255 - img)
    mapper = build(type="KeyMapper", transforms=[dict(type="RandomFlip", prob=1.0)], mapping=dict(img="gt_img"))
    out = mapper(dict(img=img.copy(), gt_img=img.copy()))
    assert np.array_equal(out["gt_img"], img[:, ::-1]) and np.array_equal(out["img"], img)
    np.random.seed(0)
    broadcast = build(type="TransformBroadcaster", transforms=[dict(type="RandomResizedCrop", scale=8)],
                      mapping=dict(img=["img", "img2"]), share_random_params=True)
    out = broadcast(dict(img=img.copy(), img2=img.copy()))
    assert np.array_equal(out["img"], out["img2"]) and out["img"].shape == (8, 8, 3)
    independent = build(type="TransformBroadcaster", transforms=[dict(type="RandomResizedCrop", scale=8)],
                        mapping=dict(img=["img", "img2"]))
    outs = [independent(dict(img=img.copy(), img2=img.copy())) for _ in range(5)]
    assert any(not np.array_equal(o["img"], o["img2"]) for o in outs)
    drop = Compose([lambda r: None, dict(type="Invert", prob=1.0)])
    assert drop(res(img)) is None


IMAGENET_TRAIN = [
    dict(type="RandomResizedCrop", scale=16, backend="pillow"),
    dict(type="RandomFlip", prob=0.5, direction="horizontal"),
    dict(type="RandAugment", policies="timm_increasing", num_policies=2, magnitude_level=9, magnitude_std=0.5),
    dict(type="ColorJitter", brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type="RandomErasing", erase_prob=0.25, mode="rand"),
    dict(type="PackInputs"),
]


def test_pipeline_is_reproducible_under_a_seed(img):
    pipeline = Compose(IMAGENET_TRAIN)

    def run(seed):
        np.random.seed(seed)
        return torch.stack([pipeline(res(img))["inputs"] for _ in range(8)])

    a, b, c = run(3), run(3), run(4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_repr_shows_arguments_and_unknown_arguments_are_named():
    t = build(type="RandomResizedCrop", scale=224, crop_ratio_range=(0.2, 1.0), backend="pillow")
    text = repr(t)
    assert text.startswith("RandomResizedCrop(scale=(224, 224), crop_ratio_range=(0.2, 1.0)") and "pillow" in text
    assert repr(build(type="RandomFlip", prob=0.5)) == \
        "RandomFlip(prob=0.5, direction='horizontal', swap_seg_labels=None)"
    assert "mean=[1.0, 2.0, 3.0]" in repr(build(type="Normalize", mean=[1, 2, 3], std=[1, 1, 1]))
    with pytest.raises(TypeError, match="flip_prob"):
        build(type="RandomFlip", flip_prob=0.5)
    with pytest.raises(KeyError, match="RandomFlp"):
        build(type="RandomFlp")


def test_auto_augment_finds_its_operations_under_any_default_scope():
    """Its policies name loomcls transforms (Posterize, Solarize...): built from loomcls' registry, they are
    found even when the current scope is the engine's (a pipeline built outside a loomcls config)."""
    from loomcls.datasets.transforms import AutoAugment
    from loomcv.registry import default_scope

    with default_scope("loomcv"):
        augment = AutoAugment(policies="imagenet")
    assert {type(op).__name__ for p in augment.sub_policies for op in p.transforms} >= {"Posterize", "Solarize"}
    assert augment(dict(img=np.zeros((8, 8, 3), np.uint8)))["img"].shape == (8, 8, 3)
