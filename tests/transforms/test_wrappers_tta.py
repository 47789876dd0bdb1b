"""KeyMapper / TransformBroadcaster (MMCV 2.x semantics), RandomApply, TestTimeAug, MultiScaleFlipAug,
cache_randomness / avoid_cache_randomness, ToTensor with dotted keys."""

import numpy as np
import pytest
import torch

from loomcv.registry import TRANSFORMS
from loomcv.structures import BaseDataElement
from loomcv.transforms import (BaseTransform, Compose, KeyMapper, TransformBroadcaster, avoid_cache_randomness,
                               cache_random_params, cache_randomness)


def build(**cfg):
    return TRANSFORMS.build(cfg)


class AddToImg(BaseTransform):
    """img += a random integer drawn once per call (cacheable)."""

    @cache_randomness
    def draw(self):
        return int(np.random.randint(1, 1000))

    def transform(self, results):
        results["img"] = results["img"] + self.draw()
        results["added"] = True
        return results


class Pair(BaseTransform):
    """Reads a dict-valued and a list-valued inner key, writes their sums back into them."""

    def transform(self, results):
        group = results["group"]
        results["group"] = dict(a=group["a"] + 1, b=group["b"] + 2)
        results["pair"] = [x * 10 for x in results["pair"]]
        return results


def test_key_mapper_renames_groups_hides_and_remaps():
    data = dict(img=np.zeros(2), gt_img=np.ones(2), x=1, y=2, z=3, mask="m")
    out = KeyMapper(transforms=[AddToImg()], mapping=dict(img="gt_img"))(dict(data))
    assert np.array_equal(out["img"], data["img"]) and out["gt_img"][0] > 1
    assert "added" not in out, "inner keys that are not remapped are dropped"
    nested = KeyMapper(transforms=[Pair()], mapping=dict(group=dict(a="x", b="y"), pair=["y", "z"]),
                       remapping=dict(group=dict(a="x2", b="y2"), pair=["p", ...]))(dict(data))
    assert (nested["x2"], nested["y2"], nested["p"]) == (2, 4, 20) and nested["x"] == 1
    assert "z" in nested and nested["z"] == 3
    seen = {}

    def spy(results):
        seen.update(results)
        return results

    KeyMapper(transforms=[spy], mapping=dict(img="gt_img", mask=...))(dict(data))
    assert "mask" not in seen and np.array_equal(seen["img"], data["gt_img"])
    with pytest.raises(KeyError, match="'missing' is not in the results"):
        KeyMapper(transforms=[spy], mapping=dict(img="missing"))(dict(data))
    skipped = KeyMapper(transforms=[spy], mapping=dict(img="missing"), allow_nonexist_keys=True)(dict(data))
    assert "missing" not in skipped
    with pytest.raises(ValueError, match="not both"):
        KeyMapper(mapping=dict(a="b"), remapping=dict(a="b"), auto_remap=True)
    with pytest.raises(ValueError, match="dropped the sample"):
        KeyMapper(transforms=[lambda r: None], mapping=dict(img="gt_img"))(dict(data))


def test_transform_broadcaster_applies_per_item_and_shares_draws():
    data = dict(lq=np.zeros(3), gt=np.zeros(3), img_shape=(5, 5))
    np.random.seed(0)
    shared = TransformBroadcaster(transforms=[AddToImg()], mapping=dict(img=["lq", "gt"]),
                                  share_random_params=True)(dict(data))
    assert shared["lq"][0] == shared["gt"][0] > 0
    independent = TransformBroadcaster(transforms=[AddToImg()], mapping=dict(img=["lq", "gt"]))
    outs = [independent(dict(data)) for _ in range(3)]
    assert any(o["lq"][0] != o["gt"][0] for o in outs)

    class Shape(BaseTransform):
        def transform(self, results):
            results["img_shape"] = (len(results["img"]), results.get("img_shape", "hidden"))
            return results

    # '...' hides img_shape from the second run and keeps that run's result from being written back
    out = TransformBroadcaster(transforms=[Shape()], mapping=dict(img=["lq", "gt"], img_shape=["img_shape", ...]))(
        dict(data))
    assert out["img_shape"] == (3, (5, 5))
    listed = TransformBroadcaster(transforms=[AddToImg()])(dict(img=[np.zeros(1), np.zeros(1)]))
    assert len(listed["img"]) == 2
    with pytest.raises(ValueError, match="differ in length"):
        TransformBroadcaster(transforms=[AddToImg()], mapping=dict(img=["lq", "gt"], x=["lq"]))(dict(data))


def test_broadcast_flip_of_image_and_mask_with_shared_draws():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.random.seed(3)
    t = build(type="TransformBroadcaster", transforms=[dict(type="RandomFlip", prob=0.5)],
              mapping=dict(img=["img", "mask"]), share_random_params=True)
    for _ in range(10):
        out = t(dict(img=img.copy(), mask=img.copy()))
        assert np.array_equal(out["img"], out["mask"])


def test_random_apply_takes_one_transform_or_a_list():
    single = build(type="RandomApply", transforms=dict(type="RandomFlip", prob=1.0), prob=1.0)
    img = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(single(dict(img=img))["img"], img[:, ::-1])
    listed = build(type="RandomApply", transforms=[dict(type="RandomFlip", prob=1.0)] * 2, prob=1.0)
    assert np.array_equal(listed(dict(img=img))["img"], img)
    assert np.array_equal(build(type="RandomApply", transforms=AddToImg(), prob=0.0)(dict(img=img))["img"], img)


def test_cache_randomness_refuses_non_methods_and_avoid_cache_randomness():
    with pytest.raises(TypeError, match="instance methods"):
        cache_randomness(lambda x: x)
    with pytest.raises(TypeError, match="methods of a transform"):
        cache_randomness(staticmethod(lambda: 1))

    @avoid_cache_randomness
    class Unshareable(BaseTransform):
        def transform(self, results):
            results["v"] = np.random.rand()
            return results

    class Shareable(Unshareable):  # the mark is not inherited
        pass

    with pytest.raises(RuntimeError, match="Unshareable is marked avoid_cache_randomness"):
        with cache_random_params(Compose([AddToImg(), Unshareable()])):
            pass
    with cache_random_params(Compose([Shareable()])):
        pass
    with pytest.raises(RuntimeError, match="has cache_randomness methods"):
        avoid_cache_randomness(AddToImg)
    with pytest.raises(TypeError, match="BaseTransform subclasses"):
        avoid_cache_randomness(dict)
    with pytest.raises(RuntimeError, match="avoid_cache_randomness"):
        TransformBroadcaster(transforms=[Unshareable()], mapping=dict(img=["a", "b"]),
                             share_random_params=True)(dict(a=1, b=2))
    assert TransformBroadcaster(transforms=[Unshareable()], mapping=dict(img=["a", "b"]))(dict(a=1, b=2))


class Pack(BaseTransform):
    def transform(self, results):
        sample = BaseDataElement(metainfo=dict(img_shape=results["img_shape"], flip=results["flip"],
                                               flip_direction=results["flip_direction"]))
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(results["img"])), data_samples=sample)


def test_test_time_aug_makes_every_combination():
    img = np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)
    tta = build(type="TestTimeAug", transforms=[
        [dict(type="Resize", scale=(60, 40)), dict(type="Resize", scale=(15, 10))],
        [dict(type="RandomFlip", prob=1.0), dict(type="RandomFlip", prob=0.0)],
        [Pack()]])
    original = dict(img=img, flip=None)
    out = tta(original)
    assert set(out) == {"inputs", "data_samples"} and len(out["inputs"]) == 4
    assert [tuple(x.shape) for x in out["inputs"]] == [(40, 60), (40, 60), (10, 15), (10, 15)]
    assert [s.flip for s in out["data_samples"]] == [True, False, True, False]
    assert torch.equal(out["inputs"][0], out["inputs"][1].flip(-1))
    assert original["flip"] is None and original["img"] is img, "each view works on a copy"
    with pytest.raises(ValueError, match="must not drop samples"):
        build(type="TestTimeAug", transforms=[[lambda r: None]])(dict(img=img))
    with pytest.raises(ValueError, match="non-empty list of non-empty lists"):
        build(type="TestTimeAug", transforms=[dict(type="RandomFlip", prob=1.0)])


def test_multi_scale_flip_aug_views():
    img = np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)
    boxes = np.array([[2, 4, 10, 12]], np.float32)
    msfa = build(type="MultiScaleFlipAug", scales=[(60, 40), (30, 20)], allow_flip=True,
                 flip_direction=["horizontal", "vertical"], transforms=[Pack()])
    out = msfa(dict(img=img, gt_bboxes=boxes))
    shapes = [s.img_shape for s in out["data_samples"]]
    assert shapes == [(40, 60)] * 3 + [(20, 30)] * 3
    assert [s.flip_direction for s in out["data_samples"]] == [None, "horizontal", "vertical"] * 2
    assert torch.equal(out["inputs"][4], torch.from_numpy(img[:, ::-1].copy()))
    by_factor = build(type="MultiScaleFlipAug", scale_factor=[0.5, 2.0], transforms=[Pack()])(dict(img=img))
    assert [s.img_shape for s in by_factor["data_samples"]] == [(10, 15), (40, 60)]
    with pytest.raises(ValueError, match="packing step"):
        build(type="MultiScaleFlipAug", scales=(30, 20), transforms=[])(dict(img=img))
    with pytest.warns(UserWarning, match="flip_direction has no effect"):
        build(type="MultiScaleFlipAug", scales=(30, 20), flip_direction="vertical", transforms=[Pack()])


def test_to_tensor_reaches_nested_keys():
    results = dict(instances=dict(bbox=np.ones((2, 4), np.float32), label=[1, 2]), gt_label=3)
    out = build(type="ToTensor", keys=["instances.bbox", "instances.label", "gt_label"])(results)
    assert isinstance(out["instances"]["bbox"], torch.Tensor) and out["instances"]["label"].tolist() == [1, 2]
    assert out["gt_label"].tolist() == [3]
    with pytest.raises(KeyError, match="'instances.mask' not found: instances has no 'mask'"):
        build(type="ToTensor", keys=["instances.mask"])(results)
