"""Suite-wide guards."""

import pytest
import torch


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """A test that changes torch's thread count must not change later tests' arithmetic: the exact-resume
    tests compare runs bit for bit, and float sums depend on how many threads split them."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
