import numpy as np
import pytest
import torch

from loomcv.logging import HistoryBuffer


def test_statistics_and_window():
    buf = HistoryBuffer()
    for v in [1, 2, 3, 4]:
        buf.update(v)
    assert buf.mean() == 2.5 and buf.mean(2) == 3.5
    assert buf.current() == 4 and buf.max() == 4 and buf.min(3) == 2
    assert buf.statistics("mean", 2) == 3.5
    values, counts = buf.data
    np.testing.assert_array_equal(values, [1, 2, 3, 4])
    np.testing.assert_array_equal(counts, [1, 1, 1, 1])


def test_counts_weight_the_mean():
    buf = HistoryBuffer()
    buf.update(1.0, count=3)   # a batch of 3 with mean loss 1
    buf.update(5.0, count=1)
    assert buf.mean() == pytest.approx(2.0)


def test_tensors_stay_lazy_until_read():
    buf = HistoryBuffer()
    t = torch.tensor(2.0, requires_grad=True) * 1
    buf.update(t)
    stored = buf._values[0]
    assert isinstance(stored, torch.Tensor) and not stored.requires_grad   # kept as a tensor, detached
    buf.update(torch.tensor([4.0]))
    assert buf.mean() == 3.0
    assert all(isinstance(v, float) for v in buf._values)   # converted once read


def test_max_length_keeps_recent():
    buf = HistoryBuffer(max_length=3)
    for v in range(10):
        buf.update(v)
    assert len(buf) == 3 and buf.data[0].tolist() == [7, 8, 9]


def test_bad_values():
    buf = HistoryBuffer()
    with pytest.raises(ValueError, match="one-element tensor"):
        buf.update(torch.zeros(2))
    with pytest.raises(TypeError, match="got str"):
        buf.update("1.0")
    with pytest.raises(ValueError, match="empty buffer"):
        buf.mean()
    with pytest.raises(ValueError, match="valid: mean, current, max, min"):
        HistoryBuffer([1]).statistics("median")


def test_mixed_values_convert_in_order():
    buf = HistoryBuffer()
    buf.update(1.0)
    buf.update(torch.tensor(2, dtype=torch.int64))
    assert buf.current() == 2.0                        # first read converts
    buf.update(torch.tensor([3.0], dtype=torch.float16))
    buf.update(4)
    buf.update(torch.tensor(True) * 5)
    assert buf.data[0].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert buf.mean(3) == 4.0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to observe syncs")
def test_cuda_update_does_not_synchronize():
    buf = HistoryBuffer()
    loss = torch.ones(8, device="cuda").sum()
    torch.cuda.set_sync_debug_mode("error")            # any implicit device->host sync raises
    try:
        for _ in range(3):
            buf.update(loss)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert buf.mean() == 8.0
