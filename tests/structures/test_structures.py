"""BaseDataElement and DataSample: fields, copies, device moves and label formats."""

import numpy as np
import pytest
import torch

from loomcls.structures import DataSample
from loomcv.structures import BaseDataElement


def test_fields_metainfo_and_copies():
    el = BaseDataElement(metainfo=dict(img_shape=(2, 3)), score=torch.ones(2), name="a")
    assert el.img_shape == (2, 3) and el.keys() == ["score", "name"] and el.metainfo_keys() == ["img_shape"]
    assert "score" in el and "img_shape" in el and "nope" not in el and el.get("nope", 5) == 5
    with pytest.raises(AttributeError, match="already a metainfo field"):
        el.img_shape = 1
    with pytest.raises(AttributeError, match="reserved"):
        el.set_field(1, "keys")
    clone = el.clone()
    clone.score += 1
    assert el.score.tolist() == [1, 1] and clone.img_shape == (2, 3)
    as_np = el.numpy()
    assert isinstance(as_np.score, np.ndarray) and isinstance(as_np.to_tensor().score, torch.Tensor)
    moved = el.to(torch.float64)
    assert moved.score.dtype == torch.float64 and el.score.dtype == torch.float32 and moved.name == "a"
    assert el.pop("name") == "a" and "name" not in el
    text = repr(el)
    assert "META INFORMATION" in text and "img_shape: (2, 3)" in text and "score" in text


def test_moved_names_still_import_from_loomcv_with_a_deprecation_warning():
    import loomcv.structures
    import loomcv.transforms
    from loomcls.datasets.transforms import PackInputs
    with pytest.warns(DeprecationWarning, match="loomcv.structures.DataSample moved to loomcls.structures"):
        assert loomcv.structures.DataSample is DataSample
    with pytest.warns(DeprecationWarning, match="PackInputs moved"):
        assert loomcv.transforms.PackInputs is PackInputs
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        loomcv.structures.NoSuchThing


def test_data_sample_label_and_score_formats():
    s = DataSample(metainfo=dict(num_classes=3))
    for value in (2, [2], np.array([2]), torch.tensor(2)):
        assert s.set_gt_label(value).gt_label.tolist() == [2] and s.gt_label.dtype == torch.int64
    s.set_pred_score(np.array([0.1, 0.2, 0.7]))
    assert s.pred_score.dtype == torch.float64 or s.pred_score.is_floating_point()
    s.set_pred_label([0, 2])
    assert s.pred_label.tolist() == [0, 2]
    with pytest.raises(ValueError, match="num_classes is 3"):
        s.set_gt_score([0.5, 0.5])
    with pytest.raises(TypeError, match="integers"):
        s.set_gt_label(torch.tensor([0.5]))
    with pytest.raises(TypeError, match="label must be"):
        s.set_gt_label("cat")
