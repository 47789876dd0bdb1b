"""Importing the package, its registry and config must not pull in torch."""

import os.path as osp
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["loomcv", "loomcv.registry", "loomcv.config", "loomcls.registry", "loomcv.legacy",
                                    "loomcv.legacy.config", "loomcv.legacy.policies"])
def test_no_torch_on_import(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_translating_a_legacy_config_does_not_import_torch():
    # print-config on an MMCV 1.x config runs the translation in loomcv.legacy
    path = osp.join(osp.dirname(__file__), "fixtures", "configs", "mmcls_0x_tutorial", "ch5_warmup_exp_epoch.py")
    code = ("import io, sys, contextlib; from loomcv.cli.main import main; out = io.StringIO()\n"
            f"with contextlib.redirect_stdout(out): rc = main(['print-config', {path!r}, '--translated', "
            "'--cfg-options', 'runner.max_epochs=4'])\n"
            "print(rc, 'LegacyLR' in out.getvalue(), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True", "False"]
