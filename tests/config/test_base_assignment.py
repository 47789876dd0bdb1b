"""``_base_.a.b = v`` in a Python config changes the inherited value (MMEngine semantics, used by
MMPretrain's MobileOne configs); reading ``_base_.x`` still hands out a copy."""

from loomcv.config import Config


def test_assigning_into_base_changes_the_inherited_value(tmp_path):
    (tmp_path / "base.py").write_text(
        "pipeline = [dict(type='Load'), dict(type='Crop', scale=224)]\n"
        "loader = dict(batch_size=2, dataset=dict(type='D', pipeline=pipeline))\n")
    (tmp_path / "child.py").write_text(
        "_base_ = './base.py'\n"
        "import copy\n"
        "p = copy.deepcopy(_base_.pipeline)\n"
        "p[1]['scale'] = 160\n"
        "_base_.loader.dataset.pipeline = p\n"
        "q = _base_.pipeline\n"
        "q[1]['scale'] = 1\n"  # a plain read is a copy: the base keeps 224
        "_base_.loader['batch_size'] += 1\n")
    cfg = Config.fromfile(str(tmp_path / "child.py"))
    assert cfg.loader.dataset.pipeline[1].scale == 160
    assert cfg.loader.batch_size == 3
    assert cfg.pipeline[1].scale == 224
