"""An MMEngine-style project (tests/compat/mmengine_project.py) runs on loomcv with its imports
changed to ``loomcv``: custom model, dataset, metric, hook and train loop, trained and resumed
through the Runner; and the behaviours MMEngine code relies on while doing so."""

import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

sys.path.insert(0, osp.dirname(__file__))

import mmengine_project as P  # noqa: E402

from loomcv.config import Config  # noqa: E402
from loomcv.registry import RUNNERS  # noqa: E402
from loomcv.runner import Runner  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp("mmproject"))
    runner, hook = P.train(work_dir)
    return runner, hook, work_dir


def test_the_project_trains_with_its_custom_loop_hook_and_metric(trained):
    runner, hook, work_dir = trained
    assert isinstance(runner.train_loop, P.MMToyTrainLoop)
    assert hook.train_iters == 8  # 2 epochs x 16 samples / batch 4
    assert hook.warmup_calls == 2  # the loop's own stage reached the hook that defines it
    assert hook.stages == {"train", "val"}  # loop_stage as the message hub reported it during each loop
    assert runner.message_hub.get_info("loop_stage") is None  # popped when training ended
    # numpy metrics (np.float32 and a 1-element array) are logged as scalars
    assert runner.message_hub.get_scalar("val/toy/accuracy").current() == pytest.approx(1.0)
    assert runner.message_hub.get_scalar("val/toy/accuracy_array").current() == pytest.approx(1.0)
    assert "epoch_2.pth" in os.listdir(work_dir)
    log = open(runner.logger.log_file, encoding="utf-8").read()
    assert "toy/accuracy: 1.0000" in log


def test_a_single_process_run_reverts_sync_batchnorm(trained):
    runner = trained[0]
    kinds = {type(m) for m in runner.model.modules()}
    assert nn.SyncBatchNorm not in kinds
    assert any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in runner.model.modules())


def test_the_custom_loop_resumes_from_its_checkpoint(trained, tmp_path):
    work_dir = trained[2]
    cfg = P.make_cfg(work_dir)
    cfg.update(resume=True, experiment_name="resumed_custom_loop")
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, P.MMToyHook))
    assert (runner.train_loop.epoch, runner.train_loop.iter) == (2, 8)
    assert hook.train_iters == 0  # the finished run is not trained again


def test_runners_build_takes_a_config_and_runner_type(tmp_path):
    @RUNNERS.register_module(force=True)
    class MMToyRunner(Runner):
        pass

    cfg = Config(P.make_cfg(str(tmp_path)), filename=str(tmp_path / "toy_config.py"))
    runner = RUNNERS.build(cfg)
    assert type(runner) is Runner
    cfg.runner_type = "MMToyRunner"
    cfg.experiment_name = "toy_custom_runner"
    assert type(RUNNERS.build(cfg)) is MMToyRunner
    # the config is dumped where MMEngine users look for it, and beside the log too
    assert osp.isfile(tmp_path / "toy_config.py")
    assert osp.isfile(osp.join(runner.log_dir, "toy_config.py"))
    with pytest.raises(TypeError, match="Config"):
        RUNNERS.build(["not", "a", "config"])


def test_call_hook_with_a_stage_no_hook_defines_does_nothing(trained):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trained[0].call_hook("before_warmup_iter", batch_idx=0)  # a custom loop's stage: silent
    with pytest.warns(UserWarning, match="after_train_iter"):
        trained[0].call_hook("after_train_iters", batch_idx=0)  # a typo of a built-in stage


def test_runner_build_steps_are_methods_a_subclass_can_replace(tmp_path):
    calls = []

    class MyRunner(Runner):
        def build_model(self, model):
            calls.append("build_model")
            return super().build_model(model)

        def wrap_model(self, model_wrapper_cfg, model):
            calls.append(("wrap_model", model_wrapper_cfg))
            return super().wrap_model(model_wrapper_cfg, model)

        def build_train_loop(self, loop):
            calls.append("build_train_loop")
            return super().build_train_loop(loop)

    runner = MyRunner.from_cfg(dict(P.make_cfg(str(tmp_path)), experiment_name="toy_build_steps"))
    runner.train_loop  # noqa: B018
    assert calls == ["build_model", ("wrap_model", None), "build_train_loop"]
    assert runner.build_logger(log_level="WARNING", log_file=str(tmp_path / "x.log"), name="other").log_file
    assert runner.build_message_hub(dict(name="toy_hub")).instance_name == "toy_hub"
    assert isinstance(runner.build_val_loop(dict()), type(runner.val_loop))
    runner.register_custom_hooks([dict(type="MMToyHook", priority="HIGHEST")])
    assert type(runner.hooks[0]).__name__ == "MMToyHook"


def test_diff_rank_seed_gives_the_sampler_a_shared_random_seed(tmp_path):
    def sampler_seed(**randomness):
        cfg = dict(P.make_cfg(str(tmp_path)), randomness=dict(seed=7, **randomness),
                   experiment_name=f"toy_seed_{len(randomness)}")
        return Runner.from_cfg(cfg).train_dataloader.sampler.seed

    assert sampler_seed() == 7
    assert sampler_seed(diff_rank_seed=True) != 7  # None -> one random seed shared by the ranks


def test_weight_init_information_is_written_to_the_log_file(tmp_path):
    cfg = dict(P.make_cfg(str(tmp_path)), experiment_name="toy_init_log",
               model=dict(type="MMToyNet", init_cfg=dict(type="Constant", layer="Linear", val=0.5)))
    runner = Runner.from_cfg(cfg)
    runner._init_model_weights()
    log = open(runner.logger.log_file, encoding="utf-8").read()
    assert "parameter initialization of MMToyNet" in log and "fc1.weight" in log


def test_tta_wraps_the_model_and_averages_the_views(tmp_path):
    """``loomcv test CONFIG CKPT --tta``: tta_model wraps the model, tta_pipeline gives the views."""
    import argparse

    from loomcv.cli import test as test_cli

    model = P.MMToyNet().eval()
    ckpt = tmp_path / "toy.pth"
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    cfg_file = tmp_path / "toy_tta.py"
    cfg_file.write_text(
        "model = dict(type='MMToyNet')\n"
        "test_dataloader = dict(dataset=dict(type='MMToyDataset', num=8), batch_size=4,\n"
        "                       sampler=dict(type='DefaultSampler', shuffle=False))\n"
        "test_cfg = dict()\n"
        "test_evaluator = dict(type='MMToyAccuracy')\n"
        "tta_model = dict(type='MMToyTTA')\n"
        "tta_pipeline = [dict(type='TestTimeAug', transforms=[\n"
        "    [dict(type='MMToyScale', factor=1.0), dict(type='MMToyScale', factor=3.0)],\n"
        "    [dict(type='MMToyPack')]])]\n")
    parser = argparse.ArgumentParser()
    test_cli.add_arguments(parser)
    args = parser.parse_args([str(cfg_file), str(ckpt), "--tta", "--work-dir", str(tmp_path / "wd"),
                              "--cfg-options", "experiment_name=toy_tta"])
    cfg = test_cli.build_config(args)
    assert cfg.model["type"] == "MMToyTTA" and cfg.model["module"]["type"] == "MMToyNet"
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    assert isinstance(runner.model, P.MMToyTTA)
    assert torch.equal(runner.model.module.fc1.weight, model.fc1.weight)  # the plain checkpoint loaded
    assert set(metrics) == {"toy/accuracy", "toy/accuracy_array"}
    # the merged score is the mean of the two views' scores
    batch = next(iter(runner.test_dataloader))
    merged = runner.model.test_step(batch)
    with torch.no_grad():
        x = torch.stack(batch["inputs"][0])
        expected = (model(x).softmax(-1) + model(3 * x).softmax(-1)) / 2
    assert torch.allclose(torch.stack([s.pred_score for s in merged]), expected, atol=1e-6)
    del cfg_file
    bad = argparse.Namespace(**dict(vars(args), config=str(tmp_path / "no_tta.py")))
    (tmp_path / "no_tta.py").write_text("model = dict(type='MMToyNet')\n")
    with pytest.raises(KeyError, match="tta_model and tta_pipeline"):
        test_cli.build_config(bad)


def test_numpy_metric_values_reach_the_history_buffers():
    from loomcv.logging import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(np.float32(0.25))
    buf.update(np.array([0.75]))
    assert buf.mean() == pytest.approx(0.5)
    with pytest.raises(TypeError, match="one-element"):
        buf.update(np.array([1.0, 2.0]))


def test_runner_exposes_mmengine_shortcuts(trained, tmp_path):
    runner = trained[0]
    assert runner.val_evaluator is runner.val_loop.evaluator
    assert runner.model_name == "MMToyNet" and runner.deterministic is False
    assert runner.val_interval == 1 and not hasattr(runner.train_loop, "val_begin")  # the custom loop has none
    runner.set_randomness(5)
    first = torch.rand(1)
    runner.set_randomness(5)
    assert runner.seed == 5 and torch.equal(torch.rand(1), first)
    os.remove(osp.join(runner.work_dir, [f for f in os.listdir(runner.work_dir) if f.endswith(".py")][0]))
    runner.dump_config()
    assert any(f.endswith(".py") for f in os.listdir(runner.work_dir))
    data = dict(inputs=[torch.ones(4)] * 2, data_samples=None)
    assert runner.model._run_forward(data, mode="tensor").shape == (2, 2)


def test_mmengine_get_started_example_runs_with_the_imports_changed(tmp_path):
    """MMEngine's 15-minute example: a torch DataLoader of (image, label) tuples, a model whose forward
    takes them positionally, classes (not names) as ``type``, a metric reading (scores, labels)."""
    import torch.nn.functional as F
    from torch.optim import SGD
    from torch.utils.data import DataLoader, TensorDataset

    from loomcv.evaluator import BaseMetric
    from loomcv.model import BaseModel

    class MMNet(BaseModel):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, imgs, labels, mode):
            x = self.fc(imgs)
            if mode == "loss":
                return {"loss": F.cross_entropy(x, labels)}
            elif mode == "predict":
                return x, labels

    class Accuracy(BaseMetric):
        def process(self, data_batch, data_samples):
            score, gt = data_samples
            self.results.append({"batch_size": len(gt), "correct": (score.argmax(dim=1) == gt).sum().cpu()})

        def compute_metrics(self, results):
            total_correct = sum(item["correct"] for item in results)
            total_size = sum(item["batch_size"] for item in results)
            return dict(accuracy=100 * total_correct / total_size)

    torch.manual_seed(0)
    x = torch.randn(32, 4)
    y = (x[:, 0] > 0).long()
    runner = Runner(
        model=MMNet(), work_dir=str(tmp_path), experiment_name="toy_get_started",
        train_dataloader=DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True),
        optim_wrapper=dict(optimizer=dict(type=SGD, lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        val_dataloader=DataLoader(TensorDataset(x, y), batch_size=8), val_cfg=dict(),
        val_evaluator=dict(type=Accuracy))
    runner.train()
    assert runner.message_hub.get_scalar("val/accuracy").current() > 50  # a tensor metric, logged
