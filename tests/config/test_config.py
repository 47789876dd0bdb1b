"""Config loading: inheritance across formats, references, provenance, errors."""

import copy
import os.path as osp
import pickle
import sys

import pytest

from loomcv.config import Config, ConfigDict
from loomcv.errors import ConfigError, ConfigKeyError, ConfigSyntaxError

FIXTURES = osp.join(osp.dirname(osp.dirname(__file__)), "fixtures", "configs", "inherit")


def fixture(name):
    return osp.join(FIXTURES, name)


def test_three_formats_several_bases_and_references():
    cfg = Config.fromfile(fixture("level2.py"))
    assert cfg.model.type == "TinyNet" and cfg.model.depth == 34
    assert cfg.model.norm_cfg == dict(type="BN", requires_grad=True)
    assert cfg.model.head.num_classes == 10 and cfg.model.head.topk == (1, 5)
    assert cfg.train_pipeline[1].prob == 0.5
    assert cfg.optim_wrapper.optimizer.lr == 0.1
    assert cfg.param_scheduler[0]["milestones"] == [30, 60, 90]
    assert cfg.work_dir == "./work_dirs/level2"
    assert cfg.config_folder == FIXTURES.replace("\\", "/")


def test_yaml_child_delete_and_string_references():
    cfg = Config.fromfile(fixture("level3.yaml"))
    assert cfg.model.norm_cfg == dict(type="GN", num_groups=4)  # base keys gone
    assert cfg.model.depth == 34  # the rest still merged
    assert cfg.classes_copy == 10 and cfg.label == "net-34"


def test_fourth_level_python_intermediate_variables_and_base_attributes():
    cfg = Config.fromfile(fixture("level4.py"))
    assert cfg.lr == pytest.approx(0.2)
    assert cfg.optim_wrapper.optimizer == dict(type="SGD", lr=pytest.approx(0.2), momentum=0.9,
                                               weight_decay=0.0001)
    assert cfg.train_dataloader.dataset.pipeline[1]["prob"] == 0.0
    assert cfg.train_pipeline[1]["prob"] == 0.0
    assert cfg.train_dataloader.batch_size == 16
    json_cfg = Config.fromfile(fixture("level4.json"))
    assert json_cfg.train_cfg.max_epochs == 5 and json_cfg.extra == ".json"
    assert json_cfg.model.norm_cfg.type == "GN"


def test_provenance_names_file_and_line_of_the_last_setter():
    cfg = Config.fromfile(fixture("level4.py"))
    assert cfg.source_of("model.type") == fixture("_base_/models/tiny_net.py") + ":3"
    assert cfg.source_of("model.depth") == fixture("level2.py") + ":7"
    assert cfg.source_of("model.norm_cfg.num_groups") == fixture("level3.yaml") + ":7"
    assert cfg.source_of("optim_wrapper.optimizer.lr") == fixture("level4.py") + ":4"
    assert cfg.source_of("optim_wrapper.optimizer.momentum").startswith(fixture("_base_/schedules/sgd.json"))
    assert cfg.model.locate("type") == ("model.type", fixture("_base_/models/tiny_net.py") + ":3")
    cfg.merge_from_dict({"model.depth": 50})
    assert cfg.source_of("model.depth") == "--cfg-options model.depth"
    text = cfg.explain_text
    assert "depth=50,  # --cfg-options model.depth" in text
    assert "tiny_net.py:3" in text


def test_merge_from_dict_dotted_keys_and_list_indices():
    cfg = Config.fromfile(fixture("level2.py"))
    cfg.merge_from_dict({"train_pipeline.1.prob": 0.0, "model.head": dict(num_classes=3),
                         "workflow": [("train", 1), ("val", 1)], "model.backbone.frozen": 1})
    assert cfg.train_pipeline[1].prob == 0.0 and cfg.train_pipeline[1].type == "RandomFlip"
    assert cfg.model.head == dict(type="LinearHead", num_classes=3, topk=(1, 5))
    assert cfg.workflow == [("train", 1), ("val", 1)]
    assert cfg.model.backbone.frozen == 1
    with pytest.raises(ConfigError, match="out of range"):
        cfg.merge_from_dict({"train_pipeline.7.prob": 0.0})
    with pytest.raises(ConfigError, match="model.depth is 34, not a dict"):
        cfg.merge_from_dict({"model.depth.x": 1})
    with pytest.raises(ConfigError, match="list indices are not allowed"):
        cfg.merge_from_dict({"train_pipeline.0.type": "X"}, allow_list_keys=False)


def test_typo_in_override_warns_with_the_close_key():
    cfg = Config.fromfile(fixture("level2.py"))
    with pytest.warns(UserWarning, match="model.deph is a new key. Did you mean: 'depth'"):
        cfg.merge_from_dict({"model.deph": 50})


@pytest.mark.parametrize("ext", [".py", ".yaml", ".json"])
def test_dump_round_trips(tmp_path, ext):
    cfg = Config.fromfile(fixture("level4.py"))
    out = tmp_path / f"dumped{ext}"
    cfg.dump(str(out))
    again = Config.fromfile(str(out))
    if ext == ".py":
        assert again == cfg
        assert again.model.head.topk == (1, 5)
    else:  # YAML and JSON have no tuples
        from loomcv.config.config import _for_data_format
        assert again.to_dict() == _for_data_format(cfg.to_dict())
    assert Config.fromstring(cfg.pretty_text, ".py") == cfg


def test_config_dict_access_copy_pickle():
    cfg = Config.fromfile(fixture("level2.py"))
    assert cfg["model"]["depth"] == cfg.model.depth == cfg.get("model").get("depth")
    cfg.model.depth = 101
    cfg["extra"] = {"nested": {"x": 1}}
    assert isinstance(cfg.extra.nested, ConfigDict) and cfg.extra.nested.x == 1
    with pytest.raises(AttributeError, match="did you mean|Did you mean: 'depth'"):
        cfg.model.dept
    clone = copy.deepcopy(cfg)
    clone.model.depth = 1
    assert cfg.model.depth == 101
    for obj in (cfg, cfg.model):
        again = pickle.loads(pickle.dumps(obj))
        assert again == obj
    assert pickle.loads(pickle.dumps(cfg.model)).locate("depth")[0] == "model.depth"
    assert cfg.to_dict()["model"]["norm_cfg"] == {"type": "BN", "requires_grad": True}
    assert type(cfg.to_dict()["model"]) is dict
    assert "depth=101" in cfg.pretty_text


def test_package_base(tmp_path, monkeypatch):
    pkg = tmp_path / "shipcfgs"
    (pkg / "configs" / "_base_").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "configs" / "_base_" / "net.py").write_text("model = dict(type='Shipped', width=8)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    child = tmp_path / "user.py"
    child.write_text("_base_ = ['shipcfgs::_base_/net.py']\nmodel = dict(width=16)\n")
    cfg = Config.fromfile(str(child))
    assert cfg.model == dict(type="Shipped", width=16)
    assert Config.fromfile("shipcfgs::_base_/net.py").model.width == 8


def test_custom_imports_run_at_load(tmp_path, monkeypatch):
    (tmp_path / "my_custom_mod.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg_file = tmp_path / "c.py"
    cfg_file.write_text("custom_imports = dict(imports=['my_custom_mod'], allow_failed_imports=False)\n")
    Config.fromfile(str(cfg_file))
    assert sys.modules["my_custom_mod"].LOADED
    bad = tmp_path / "bad.py"
    bad.write_text("custom_imports = dict(imports=['no_such_module_here'])\n")
    with pytest.raises(ImportError, match="no_such_module_here.*bad.py"):
        Config.fromfile(str(bad))
    ok = tmp_path / "ok.py"
    ok.write_text("custom_imports = dict(imports=['no_such_module_here'], allow_failed_imports=True)\n")
    with pytest.warns(UserWarning, match="no_such_module_here"):
        Config.fromfile(str(ok))


# ------------------------------------------------------------------ errors
def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_missing_base_names_file_line_and_path(tmp_path):
    path = write(tmp_path, "a.py", "x = 1\n_base_ = ['./nope.py']\n")
    with pytest.raises(ConfigError, match=r"a.py:2: base config './nope.py' not found \(looked for .*nope.py\)"):
        Config.fromfile(path)


def test_circular_bases(tmp_path):
    write(tmp_path, "a.py", "_base_ = './b.py'\n")
    write(tmp_path, "b.yaml", "_base_: ./a.py\n")
    write(tmp_path, "b.py", "_base_ = './b.yaml'\n")
    with pytest.raises(ConfigError, match=r"circular _base_ inheritance: a.py -> b.py -> b.yaml -> a.py"):
        Config.fromfile(str(tmp_path / "a.py"))


def test_key_in_two_sibling_bases(tmp_path):
    write(tmp_path, "one.py", "model = dict(a=1)\n")
    write(tmp_path, "two.json", '{"model": {"b": 2}}')
    path = write(tmp_path, "c.py", "_base_ = ['one.py', 'two.json']\n")
    with pytest.raises(ConfigKeyError, match="'model' is defined in two bases.*one.py.*two.json"):
        Config.fromfile(path)


def test_syntax_errors_name_file_and_line(tmp_path):
    path = write(tmp_path, "s.py", "a = 1\nmodel = dict(type='X' depth=1)\n")
    with pytest.raises(ConfigSyntaxError, match=r"s.py:2: syntax error"):
        Config.fromfile(path)
    path = write(tmp_path, "s.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(ConfigSyntaxError, match=r"s.yaml:\d+: YAML error"):
        Config.fromfile(path)
    path = write(tmp_path, "s.json", '{"a": 1,\n "b": }')
    with pytest.raises(ConfigSyntaxError, match=r"s.json:2: JSON error"):
        Config.fromfile(path)
    path = write(tmp_path, "r.py", "a = 1\nb = undefined_name + 1\n")
    with pytest.raises(ConfigError, match=r"r.py:2: NameError"):
        Config.fromfile(path)


def test_dict_into_non_dict_needs_delete(tmp_path):
    write(tmp_path, "base.py", "schedule = 'step'\nopt = dict(a=1)\n")
    path = write(tmp_path, "child.py", "_base_ = 'base.py'\nschedule = dict(policy='cos')\n")
    with pytest.raises(ConfigError, match="schedule is a dict in .*child.py but str .* _delete_=True"):
        Config.fromfile(path)
    ok = write(tmp_path, "ok.py", "_base_ = 'base.py'\nschedule = dict(_delete_=True, policy='cos')\n")
    assert Config.fromfile(ok).schedule == dict(policy="cos")


def test_bad_base_reference_and_file_kinds(tmp_path):
    write(tmp_path, "base.py", "num = 3\n")
    path = write(tmp_path, "c.py", "_base_ = 'base.py'\nx = {{_base_.nmu}}\n")
    with pytest.raises(KeyError, match="_base_.nmu is not defined.*Did you mean: 'num'"):
        Config.fromfile(path)
    path = write(tmp_path, "c.yaml", "_base_: base.py\nx: '{{_base_.missing.key}}'\n")
    with pytest.raises(KeyError, match="refers to a key the bases do not define"):
        Config.fromfile(path)
    with pytest.raises(ConfigError, match="must end in"):
        Config.fromfile(write(tmp_path, "c.txt", "a=1"))
    with pytest.raises(FileNotFoundError):
        Config.fromfile(str(tmp_path / "absent.py"))
