"""Build errors from a loaded config name the key path and the file line."""

import pytest

from loomcv.config import Config
from loomcv.registry import Registry


def test_unknown_type_and_bad_argument_point_into_the_config_file(tmp_path):
    reg = Registry("model", scope="prov")

    @reg.register_module()
    class Backbone:
        def __init__(self, depth=18):
            self.depth = depth

    @reg.register_module()
    class Net:
        def __init__(self, backbone):
            self.backbone = reg.build(backbone)

    path = tmp_path / "net.py"
    path.write_text("model = dict(\n    type='Net',\n    backbone=dict(type='Backbon', depth=50))\n")
    cfg = Config.fromfile(str(path))
    with pytest.raises(KeyError) as info:
        reg.build(cfg.model)
    message = str(info.value)
    assert "'Backbon' is not registered" in message
    assert f"model.backbone.type (set in {path}:3)" in message
    assert "closest registered names: 'Backbone'" in message

    cfg.merge_from_dict({"model.backbone.type": "Backbone", "model.backbone.deepth": 50})
    with pytest.raises(TypeError) as info:
        reg.build(cfg.model)
    message = str(info.value)
    assert "Backbone got an unexpected argument 'deepth'" in message
    assert "config model.backbone" in message and "Did you mean: 'depth'" in message
