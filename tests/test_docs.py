"""The Python examples in the docs run as written (blocks of a page share a namespace)."""

import os.path as osp
import re

import pytest

DOCS = osp.join(osp.dirname(osp.dirname(__file__)), "docs")
PAGES = ["registry.md", "config.md"]


def python_blocks(page):
    with open(osp.join(DOCS, page), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # config-file snippets (not code) start with a file comment or a config key
    blocks = [b for b in python_blocks(page)
              if not b.lstrip().startswith(("# configs/", "_base_", "custom_imports"))]
    assert blocks, f"{page} has no runnable examples"
    namespace = {}
    for block in blocks:
        exec(compile(block, f"{page}", "exec"), namespace)
