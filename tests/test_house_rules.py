"""House rules a newcomer can see: small files, a small Runner, no toolbox named by the engine."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("loomcv", "loomcls", "loomdet")


def source_files():
    for package in PACKAGES:
        yield from (p for p in (ROOT / package).rglob("*.py") if "configs" not in p.parts)


def test_no_source_file_is_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in source_files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}, "split these files by concept"


def test_the_runner_stays_small():
    assert len((ROOT / "loomcv/runner/runner.py").read_text(encoding="utf-8").splitlines()) < 450
