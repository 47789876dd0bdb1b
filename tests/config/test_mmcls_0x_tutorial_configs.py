"""Every Python config example of the MMClassification 0.x tutorial loads and prints.

The fixtures (tests/fixtures/configs/mmcls_0x_tutorial, see its INDEX.md) are the
article's examples with its typos fixed; `_base_` stand-ins sit beside them.
"""

import glob
import os.path as osp

import pytest

from loomcv.cli.main import main
from loomcv.config import Config

TUTORIAL = osp.join(osp.dirname(osp.dirname(__file__)), "fixtures", "configs", "mmcls_0x_tutorial")
FILES = sorted(glob.glob(osp.join(TUTORIAL, "ch*.py")))


def test_all_chapters_are_present():
    chapters = {osp.basename(f)[:3] for f in FILES}
    assert chapters == {"ch1", "ch2", "ch3", "ch4", "ch5", "ch6", "ch7"}
    assert len(FILES) >= 50


@pytest.mark.parametrize("path", FILES, ids=osp.basename)
def test_loads_and_prints(path, capsys):
    with open(path, encoding="utf-8") as f:
        imports_modules = "custom_imports" in f.read()
    if imports_modules:
        # the article's modules are not installed: loading must say which one
        with pytest.raises(ImportError, match="cannot import"):
            Config.fromfile(path, translate_legacy=False)
        cfg = Config.fromfile(path, import_custom_modules=False, translate_legacy=False)
    else:
        cfg = Config.fromfile(path, translate_legacy=False)
        assert main(["print-config", path]) == 0
        assert capsys.readouterr().out.strip()
    assert len(cfg) > 0
    again = Config.fromstring(cfg.pretty_text, ".py", translate_legacy=False) if not imports_modules else cfg
    assert again == cfg


def test_inherited_300_epoch_config_and_delete():
    cfg = Config.fromfile(osp.join(TUTORIAL, "ch1_resnet50_300e_inherit.py"), translate_legacy=False)
    assert cfg.runner.max_epochs == 300 and cfg.runner.type == "EpochBasedRunner"
    assert cfg.lr_config.step == [150, 200, 250]
    cos = Config.fromfile(osp.join(TUTORIAL, "ch1_lr_cosine_delete.py"), translate_legacy=False)
    assert cos.lr_config.policy == "CosineAnnealing" and "step" not in cos.lr_config
