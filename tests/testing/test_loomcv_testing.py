"""loomcv.testing: a user's extension tested the way MMEngine users test theirs."""

import numpy as np
import pytest
import torch
from torch import nn

from loomcv.hooks import Hook
from loomcv.registry import HOOKS
from loomcv.testing import (RunnerTestCase, ToyModel, assert_allclose, assert_attrs_equal,
                            assert_dict_contains_subset, assert_dict_has_keys, assert_is_norm_layer,
                            assert_keys_equal, assert_params_all_zeros, check_python_script)


class CountIters(Hook):
    """The kind of extension a user tests: counts training iterations."""

    def __init__(self):
        self.count = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.count += 1


class TestMyHook(RunnerTestCase):
    def setUp(self):
        super().setUp()
        HOOKS.register_module(module=CountIters, force=True)

    def tearDown(self):
        HOOKS.module_dict.pop("CountIters", None)
        super().tearDown()

    def test_epoch_based(self):
        cfg = self.epoch_based_cfg
        cfg.custom_hooks = [dict(type="CountIters")]
        runner = self.build_runner(cfg)
        runner.train()
        hook = next(h for h in runner.hooks if isinstance(h, CountIters))
        self.assertEqual(hook.count, 8)  # 12 samples / batch 3 x 2 epochs
        self.assertTrue(runner.experiment_name.startswith("test_epoch_based_"))

    def test_iter_based_and_two_runners_in_one_test(self):
        cfg = self.iter_based_cfg
        cfg.custom_hooks = [dict(type="CountIters")]
        first, second = self.build_runner(cfg), self.build_runner(cfg)
        self.assertNotEqual(first.experiment_name, second.experiment_name)
        first.train()
        self.assertEqual(first.iter, 12)


def test_runner_test_case_cleans_up():
    from loomcv.logging import MessageHub
    from loomcv.registry import MODELS

    case = TestMyHook("test_epoch_based")
    case.setUp()
    folder = case.temp_dir.name
    assert MODELS.get("ToyModel") is ToyModel
    case.build_runner(case.epoch_based_cfg)
    case.tearDown()
    assert "ToyModel" not in MODELS.module_dict and not MessageHub._instances
    import os
    assert not os.path.exists(folder)


def test_assert_allclose_mixes_tensors_arrays_and_numbers():
    assert_allclose(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]))
    assert_allclose(3, 3.0)
    with pytest.raises(AssertionError):
        assert_allclose(torch.tensor([1.0]), torch.tensor([1.1]))
    assert_allclose(torch.tensor([1.0]), torch.tensor([1.05]), rtol=0.1, atol=0.0)
    with pytest.raises(ValueError, match="both rtol and atol"):
        assert_allclose(1.0, 1.0, rtol=0.1)


def test_bool_assertions():
    arr = np.arange(3)
    assert assert_dict_contains_subset(dict(a=1, b=arr, c="x"), dict(a=1, b=np.arange(3)))
    assert not assert_dict_contains_subset(dict(a=1, b=arr), dict(b=np.arange(4)))
    assert not assert_dict_contains_subset(dict(a=1), dict(z=1))
    model = nn.Linear(2, 2)
    assert assert_attrs_equal(model, dict(in_features=2, out_features=2))
    assert not assert_attrs_equal(model, dict(in_features=3))
    assert assert_dict_has_keys(dict(a=1, b=2), ["a"]) and not assert_dict_has_keys(dict(a=1), ["a", "b"])
    assert assert_keys_equal(["a", "b"], ["b", "a"]) and not assert_keys_equal(["a"], ["a", "b"])
    assert assert_is_norm_layer(nn.BatchNorm2d(3)) and assert_is_norm_layer(nn.GroupNorm(1, 3))
    assert not assert_is_norm_layer(nn.Conv2d(3, 3, 1))
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    assert assert_params_all_zeros(model)
    nn.init.ones_(model.bias)
    assert not assert_params_all_zeros(model)


def test_check_python_script(tmp_path, capsys):
    script = tmp_path / "s.py"
    script.write_text("import sys\nprint('args', sys.argv[1:])\n")
    check_python_script(f"python {script} --x 1")
    assert "args ['--x', '1']" in capsys.readouterr().out
