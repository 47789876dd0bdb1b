"""A toolbox declares the module that registers its export specs; loomcv imports it when exporting."""

import sys
import textwrap

import pytest

from loomcv.export import TensorMode, get_export_spec
from loomcv.registry import toolbox as toolbox_module
from loomcv.registry.toolbox import Toolbox

MODELS = """
import torch

class Doubler(torch.nn.Module):
    def forward(self, inputs, data_samples=None, mode='tensor'):
        return inputs * 2
"""

SPECS = """
from loomcv.export import ExportSpec, TensorMode, register_export_spec
from specbox.models import Doubler

@register_export_spec(Doubler)
def doubler_spec(model):
    return ExportSpec(TensorMode(model), output_names=('doubled',), meta=dict(task='demo'))
"""


@pytest.fixture()
def specbox(tmp_path, monkeypatch):
    pkg = tmp_path / "specbox"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(textwrap.dedent(MODELS))
    (pkg / "export_specs.py").write_text(textwrap.dedent(SPECS))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield pkg
    for name in [m for m in sys.modules if m.split(".")[0] == "specbox"]:
        del sys.modules[name]


def test_declared_export_specs_module_is_imported_and_used(specbox, monkeypatch):
    from specbox.models import Doubler
    monkeypatch.setitem(toolbox_module._registered, "specbox", Toolbox(scope="specbox"))
    assert isinstance(get_export_spec(Doubler()).module, TensorMode)   # declared nothing: the model as it is
    assert "specbox.export_specs" not in sys.modules
    monkeypatch.setitem(toolbox_module._registered, "specbox",
                        Toolbox(scope="specbox", export_specs="specbox.export_specs"))
    spec = get_export_spec(Doubler())
    assert spec.output_names == ("doubled",) and spec.meta == dict(task="demo")


def test_a_declared_module_that_does_not_import_is_an_error(specbox, monkeypatch):
    from specbox.models import Doubler
    monkeypatch.setitem(toolbox_module._registered, "specbox", Toolbox(scope="specbox", export_specs="specbox.nope"))
    with pytest.raises(ModuleNotFoundError, match="specbox.nope"):
        get_export_spec(Doubler())


def test_export_specs_must_be_a_module_name():
    with pytest.raises(ValueError, match=r"Toolbox 'specbox': export_specs must be a dotted module name, got 'a b'"):
        Toolbox(scope="specbox", export_specs="a b")


def test_shipped_toolboxes_declare_their_deploy_modules():
    from loomcls.toolbox import TOOLBOX as CLS
    from loomdet.toolbox import TOOLBOX as DET
    assert CLS.export_specs == "loomcls.apis.deploy" and DET.export_specs == "loomdet.apis.deploy"
