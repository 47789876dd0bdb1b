"""--cfg-options parsing: literals without eval, bare words, clear errors."""

import argparse

import pytest

from loomcv.config import DictAction, parse_option_value
from loomcv.errors import ConfigError


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("-2", -2), ("1e-3", 0.001), ("True", True), ("false", False), ("None", None),
    ("resnet", "resnet"), ("'quoted'", "quoted"), ('"1"', "1"), ("1,2,3", [1, 2, 3]),
    ("(1,2)", (1, 2)), ("[1,[2,(3,4)]]", [1, [2, (3, 4)]]),
    ("[(train,1),(val,1)]", [("train", 1), ("val", 1)]), ("/data/my set/x.txt", "/data/my set/x.txt"),
    ("my-data", "my-data"), ("a.txt", "a.txt"), ("{'a': 1}", {"a": 1}), ("[]", []),
])
def test_values(text, value):
    assert parse_option_value(text) == value
    assert type(parse_option_value(text)) is type(value)


def test_never_evaluates_code(tmp_path):
    marker = tmp_path / "pwned"
    text = f"__import__('os').system('touch {marker}')"
    parse_option_value(text)
    assert not marker.exists()


@pytest.mark.parametrize("text", ["[1,2", "(1,(2)", "[1,2))", "'open"])
def test_malformed(text):
    with pytest.raises(ConfigError):
        parse_option_value(text)


def test_dict_action_accumulates_and_reports_bad_items(capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(["--cfg-options", "a.b=1", "pipeline.1.prob=0.0",
                              "workflow=[(train,1),(val,1)]"])
    assert args.cfg_options == {"a.b": 1, "pipeline.1.prob": 0.0,
                                "workflow": [("train", 1), ("val", 1)]}
    for bad in (["novalue"], ["x=[1"], ["=3"], ["a..b=1"]):
        with pytest.raises(SystemExit):
            parser.parse_args(["--cfg-options", *bad])
        assert "error" in capsys.readouterr().err
