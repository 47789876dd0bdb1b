"""The arch helpers that ViT, Swin and RegNet share."""

import pytest

from loomcls.models.utils import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from loomcv.errors import ConfigError

ZOO = {"tiny": dict(dims=8, depth=2), "t": dict(dims=8, depth=2)}


def test_select_arch_by_name_any_case_or_by_dict():
    settings = select_arch("Net", "TINY", ZOO, ("dims", "depth"))
    assert settings == dict(dims=8, depth=2)
    settings["dims"] = 99
    assert ZOO["tiny"]["dims"] == 8  # a copy
    assert select_arch("Net", dict(dims=4, depth=1, extra=0), ZOO, ("dims", "depth"))["extra"] == 0


def test_select_arch_errors_name_the_owner_and_what_is_valid():
    for error in (ValueError, KeyError):
        with pytest.raises(error, match=r"Net: unknown arch 'tinny'; choose from \['t', 'tiny'\].*mean: 'tiny'"):
            select_arch("Net", "tinny", ZOO, ("dims", "depth"))
    with pytest.raises(TypeError, match=r"Net: arch must be a name from \['t', 'tiny'\] or a dict"):
        select_arch("Net", 3, ZOO, ("dims", "depth"))
    with pytest.raises(ConfigError, match=r"needs the keys \['dims', 'depth'\]; missing \['depth'\]"):
        select_arch("Net", dict(dims=4), ZOO, ("dims", "depth"))
    with pytest.raises(ConfigError, match=r"needs exactly the keys.*unknown \['extra'\]"):
        select_arch("Net", dict(dims=4, depth=1, extra=0), ZOO, ("dims", "depth"), allow_extra_keys=False)


def test_out_indices_frozen_stages_and_drop_path_rates():
    assert normalize_out_indices("Net", -1, 4) == (3,)
    assert normalize_out_indices("Net", [0, -2], 4) == (0, 2)
    with pytest.raises(ValueError, match="Net: out_indices entry 4 is out of range for 4 layers"):
        normalize_out_indices("Net", [4], 4)
    assert check_frozen_stages("Net", -1, 3) == -1
    with pytest.raises(ValueError, match="Net: frozen_stages must be in -1..3, got 4"):
        check_frozen_stages("Net", 4, 3)
    assert drop_path_rates(0.3, 4) == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert drop_path_rates(0.3, 1) == [0.0] and drop_path_rates(0.3, 0) == []
