"""MMPretrain's hooks in loomcls: PreciseBNHook's statistics, EMAHook's evaluate_on_* switches,
VisualizationHook's sampling, naming and colours."""

import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from loomcls.engine import EMAHook, PreciseBNHook, VisualizationHook, update_bn_stats
from loomcls.registry import DATASETS, METRICS, MODELS
from loomcls.structures import DataSample
from loomcv.config import Config
from loomcv.errors import ConfigError
from loomcv.evaluator import BaseMetric
from loomcv.model import BaseModel
from loomcv.runner import Runner

STOCK = osp.join(osp.dirname(osp.dirname(__file__)), "fixtures", "configs", "mmpretrain_stock",
                 "resnet18_1xb4_tiny.py")


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@DATASETS.register_module(force=True)
class HookProbePoints(Dataset):
    """20 fixed 3-d points with labels (no shuffling, no augmentation: batches are known)."""

    metainfo = dict(classes=("neg", "pos"))

    def __init__(self, num: int = 20):
        gen = torch.Generator().manual_seed(0)
        self.points = torch.randn(num, 3, generator=gen) * torch.tensor([1.0, 2.0, 0.5]) + torch.tensor([1., -2., 3.])
        self.labels = (self.points[:, 0] > 1).long()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return dict(inputs=self.points[idx], data_samples=self.labels[idx])


@MODELS.register_module(force=True)
class HookProbeNet(BaseModel):
    def __init__(self, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.bn = nn.BatchNorm1d(3)
        self.fc = nn.Linear(3, 2)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.fc(self.bn(inputs))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        if mode == "predict":
            return [dict(pred=p, gt=g) for p, g in zip(logits.argmax(1), data_samples)]
        return logits


@METRICS.register_module(force=True)
class HookProbeAccuracy(BaseMetric):
    default_prefix = "probe"

    def process(self, data_batch, data_samples):
        self.results += [int(s["pred"] == s["gt"]) for s in data_samples]

    def compute_metrics(self, results):
        return dict(accuracy=100.0 * sum(results) / len(results))


def probe_cfg(work_dir, lr=0.0, **overrides):
    loader = dict(batch_size=4, num_workers=0, dataset=dict(type="HookProbePoints"),
                  sampler=dict(type="DefaultSampler", shuffle=False), collate_fn=dict(type="default_collate"))
    cfg = dict(default_scope="loomcls", work_dir=str(work_dir), model=dict(type="HookProbeNet"),
               train_dataloader=loader, val_dataloader=loader, test_dataloader=loader,
               train_cfg=dict(by_epoch=True, max_epochs=1), val_cfg=dict(), test_cfg=dict(),
               optim_wrapper=dict(optimizer=dict(type="SGD", lr=lr)),
               val_evaluator=dict(type="HookProbeAccuracy"), test_evaluator=dict(type="HookProbeAccuracy"),
               default_hooks=dict(checkpoint=None), randomness=dict(seed=0))
    cfg.update(overrides)
    return Config(cfg)


def test_update_bn_stats_is_the_average_of_per_batch_statistics():
    model = HookProbeNet().train()
    points = HookProbePoints().points
    loader = torch.utils.data.DataLoader(HookProbePoints(), batch_size=4,
                                         collate_fn=lambda b: dict(inputs=torch.stack([x["inputs"] for x in b]),
                                                                   data_samples=torch.stack([x["data_samples"]
                                                                                             for x in b])))
    used = update_bn_stats(model, loader, num_samples=12)       # 12 // 4 = 3 of the 5 batches
    assert used == 3
    batches = points[:12].reshape(3, 4, 3)
    torch.testing.assert_close(model.bn.running_mean, batches.mean(1).mean(0))
    torch.testing.assert_close(model.bn.running_var, batches.var(1, unbiased=True).mean(0))
    assert model.bn.momentum == 0.1                              # restored
    assert update_bn_stats(model, loader, num_samples=10_000) == 5   # never more than one pass
    torch.testing.assert_close(model.bn.running_mean, points.reshape(5, 4, 3).mean(1).mean(0))


def test_precise_bn_hook_in_a_run_replaces_the_running_statistics(tmp_path):
    cfg = probe_cfg(tmp_path, custom_hooks=[dict(type="PreciseBNHook", num_samples=8, interval=1,
                                                 priority="ABOVE_NORMAL")])
    runner = Runner.from_cfg(cfg)
    assert [type(h).__name__ for h in runner.hooks].index("PreciseBNHook") < \
        [type(h).__name__ for h in runner.hooks].index("LoggerHook")
    runner.train()                                               # lr 0: weights fixed, statistics from 2 batches
    bn = runner.model.bn
    first_two = HookProbePoints().points[:8].reshape(2, 4, 3)
    torch.testing.assert_close(bn.running_mean, first_two.mean(1).mean(0))
    torch.testing.assert_close(bn.running_var, first_two.var(1).mean(0))
    log = next((tmp_path).glob("*/*.log")).read_text()
    assert "Running Precise BN for 8 samples..." in log and "Finish Precise BN, BN stats updated." in log
    with pytest.raises(ValueError, match="PreciseBNHook: num_samples must be a positive int"):
        PreciseBNHook(num_samples=0)


def test_ema_hook_evaluates_averaged_and_trained_weights(tmp_path):
    cfg = probe_cfg(tmp_path, lr=0.5, custom_hooks=[dict(type="EMAHook", momentum=0.5, evaluate_on_origin=True,
                                                         priority="ABOVE_NORMAL")])
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if isinstance(h, EMAHook))
    assert hook.evaluate_on_ema and hook.evaluate_on_origin
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert "val/probe/accuracy_origin" in scalars and "val/probe/accuracy" in scalars
    trained = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.test()
    assert "test/probe/accuracy_origin" in scalars
    for key, value in runner.model.state_dict().items():      # the trained weights are back after testing
        torch.testing.assert_close(value, trained[key])
    with pytest.warns(UserWarning, match="evaluating on the trained weights"):
        only = EMAHook(evaluate_on_ema=False, evaluate_on_origin=False)
    assert only.evaluate_on_origin and not only.evaluate_on_ema


@pytest.fixture
def stock_runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for split in ("train", "val"):
        for name in "ab":
            folder = tmp_path / "data" / "tiny_folders" / split / name
            folder.mkdir(parents=True)
            cv2.imwrite(str(folder / f"{name}.png"), np.zeros((8, 8, 3), np.uint8))
    cfg = Config.fromfile(STOCK)
    cfg.work_dir = str(tmp_path / "work")
    return Runner.from_cfg(cfg)


def test_visualization_hook_samples_every_interval_and_draws_packed_inputs_in_rgb(stock_runner, tmp_path):
    hook = VisualizationHook(enable=True, interval=3, out_dir=str(tmp_path / "drawn"), resize=16)
    inputs = torch.zeros(4, 3, 16, 16, dtype=torch.uint8)
    inputs[:, 0] = 255                                           # BGR blue: the config converts BGR -> RGB
    outputs = [DataSample().set_gt_label(0).set_pred_label(1).set_pred_score([0.4, 0.6]) for _ in range(4)]
    hook.after_test_iter(stock_runner, 1, dict(inputs=list(inputs), data_samples=outputs), outputs)
    # batch 1 holds samples 4..7 (batch size 4): only sample 6 is a multiple of 3
    assert [p.name for p in (tmp_path / "drawn").iterdir()] == ["6_0.png"]
    picture = cv2.imread(str(tmp_path / "drawn" / "6_0.png"))
    assert picture.shape == (16, 16, 3)                          # resize=16 passed through to the visualizer
    np.testing.assert_array_equal(picture[-2:, -2:].reshape(-1, 3), [[255, 0, 0]] * 4)   # blue stays blue

    off = VisualizationHook(enable=False, interval=1, out_dir=str(tmp_path / "off"))
    off.after_test_iter(stock_runner, 0, dict(inputs=list(inputs)), outputs)
    assert not (tmp_path / "off").exists()


def test_visualization_hook_names_bad_arguments(stock_runner):
    with pytest.raises(ConfigError, match=r"unknown argument\(s\) \['draw_labels'\] for UniversalVisualizer; "
                                          r"accepted: classes, draw_gt, draw_pred, draw_score"):
        VisualizationHook(enable=True, draw_labels=True)
    with pytest.raises(ValueError, match="interval must be a positive int"):
        VisualizationHook(interval=0)


def test_visualization_hook_out_dir_needs_a_drawing_visualizer():
    from loomcv.visualization import Visualizer
    Visualizer("plain_for_hook")                                 # now the current visualizer
    with pytest.raises(ConfigError, match=r"out_dir needs a visualizer that can write files \(UniversalVisualizer\); "
                                          r"the run's visualizer is a Visualizer"):
        VisualizationHook(enable=True, out_dir="somewhere")
