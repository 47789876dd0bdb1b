"""The Python examples of docs/classification.md and docs/config_naming.md run as written."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize("page", ["classification.md", "config_naming.md"])
def test_doc_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)
    runnable = [b for b in blocks if not b.lstrip().startswith(("custom_imports", "_base_", "# configs/"))]
    assert runnable
    namespace = {}
    for block in runnable:
        exec(compile(block, page, "exec"), namespace)
