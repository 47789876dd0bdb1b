"""loomcv.compat: code written with `import mmengine...` lines runs on loomcv when MMEngine is absent."""

import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

import loomcv.compat as compat

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))


@pytest.fixture
def enabled():
    """compat switched on for one test, and off (with its modules forgotten) after it."""
    compat.disable()
    yield compat.enable(verbose=False)
    compat.disable()


def _run(args, cwd, timeout=120):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, ROOT]), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def test_paths_and_names_map_to_loomcv_and_the_toolboxes(enabled):
    import loomcls.models
    import loomcv.model.bricks
    import loomcv.runner
    from loomcls.structures import DataSample
    assert enabled == {"mmengine": "loomcv", "mmcv": "loomcv", "mmpretrain": "loomcls", "mmcls": "loomcls",
                       "mmdet": "loomdet"}
    import mmengine.runner
    from mmcls.structures import ClsDataSample
    from mmcv.cnn import ConvModule, build_norm_layer
    from mmengine import Config
    from mmengine.runner import Runner
    from mmpretrain.datasets import ImageNet, PackInputs  # datasets re-exports the transforms, as in MMPretrain
    from mmpretrain.models import ResNet

    assert Runner is loomcv.runner.Runner and mmengine.runner.Runner is Runner
    assert ConvModule is loomcv.model.bricks.ConvModule and build_norm_layer is loomcv.model.bricks.build_norm_layer
    assert ResNet is loomcls.models.ResNet and ClsDataSample is DataSample
    assert Config.__module__ == "loomcv.config.config" and ImageNet.__name__ == "ImageNet"
    assert PackInputs.__module__.startswith("loomcls.")
    import mmengine.runner.loops  # a deeper path of the same layout
    assert mmengine.runner.loops.IterBasedTrainLoop is loomcv.runner.IterBasedTrainLoop
    assert not hasattr(loomcv.runner, "loops") or loomcv.runner.loops.__name__ == "loomcv.runner.loops"
    with pytest.raises(ImportError, match="cannot import name 'NoSuchThing'"):
        from mmengine.runner import NoSuchThing  # noqa: F401
    with pytest.raises(ModuleNotFoundError):
        import mmcv.ops  # noqa: F401  (no loomcv module answers to it)


def test_mmdetection_paths_2x_and_3x(enabled):
    from mmdet.datasets.pipelines import Expand  # MMDetection 2.x's home of the transforms
    from mmdet.datasets.transforms import PackDetInputs
    from mmdet.models import YOLOV3

    import loomdet.datasets.transforms as transforms
    assert Expand is transforms.Expand and PackDetInputs is transforms.PackDetInputs
    assert YOLOV3.__module__.startswith("loomdet.models")


def test_the_toolbox_table_comes_from_the_toolbox_declarations(enabled):
    from loomcv.registry.toolbox import Toolbox, register_toolbox, _registered
    register_toolbox(Toolbox(scope="loomcv_toy_box", aliases=("mmtoy",), package="loomcv",
                             compat_imports={"mmtoy.engine": "loomcv.hooks"}))
    try:
        assert compat.targets_of("mmtoy.engine") == ("loomcv.hooks",)
        assert compat.targets_of("mmtoy.runner") == ("loomcv.runner",)
        assert compat.compat_roots()["mmtoy"] == "loomcv"
    finally:
        _registered.pop("loomcv_toy_box")


def test_enable_logs_one_line_and_is_idempotent(capsys):
    compat.disable()
    try:
        compat.enable()
        compat.enable()
        err = capsys.readouterr()
        lines = [line for line in (err.out + err.err).splitlines() if "compat imports on" in line]
        assert len(lines) == 1 and "mmengine, mmcv -> loomcv" in lines[0] and "mmdet -> loomdet" in lines[0]
    finally:
        compat.disable()
    assert "mmengine" not in sys.modules


def test_an_installed_package_is_never_replaced(tmp_path):
    fake = tmp_path / "mmengine"
    fake.mkdir()
    (fake / "__init__.py").write_text("REAL = True\n")
    code = textwrap.dedent("""
        import loomcv.compat, sys
        served = loomcv.compat.enable()
        import mmengine
        print(sorted(served), getattr(mmengine, 'REAL', False))
        try:
            import mmengine.runner
        except ModuleNotFoundError:
            print('no mmengine.runner')
        from mmcv.cnn import ConvModule
        print(ConvModule.__module__)
        """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if "compat imports on" not in line]
    assert lines[0] == "['mmcls', 'mmcv', 'mmdet', 'mmpretrain'] True"  # the installed mmengine is kept
    assert lines[1] == "no mmengine.runner" and lines[2] == "loomcv.model.bricks.conv_module"
    assert "installed, so left alone: mmengine" in out.stdout + out.stderr


def test_mmengine_style_project_runs_through_compat_imports(tmp_path):
    code = textwrap.dedent(f"""
        import loomcv.compat
        loomcv.compat.enable()
        import mmengine_imports_project as project
        runner = project.main({str(tmp_path / 'wd')!r})
        print('iter', runner.iter)
        """)
    out = _run(["-c", code], cwd=tmp_path)
    assert "iter 12" in out.stdout
    record = json.loads((tmp_path / "wd" / "record.json").read_text())
    assert record["train_iters"] == 12 and record["loop"] == "CountingLoop" and record["loop_calls"] == 12
    assert record["runner"] == "loomcv.runner.runner"
    assert record["val_metrics"]["stripes/accuracy"] > 50.0  # the two stripes are told apart
    assert osp.isfile(tmp_path / "wd" / "iter_12.pth")


@pytest.mark.parametrize("how", ["config key", "--compat"])
def test_loomcv_train_with_compat_imports(tmp_path, how):
    cfg = tmp_path / "cfg.py"
    switch = "compat_imports = True" if how == "config key" else ""
    cfg.write_text(textwrap.dedent(f"""
        {switch}
        custom_imports = dict(imports=['mmengine_imports_project'])  # its imports name mmengine
        work_dir = {str(tmp_path / 'wd')!r}
        model = dict(type='StripesNet')
        train_dataloader = dict(batch_size=8, num_workers=0, dataset=dict(type='StripesDataset'),
                                sampler=dict(type='DefaultSampler', shuffle=True))
        train_cfg = dict(type='CountingLoop', max_iters=4)
        optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
        default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=4, by_epoch=False))
        custom_hooks = [dict(type='RecordHook')]
        log_processor = dict(by_epoch=False)
        test_dataloader = dict(batch_size=8, num_workers=0, dataset=dict(type='StripesDataset'),
                               sampler=dict(type='DefaultSampler', shuffle=False))
        test_evaluator = dict(type='StripesAccuracy')
        test_cfg = dict(type='TestLoop')
        """))
    flag = ["--compat"] if how == "--compat" else []
    out = _run(["-m", "loomcv", "train", str(cfg)] + flag, cwd=tmp_path)
    assert "compat imports on: mmengine, mmcv -> loomcv" in out.stdout + out.stderr
    record = json.loads((tmp_path / "wd" / "record.json").read_text())
    assert record["train_iters"] == 4 and record["loop_calls"] == 4
    # `loomcv test` takes the same switch
    out = _run(["-m", "loomcv", "test", str(cfg), str(tmp_path / "wd" / "iter_4.pth")] + flag, cwd=tmp_path)
    assert "compat imports on" in out.stdout + out.stderr and "stripes/accuracy" in out.stdout + out.stderr


def test_without_compat_the_project_does_not_import(tmp_path):
    out = subprocess.run([sys.executable, "-c", "import mmengine_imports_project"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=HERE))
    assert out.returncode != 0 and "ModuleNotFoundError: No module named 'mm" in out.stderr


def test_pure_python_config_imports_resolve_without_enable(tmp_path):
    compat.disable()
    (tmp_path / "c.py").write_text("from mmengine.hooks import CheckpointHook\nhook = dict(type=CheckpointHook)\n")
    from loomcv.config import Config
    from loomcv.hooks import CheckpointHook
    assert Config.fromfile(str(tmp_path / "c.py")).hook.type is CheckpointHook
    assert "mmengine" not in sys.modules  # the config resolved the name without installing the hook


def test_the_same_project_runs_directly_once_its_imports_name_loomcv(tmp_path):
    """Porting by changing the import lines only: mmengine -> loomcv, mmcv.cnn -> loomcv.model.bricks,
    mmpretrain -> loomcls."""
    with open(osp.join(HERE, "mmengine_imports_project.py"), encoding="utf-8") as f:
        source = f.read()
    ported = source.replace("from mmcv.cnn import", "from loomcv.model.bricks import") \
        .replace("from mmengine.", "from loomcv.").replace("from mmpretrain.", "from loomcls.")
    assert "from mm" not in ported and ported.count("from loomcv.") == 8
    (tmp_path / "ported_project.py").write_text(ported)
    code = textwrap.dedent(f"""
        import sys
        import ported_project as project
        runner = project.main({str(tmp_path / 'wd')!r})
        print('iter', runner.iter, 'compat' if 'mmengine' in sys.modules else 'direct')
        """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "iter 12 direct" in out.stdout
    record = json.loads((tmp_path / "wd" / "record.json").read_text())
    assert record["train_iters"] == 12 and record["loop_calls"] == 12
