"""docs/toolbox.md as written: its file blocks are written out as the package `pointbox`, then its
Python examples run in a fresh interpreter (registering a toolbox must not leak into other tests)."""

import os.path as osp
import re
import subprocess
import sys

PAGE = osp.join(osp.dirname(osp.dirname(__file__)), "docs", "toolbox.md")


def test_the_toolbox_page_builds_and_trains_its_toolbox(tmp_path):
    text = open(PAGE, encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    files = {m.group(1): block for block in blocks if (m := re.match(r"# (pointbox/\S+\.py)\n", block))}
    assert set(files) == {"pointbox/registry.py", "pointbox/models.py", "pointbox/datasets.py",
                          "pointbox/metrics.py", "pointbox/toolbox.py", "pointbox/configs/pointreg_tiny.py"}
    (tmp_path / "pointbox" / "configs").mkdir(parents=True)
    (tmp_path / "pointbox" / "__init__.py").write_text("")
    for path, block in files.items():
        (tmp_path / path).write_text(block)
    script = "\n".join(block for block in blocks if not block.startswith("# pointbox/"))
    run = subprocess.run([sys.executable, "-c", "import torch; torch.set_num_threads(1)\n" + script],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    logs = list((tmp_path / "work_dirs" / "pointreg_tiny").rglob("*.log"))
    assert logs and "point/error" in logs[0].read_text()
    assert (tmp_path / "work_dirs" / "pointreg_tiny" / "epoch_2.pth").is_file()
