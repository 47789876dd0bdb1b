"""InstanceData: equal-length fields, every index kind, cat, and the errors users see."""

import numpy as np
import pytest
import torch

from loomcv.structures import BaseDataElement, InstanceData


class Masks:
    """A BitmapMasks-like field: slicing and a ``cat`` classmethod, no tensor indexing."""

    def __init__(self, masks):
        self.masks = masks

    def __len__(self):
        return len(self.masks)

    def __getitem__(self, index):
        return Masks(self.masks[index])

    @classmethod
    def cat(cls, parts):
        return cls(np.concatenate([p.masks for p in parts]))


class NoCat(Masks):
    cat = None


def sample(n=5):
    """Instance i has box row i*4.., label i, name chr(97+i), mask filled with i."""
    return InstanceData(
        metainfo=dict(img_shape=(32, 32), img_id=9),
        bboxes=torch.arange(4.0 * n).view(n, 4),
        labels=np.arange(n),
        names=[chr(97 + i) for i in range(n)],
        ids=tuple(range(10, 10 + n)),
        masks=Masks(np.arange(n)[:, None, None] * np.ones((n, 2, 3), dtype=np.int64)))


def labels_of(inst):
    """The instance ids, read from every field (they must agree)."""
    from_boxes = (inst.bboxes[:, 0] / 4).long().tolist()
    assert inst.labels.tolist() == from_boxes
    assert [ord(c) - 97 for c in inst.names] == from_boxes
    assert [i - 10 for i in inst.ids] == from_boxes and isinstance(inst.ids, tuple)
    assert inst.masks.masks[:, 0, 0].tolist() == from_boxes
    return from_boxes


def test_len_and_metainfo():
    inst = sample()
    assert len(inst) == 5 and len(InstanceData()) == 0
    assert len(InstanceData(metainfo=dict(img_shape=(1, 1)))) == 0
    assert inst.img_id == 9  # metainfo reads as an attribute and does not count as a field
    assert inst.keys() == ["bboxes", "labels", "names", "ids", "masks"]


def test_int_index_keeps_a_length_one_instance():
    inst = sample()
    assert labels_of(inst[2]) == [2] and len(inst[2]) == 1
    assert labels_of(inst[-1]) == [4]
    assert labels_of(inst[np.int64(1)]) == [1]
    assert labels_of(inst[torch.tensor(3)]) == [3]  # a 0-d tensor, e.g. scores.argmax()
    assert inst[0].bboxes.shape == (1, 4) and inst[0].img_id == 9


def test_int_index_out_of_range():
    with pytest.raises(IndexError, match="index 5 is out of range for 5 instances"):
        sample()[5]
    with pytest.raises(IndexError, match="index -6 is out of range"):
        sample()[-6]
    with pytest.raises(IndexError, match="out of range for 0 instances"):
        InstanceData()[0]


def test_slice_index():
    inst = sample()
    assert labels_of(inst[1:4]) == [1, 2, 3]
    assert labels_of(inst[::-2]) == [4, 2, 0]
    assert labels_of(inst[3:3]) == []


def test_bool_tensor_and_bool_ndarray_index():
    inst = sample()
    keep = torch.tensor([True, False, True, False, True])
    assert labels_of(inst[keep]) == [0, 2, 4]
    assert labels_of(inst[keep.numpy()]) == [0, 2, 4]
    assert labels_of(inst[inst.bboxes[:, 0] > 100]) == []
    with pytest.raises(IndexError, match="boolean index has length 3, but there are 5 instances"):
        inst[torch.ones(3, dtype=torch.bool)]


def test_long_tensor_and_int_ndarray_index():
    inst = sample()
    assert labels_of(inst[torch.tensor([4, 0, 4])]) == [4, 0, 4]
    assert labels_of(inst[torch.tensor([-1], dtype=torch.int32)]) == [4]
    assert labels_of(inst[np.array([3, 1], dtype=np.int32)]) == [3, 1]
    assert labels_of(inst[torch.zeros(0, dtype=torch.long)]) == []
    with pytest.raises(IndexError, match="index 7 is out of range for 5 instances"):
        inst[torch.tensor([1, 7])]


def test_list_index_of_ints_or_bools():
    inst = sample()
    assert labels_of(inst[[2, 0]]) == [2, 0]
    assert labels_of(inst[[True, True, False, False, True]]) == [0, 1, 4]
    assert labels_of(inst[[]]) == []
    with pytest.raises(TypeError, match="only ints or only bools"):
        inst[[1, "a"]]


def test_bad_index_kinds():
    inst = sample()
    with pytest.raises(TypeError, match="got a torch.float32 tensor"):
        inst[torch.tensor([1.0, 2.0])]
    with pytest.raises(TypeError, match="ndarray index must be bool or integer"):
        inst[np.array([0.5])]
    with pytest.raises(IndexError, match="must be 1-D"):
        inst[torch.zeros(5, 1, dtype=torch.bool)]
    with pytest.raises(TypeError, match="index must be an int, a slice"):
        inst[1.5]
    assert inst["names"] == list("abcde")  # a str reads a field


def test_custom_field_without_cat_indexes_by_slice_only():
    inst = sample()
    inst.masks = NoCat(np.zeros((5, 1, 1)))
    assert len(inst[1:3].masks) == 2 and len(inst[0].masks) == 1
    with pytest.raises(TypeError, match="'masks' is a NoCat, which has no `cat` method"):
        inst[[0, 1]]


def test_fields_must_share_one_length():
    inst = sample()
    with pytest.raises(ValueError, match=r"field 'keypoints' has length 17, but the other fields "
                                         r"\('bboxes', 'labels', 'names', 'ids', 'masks'\) have length 5"):
        inst.keypoints = torch.rand(17, 2)
    assert "keypoints" not in inst
    with pytest.raises(ValueError, match="'bboxes' has length 2"):
        inst["bboxes"] = torch.zeros(2, 4)  # replacing a field follows the same rule
    with pytest.raises(ValueError, match="'extra' has length 1"):
        InstanceData(a=[1, 2], extra=[3])
    inst.keypoints = torch.rand(5, 2)
    assert "keypoints" in inst and len(inst) == 5
    alone = InstanceData(bboxes=torch.zeros(3, 4))
    alone.bboxes = torch.zeros(1, 4)  # the only field may change length
    assert len(alone) == 1


def test_fields_need_a_length():
    with pytest.raises(TypeError, match="field 'score' must have a length"):
        InstanceData(score=0.5)
    with pytest.raises(TypeError, match="field 'score' must have a length"):
        InstanceData(score=torch.tensor(0.5))


def test_metainfo_is_not_length_checked_and_does_not_mix_with_data():
    inst = sample()
    inst.set_metainfo(dict(pad_shape=(1, 2, 3), scale_factor=2.0))
    assert inst.pad_shape == (1, 2, 3) and len(inst) == 5
    with pytest.raises(AttributeError, match="already a metainfo field"):
        inst.img_shape = [1, 2, 3, 4, 5]
    with pytest.raises(AttributeError, match="private"):
        inst._data_fields = {}


def test_cat_joins_every_field_kind():
    a, b = sample(3), sample(2)
    joined = InstanceData.cat([a, b])
    assert type(joined) is InstanceData and len(joined) == 5
    assert labels_of(joined) == [0, 1, 2, 0, 1]
    assert joined.metainfo == a.metainfo
    assert labels_of(InstanceData.cat([a])) == [0, 1, 2]
    assert labels_of(InstanceData.cat([a, a[[]]])) == [0, 1, 2]
    assert labels_of(a.cat((b, a))) == [0, 1, 0, 1, 2]


def test_cat_keeps_the_subclass():
    class Pred(InstanceData):
        pass

    joined = InstanceData.cat([Pred(scores=torch.ones(2)), Pred(scores=torch.zeros(1))])
    assert type(joined) is Pred and joined.scores.tolist() == [1, 1, 0]


def test_cat_errors():
    a = sample(2)
    with pytest.raises(ValueError, match="non-empty list"):
        InstanceData.cat([])
    with pytest.raises(TypeError, match="element 1 is a BaseDataElement, not an InstanceData"):
        InstanceData.cat([a, BaseDataElement(bboxes=torch.zeros(2, 4))])
    b = sample(2)
    del b.names
    with pytest.raises(ValueError, match=r"element 1 has different keys from element 0 \(missing: \['names'\]"):
        InstanceData.cat([a, b])
    c = sample(2)
    c.set_metainfo(dict(flip=True))
    with pytest.raises(ValueError, match=r"extra: \['flip'\]"):
        InstanceData.cat([a, c])
    d = sample(2)
    d.labels = torch.arange(2)
    with pytest.raises(TypeError, match="field 'labels' mixes types"):
        InstanceData.cat([a, d])
    e, f = InstanceData(m=NoCat(np.zeros((1, 1)))), InstanceData(m=NoCat(np.zeros((1, 1))))
    with pytest.raises(TypeError, match="field 'm' is a NoCat, which has no `cat` method"):
        InstanceData.cat([e, f])


def test_setitem_moves_and_clone_keep_lengths():
    inst = sample()
    inst["scores"] = torch.linspace(0, 1, 5)
    assert inst.scores.shape == (5,)
    as_double = inst.to(torch.float64)
    assert as_double.bboxes.dtype == torch.float64 and as_double.names is inst.names
    assert isinstance(inst.numpy().bboxes, np.ndarray) and len(inst.numpy()) == 5
    c = inst.clone()
    c.bboxes[0, 0] = 99
    assert inst.bboxes[0, 0] == 0 and labels_of(inst) == [0, 1, 2, 3, 4]
    assert inst.to_dict()["names"] == list("abcde") and inst.to_dict()["img_id"] == 9


def test_subclass_property_field_is_length_checked():
    class Inst(InstanceData):
        @property
        def boxes(self):
            return self._boxes

        @boxes.setter
        def boxes(self, value):
            self.set_field(value, "_boxes", dtype=torch.Tensor)

    inst = Inst(labels=torch.arange(3))
    inst.boxes = torch.zeros(3, 4)
    assert inst.keys() == ["labels", "boxes"] and len(inst) == 3
    assert inst[[0, 2]].boxes.shape == (2, 4) and inst[1].keys() == ["labels", "boxes"]
    with pytest.raises(ValueError, match="has length 2, but the other fields"):
        inst.boxes = torch.zeros(2, 4)


def test_tuple_index_is_refused():
    with pytest.raises(TypeError, match="got tuple"):
        sample()[0, 1]
