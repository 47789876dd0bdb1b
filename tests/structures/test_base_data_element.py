"""BaseDataElement: property fields, dict-like access, copies, device moves, to_dict and repr."""

import copy
import pickle

import numpy as np
import pytest
import torch

from loomcv.structures import BaseDataElement, InstanceData


class DetSample(BaseDataElement):
    """A detection sample whose instance fields are type-checked properties (the MMDetection way)."""

    @property
    def proposals(self):
        return self._proposals

    @proposals.setter
    def proposals(self, value):
        self.set_field(value, "_proposals", dtype=InstanceData)

    @proposals.deleter
    def proposals(self):
        del self._proposals

    @property
    def gt_instances(self):
        return self._gt_instances

    @gt_instances.setter
    def gt_instances(self, value):
        self.set_field(value, "_gt_instances", dtype=(InstanceData,))

    @gt_instances.deleter
    def gt_instances(self):
        del self._gt_instances

    @property
    def frozen(self):
        return 42


def boxes(n):
    return InstanceData(bboxes=torch.arange(4.0 * n).view(n, 4), labels=torch.arange(n))


def test_property_field_is_listed_under_its_public_name():
    s = DetSample(metainfo=dict(img_id=3))
    s.proposals = boxes(2)
    assert "proposals" in s and s.keys() == ["proposals"] and "_proposals" not in s.keys()
    assert s.all_keys() == ["img_id", "proposals"]
    assert s.proposals.bboxes.shape == (2, 4) and s.get("proposals") is s.proposals
    assert dict(s.items())["proposals"] is s.proposals


def test_property_field_checks_its_type_and_stores_nothing_on_failure():
    s = DetSample()
    with pytest.raises(TypeError, match=r"DetSample\._proposals must be InstanceData, got Tensor"):
        s.proposals = torch.rand(5, 4)
    assert "proposals" not in s and s.keys() == []
    with pytest.raises(TypeError, match="must be InstanceData, got dict"):
        s.set_data(dict(gt_instances=dict(bboxes=1)))
    assert s.keys() == []


def test_property_field_delete_pop_and_readonly():
    s = DetSample(proposals=boxes(1), gt_instances=boxes(3))
    assert s.keys() == ["proposals", "gt_instances"]
    del s.proposals
    assert "proposals" not in s and "_proposals" not in s and s.keys() == ["gt_instances"]
    popped = s.pop("gt_instances")
    assert len(popped) == 3 and s.keys() == [] and s.get("gt_instances", "gone") == "gone"
    with pytest.raises(AttributeError, match="read-only"):
        s.frozen = 1
    with pytest.raises(AttributeError, match="only be a data field"):
        s.set_metainfo(dict(proposals=boxes(1)))


def test_property_fields_survive_new_clone_and_moves():
    s = DetSample(metainfo=dict(img_id=1), proposals=boxes(2))
    shallow = s.new()
    assert shallow.proposals is s.proposals and shallow.img_id == 1
    deep = s.clone()
    deep.proposals.bboxes += 100
    assert s.proposals.bboxes.max() == 7 and deep.keys() == ["proposals"]
    assert deep.proposals is not s.proposals
    as_double = s.to(torch.float64)
    assert isinstance(as_double, DetSample) and as_double.proposals.bboxes.dtype == torch.float64
    assert s.proposals.bboxes.dtype == torch.float32
    as_np = s.numpy()
    assert isinstance(as_np.proposals.bboxes, np.ndarray)
    back = as_np.to_tensor()
    assert isinstance(back.proposals.labels, torch.Tensor) and back.proposals.labels.tolist() == [0, 1]
    other = DetSample()
    other.update(s)
    assert other.img_id == 1 and other.proposals is s.proposals


def test_to_dict_converts_nested_elements_recursively():
    inner = BaseDataElement(metainfo=dict(scale=2.0), label=torch.tensor([1]))
    middle = BaseDataElement(inner=inner, name="m")
    outer = DetSample(metainfo=dict(img_id=7), middle=middle, proposals=boxes(1))
    d = outer.to_dict()
    assert set(d) == {"img_id", "middle", "proposals"}
    assert d["img_id"] == 7 and d["middle"]["name"] == "m"
    assert d["middle"]["inner"] == {"scale": 2.0, "label": inner.label}
    assert isinstance(d["proposals"], dict) and d["proposals"]["labels"].tolist() == [0]


def test_key_value_item_views_keep_insertion_order():
    el = BaseDataElement(metainfo=dict(b=1, a=2), y=10, x=20)
    el.set_metainfo(dict(c=3, b=4))  # overwrite keeps the first position
    assert el.metainfo_keys() == ["b", "a", "c"] and el.metainfo_values() == [4, 2, 3]
    assert list(el.metainfo_items()) == [("b", 4), ("a", 2), ("c", 3)]
    assert el.keys() == ["y", "x"] and el.values() == [10, 20]
    assert el.all_keys() == ["b", "a", "c", "y", "x"] and el.all_values() == [4, 2, 3, 10, 20]
    assert list(el.all_items())[-1] == ("x", 20) and el.metainfo == dict(b=4, a=2, c=3)


def test_metainfo_and_data_names_do_not_mix():
    el = BaseDataElement(metainfo=dict(img_shape=(2, 2)), score=torch.ones(1))
    with pytest.raises(AttributeError, match="already a metainfo field"):
        el.set_data(dict(img_shape=(3, 3)))
    with pytest.raises(AttributeError, match="already a data field"):
        el.set_metainfo(dict(score=1))
    with pytest.raises(TypeError, match="metainfo must be a dict"):
        el.set_metainfo([("a", 1)])
    with pytest.raises(TypeError, match="data must be a dict"):
        el.set_data(None)
    with pytest.raises(TypeError, match="instance must be a BaseDataElement"):
        el.update(dict(score=1))
    with pytest.raises(ValueError, match="field_type must be 'metainfo' or 'data'"):
        el.set_field(1, "x", field_type="meta")


def test_private_and_reserved_names_are_refused():
    el = BaseDataElement()
    for name in ("_data_fields", "_metainfo_fields"):
        with pytest.raises(AttributeError, match="private"):
            setattr(el, name, {})
        with pytest.raises(AttributeError, match="cannot be deleted"):
            delattr(el, name)
    for name in ("to_dict", "cpu", "__len__", "metainfo"):
        with pytest.raises(AttributeError):
            el.set_field(1, name)
    with pytest.raises(AttributeError, match="reserved"):
        InstanceData().cat = [1]


def test_get_pop_contains_and_delete():
    el = BaseDataElement(metainfo=dict(flip=True), score=torch.zeros(2))
    assert el.get("flip") is True and el.get("missing") is None and el.get("missing", 3) == 3
    assert "flip" in el and "score" in el and "missing" not in el
    assert el.pop("missing", None) is None
    with pytest.raises(KeyError, match="'missing' is not a field"):
        el.pop("missing")
    with pytest.raises(TypeError, match="at most 2 arguments"):
        el.pop("score", 1, 2)
    assert el.pop("flip") is True and el.metainfo_keys() == []
    del el["score"]
    assert el.keys() == [] and "score" not in el


def test_new_replaces_what_is_given_and_shares_the_rest():
    el = BaseDataElement(metainfo=dict(img_id=0), score=torch.ones(2))
    same = el.new()
    assert same.score is el.score and same.img_id == 0 and type(same) is BaseDataElement
    replaced = el.new(metainfo=dict(img_id=5), label=torch.tensor([1]))
    assert replaced.img_id == 5 and replaced.keys() == ["label"]
    assert el.img_id == 0 and el.keys() == ["score"]


def test_clone_copies_tensors_arrays_and_lists():
    el = BaseDataElement(t=torch.zeros(2), a=np.zeros(2), seq=[1, 2])
    c = el.clone()
    c.t += 1
    c.a += 1
    c.seq.append(3)
    assert el.t.tolist() == [0, 0] and el.a.tolist() == [0, 0] and el.seq == [1, 2]


def test_device_and_dtype_moves_on_cpu():
    leaf = torch.ones(3, requires_grad=True)
    el = BaseDataElement(metainfo=dict(pad=torch.zeros(1)), x=leaf * 2, nested=BaseDataElement(y=leaf * 3),
                         arr=np.ones(2), tag="t")
    detached = el.detach()
    assert el.x.requires_grad and not detached.x.requires_grad and not detached.nested.y.requires_grad
    meta = el.to("meta")
    assert meta.x.device.type == "meta" and meta.nested.y.device.type == "meta"
    assert meta.metainfo["pad"].device.type == "cpu"  # metainfo is not moved
    assert meta.arr is el.arr and meta.tag == "t"
    back = el.to(device="cpu", dtype=torch.float16)
    assert back.x.device.type == "cpu" and back.x.dtype == torch.float16
    on_cpu = el.cpu()
    assert on_cpu.x.device.type == "cpu" and on_cpu.nested.y.device.type == "cpu"
    as_np = el.numpy()
    assert isinstance(as_np.x, np.ndarray) and isinstance(as_np.nested.y, np.ndarray)
    assert as_np.x.tolist() == [2, 2, 2]
    assert isinstance(as_np.to_tensor().nested.y, torch.Tensor)


def test_to_applies_to_any_value_with_a_to_method():
    class Boxes:
        def __init__(self, t):
            self.t = t

        def to(self, *args, **kwargs):
            return Boxes(self.t.to(*args, **kwargs))

    el = BaseDataElement(boxes=Boxes(torch.zeros(2)), sizes=[1, 2])
    moved = el.to(torch.int32)
    assert moved.boxes.t.dtype == torch.int32 and moved.sizes is el.sizes


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_round_trip():
    el = BaseDataElement(x=torch.ones(2), nested=BaseDataElement(y=torch.zeros(1)))
    gpu = el.cuda()
    assert gpu.x.is_cuda and gpu.nested.y.is_cuda
    assert not gpu.cpu().x.is_cuda


def test_repr_lists_fields_in_order_and_indents_nested_elements():
    inner = BaseDataElement(metainfo=dict(k=1), v=torch.tensor([7]))
    el = BaseDataElement(metainfo=dict(img_shape=(4, 5)), z=1, inner=inner)
    lines = repr(el).splitlines()
    assert lines[0] == "<BaseDataElement(" and lines[-1].startswith(") at 0x")
    assert lines.index("    META INFORMATION") < lines.index("    img_shape: (4, 5)") < lines.index("    DATA FIELDS")
    assert lines.index("    z: 1") < lines.index("    inner: <BaseDataElement(")
    assert "        v: tensor([7])" in lines and "        k: 1" in lines


def test_pickle_and_deepcopy_keep_fields():
    s = DetSample(metainfo=dict(img_id=2), proposals=boxes(2), score=torch.ones(1))
    for copied in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert isinstance(copied, DetSample) and copied.all_keys() == ["img_id", "proposals", "score"]
        assert copied.proposals.bboxes.equal(s.proposals.bboxes)
        copied.extra = 1
        assert "extra" not in s
