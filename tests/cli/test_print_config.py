"""``loomcv print-config`` through the real entry point."""

import os.path as osp
import subprocess
import sys

from loomcv.cli.main import main

FIXTURES = osp.join(osp.dirname(osp.dirname(__file__)), "fixtures", "configs", "inherit")


def test_print_config_explain_and_options(capsys):
    assert main(["print-config", osp.join(FIXTURES, "level4.py"), "--explain",
                 "--cfg-options", "model.depth=50", "workflow=[(train,1)]"]) == 0
    out = capsys.readouterr().out
    assert "depth=50,  # --cfg-options model.depth" in out
    assert "tiny_net.py:3" in out and "level3.yaml:6" in out
    assert "workflow = [" in out


def test_print_config_formats_and_diff(capsys):
    assert main(["print-config", osp.join(FIXTURES, "level3.yaml"), "--format", "yaml"]) == 0
    assert "num_groups: 4" in capsys.readouterr().out
    assert main(["print-config", osp.join(FIXTURES, "level4.py"), "--diff",
                 osp.join(FIXTURES, "level3.yaml")]) == 0
    out = capsys.readouterr().out
    assert "optim_wrapper.optimizer.lr:" in out and "level4.py:4" in out
    assert "difference(s)" in out


def test_errors_are_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("a = 1\nb = dict(x=1\n")
    assert main(["print-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.py:2" in err and "Traceback" not in err
    assert main(["print-config", "no_such_config_name"]) == 1
    assert "no shipped config" in capsys.readouterr().err


def test_console_script_runs_in_a_subprocess():
    result = subprocess.run([sys.executable, "-m", "loomcv", "print-config",
                             osp.join(FIXTURES, "level2.py")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "model = dict(" in result.stdout
