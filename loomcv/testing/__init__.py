"""Helpers for testing loomcv extensions the way MMEngine users test theirs (``mmengine.testing``).

``RunnerTestCase`` (ready configs around a toy model, dataset and metric, and
``build_runner``), the comparison helpers (``assert_allclose``,
``assert_dict_contains_subset``, ``assert_attrs_equal``, ``assert_is_norm_layer``,
``assert_params_all_zeros`` ...) and the toys themselves.
"""

from .compare import (assert_allclose, assert_attrs_equal, assert_dict_contains_subset, assert_dict_has_keys,
                      assert_is_norm_layer, assert_keys_equal, assert_params_all_zeros, check_python_script)
from .runner_test_case import RunnerTestCase
from .toys import ToyDataset, ToyMetric, ToyModel

__all__ = ["assert_allclose", "assert_attrs_equal", "assert_dict_contains_subset", "assert_dict_has_keys",
           "assert_is_norm_layer", "assert_keys_equal", "assert_params_all_zeros", "check_python_script",
           "RunnerTestCase", "ToyDataset", "ToyMetric", "ToyModel"]
