"""Every message in docs/troubleshooting.md is the one its reproduce script really produces."""

import contextlib
import io
import os.path as osp
import re
import traceback
import warnings

import pytest

PAGE = osp.join(osp.dirname(osp.dirname(__file__)), "docs", "troubleshooting.md")


ROOT = osp.dirname(osp.dirname(__file__))


def entries():
    """``(message, script)`` for each ``### `message` `` heading and the first python block under it;
    entries for multi-process runs name the file that emits the message instead (script None)."""
    with open(PAGE, encoding="utf-8") as f:
        text = f.read()
    found = []
    for section in re.split(r"^### ", text, flags=re.M)[1:]:
        heading = section.splitlines()[0].strip()
        assert heading.startswith("`") and heading.endswith("`"), f"heading is not a `message`: {heading}"
        blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
        raised_by = re.search(r"^Raised by `([^`]+)`", section, flags=re.M)
        assert blocks or raised_by, f"no reproduce script and no 'Raised by' file under {heading}"
        found.append((heading.strip("`"), blocks[0] if blocks else raised_by.group(1)))
    return found


def appears(message: str, output: str) -> bool:
    """Whether the parts of ``message`` between ``...`` appear in ``output`` in order."""
    position = 0
    for part in (p.strip() for p in message.split("...")):
        position = output.find(part, position)
        if position < 0:
            return False
        position += len(part)
    return True


ENTRIES = entries()


def test_the_page_has_entries():
    assert len(ENTRIES) >= 10


@pytest.mark.parametrize("message, script", ENTRIES, ids=[m[:50] for m, _ in ENTRIES])
def test_reproduce_script_shows_the_message(message, script, tmp_path, monkeypatch):
    if script.endswith(".py") and "\n" not in script:  # 'Raised by <file>': the source still says it
        with open(osp.join(ROOT, script), encoding="utf-8") as f:
            source = f.read()
        words = [w for part in message.split("...") for w in re.findall(r"[a-z_]{4,}", part)]
        assert words and all(w in source for w in words), f"{script} no longer emits {message!r}"
        return
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), warnings.catch_warnings():
        try:
            exec(compile(script, "troubleshooting.md", "exec"), {})
        except BaseException as err:  # noqa: B902 - SystemExit from the CLI included
            out.write("".join(traceback.format_exception_only(type(err), err)))
            out.write("".join(f"\n{note}" for note in getattr(err, "__notes__", ())))
        else:
            pytest.fail(f"the script for {message!r} ran without an error")
    assert appears(message, out.getvalue()), f"{message!r} not in:\n{out.getvalue()}"
