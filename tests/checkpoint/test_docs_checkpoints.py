"""docs/checkpoints.md runs as written: its Python blocks, then its convert-checkpoint commands."""

import os.path as osp
import re
import shlex

import pytest
import torch

from loomcv.cli.main import main

PAGE = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), "docs", "checkpoints.md")
pytestmark = pytest.mark.timeout(60)


def test_checkpoints_page_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open(PAGE, encoding="utf-8") as f:
        text = f.read()
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        exec(compile(block, PAGE, "exec"), namespace)
    commands = [line for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)
                for line in block.splitlines() if line.startswith("loomcv ")]
    assert len(commands) == 3
    for command in commands:
        assert main(shlex.split(command)[1:]) == 0, command
    backbone = torch.load("backbone.pth", weights_only=True)
    assert torch.equal(backbone["conv1.weight"], namespace["checkpoint"]["state_dict"]["backbone.conv1.weight"])
    assert "optimizer" not in torch.load("release.pth", weights_only=True)
