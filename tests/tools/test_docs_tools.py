"""docs/tools.md runs as written: its `loomcv` lines and Python blocks, in page order, in one folder.

The pictures on the page are the ones this test draws; LOOMCV_WRITE_DOC_IMAGES=1 copies them into
docs/images (otherwise the committed ones must exist and match the fresh ones in size).
"""

import os
import os.path as osp
import re
import shlex
import shutil

import cv2

from loomcv.cli.main import main

DOCS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), "docs")
PICTURES = {"curves.png": "tools_curves.png", "analysis/fail/gallery.png": "tools_fail_gallery.png",
            "cam.png": "tools_cam.png"}


def page_steps():
    """(kind, text) of each bash or python block, in page order; config-file snippets left out."""
    text = open(osp.join(DOCS, "tools.md"), encoding="utf-8").read()
    steps = []
    for kind, body in re.findall(r"```(bash|python)\n(.*?)```", text, flags=re.S):
        if kind == "python" and body.lstrip().startswith("# in a config file"):
            continue
        steps.append((kind, body))
    return steps


def test_tools_page_runs_and_draws_its_pictures(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    steps = page_steps()
    commands = [line for kind, body in steps if kind == "bash" for line in body.splitlines()
                if line.startswith("loomcv ")]
    assert {c.split()[1] for c in commands} >= {"train", "analyze-logs", "test", "analyze-results", "vis-cam",
                                                "verify-dataset"}
    namespace = {}
    for kind, body in steps:
        if kind == "python":
            exec(compile(body, "tools.md", "exec"), namespace)
            continue
        for line in body.splitlines():
            if line.startswith("loomcv "):
                rc = main(shlex.split(line)[1:])
                assert rc == 0, f"`{line}` exited with {rc}:\n{capsys.readouterr().err[-2000:]}"
    out = capsys.readouterr().out
    assert "slowest epoch" in out and "fastest epoch" in out and "all 360 samples load" in out
    assert cv2.imread("curves.png").shape == (600, 800, 3)  # --window-size 8*6 at 100 dpi
    assert sorted(os.listdir("analysis")) == ["fail", "success"]
    for fresh, committed in PICTURES.items():
        target = osp.join(DOCS, "images", committed)
        if os.environ.get("LOOMCV_WRITE_DOC_IMAGES"):
            shutil.copyfile(fresh, target)
        assert osp.isfile(target), f"docs/images/{committed} is missing; run with LOOMCV_WRITE_DOC_IMAGES=1"
        if fresh != "analysis/fail/gallery.png":  # the gallery's length depends on the mistakes made
            assert cv2.imread(target).shape == cv2.imread(fresh).shape
