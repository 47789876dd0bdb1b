"""FSDP under torchrun with 2 processes (gloo, CPU); used by test_fsdp.py, not collected by pytest.

``python -m torch.distributed.run --nproc_per_node 2 fsdp_worker.py OUT_DIR`` trains the same
small model several ways in one process group and writes ``OUT_DIR/result.json`` (rank 0):
full and sharded checkpoints and the runs resumed from them, DDP with the same gradient
clipping, activation checkpointing under DDP and FSDP, mixed precision and CPU offload.
Also imported (``custom_imports``) by the single-process ``loomcv test`` of the test.
"""

import copy
import json
import os
import os.path as osp
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), "runner"))
import tiny_components as T  # noqa: E402

from loomcv.model import BaseDataPreprocessor, BaseModel  # noqa: E402
from loomcv.registry import MODELS  # noqa: E402


class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        return x + self.drop(F.relu(self.fc(x)))


@MODELS.register_module(force=True)
class ShardNet(BaseModel):
    """8 -> 24, two residual Blocks (shard units by class name), head 24 -> 2; dropout uses the RNG."""

    def __init__(self, width: int = 24, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.stem = nn.Linear(8, width)
        self.blocks = nn.Sequential(Block(width), Block(width))
        self.head = nn.Linear(width, 2)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.head(self.blocks(self.stem(inputs)))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        if mode == "predict":
            return [dict(pred=p, gt=g) for p, g in zip(logits.argmax(1), data_samples)]
        return logits


@MODELS.register_module(force=True)
class PointsAsImages(BaseDataPreprocessor):
    """The 8-d points as 2x2x2 images, so that a convolution sees 4-D inputs."""

    def forward(self, data, training=False):
        data = self.cast_data(data)
        return dict(data, inputs=data["inputs"].view(-1, 2, 2, 2))


@MODELS.register_module(force=True)
class ConvShardNet(BaseModel):
    """A 2x2 convolution and a head; records whether its inputs came channels_last."""

    def __init__(self, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=dict(type="PointsAsImages"), init_cfg=init_cfg)
        self.conv = nn.Conv2d(2, 4, 2, padding=1)
        self.head = nn.Linear(36, 2)
        self.formats = []

    def forward(self, inputs, data_samples=None, mode="tensor"):
        self.formats.append(inputs.is_contiguous(memory_format=torch.channels_last))
        logits = self.head(F.relu(self.conv(inputs)).flatten(1))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        if mode == "predict":
            return [dict(pred=p, gt=g) for p, g in zip(logits.argmax(1), data_samples)]
        return logits


def config(work_dir, strategy=None, max_iters=6, **overrides):
    cfg = T.tiny_config(work_dir, by_epoch=False, max_iters=max_iters, batch_size=4,
                        model=dict(type="ShardNet"), launcher="pytorch",
                        env_cfg=dict(dist_cfg=dict(backend="gloo")),
                        custom_imports=dict(imports=["tiny_components", "fsdp_worker"]))
    cfg["train_cfg"]["val_interval"] = max_iters
    cfg["val_dataloader"]["dataset"] = dict(type="TinyPoints", num=30, seed=1, separation=0.15)
    cfg["optim_wrapper"]["clip_grad"] = dict(max_norm=0.05)   # small: clipping acts every step
    cfg["param_scheduler"] = []
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=3, by_epoch=False)
    cfg["default_hooks"]["logger"] = dict(type="LoggerHook", interval=1)
    if strategy is not None:
        cfg["strategy"] = strategy
    cfg.update(overrides)
    return cfg


def train(cfg):
    """Train; return the full weights (gathered), the last grad norm and the validation accuracy."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    from loomcv.config import Config
    from loomcv.runner import Runner
    runner = Runner.from_cfg(Config(copy.deepcopy(cfg)))
    runner.train()
    weights = get_model_state_dict(runner.model, options=StateDictOptions(full_state_dict=True))
    hub = runner.message_hub
    accuracy = runner.message_hub.get_info("val_metrics", {}).get("tiny/accuracy")
    return dict(weights=weights, grad_norm=hub.get_scalar("train/grad_norm").current(),
                loss=hub.get_scalar("train/loss").current(), accuracy=accuracy,
                strategy=repr(runner.strategy), runner=runner)


def first_step(cfg, mode="loss"):
    """One forward (and backward for 'loss') on the first training batch: the gradients gathered to
    full tensors, how often ``blocks.0.fc`` ran, and the dtype it computed in."""
    from torch.distributed.tensor import DTensor

    from loomcv.config import Config
    from loomcv.runner import Runner
    runner = Runner.from_cfg(Config(copy.deepcopy(cfg)))
    runner.train_loop  # noqa: B018  (builds the dataloader)
    batch = next(iter(runner.train_dataloader))
    model = runner.model
    model.train()
    inner = getattr(model, "module", model)
    seen = []
    inner.blocks[0].fc.register_forward_hook(lambda m, args, out: seen.append(str(out.dtype)))
    data = inner.data_preprocessor(batch, True)
    loss = inner.parse_losses(model(**data, mode="loss"))[0]
    loss.backward()
    grads = {n: (p.grad.full_tensor() if isinstance(p.grad, DTensor) else p.grad).clone()
             for n, p in inner.named_parameters()}
    return grads, seen


def same(a, b, exact=True):
    if a.keys() != b.keys():
        return False
    check = torch.equal if exact else (lambda x, y: torch.allclose(x, y, rtol=1e-4, atol=1e-6))
    return all(check(a[k].float(), b[k].float()) for k in a)


def main(out):
    from loomcv import dist
    torch.set_num_threads(1)
    full = dict(type="FSDPStrategy", wrap_modules=["Block"], state_dict_type="full")
    sharded = dict(type="FSDPStrategy", auto_wrap_policy=dict(module_classes=["Block"]), state_dict_type="local")
    result = {}

    run_full = train(config(osp.join(out, "full"), full, runner_type="FlexibleRunner"))
    rank = run_full["runner"].rank
    result["strategy"] = run_full["strategy"]
    result["accuracy"] = run_full["accuracy"]
    log_dir = run_full["runner"].log_dir
    with open(osp.join(log_dir, f"{osp.basename(log_dir)}.log")) as f:
        result["log_lines"] = [line.strip() for line in f if "FSDPStrategy:" in line]

    resumed_full = train(config(osp.join(out, "full_resumed"), full, resume=osp.join(out, "full", "iter_3.pth")))
    run_sharded = train(config(osp.join(out, "sharded"), sharded))
    resumed_sharded = train(config(osp.join(out, "sharded_resumed"), sharded,
                                   resume=osp.join(out, "sharded", "iter_3.pth")))
    # a sharded run resumed from the full checkpoint, and the reverse
    cross = train(config(osp.join(out, "cross"), sharded, resume=osp.join(out, "full", "iter_3.pth")))
    cross_back = train(config(osp.join(out, "cross_back"), full, resume=osp.join(out, "sharded", "iter_3.pth")))
    ddp = train(config(osp.join(out, "ddp"), dict(type="DDPStrategy")))
    ddp_from_fsdp = train(config(osp.join(out, "ddp_resumed"), dict(type="DDPStrategy"),
                                 resume=osp.join(out, "full", "iter_3.pth")))

    if rank == 0:
        ref = run_full["weights"]
        result["full_file"] = osp.isfile(osp.join(out, "full", "iter_6.pth"))
        result["sharded_folder"] = sorted(os.listdir(osp.join(out, "sharded", "iter_6.pth")))
        result["resumed_full_equal"] = same(resumed_full["weights"], ref)
        result["sharded_equal"] = same(run_sharded["weights"], ref)
        result["resumed_sharded_equal"] = same(resumed_sharded["weights"], ref)
        result["cross_equal"] = same(cross["weights"], ref) and same(cross_back["weights"], ref)
        result["saved_equal"] = same(torch.load(osp.join(out, "full", "iter_6.pth"))["state_dict"], ref)
        result["ddp_close"] = same(ddp["weights"], ref, exact=False)
        result["ddp_resumes_fsdp_close"] = same(ddp_from_fsdp["weights"], ref, exact=False)
        result["grad_norms"] = [run_full["grad_norm"], ddp["grad_norm"]]
        result["losses"] = [run_full["loss"], resumed_full["loss"], resumed_sharded["loss"]]
        # a resumed run starts at iteration 3: it saves iter_6 only (a run from scratch would save iter_3 too)
        result["resumed_saved"] = [sorted(f for f in os.listdir(osp.join(out, name)) if f.startswith("iter_"))
                                   for name in ("full_resumed", "sharded_resumed", "cross", "cross_back",
                                                "ddp_resumed")]

    # activation checkpointing: the same gradients, under FSDP and under DDP
    for name, strategy in (("fsdp", full), ("ddp", dict(type="DDPStrategy"))):
        plain, plain_runs = first_step(config(osp.join(out, f"ac_{name}_off"), strategy))
        ckpt, ckpt_runs = first_step(config(osp.join(out, f"ac_{name}_on"), strategy,
                                            activation_checkpointing=["Block"]))
        result[f"ac_{name}_equal"] = same(plain, ckpt)
        result[f"ac_{name}_forward_runs"] = [len(plain_runs), len(ckpt_runs)]  # 1 and 2 (recomputed)

    # gradient accumulation: FSDP skips the reduce-scatter inside a window as DDP skips the all-reduce
    accumulate = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9), accumulative_counts=2,
                      clip_grad=dict(max_norm=0.05))
    acc_fsdp = train(config(osp.join(out, "acc_fsdp"), full, max_iters=4, optim_wrapper=accumulate))
    acc_ddp = train(config(osp.join(out, "acc_ddp"), dict(type="DDPStrategy"), max_iters=4, optim_wrapper=accumulate))
    if rank == 0:
        result["accumulate_close"] = same(acc_fsdp["weights"], acc_ddp["weights"], exact=False)
        result["accumulate_differs"] = not same(acc_fsdp["weights"], ref, exact=False)

    # a hook that deep-copies the model is refused with a reason
    try:
        train(config(osp.join(out, "ema"), full, max_iters=2, custom_hooks=[dict(type="EMAHook")]))
    except Exception as err:  # noqa: BLE001  (the message is what is checked)
        result["ema_error"] = f"{type(err).__name__}: {err}"

    # channels_last with FSDP: inputs converted, parameters left contiguous (fully_shard's requirement)
    conv = train(config(osp.join(out, "channels_last"), dict(type="FSDPStrategy"), max_iters=2,
                        model=dict(type="ConvShardNet"),
                        channels_last=True))
    result["channels_last_inputs"] = sorted(set(conv["runner"].model.formats))
    result["channels_last_loss_finite"] = bool(torch.isfinite(torch.tensor(conv["loss"])))

    # mixed precision and CPU offload: trains, computes in bfloat16, keeps float32 weights
    mixed = dict(full, mixed_precision=dict(param_dtype="bfloat16", reduce_dtype="float32"), cpu_offload=True)
    mp = train(config(osp.join(out, "mp"), mixed, max_iters=2))
    result["mp_loss_finite"] = bool(torch.isfinite(torch.tensor(mp["loss"])))
    result["mp_dtypes"] = sorted({str(v.dtype) for v in mp["weights"].values()})
    result["mp_compute_dtype"] = first_step(config(osp.join(out, "mp_step"), mixed))[1]
    dist.barrier()
    if rank == 0:
        with open(osp.join(out, "cfg.json"), "w") as f:
            json.dump(config(osp.join(out, "single"), full, launcher="none"), f)
        with open(osp.join(out, "result.json"), "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1])
