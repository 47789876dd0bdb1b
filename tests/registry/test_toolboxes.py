"""loomcv names no toolbox; a toolbox plugs in by declaring itself (entry point ``loomcv.toolboxes``).

The third-party toolbox here is written into a temporary folder with an
installed-distribution record (``*.dist-info/entry_points.txt``), which is how
``pip install`` makes any package's entry points visible; nothing in loomcv is
edited or told about it.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import loomcv

LOOMCV_ROOT = pathlib.Path(loomcv.__file__).parent
TOOLBOX_PACKAGES = ("loomcls", "loomdet", "zoobox")


def loomcv_modules():
    names = []
    for path in sorted(LOOMCV_ROOT.rglob("*.py")):
        parts = path.relative_to(LOOMCV_ROOT.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_loomcv_source_names_no_toolbox():
    offenders = [str(p) for p in LOOMCV_ROOT.rglob("*.py")
                 if any(name in p.read_text() for name in ("loomcls", "loomdet"))]
    assert offenders == []


def test_importing_every_loomcv_module_imports_no_toolbox():
    code = textwrap.dedent(f"""
        import importlib, sys, warnings
        warnings.simplefilter("ignore")  # deprecated old paths warn on import
        for name in {loomcv_modules()!r}:
            if name.endswith("__main__"):
                continue
            importlib.import_module(name)
        print(sorted(m for m in sys.modules if m.split(".")[0] in {TOOLBOX_PACKAGES!r}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


ZOOBOX_REGISTRY = """
from loomcv.registry import Registry, root
MODELS = Registry("model", parent=root.MODELS, scope="zoobox", locations=["zoobox.models"])
DATASETS = Registry("dataset", parent=root.DATASETS, scope="zoobox", locations=["zoobox.models"])
"""

ZOOBOX_MODELS = """
import torch
from loomcv.model import BaseModel
from zoobox.registry import DATASETS, MODELS


@DATASETS.register_module()
class Ramps(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        x = torch.arange(3, dtype=torch.float32) + i
        return dict(inputs=x, data_samples=x.sum())


@MODELS.register_module()
class TinyRegressor(BaseModel):
    def __init__(self, width=3, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.fc = torch.nn.Linear(width, 1)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        x = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        out = self.fc(x.float())
        if mode == "loss":
            target = torch.stack(data_samples) if isinstance(data_samples, (list, tuple)) else data_samples
            return dict(loss=((out.squeeze(1) - target.float()) ** 2).mean())
        return out
"""

ZOOBOX_TOOLBOX = """
from loomcv.registry.toolbox import Toolbox
TOOLBOX = Toolbox(scope="zoobox", aliases=("oldzoo",),
                  commands={"zoo-hello": ("zoobox.cli", "say hello from the zoo")})
"""

ZOOBOX_CLI = """
def add_arguments(parser):
    parser.add_argument("name")

def run(args):
    print(f"hello {args.name} from zoobox")
    return 0
"""

ZOOBOX_BASE_CONFIG = """
default_scope = 'oldzoo'
model = dict(type='TinyRegressor', width=3)
"""

ZOOBOX_CONFIG = """
_base_ = ['./_base_/tiny.py']
train_dataloader = dict(dataset=dict(type='Ramps'), batch_size=4, sampler=dict(type='DefaultSampler', shuffle=False),
                        collate_fn=dict(type='pseudo_collate'))
train_cfg = dict(by_epoch=True, max_epochs=2)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.001))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1))
"""


@pytest.fixture()
def zoobox(tmp_path):
    """A throwaway toolbox, installed the way pip would: a package and its dist-info."""
    site = tmp_path / "site"
    pkg = site / "zoobox"
    (pkg / "configs" / "tiny" / "_base_").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "registry.py").write_text(ZOOBOX_REGISTRY)
    (pkg / "models.py").write_text(ZOOBOX_MODELS)
    (pkg / "toolbox.py").write_text(ZOOBOX_TOOLBOX)
    (pkg / "cli.py").write_text(ZOOBOX_CLI)
    (pkg / "configs" / "tiny" / "_base_" / "tiny.py").write_text(ZOOBOX_BASE_CONFIG)
    (pkg / "configs" / "tiny" / "tiny_regressor_zoo.py").write_text(ZOOBOX_CONFIG)
    info = site / "zoobox-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoobox\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[loomcv.toolboxes]\nzoobox = zoobox.toolbox:TOOLBOX\n")
    return site


def run_python(site, code, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=240, env=env, cwd=cwd)


def test_a_third_toolbox_plugs_in_by_declaring_itself(zoobox, tmp_path):
    code = """
        import sys
        from loomcv.config import Config
        from loomcv.registry import MODELS, default_scope, import_custom_modules, resolve_scope
        assert 'zoobox' not in sys.modules
        # scope.Type, by scope and by alias, before anything of zoobox was imported
        assert MODELS.get('zoobox.TinyRegressor').__name__ == 'TinyRegressor'
        assert MODELS.get('oldzoo.TinyRegressor') is MODELS.get('zoobox.TinyRegressor')
        assert resolve_scope('oldzoo') == 'zoobox'
        # default_scope by alias
        with default_scope('oldzoo'):
            assert MODELS.build(dict(type='TinyRegressor', width=5)).fc.in_features == 5
        # custom_imports through the alias
        mods = import_custom_modules(dict(imports=['oldzoo.models']))
        assert mods[0].__name__ == 'zoobox.models'
        # _base_ = 'itsname::...' from a user's config
        open('user.py', 'w').write("_base_ = 'zoobox::tiny/_base_/tiny.py'\\nmodel = dict(width=7)\\n")
        cfg = Config.fromfile('user.py')
        assert cfg.model.type == 'TinyRegressor' and cfg.model.width == 7 and cfg.default_scope == 'oldzoo'
        print('ok')
    """
    out = run_python(zoobox, code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_loomcv_train_finds_a_third_toolboxs_config_and_commands(zoobox, tmp_path):
    code = """
        import sys
        from loomcv.cli.main import main
        sys.exit(main(sys.argv[1:]))
    """
    train = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), "train", "tiny_regressor_zoo",
         "--work-dir", str(tmp_path / "work")], capture_output=True, text=True, timeout=240,
        env=dict(os.environ, PYTHONPATH=str(zoobox)), cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    assert (tmp_path / "work" / "epoch_2.pth").exists()
    hello = subprocess.run([sys.executable, "-c", textwrap.dedent(code), "zoo-hello", "you"],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, PYTHONPATH=str(zoobox)), cwd=tmp_path)
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout.strip() == "hello you from zoobox"


def test_an_unscoped_type_registered_only_in_a_toolbox_says_which_scope_has_it():
    from loomcv.errors import RegistryError
    from loomcv.registry import TRANSFORMS, default_scope
    with default_scope("mmengine"), pytest.raises(
            RegistryError, match=r"'PackInputs' is registered in scope 'loomcls'.*default_scope"):
        TRANSFORMS.build(dict(type="PackInputs"))
