"""The registry: registration forms, lookup through scopes, build errors."""

import pytest

from loomcv.errors import BuildArgumentError, RegistryError
from loomcv.registry import (MODELS, DefaultScope, Registry, build_from_cfg, default_scope,
                             init_default_scope)


@pytest.fixture
def tree():
    """A fresh root with two project children, like loomcv -> loomcls / loomdet."""
    root = Registry("model", scope="rootproj")
    cls_reg = Registry("model", parent=root, scope="clsproj")
    det_reg = Registry("model", parent=root, scope="detproj")
    return root, cls_reg, det_reg


def test_four_ways_to_register_and_functions():
    reg = Registry("thing", scope="t")

    @reg.register_module()
    class Plain:
        pass

    @reg.register_module(name="Alias")
    class Named:
        pass

    @reg.register_module(name=["First", "Second"])
    class Many:
        pass

    class Called:
        pass

    reg.register_module(module=Called)

    @reg.register_module
    def make_thing(x=1):
        return ("made", x)

    assert reg.get("Plain") is Plain
    assert reg.get("Alias") is Named and reg.get("Named") is None
    assert reg.get("First") is Many and reg.get("Second") is Many
    assert reg.get("Called") is Called
    assert reg.build(dict(type="make_thing", x=3)) == ("made", 3)
    assert "Plain" in reg and "Nope" not in reg
    assert len(reg) == 6


def test_duplicate_needs_force_and_names_both_definitions():
    reg = Registry("thing", scope="t")

    @reg.register_module()
    class Dup:
        pass

    with pytest.raises(RegistryError) as info:
        @reg.register_module(name="Dup")
        class Other:
            pass
    message = str(info.value)
    assert "test_registry" in message and "Dup" in message and "Other" in message
    assert "force=True" in message

    @reg.register_module(name="Dup", force=True)
    class Replacement:
        pass

    assert reg.get("Dup") is Replacement


def test_child_finds_itself_then_parent_and_sibling_through_root(tree):
    root, cls_reg, det_reg = tree

    @root.register_module()
    class Shared:
        pass

    @cls_reg.register_module()
    class Backbone:
        pass

    @det_reg.register_module(name="Backbone")
    class DetBackbone:
        pass

    assert cls_reg.get("Shared") is Shared           # parent fallback
    assert cls_reg.get("Backbone") is Backbone       # own module first
    assert det_reg.get("Backbone") is DetBackbone
    assert det_reg.get("clsproj.Backbone") is Backbone  # sibling by scope
    assert root.get("detproj.Backbone") is DetBackbone
    assert root.get("Backbone") is None
    assert [r.scope for r in det_reg.search_order("clsproj.Backbone")] == ["clsproj", "rootproj"]


def test_default_scope_redirects_unscoped_names(tree):
    root, cls_reg, _ = tree

    @cls_reg.register_module()
    class OnlyInCls:
        pass

    assert root.get("OnlyInCls") is None
    with default_scope("clsproj"):
        assert DefaultScope.current_scope() == "clsproj"
        assert root.get("OnlyInCls") is OnlyInCls
        assert isinstance(root.build(dict(type="OnlyInCls")), OnlyInCls)
    assert root.get("OnlyInCls") is None
    assert isinstance(root.build(dict(type="OnlyInCls", _scope_="clsproj")), OnlyInCls)


def test_scope_aliases_reach_loomcls():
    import loomcls.registry as cls_registry

    @cls_registry.MODELS.register_module(name="AliasProbe")
    class AliasProbe:
        pass

    for scope in ("loomcls", "mmpretrain", "mmcls"):
        assert MODELS.get(f"{scope}.AliasProbe") is AliasProbe
    previous = DefaultScope.get_current_instance()
    try:
        init_default_scope("mmpretrain")
        assert DefaultScope.current_scope() == "loomcls"
        assert MODELS.get("AliasProbe") is AliasProbe
    finally:
        DefaultScope._current = previous
    del cls_registry.MODELS.module_dict["AliasProbe"]


def test_scope_defaults_to_defining_package():
    assert Registry("x").scope == __name__.split(".")[0]
    assert MODELS.scope == "loomcv"
    import loomcls.registry as cls_registry
    assert cls_registry.MODELS.scope == "loomcls"
    assert cls_registry.MODELS.parent is MODELS


def test_build_default_args_fill_only_missing_and_cfg_untouched():
    reg = Registry("thing", scope="t")

    @reg.register_module()
    class Thing:
        def __init__(self, a, b=2, sub=None):
            self.a, self.b, self.sub = a, b, sub
            if sub is not None:
                sub.pop("type")  # a builder consuming its nested config

    cfg = dict(type="Thing", a=1, sub=dict(type="Inner", k=[1, 2]))
    obj = build_from_cfg(cfg, reg, default_args=dict(a=100, b=5))
    assert (obj.a, obj.b) == (1, 5)
    assert cfg == dict(type="Thing", a=1, sub=dict(type="Inner", k=[1, 2]))
    assert obj.sub == dict(k=[1, 2])  # nested dicts are handed over, not built
    # the type itself may come from default_args, or be a class
    assert build_from_cfg(dict(a=3), reg, default_args=dict(type="Thing")).a == 3
    assert build_from_cfg(dict(type=Thing, a=4), reg).a == 4


def test_unknown_type_error_names_registry_scopes_and_close_names():
    reg = Registry("model", scope="errs")

    @reg.register_module()
    class ResNet:
        pass

    @reg.register_module()
    class ResNeXt:
        pass

    with pytest.raises(KeyError) as info:
        reg.build(dict(type="ResNt"))
    message = str(info.value)
    assert "'ResNt' is not registered in registry 'model'" in message
    assert "errs" in message and "'ResNet'" in message and "custom_imports" in message
    with pytest.raises(RegistryError, match="scope 'nosuchscope' is not a known registry scope"):
        reg.build(dict(type="nosuchscope.ResNet"))


def test_bad_arguments_name_class_and_valid_ones():
    reg = Registry("model", scope="args")

    @reg.register_module()
    class Net:
        def __init__(self, depth, width=1):
            pass

    with pytest.raises(BuildArgumentError) as info:
        reg.build(dict(type="Net", depth=1, widht=2))
    assert "Net got an unexpected argument 'widht'" in str(info.value)
    assert "Did you mean: 'width'" in str(info.value)
    assert "accepted arguments: depth, width" in str(info.value)
    with pytest.raises(TypeError, match="missing required argument"):
        reg.build(dict(type="Net"))
    with pytest.raises(KeyError, match="needs a 'type' key"):
        reg.build(dict(depth=1))
    with pytest.raises(TypeError, match="must be a dict"):
        reg.build(["Net"])


def test_errors_from_inside_a_constructor_stay_chained_with_a_note():
    reg = Registry("model", scope="inner")

    @reg.register_module()
    class Picky:
        def __init__(self, value):
            raise ValueError(f"value {value} is too big")

    with pytest.raises(ValueError, match="too big") as info:
        reg.build(dict(type="Picky", value=3))
    assert any("while building" in note and "Picky" in note for note in info.value.__notes__)


def test_lazy_locations_import_on_first_lookup(tmp_path, monkeypatch):
    package = tmp_path / "lazy_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "parts.py").write_text(
        "from lazy_registry_holder import REG\n"
        "@REG.register_module()\nclass LazyPart:\n    pass\n")
    (tmp_path / "lazy_registry_holder.py").write_text(
        "from loomcv.registry import Registry\n"
        "REG = Registry('lazy', scope='lazyscope', locations=['lazy_pkg.parts'])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import sys
    import lazy_registry_holder
    assert "lazy_pkg.parts" not in sys.modules
    assert lazy_registry_holder.REG.get("LazyPart").__name__ == "LazyPart"
    assert "lazy_pkg.parts" in sys.modules


def test_a_location_that_fails_to_import_is_an_error_naming_the_registry(tmp_path, monkeypatch):
    (tmp_path / "half_pkg").mkdir()
    (tmp_path / "half_pkg" / "__init__.py").write_text("")
    (tmp_path / "half_pkg" / "broken.py").write_text("import not_installed_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for location in ("half_pkg.absent", "half_pkg.broken"):
        reg = Registry("half", scope=f"half_{location.rpartition('.')[2]}", locations=[location])
        with pytest.raises(RegistryError, match=f"registry 'half'.*cannot import its location '{location}'"):
            reg.get("Anything")
        with pytest.raises(RegistryError):  # still an error on the next look-up, not a silent empty registry
            reg.get("Anything")


def test_repr_is_a_table():
    reg = Registry("thing", scope="t")

    @reg.register_module()
    class Shown:
        pass

    text = repr(reg)
    assert "Registry of thing" in text and "Shown" in text and "Names" in text


def test_root_registries_exist_and_children_mirror_them():
    import loomcls.registry as cls_registry
    import loomcv.registry as root
    for name in ("MODELS", "DATASETS", "DATA_SAMPLERS", "TRANSFORMS", "HOOKS", "LOOPS", "RUNNERS",
                 "RUNNER_CONSTRUCTORS", "OPTIMIZERS", "OPTIM_WRAPPERS", "OPTIM_WRAPPER_CONSTRUCTORS",
                 "PARAM_SCHEDULERS", "METRICS", "EVALUATOR", "VISUALIZERS", "VISBACKENDS",
                 "LOG_PROCESSORS", "WEIGHT_INITIALIZERS", "MODEL_WRAPPERS", "INFERENCERS",
                 "FUNCTIONS", "TASK_UTILS"):
        parent = getattr(root, name)
        child = getattr(cls_registry, name)
        assert parent.scope == "loomcv" and child.parent is parent and child.scope == "loomcls"
