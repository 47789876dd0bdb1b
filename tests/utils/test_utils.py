"""loomcv.utils: MMEngine's public helpers."""

import os
import subprocess
import sys
import warnings
from collections import namedtuple

import pytest

from loomcv import utils


def test_no_torch_on_import():
    out = subprocess.run([sys.executable, "-c", "import sys, loomcv.utils; print('torch' in sys.modules)"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_digit_version_orders_pre_and_post_releases():
    dv = utils.digit_version
    assert dv("1.2.3") == (1, 2, 3, 0, 0, 0, 0, 0)
    assert dv("2.0.0b9") < dv("2.0.0rc1") < dv("2.0.0")
    assert dv("1.0a1") < dv("1.0") < dv("1.0.post1") < dv("1.0.1")
    assert dv("2.1.0") > dv("2.0.9")
    with pytest.raises(ValueError, match="not a valid version"):
        dv("abc")


def test_installed_packages():
    assert utils.is_installed("yaml") and utils.is_installed("PyYAML")
    assert not utils.is_installed("surely_not_a_package_xyz")
    assert os.path.isfile(os.path.join(utils.get_installed_path("loomcv"), "__init__.py"))
    with pytest.raises(ModuleNotFoundError):
        utils.get_installed_path("surely_not_a_package_xyz")


def test_git_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a repository
    assert utils.get_git_hash(fallback="none") == "none"
    with pytest.raises(TypeError):
        utils.get_git_hash(digits="7")


def test_sequence_checks():
    assert utils.is_list_of([1, 2], int) and not utils.is_list_of((1, 2), int)
    assert utils.is_tuple_of((1, 2), int) and not utils.is_tuple_of((1, "a"), int)
    assert utils.is_seq_of(["a"], str) and utils.is_seq_of((1,), int, tuple)
    assert utils.is_str("x") and not utils.is_str(b"x")
    assert utils.slice_list([1, 2, 3, 4], [1, 3]) == [[1], [2, 3, 4]]
    with pytest.raises(ValueError, match="add up"):
        utils.slice_list([1, 2], [3])
    assert utils.concat_list([[1], [2, 3]]) == [1, 2, 3]
    assert utils.to_2tuple(3) == (3, 3) and utils.to_2tuple((1, 2)) == (1, 2) and utils.to_ntuple(3)(0) == (0, 0, 0)


def test_apply_to_keeps_container_types():
    Pair = namedtuple("Pair", "a b")
    data = dict(x=[1, "s", (2, Pair(3, "t"))])
    out = utils.apply_to(data, lambda v: isinstance(v, int), lambda v: v * 10)
    assert out == dict(x=[10, "s", (20, Pair(30, "t"))]) and isinstance(out["x"][2][1], Pair)


def test_paths(tmp_path):
    folder = tmp_path / "a" / "b"
    utils.mkdir_or_exist(str(folder))
    utils.mkdir_or_exist(str(folder))  # exists: fine
    (folder / "x.JPG").write_text("1")
    (folder / "y.txt").write_text("2")
    (tmp_path / "a" / "z.jpg").write_text("3")
    (tmp_path / "a" / ".hidden.jpg").write_text("4")
    assert sorted(utils.scandir(str(tmp_path / "a"), ".jpg", recursive=True)) == ["z.jpg"]
    assert sorted(utils.scandir(tmp_path / "a", ".jpg", recursive=True, case_sensitive=False)) == \
        [os.path.join("b", "x.JPG"), "z.jpg"]
    assert sorted(utils.scandir(str(folder))) == ["x.JPG", "y.txt"]
    with pytest.raises(TypeError, match="suffix"):
        list(utils.scandir(str(folder), suffix=[".jpg"]))
    utils.check_file_exist(str(folder / "y.txt"))
    with pytest.raises(FileNotFoundError, match="nope"):
        utils.check_file_exist(str(folder / "nope"))
    link = tmp_path / "link"
    utils.symlink(str(folder / "y.txt"), str(link))
    utils.symlink(str(folder / "x.JPG"), str(link))  # overwrite
    assert link.read_text() == "1"
    assert utils.is_abs("/x") and utils.is_abs("s3://bucket/x") and not utils.is_abs("x/y")
    assert utils.is_filepath(tmp_path) and not utils.is_filepath(3)


def test_deprecation_helpers():
    @utils.deprecated_function("0.1", "0.3", "use g instead")
    def f(x):
        """Doubles."""
        return 2 * x

    with pytest.warns(DeprecationWarning, match="deprecated since 0.1 and will be removed in 0.3: use g"):
        assert f(2) == 4
    assert "use g instead" in f.__doc__

    @utils.deprecated_api_warning(dict(old="new"), cls_name="Thing")
    def g(new=0):
        return new

    with pytest.warns(DeprecationWarning, match="Thing: argument 'old' is deprecated"):
        assert g(old=3) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert g(new=1) == 1

    class Base:
        def run(self):
            pass

    class Child(Base):
        def run(self):
            pass

    assert utils.is_method_overridden("run", Base, Child) and utils.is_method_overridden("run", Base, Child())
    assert not utils.is_method_overridden("run", Base, Base)
    assert utils.has_method(Child(), "run") and not utils.has_method(Child(), "nope")


def test_reused_helpers_are_the_same_objects():
    from loomcv.logging.progress import track_progress
    from loomcv.logging.timer import Timer
    from loomcv.registry.imports import import_modules_from_strings
    assert utils.track_progress is track_progress and utils.Timer is Timer
    assert utils.import_modules_from_strings is import_modules_from_strings
    assert utils.import_modules_from_strings(["os.path"])[0] is os.path
