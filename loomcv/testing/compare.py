"""Assertions for testing extensions, under MMEngine's names.

As in MMEngine, ``assert_allclose`` raises, and the other ``assert_*``
helpers return a bool for the test to assert (``assert assert_is_norm_layer(m)``).
"""

import runpy
import sys
from typing import Any, Dict, Iterable, Optional

import numpy as np
import torch
from torch import nn


def assert_allclose(actual: Any, expected: Any, rtol: Optional[float] = None, atol: Optional[float] = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Raise AssertionError unless ``actual`` and ``expected`` (tensors, arrays, numbers) are close.

    Tolerances default to torch's for the dtype; dtypes may differ.
    """
    actual_t, expected_t = torch.as_tensor(np.asarray(actual) if not torch.is_tensor(actual) else actual), \
        torch.as_tensor(np.asarray(expected) if not torch.is_tensor(expected) else expected)
    if (rtol is None) != (atol is None):
        raise ValueError("assert_allclose: give both rtol and atol, or neither")
    torch.testing.assert_close(actual_t, expected_t, rtol=rtol, atol=atol, equal_nan=equal_nan, check_dtype=False,
                               check_device=False, msg=msg or None)


def _differs(a: Any, b: Any) -> bool:
    """Whether two values differ, arrays and tensors compared element-wise."""
    if torch.is_tensor(a) or torch.is_tensor(b) or isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            a_arr = a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a)
            b_arr = b.detach().cpu().numpy() if torch.is_tensor(b) else np.asarray(b)
            return a_arr.shape != b_arr.shape or not np.array_equal(a_arr, b_arr)
        except (TypeError, ValueError):
            return True
    result = a != b
    return bool(result.any()) if hasattr(result, "any") else bool(result)


def assert_dict_contains_subset(dict_obj: Dict[Any, Any], expected_subset: Dict[Any, Any]) -> bool:
    """Whether every key of ``expected_subset`` is in ``dict_obj`` with an equal value."""
    return all(key in dict_obj and not _differs(dict_obj[key], value) for key, value in expected_subset.items())


def assert_attrs_equal(obj: Any, expected_attrs: Dict[str, Any]) -> bool:
    """Whether ``obj`` has every attribute of ``expected_attrs`` with an equal value."""
    return all(hasattr(obj, attr) and not _differs(getattr(obj, attr), value)
               for attr, value in expected_attrs.items())


def assert_dict_has_keys(obj: Dict[str, Any], expected_keys: Iterable[str]) -> bool:
    """Whether ``obj`` has every key of ``expected_keys``."""
    return set(expected_keys).issubset(obj.keys())


def assert_keys_equal(result_keys: Iterable[str], target_keys: Iterable[str]) -> bool:
    """Whether the two collections hold the same keys (order ignored)."""
    return set(result_keys) == set(target_keys)


_NORM_LAYERS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm,
                nn.LayerNorm)


def assert_is_norm_layer(module: nn.Module) -> bool:
    """Whether ``module`` is a batch, instance, group or layer normalization."""
    return isinstance(module, _NORM_LAYERS)


def assert_params_all_zeros(module: nn.Module) -> bool:
    """Whether ``module``'s weight (and bias, if it has one) are all zero."""
    weight = getattr(module, "weight", None)
    if weight is None:
        raise AttributeError(f"assert_params_all_zeros: {type(module).__name__} has no weight")
    zero = bool(torch.all(weight.detach() == 0))
    bias = getattr(module, "bias", None)
    if bias is not None:
        zero = zero and bool(torch.all(bias.detach() == 0))
    return zero


def check_python_script(cmd: str) -> None:
    """Run ``python script.py args...`` in this process (``sys.argv`` set as the script expects)."""
    import shlex
    args = shlex.split(cmd)
    if args and args[0] in ("python", "python3"):
        args = args[1:]
    if not args:
        raise ValueError("check_python_script: cmd names no script")
    saved = sys.argv
    sys.argv = args
    try:
        runpy.run_path(args[0], run_name="__main__")
    finally:
        sys.argv = saved
