"""docs/runner_and_hooks.md: its Python blocks run as written (sharing one namespace)."""

import os.path as osp
import re

import pytest

pytestmark = pytest.mark.timeout(60)
DOC = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), "docs", "runner_and_hooks.md")


def test_runner_doc_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(DOC, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert len(blocks) == 5
    namespace = {}
    for block in blocks:
        exec(compile(block, DOC, "exec"), namespace)
