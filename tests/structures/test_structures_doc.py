"""The "Data structures" section of docs/data.md runs on its own (the whole page runs in tests/dataset)."""

import os.path as osp
import re

DOC = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "docs", "data.md")


def test_data_structures_section_runs_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Data structures", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "docs/data.md lost its data-structures example"
    namespace = {}
    for block in blocks:
        exec(compile(block, DOC, "exec"), namespace)
