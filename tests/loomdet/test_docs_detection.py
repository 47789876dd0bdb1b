"""docs/detection.md's Python examples run as written (config snippets excepted)."""

import os.path as osp
import re

import torch

PAGE = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "docs", "detection.md")


def test_detection_page_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)  # restored by tests/conftest.py
    blocks = re.findall(r"```python\n(.*?)```", open(PAGE, encoding="utf-8").read(), flags=re.S)
    runnable = [b for b in blocks if not b.startswith("# in a config file")]
    assert len(runnable) == 2
    namespace = {}
    for block in runnable:
        exec(compile(block, "detection.md", "exec"), namespace)
    assert "num_classes=80" in namespace["message"]
