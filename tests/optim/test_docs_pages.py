"""The examples on the model, optim and scheduler pages run as written."""

import os.path as osp
import re

import pytest

DOCS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "docs")


@pytest.mark.parametrize("page", ["models.md", "optim.md", "schedulers.md"])
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(osp.join(DOCS, page), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert blocks
    namespace = {}
    for block in blocks:
        exec(compile(block, page, "exec"), namespace)
