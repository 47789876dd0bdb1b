import pytest

from loomcv.registry import default_scope


@pytest.fixture(autouse=True)
def loomcv_scope():
    """Build plain names in loomcv's own scope, whatever default scope an earlier test left set
    (under default_scope='loomcls', 'RandomCrop' is classification's padding crop)."""
    with default_scope("loomcv"):
        yield
