"""Runner tests ask torch for deterministic algorithms; give the setting back afterwards."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _restore_determinism():
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)
