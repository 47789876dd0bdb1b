"""A bad train_cfg/val_cfg/test_cfg is named (key path, accepted names, closest one) when the Runner is
created, before it logs pages of set-up."""

import json
import re
import sys
from pathlib import Path

import pytest

from loomcv.cli.main import main
from loomcv.errors import ConfigError
from loomcv.runner import Runner

sys.path.insert(0, str(Path(__file__).parent))
from tiny_components import tiny_config  # noqa: E402

HERE = Path(__file__).parent


def _config_file(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny_config(tmp_path / "wd", max_epochs=1)))
    return str(path)


@pytest.mark.parametrize("option, expected", [
    ("train_cfg.max_epoch=2", r"train_cfg.max_epoch \(set in --cfg-options train_cfg.max_epoch\): "
                              r"EpochBasedTrainLoop takes no argument 'max_epoch'. Did you mean: 'max_epochs'\?\n"
                              r"  accepted: max_epochs, val_begin, val_interval, dynamic_intervals, by_epoch"),
    ("train_cfg.max_epochs=abc", r"train_cfg.max_epochs \(set in --cfg-options train_cfg.max_epochs\) must be "
                                 r"an integer, got 'abc' \(str\)"),
    ("train_cfg.val_interval=0", r"train_cfg.val_interval must be >= 1, got 0"),
    ("val_cfg.fp61=True", r"val_cfg.fp61 .*ValLoop takes no argument 'fp61'. Did you mean: 'fp16'\?"),
])
def test_the_train_command_names_the_bad_loop_key_before_the_set_up_log(tmp_path, capsys, monkeypatch, option,
                                                                         expected):
    monkeypatch.syspath_prepend(str(HERE))
    rc = main(["train", _config_file(tmp_path), "--cfg-options", option])
    err = capsys.readouterr().err
    assert rc != 0
    assert re.search(expected, err), err
    assert not list((tmp_path / "wd").glob("*/*.log"))  # stopped before the Runner logged anything


def test_runner_checks_loop_configs_at_construction(tmp_path):
    cfg = tiny_config(tmp_path / "wd", max_epochs=1)
    cfg["train_cfg"] = dict(by_epoch=False, max_iters=4, val_intervall=2)
    with pytest.raises(ConfigError, match=r"train_cfg.val_intervall: IterBasedTrainLoop takes no argument "
                                          r"'val_intervall'. Did you mean: 'val_interval'\?"):
        Runner.from_cfg(cfg)
    assert not list((tmp_path / "wd").glob("*/*.log"))
    cfg["train_cfg"] = dict(by_epoch=True, max_iters=4)
    with pytest.raises(ConfigError, match="by_epoch=True takes max_epochs, not max_iters"):
        Runner.from_cfg(cfg)
