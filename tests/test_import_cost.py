"""Importing the package, its registry and config must not pull in torch."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["loomcv", "loomcv.registry", "loomcv.config", "loomcls.registry"])
def test_no_torch_on_import(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
