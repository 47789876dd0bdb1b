"""PixelData: C×H×W fields on one grid, 2-D promotion, spatial indexing, resize and padding."""

import numpy as np
import pytest
import torch

from loomcv.structures import PixelData


def sample():
    """seg[0, y, x] == 10 * y + x, so a crop's corner tells where it came from."""
    yy, xx = np.mgrid[0:6, 0:8]
    return PixelData(metainfo=dict(img_shape=(6, 8)), seg=(10 * yy + xx).astype(np.int64),
                     feat=torch.arange(2 * 6 * 8, dtype=torch.float32).view(2, 6, 8))


def test_hw_field_is_stored_with_a_channel_axis():
    p = sample()
    assert p.seg.shape == (1, 6, 8) and isinstance(p.seg, np.ndarray) and p.seg[0, 2, 3] == 23
    p.heat = torch.zeros(6, 8)
    assert tuple(p.heat.shape) == (1, 6, 8)
    assert p.shape == (6, 8) and PixelData().shape is None


def test_len_is_the_height():
    assert len(sample()) == 6 and len(PixelData()) == 0
    assert len(sample()[1:3, :]) == 2


def test_fields_must_share_height_and_width():
    p = sample()
    with pytest.raises(ValueError, match=r"field 'mask' has height×width \(6, 7\), but the other fields "
                                         r"\('seg', 'feat'\) have \(6, 8\)"):
        p.mask = torch.zeros(3, 6, 7)
    assert "mask" not in p
    with pytest.raises(ValueError, match=r"must be C×H×W or H×W, got shape \(1, 3, 6, 8\)"):
        p.mask = torch.zeros(1, 3, 6, 8)
    with pytest.raises(ValueError, match=r"got shape \(8,\)"):
        p.mask = np.zeros(8)
    with pytest.raises(TypeError, match="field 'mask' must be a torch.Tensor or np.ndarray, got list"):
        p.mask = [[0] * 8] * 6
    p.mask = torch.zeros(4, 6, 8)
    assert p.keys() == ["seg", "feat", "mask"]
    single = PixelData(seg=np.zeros((3, 3)))
    single.seg = np.zeros((5, 4))  # the only field may change size
    assert single.shape == (5, 4)


def test_index_by_slice_pairs_and_ints():
    p = sample()
    crop = p[2:5, 1:4]
    assert crop.shape == (3, 3) and crop.img_shape == (6, 8)
    assert crop.seg[0, 0, 0] == 21 and crop.feat.shape == (2, 3, 3) and crop.feat[1, 0, 0] == 48 + 2 * 8 + 1
    row = p[4, :]
    assert row.shape == (1, 8) and row.seg[0, 0].tolist() == list(range(40, 48))
    corner = p[-1, -1]
    assert corner.shape == (1, 1) and corner.seg.item() == 57
    assert p[::2, ::4].seg[0].tolist() == [[0, 4], [20, 24], [40, 44]]


def test_bad_indexes():
    p = sample()
    with pytest.raises(TypeError, match="must be a \\(rows, cols\\) pair of ints or slices, got Tensor"):
        p[torch.tensor([1, 2])]
    with pytest.raises(TypeError, match="got int"):
        p[1]
    with pytest.raises(TypeError, match="got 3 items"):
        p[1, 2, 3]
    with pytest.raises(TypeError, match="index items must be ints or slices, got float"):
        p[1.5, 2]
    with pytest.raises(IndexError, match="index 6 is out of range for axis H of size 6"):
        p[6, 0]
    with pytest.raises(IndexError, match="axis W of size 8"):
        p[0, -9]


def test_resize_keeps_types_and_dtypes():
    p = sample()
    for mode in ("nearest", "bilinear", "bicubic", "area", "nearest-exact"):
        r = p.resize((3, 4), interpolation=mode)
        assert r.shape == (3, 4) and r.seg.dtype == np.int64 and r.feat.dtype == torch.float32
    nearest = p.resize((12, 16), interpolation="nearest")
    assert nearest.seg[0, 2, 2] == p.seg[0, 1, 1] and isinstance(nearest.seg, np.ndarray)
    same = p.resize((6, 8))
    assert same.seg is not p.seg and (same.seg == p.seg).all()
    with pytest.raises(ValueError, match="interpolation must be one of"):
        p.resize((3, 4), interpolation="linear")
    with pytest.raises(TypeError, match=r"size must be \(height, width\)"):
        p.resize(20)
    with pytest.raises(TypeError, match=r"size must be \(height, width\)"):
        p.resize((1, 2, 3))


def test_padding():
    p = sample()
    assert p.padding((1, 2)).shape == (6, 11)
    padded = p.padding((1, 2, 3, 4), value=-1)
    assert padded.shape == (13, 11) and padded.seg[0, 0, 0] == -1 and padded.seg[0, 3, 1] == 0
    with_channels = p.padding((0, 0, 0, 0, 1, 2))
    assert with_channels.feat.shape == (5, 6, 8) and with_channels.seg.shape == (4, 6, 8)
    reflect = p.padding((1, 1), mode="reflect")
    assert reflect.seg[0, 0, 0] == p.seg[0, 0, 1]
    assert p.padding((0, 0)).shape == (6, 8)
    with pytest.raises(TypeError, match="pad_size must hold 2, 4 or 6 ints"):
        p.padding(5)
    with pytest.raises(ValueError, match="mode must be one of"):
        p.padding((1, 1), mode="edge")


def test_moves_and_numpy():
    p = sample()
    as_np = p.numpy()
    assert isinstance(as_np.feat, np.ndarray) and as_np.shape == (6, 8)
    as_t = p.to_tensor()
    assert isinstance(as_t.seg, torch.Tensor) and as_t.seg.shape == (1, 6, 8)
    assert p.to(torch.float16).feat.dtype == torch.float16
