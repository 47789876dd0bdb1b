"""A small project written the way MMEngine users write one: a model subclassing BaseModel, a
dataset subclassing BaseDataset, a metric subclassing BaseMetric, a hook, and a custom train loop
subclassing BaseLoop that calls a stage of its own ('before_warmup_iter'), trained by a Runner
built from an MMEngine-schema config.

Only the import block below names the engine. It reads ``from loomcv...``; the compat tests
run this very file with those lines turned into ``from mmengine...`` (see ``ENGINE_IMPORTS``),
so keep every engine name in that block and use MMEngine's names and signatures everywhere.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# --- engine imports: the only engine-specific lines ---------------------------------------
from loomcv.dataset import BaseDataset
from loomcv.evaluator import BaseMetric
from loomcv.hooks import Hook
from loomcv.logging import MessageHub, MMLogger
from loomcv.model import BaseModel, BaseTTAModel
from loomcv.registry import DATASETS, HOOKS, LOOPS, METRICS, MODELS, TRANSFORMS
from loomcv.runner import BaseLoop, Runner
from loomcv.structures import BaseDataElement
# --- end of engine imports -----------------------------------------------------------------

#: the engine's top-level package as the import block spells it (the compat test swaps it)
ENGINE_IMPORTS = "loomcv"


@TRANSFORMS.register_module(force=True)
class MMToyPack:
    """The pipeline's last step: network input and a data sample holding the label."""

    def __call__(self, results: dict) -> dict:
        sample = BaseDataElement(metainfo=dict(sample_idx=results["sample_idx"]))
        sample.gt_label = torch.tensor(results["label"])
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(results["x"])), data_samples=sample)


@TRANSFORMS.register_module(force=True)
class MMToyScale:
    """Multiply the point by ``factor`` (the views of a test-time augmentation)."""

    def __init__(self, factor: float = 1.0):
        self.factor = factor

    def __call__(self, results: dict) -> dict:
        results["x"] = (results["x"] * self.factor).astype(np.float32)
        return results


@DATASETS.register_module(force=True)
class MMToyDataset(BaseDataset):
    """Two separable blobs in 4-d, made in ``load_data_list`` (no annotation file)."""

    METAINFO = dict(classes=("neg", "pos"))

    def __init__(self, num: int = 16, pipeline=(dict(type="MMToyPack"),), **kwargs):
        self.num = num
        super().__init__(pipeline=list(pipeline), **kwargs)

    def load_data_list(self):
        rng = np.random.RandomState(0)
        labels = rng.randint(0, 2, size=self.num)
        points = (rng.randn(self.num, 4) + 2.0 * (labels[:, None] * 2.0 - 1.0)).astype(np.float32)
        return [dict(x=p, label=int(y)) for p, y in zip(points, labels)]


@MODELS.register_module(force=True)
class MMToyNet(BaseModel):
    """4 -> 8 -> 2 with a SyncBatchNorm, which a single-process run must turn into BatchNorm."""

    def __init__(self, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.fc1 = nn.Linear(4, 8)
        self.norm = nn.SyncBatchNorm(8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        x = torch.stack(inputs) if isinstance(inputs, (list, tuple)) else inputs
        logits = self.fc2(F.relu(self.norm(self.fc1(x))))
        if mode == "loss":
            labels = torch.stack([s.gt_label for s in data_samples])
            return dict(loss=F.cross_entropy(logits, labels))
        if mode == "predict":
            for sample, score in zip(data_samples, logits.softmax(-1)):
                sample.pred_score = score
                sample.pred_label = score.argmax()
            return data_samples
        return logits


@MODELS.register_module(force=True)
class MMToyTTA(BaseTTAModel):
    """Test-time augmentation: the mean of the views' scores."""

    def merge_preds(self, data_samples_list):
        merged = []
        for views in data_samples_list:
            sample = views[0]
            sample.pred_score = torch.stack([v.pred_score for v in views]).mean(0)
            sample.pred_label = sample.pred_score.argmax()
            merged.append(sample)
        return merged


@METRICS.register_module(force=True)
class MMToyAccuracy(BaseMetric):
    """Top-1 accuracy, returned as a numpy float32 (numpy metrics must be logged like floats)."""

    default_prefix = "toy"

    def process(self, data_batch, data_samples):
        for sample in data_samples:  # the evaluator hands metrics plain dicts (BaseDataElement.to_dict())
            self.results.append(int(sample["pred_label"]) == int(sample["gt_label"]))

    def compute_metrics(self, results):
        return dict(accuracy=np.float32(np.mean(results)), accuracy_array=np.array([np.mean(results)]))


@HOOKS.register_module(force=True)
class MMToyHook(Hook):
    """Counts what the run calls and records the loop stage the message hub reports."""

    priority = "LOW"

    def __init__(self):
        self.warmup_calls = 0
        self.train_iters = 0
        self.stages = set()

    def before_warmup_iter(self, runner, batch_idx):  # a stage only MMToyTrainLoop calls
        self.warmup_calls += 1

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.train_iters += 1
        self.stages.add(MessageHub.get_current_instance().get_info("loop_stage"))

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.stages.add(runner.message_hub.get_info("loop_stage"))


@LOOPS.register_module(force=True)
class MMToyTrainLoop(BaseLoop):
    """Epoch-based training whose first ``warmup_iters`` iterations also call 'before_warmup_iter'."""

    def __init__(self, runner, dataloader, max_epochs=1, warmup_iters=1, val_interval=1):
        super().__init__(runner, dataloader)
        self._max_epochs = max_epochs
        self._max_iters = max_epochs * len(self.dataloader)
        self._epoch = 0
        self._iter = 0
        self.warmup_iters = warmup_iters
        self.val_interval = val_interval

    @property
    def max_epochs(self):
        return self._max_epochs

    @property
    def max_iters(self):
        return self._max_iters

    @property
    def epoch(self):
        return self._epoch

    @property
    def iter(self):
        return self._iter

    def run(self):
        self.runner.call_hook("before_train")
        while self._epoch < self._max_epochs:
            self.runner.call_hook("before_train_epoch")
            self.runner.model.train()
            for idx, data_batch in enumerate(self.dataloader):
                if self._iter < self.warmup_iters:
                    self.runner.call_hook("before_warmup_iter", batch_idx=idx)
                self.runner.call_hook("before_train_iter", batch_idx=idx, data_batch=data_batch)
                outputs = self.runner.model.train_step(data_batch, optim_wrapper=self.runner.optim_wrapper)
                self.runner.call_hook("after_train_iter", batch_idx=idx, data_batch=data_batch, outputs=outputs)
                self._iter += 1
            self.runner.call_hook("after_train_epoch")
            self._epoch += 1
            if self.runner.val_loop is not None and self._epoch % self.val_interval == 0:
                self.runner.val_loop.run()
        self.runner.call_hook("after_train")
        return self.runner.model


def make_cfg(work_dir: str) -> dict:
    """The run's config in MMEngine's schema (what a config file would hold)."""
    loader = dict(dataset=dict(type="MMToyDataset", num=16), sampler=dict(type="DefaultSampler", shuffle=True),
                  batch_size=4, num_workers=0)
    return dict(
        model=dict(type="MMToyNet"),
        work_dir=work_dir,
        train_dataloader=loader,
        train_cfg=dict(type="MMToyTrainLoop", max_epochs=2, warmup_iters=2),
        val_dataloader=dict(loader, sampler=dict(type="DefaultSampler", shuffle=False)),
        val_cfg=dict(),
        val_evaluator=dict(type="MMToyAccuracy"),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
        param_scheduler=[dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=4)],
        custom_hooks=[dict(type="MMToyHook")],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1), checkpoint=dict(type="CheckpointHook",
                                                                                       interval=1)),
        randomness=dict(seed=0),
        log_level="INFO",
    )


def train(work_dir: str):
    """Build the Runner from the config and train; returns (runner, the MMToyHook)."""
    runner = Runner.from_cfg(make_cfg(work_dir))
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, MMToyHook))
    MMLogger.get_current_instance().info("mmengine-style project trained")
    return runner, hook
