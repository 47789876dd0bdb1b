"""docs/export.md runs as written, and its bare ONNX Runtime script needs neither torch nor loomcv."""

import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


def test_export_page_examples_run_and_bare_script_matches_infer(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "export.md").read_text(), flags=re.S)
    assert len(blocks) >= 4, "export.md lost its examples"
    namespace = {}
    for block in blocks:
        exec(compile(block, "export.md", "exec"), namespace)
    script = next(b for b in blocks if b.startswith("# deploy_onnx.py"))
    (tmp_path / "deploy_onnx.py").write_text(script)
    pngs = sorted(str(p) for p in tmp_path.glob("digit_*.png"))
    assert len(pngs) == 4
    # the script on its own: torch and loomcv made unimportable
    runner = ("import runpy, sys; sys.modules.update(torch=None, loomcv=None, loomcls=None); "
              "runpy.run_path('deploy_onnx.py', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", runner, "lenet.onnx", *pngs], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert proc.returncode == 0, proc.stderr
    bare = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    capsys.readouterr()
    from loomcv.cli.main import main
    assert main(["infer", "lenet5_1xb64_digits", "lenet.onnx", *pngs, "--backend", "onnxruntime"]) == 0
    infer = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if line.endswith(")"))
    assert set(bare) == set(infer) == set(pngs)
    for path in pngs:
        (name, score), (name2, score2) = (re.match(r"(\S+) \(([\d.]+)\)", line).groups()
                                          for line in (bare[path], infer[path]))
        assert name == name2 and abs(float(score) - float(score2)) <= 2e-4
