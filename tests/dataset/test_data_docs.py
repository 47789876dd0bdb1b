"""The Python examples in docs/data.md run as written (the blocks share one namespace)."""

import os.path as osp
import re

DOC = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "docs", "data.md")


def test_data_doc_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(DOC, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert len(blocks) >= 6
    namespace = {}
    for block in blocks:
        exec(compile(block, DOC, "exec"), namespace)
