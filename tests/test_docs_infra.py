"""The examples in the logging/visualization, evaluation, distributed and architecture pages run as written."""

import os.path as osp
import re

import pytest

DOCS = osp.join(osp.dirname(osp.dirname(__file__)), "docs")


@pytest.mark.parametrize("page", ["logging_and_visualization.md", "evaluation.md", "distributed.md",
                                  "architecture.md"])
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(osp.join(DOCS, page), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    blocks = [b for b in blocks if not b.lstrip().startswith("# in a config file")]
    assert blocks, f"{page} lost its examples"
    namespace = {}
    for block in blocks:
        exec(compile(block, page, "exec"), namespace)
