"""MMEngine's public names at the matching loomcv modules, and the behaviours MMEngine code
expects from them (issue 21, items 1 and 2)."""

import importlib
import json
import os
import os.path as osp
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from loomcv.errors import ConfigError

#: MMEngine module -> names added or aliased in the matching loomcv module by this work
ADDED = {
    "registry": ["build_model_from_cfg", "build_runner_from_cfg", "build_scheduler_from_cfg",
                 "count_registered_modules", "traverse_registry_tree", "STRATEGIES"],
    "runner": ["load_checkpoint", "load_state_dict", "CheckpointLoader", "get_torchvision_models",
               "get_external_models", "get_mmcls_models", "get_deprecated_model_names", "Priority", "get_priority",
               "autocast"],
    "hooks": ["NaiveVisualizationHook", "PrepareTTAHook"],
    "optim": ["OPTIMIZERS", "OPTIM_WRAPPER_CONSTRUCTORS", "BaseOptimWrapper", "ZeroRedundancyOptimizer"],
    "model": ["MMDistributedDataParallel", "StochasticWeightAverage", "BaseTTAModel", "stack_batch", "merge_dict",
              "detect_anomalous_params", "caffe2_xavier_init", "MMSeparateDistributedDataParallel"],
    "evaluator": ["get_metric_value"],
    "dataset": ["Compose", "force_full_init", "worker_init_fn", "COLLATE_FUNCTIONS"],
    "logging": ["MMLogger"],
    "dist": ["get_local_size", "get_data_device", "get_comm_device", "cast_data_device", "all_reduce_dict",
             "all_reduce_params", "gather", "gather_object", "collect_results_cpu", "collect_results_gpu",
             "get_default_group", "infer_launcher", "init_local_group", "get_local_group"],
    "fileio": ["FileClient", "HardDiskBackend", "copyfile", "copytree", "copyfile_from_local", "copyfile_to_local",
               "copytree_from_local", "copytree_to_local", "remove", "rmtree", "copy_if_symlink_fails",
               "BaseFileHandler", "JsonHandler", "YamlHandler", "PickleHandler", "register_handler"],
}


@pytest.mark.parametrize("module", sorted(ADDED))
def test_mmengine_names_are_importable_from_the_matching_module(module):
    mod = importlib.import_module(f"loomcv.{module}")
    missing = [n for n in ADDED[module] if not hasattr(mod, n)]
    assert missing == []
    assert set(ADDED[module]) <= set(mod.__all__)


def test_aliases_are_the_same_objects():
    from loomcv import dataset, hooks, logging as lg, model, registry, runner
    assert lg.MMLogger is lg.LoomLogger
    assert model.MMDistributedDataParallel is model.LoomDistributedDataParallel
    assert registry.MODEL_WRAPPERS.get("MMDistributedDataParallel") is model.LoomDistributedDataParallel
    assert dataset.COLLATE_FUNCTIONS is registry.FUNCTIONS
    assert registry.FUNCTIONS.get("worker_init_fn") is dataset.worker_init_fn
    assert runner.Priority is hooks.Priority and runner.get_priority("HIGH") == 30
    from loomcv.checkpoint import load_checkpoint
    assert runner.load_checkpoint is load_checkpoint
    from loomcv.registry import build_functions
    assert build_functions.build_from_cfg is registry.build_from_cfg


# ----------------------------------------------------------------------------- registry
def test_models_build_a_list_into_sequential_and_registry_statistics(tmp_path):
    from loomcv.model import Sequential
    from loomcv.registry import MODELS, count_registered_modules, traverse_registry_tree
    seq = MODELS.build([dict(type="Dropout", drop_prob=0.1), dict(type="Swish")])
    assert isinstance(seq, Sequential) and len(seq) == 2
    tree = traverse_registry_tree(MODELS, verbose=False)
    assert tree[0]["scope"] == "loomcv" and tree[0]["num_modules"] == len(MODELS.module_dict)
    assert "Swish" in tree[0]["loomcv/model/bricks"]
    data = count_registered_modules(str(tmp_path), verbose=False)
    saved = json.load(open(tmp_path / "modules_statistic_results.json"))
    assert saved["registries"]["HOOKS"][0]["num_modules"] == data["registries"]["HOOKS"][0]["num_modules"] > 5


def test_scheduler_registry_converts_epochs_to_iterations():
    from loomcv.registry import PARAM_SCHEDULERS
    opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    sched = PARAM_SCHEDULERS.build(dict(type="StepLR", step_size=2, convert_to_iter_based=True),
                                   default_args=dict(optimizer=opt, epoch_length=5))
    assert (sched.step_size, sched.by_epoch) == (10, False)


# ----------------------------------------------------------------------------- optim
def test_optim_wrapper_dict_zeroes_every_wrapper_and_lists_param_groups():
    from loomcv.optim import OptimWrapper, OptimWrapperDict
    gen, dis = nn.Linear(2, 1), nn.Linear(2, 1)
    wrappers = OptimWrapperDict(gen=OptimWrapper(torch.optim.SGD(gen.parameters(), lr=0.1)),
                                dis=OptimWrapper(torch.optim.SGD(dis.parameters(), lr=0.2)))
    (gen(torch.ones(1, 2)).sum() + dis(torch.ones(1, 2)).sum()).backward()
    wrappers.zero_grad()
    assert all(p.grad is None or not p.grad.any() for m in (gen, dis) for p in m.parameters())
    groups = wrappers.param_groups
    assert set(groups) == {"gen", "dis"} and groups["dis"][0]["lr"] == 0.2
    with pytest.raises(NotImplementedError):
        wrappers.step()


def test_linear_and_poly_schedulers_default_end_to_infinity():
    from loomcv.optim import INF, LinearLR, LinearMomentum, PolyLR, PolyParamScheduler
    opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0, momentum=0.9)
    linear = LinearLR(opt, start_factor=0.5)
    assert linear.end == INF and opt.param_groups[0]["lr"] == pytest.approx(0.5)
    assert LinearMomentum(opt).end == INF
    assert PolyLR(opt).end == INF and PolyParamScheduler(opt, "lr").end == INF
    # by_epoch with end=INF converted to iterations keeps end=INF (MMEngine's rule)
    assert LinearLR.build_iter_from_epoch(optimizer=opt, epoch_length=10, begin=1).end == INF


def test_scheduler_step_before_optimizer_step_warns():
    from loomcv.optim import OptimWrapper, StepLR
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0))
    sched = StepLR(wrapper, step_size=1)
    wrapper.update_params(model(torch.ones(1, 1)).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # the right order: no warning
        sched.step()


def test_reduce_on_plateau_refuses_by_epoch_false():
    from loomcv.optim import ReduceOnPlateauLR
    opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1.0)
    with pytest.raises(ConfigError, match="by_epoch must be True"):
        ReduceOnPlateauLR(opt, by_epoch=False)


# ----------------------------------------------------------------------------- logging
def test_message_hub_skips_malformed_entries_with_a_warning(tmp_path):
    from loomcv.logging import HistoryBuffer, LoomLogger, MessageHub
    logger = LoomLogger.get_instance("compat_hub_log", log_file=str(tmp_path / "hub.log"))  # the current logger
    hub = MessageHub.get_instance("compat_hub")
    good = HistoryBuffer([1.0, 3.0]).state_dict()
    hub.load_state_dict(dict(log_scalars={"train/loss": good, "train/bad": "junk"}, runtime_info={"iter": 4}))
    hub.load_state_dict(dict(log_scalars={}))  # no runtime_info at all
    assert hub.get_scalar("train/loss").mean() == 2.0 and hub.get_info("iter") == 4
    assert "train/bad" not in hub.log_scalars
    logger.close()
    text = open(tmp_path / "hub.log", encoding="utf-8").read()
    assert "scalar 'train/bad' is not a history buffer" in text and "it has no 'runtime_info'" in text
    with pytest.raises(TypeError, match="MessageHub.load_state_dict"):
        hub.load_state_dict(["not", "a", "dict"])


def test_history_buffer_register_statistics_feeds_the_log_processor():
    from loomcv.logging import HistoryBuffer
    from loomcv.runner import LogProcessor

    @HistoryBuffer.register_statistics
    def compat_median(buffer, window=None):
        values, _ = buffer.data
        return float(np.median(values[-window:] if window else values))

    buf = HistoryBuffer([1.0, 2.0, 10.0])
    assert buf.statistics("compat_median") == 2.0
    processor = LogProcessor(custom_cfg=[dict(data_src="loss", method_name="compat_median", window_size=2)])
    assert processor._statistic(buf, "compat_median", 2, 0) == 6.0
    with pytest.raises(KeyError, match="already registered"):
        HistoryBuffer.register_statistics(compat_median)
    with pytest.raises(ConfigError, match="compat_mean"):
        LogProcessor(custom_cfg=[dict(data_src="loss", method_name="compat_mean")])


# ----------------------------------------------------------------------------- model
def test_stochastic_weight_average_is_the_plain_mean():
    from loomcv.model import StochasticWeightAverage
    model = nn.Linear(1, 1, bias=False)
    swa = StochasticWeightAverage(model)
    seen = []
    for value in (1.0, 2.0, 6.0):
        model.weight.data.fill_(value)
        seen.append(value)
        swa.update_parameters(model)
    assert swa.module.weight.item() == pytest.approx(np.mean(seen))


def test_stack_batch_pads_to_the_divisor_and_merge_dict():
    from loomcv.model import merge_dict, stack_batch
    batch = stack_batch([torch.ones(3, 4, 5), torch.ones(3, 6, 2)], pad_size_divisor=4, pad_value=-1)
    assert batch.shape == (2, 3, 8, 8) and batch[1, 0, 5, 1] == 1 and batch[1, 0, 0, 2] == -1
    assert merge_dict(dict(a=1), dict(b=2), dict(a=3)) == dict(a=3, b=2)


def test_detect_anomalous_params_names_what_the_loss_skips():
    from loomcv.model import detect_anomalous_params
    model = nn.ModuleDict(dict(used=nn.Linear(1, 1), unused=nn.Linear(1, 1)))
    loss = model["used"](torch.ones(1, 1)).sum()
    assert detect_anomalous_params(loss, model) == ["unused.weight", "unused.bias"]


def test_prepare_tta_hook_wraps_the_model_before_testing():
    import sys
    sys.path.insert(0, osp.dirname(__file__))
    import mmengine_project as P

    from loomcv.hooks import PrepareTTAHook

    class FakeRunner:
        model = P.MMToyNet()

    runner = FakeRunner()
    hook = PrepareTTAHook(tta_cfg=dict(type="MMToyTTA"))
    hook.before_test(runner)
    hook.before_test(runner)  # a second test() does not wrap twice
    assert isinstance(runner.model, P.MMToyTTA) and isinstance(runner.model.module, P.MMToyNet)


def test_naive_visualization_hook_writes_the_test_pictures(tmp_path):
    from loomcv.hooks import NaiveVisualizationHook
    from loomcv.structures import BaseDataElement
    from loomcv.visualization import Visualizer

    class FakeRunner:
        visualizer = Visualizer(name="compat_naive_vis", vis_backends=[dict(type="LocalVisBackend")],
                                save_dir=str(tmp_path))

    sample = BaseDataElement(metainfo=dict(img_path="a/cat.jpg", img_shape=(4, 6), ori_shape=(8, 12)))
    batch = dict(inputs=[torch.randint(0, 255, (3, 5, 7), dtype=torch.uint8)], data_samples=[sample])
    NaiveVisualizationHook(interval=1).after_test_iter(FakeRunner(), 0, batch, [sample])
    written = [f for _, _, files in os.walk(tmp_path) for f in files]
    assert any("cat" in f for f in written)


# ----------------------------------------------------------------------------- data, evaluation
def test_get_metric_value_matches_full_and_short_names():
    from loomcv.evaluator import get_metric_value
    metrics = {"coco/bbox_mAP": 0.5, "acc/top1": 0.7}
    assert get_metric_value("coco/bbox_mAP", metrics) == 0.5
    assert get_metric_value("top1", metrics) == 0.7
    with pytest.raises(ValueError, match="mAP"):
        get_metric_value("mAP", metrics)


def test_force_full_init_loads_a_lazy_dataset_first():
    from loomcv.dataset import BaseDataset, force_full_init

    class Lazy(BaseDataset):
        def load_data_list(self):
            return [dict(x=1), dict(x=2)]

        @force_full_init
        def first(self):
            return self.get_data_info(0)["x"]

    ds = Lazy(lazy_init=True)
    assert not ds._fully_initialized
    assert ds.first() == 1 and ds._fully_initialized


# ----------------------------------------------------------------------------- dist, amp
def test_single_process_dist_helpers():
    from loomcv import dist
    assert dist.get_local_size() == 1 and dist.get_default_group() is None
    assert dist.get_data_device(dict(a=[torch.ones(1)], b=torch.zeros(2))) == torch.device("cpu")
    moved = dist.cast_data_device(dict(a=[torch.ones(1)]), torch.device("cpu"))
    assert torch.equal(moved["a"][0], torch.ones(1))
    data = dict(x=torch.tensor([2.0]))
    dist.all_reduce_dict(data, "mean")
    assert data["x"].item() == 2.0
    assert dist.gather_object(3) == [3] and dist.gather(torch.ones(1))[0].item() == 1
    assert dist.collect_results_cpu([1, 2, 3], 2) == [1, 2]
    assert dist.get_local_group() is None
    with pytest.raises(RuntimeError, match="init_dist"):
        dist.init_local_group(0, 1)
    with pytest.raises(TypeError):
        dist.get_data_device("cpu")


def test_autocast_defaults_to_bfloat16_on_the_cpu():
    from loomcv.runner import autocast
    with autocast(device_type="cpu"):
        out = nn.Linear(4, 4)(torch.ones(2, 4))
    assert out.dtype == torch.bfloat16
    with pytest.raises(ValueError, match="bfloat16"):
        with autocast(device_type="cpu", dtype=torch.float16):
            pass


# ----------------------------------------------------------------------------- fileio, checkpoints
def test_fileio_copy_remove_family_and_file_client(tmp_path):
    from loomcv import fileio
    src = tmp_path / "a.txt"
    fileio.put_text("hi", str(src))
    assert fileio.copyfile(str(src), str(tmp_path / "b.txt")).endswith("b.txt")
    (tmp_path / "d").mkdir()
    fileio.copyfile(str(src), str(tmp_path / "d" / "a.txt"))
    fileio.copytree(str(tmp_path / "d"), str(tmp_path / "e"))
    assert fileio.copy_if_symlink_fails(str(src), str(tmp_path / "link.txt")) in (True, False)
    assert fileio.get_text(str(tmp_path / "link.txt")) == "hi"
    with pytest.raises(IsADirectoryError):
        fileio.remove(str(tmp_path / "e"))
    fileio.remove(str(tmp_path / "b.txt"))
    fileio.rmtree(str(tmp_path / "e"))
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "d", "link.txt"]
    with pytest.warns(DeprecationWarning):
        client = fileio.FileClient("disk")
    assert client.get_text(str(src)) == "hi" and client.name == "local"
    with pytest.warns(DeprecationWarning):
        assert fileio.FileClient.infer_client(uri="https://x/y.pth").name == "http"
    with pytest.raises(ValueError, match="backend_args"):
        fileio.get_file_backend(None)
    assert isinstance(fileio.get_file_backend(uri=str(src)), fileio.LocalBackend)


def test_register_handler_adds_a_format(tmp_path):
    from loomcv import fileio

    @fileio.register_handler("upper")
    class UpperHandler(fileio.BaseFileHandler):
        def load_from_fileobj(self, file, **kwargs):
            return file.read().lower()

        def dump_to_fileobj(self, obj, file, **kwargs):
            file.write(obj.upper())

    fileio.dump("hello", str(tmp_path / "x.upper"))
    assert open(tmp_path / "x.upper").read() == "HELLO"
    assert fileio.load(str(tmp_path / "x.upper")) == "hello"
    assert fileio.JsonHandler().dump_to_str(dict(a=1)) == '{\n  "a": 1\n}'


def test_checkpoint_loader_scheme_reaches_load_checkpoint(tmp_path):
    from loomcv.runner import CheckpointLoader, get_torchvision_models, load_checkpoint
    seen = []

    @CheckpointLoader.register_scheme("compat-mem://")
    def load_from_memory(filename, map_location):
        seen.append(filename)
        return dict(state_dict=dict(weight=torch.full((1, 1), 3.0), bias=torch.zeros(1)))

    model = nn.Linear(1, 1)
    load_checkpoint(model, "compat-mem://weights")
    assert seen == ["compat-mem://weights"] and model.weight.item() == 3.0
    with pytest.raises(KeyError, match="already has a loader"):
        CheckpointLoader.register_scheme("compat-mem://", load_from_memory)
    assert get_torchvision_models()["resnet50"].startswith("https://download.pytorch.org/")


def test_registry_scope_api_and_dataset_subset_in_place():
    from loomcv.dataset import BaseDataset
    from loomcv.optim import OptimWrapper
    from loomcv.registry import MODELS, DefaultScope, Registry
    assert Registry.split_scope_key("mmdet.ResNet") == ("mmdet", "ResNet")
    assert Registry.infer_scope() == __name__.split(".")[0]
    with MODELS.switch_scope_and_registry("loomcv") as registry:
        assert registry is MODELS and DefaultScope.current_scope() == "loomcv"

    class Five(BaseDataset):
        def load_data_list(self):
            return [dict(x=i) for i in range(5)]

    ds = Five()
    ds.get_subset_([1, 3])
    assert len(ds) == 2 and ds.get_data_info(1)["x"] == 3
    wrapper = OptimWrapper(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1))
    assert wrapper.max_counts == -1
    wrapper.initialize_count_status(nn.Linear(1, 1), 0, 12)
    assert wrapper.max_counts == 12


def test_loop_stage_follows_train_val_and_test():
    from loomcv.hooks import RuntimeInfoHook
    from loomcv.logging import MessageHub

    class FakeRunner:
        message_hub = MessageHub.get_instance("compat_loop_stage")

    runner, hook = FakeRunner(), RuntimeInfoHook()
    hub = runner.message_hub
    hub.update_info("loop_stage", "train")  # what before_train sets
    hook.before_val(runner)
    assert hub.get_info("loop_stage") == "val"
    hook.after_val(runner)
    assert hub.get_info("loop_stage") == "train"  # validation inside training hands it back
    hook.after_train(runner)
    assert hub.get_info("loop_stage") is None
    hook.before_test(runner)
    assert hub.get_info("loop_stage") == "test"
    hook.after_test(runner)
    assert hub.get_info("loop_stage") is None


def test_zero_redundancy_optimizer_builds_from_a_config(tmp_path):
    """In a child process: a one-rank gloo group, then MMEngine's optimizer config."""
    import subprocess
    import sys
    script = tmp_path / "zero.py"
    script.write_text(
        "import torch, torch.nn as nn, torch.distributed as td\n"
        "from loomcv.optim import ZeroRedundancyOptimizer, build_optim_wrapper\n"
        f"td.init_process_group('gloo', init_method='file://{tmp_path / 'store'}', rank=0, world_size=1)\n"
        "model = nn.Linear(2, 1)\n"
        "w = build_optim_wrapper(model, dict(optimizer=dict(type='ZeroRedundancyOptimizer',\n"
        "                                                   optimizer_type='AdamW', lr=0.1)))\n"
        "assert isinstance(w.optimizer, ZeroRedundancyOptimizer), type(w.optimizer)\n"
        "before = model.weight.clone()\n"
        "w.update_params(model(torch.ones(1, 2)).sum())\n"
        "assert not torch.equal(before, model.weight)\n"
        "assert sorted(w.optimizer.state_dict()) == ['param_groups', 'state']\n"
        "td.destroy_process_group()\n"
        "print('ok')\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
    assert not isinstance(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1), __import__(
        "loomcv.optim", fromlist=["x"]).ZeroRedundancyOptimizer)


def test_separate_ddp_wraps_each_trainable_child(tmp_path):
    """In a child process: a one-rank gloo group; the frozen child stays a plain module."""
    import subprocess
    import sys
    script = tmp_path / "separate.py"
    script.write_text(
        "import torch, torch.nn as nn, torch.distributed as td\n"
        "from torch.nn.parallel import DistributedDataParallel as DDP\n"
        "from loomcv.model import MMSeparateDistributedDataParallel, is_model_wrapper, unwrap_model\n"
        f"td.init_process_group('gloo', init_method='file://{tmp_path / 'store'}', rank=0, world_size=1)\n"
        "class GAN(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.gen, self.dis, self.frozen = nn.Linear(2, 2), nn.Linear(2, 1), nn.Linear(1, 1)\n"
        "        self.frozen.requires_grad_(False)\n"
        "    def train_step(self, data, optim_wrapper):\n"
        "        return dict(out=self.dis(self.gen(data)).sum())\n"
        "gan = GAN()\n"
        "wrapped = MMSeparateDistributedDataParallel(gan)\n"
        "assert isinstance(gan.gen, DDP) and isinstance(gan.dis, DDP) and not isinstance(gan.frozen, DDP)\n"
        "assert is_model_wrapper(wrapped) and unwrap_model(wrapped) is gan\n"
        "out = wrapped.train_step(torch.ones(3, 2), None)['out']\n"
        "out.backward()\n"
        "assert gan.gen.module.weight.grad is not None\n"
        "with wrapped.no_sync():\n"
        "    pass\n"
        "assert wrapped.train(False) is wrapped and not gan.training\n"
        "from loomcv.dist import get_local_group, init_local_group\n"
        "init_local_group(0, 1)\n"
        "assert td.get_world_size(get_local_group()) == 1\n"
        "td.destroy_process_group()\n"
        "print('ok')\n")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_fsdp_as_a_model_wrapper_points_to_the_strategy(monkeypatch):
    from loomcv.runner import DDPStrategy
    from loomcv.runner.strategies import base

    class FakeRunner:
        device = torch.device("cpu")
        cfg = dict(model_wrapper_cfg=dict(type="MMFullyShardedDataParallel"))

    monkeypatch.setattr(base.dist, "is_distributed", lambda: True)
    with pytest.raises(ConfigError, match="FSDPStrategy"):
        DDPStrategy().wrap(FakeRunner(), nn.Linear(1, 1))
