"""GPU training throughput: the Runner against a hand-written PyTorch loop, per precision/layout mode.

Both train the same ResNet (loomcls backbone + linear head) on the same synthetic batches that live
on the device (so the numbers measure the training step and the framework around it, not a data
loader), with SGD. Modes: fp32, AMP bf16, AMP fp16 (GradScaler), channels_last + bf16,
torch.compile + bf16, DDP over NCCL and FSDP2 (fp32 params) with world size 1. Each mode is tried on its own: a failure
prints in its row instead of stopping the table.

    python benchmarks/gpu_train.py                      # ResNet-50, batch 64, 224 px, 30 timed iterations
    python benchmarks/gpu_train.py --device cpu --iters 3 --small   # smoke run on a CPU
"""

import argparse
import contextlib
import os
import tempfile
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.model import BaseModel


class Classifier(BaseModel):
    """A loomcls ResNet with a linear head; ``inputs`` are float NCHW batches already on the device."""

    def __init__(self, depth: int, num_classes: int = 1000, channels_last: bool = False):
        super().__init__()
        from loomcls.models.backbones import ResNet
        self.backbone = ResNet(depth=depth)
        self.head = nn.Linear(2048 if depth >= 50 else 512, num_classes)
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        logits = self.head(F.adaptive_avg_pool2d(self.backbone(inputs)[-1], 1).flatten(1))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        return logits


class DeviceBatches:
    """``n`` batches that already live on the device, each a dict the model's train_step takes."""

    def __init__(self, n, batch, size, device):
        g = torch.Generator(device="cpu").manual_seed(0)
        x = torch.randn(batch, 3, size, size, generator=g).to(device)
        y = torch.randint(0, 1000, (batch,), generator=g).to(device)
        self.items = [dict(inputs=x, data_samples=y)] * n
        self.batch_size = batch

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def hand_loop(args, mode, device):
    torch.manual_seed(0)
    model = Classifier(args.depth, channels_last=mode == "channels_last").to(device)
    if mode == "compile":
        model = torch.compile(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type) if mode == "amp_fp16" else None
    dtype = {"fp32": None, "amp_fp16": torch.float16}.get(mode, torch.bfloat16)
    data = DeviceBatches(1, args.batch, args.size, device).items[0]

    def step():
        with torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext():
            loss = model(data["inputs"], data["data_samples"], mode="loss")["loss"]
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    for _ in range(args.warmup):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(args.iters):
        step()
    sync(device)
    return (time.perf_counter() - start) / args.iters


def runner_loop(args, mode, device):
    from loomcv.runner import Runner
    torch.manual_seed(0)
    model = Classifier(args.depth, channels_last=mode == "channels_last")
    wrapper = dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9))
    if mode != "fp32":
        wrapper.update(type="AmpOptimWrapper", dtype="float16" if mode == "amp_fp16" else "bfloat16")
    times = []

    from loomcv.hooks import Hook

    class StepTimer(Hook):
        priority = "LOWEST"

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            sync(device)
            self.t = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            sync(device)
            times.append(time.perf_counter() - self.t)

    extra = dict(compile=mode == "compile", channels_last=mode == "channels_last")
    if mode in ("ddp_nccl", "fsdp"):
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ.get("MASTER_PORT", "29533"),
                          RANK="0", LOCAL_RANK="0", WORLD_SIZE="1")
        extra.update(launcher="pytorch", env_cfg=dict(dist_cfg=dict(backend="nccl")))
        if mode == "fsdp":
            block = "Bottleneck" if args.depth >= 50 else "BasicBlock"
            # fp32 parameters: bf16 FSDP parameters meet BatchNorm's fp32 running stats (a known gap)
            extra["strategy"] = dict(type="FSDPStrategy", wrap_modules=[block])
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(model=model, work_dir=work_dir,
                        train_dataloader=DeviceBatches(args.warmup + args.iters, args.batch, args.size, device),
                        train_cfg=dict(by_epoch=False, max_iters=args.warmup + args.iters),
                        optim_wrapper=wrapper, custom_hooks=[StepTimer()],
                        default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=10 ** 6)),
                        log_level="WARNING", **extra)
        runner.train()
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    timed = times[args.warmup:]
    return sum(timed) / len(timed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--small", action="store_true", help="ResNet-18, batch 4, 32 px (a smoke run)")
    parser.add_argument("--modes", nargs="+",
                        default=["fp32", "amp_bf16", "amp_fp16", "channels_last", "compile", "ddp_nccl", "fsdp"])
    args = parser.parse_args()
    if args.small:
        args.depth, args.batch, args.size, args.warmup = 18, 4, 32, 1
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    print(f"ResNet-{args.depth}, batch {args.batch}, {args.size}x{args.size}, {args.iters} timed iterations "
          f"after {args.warmup}")
    print(f"{'mode':<14} {'hand img/s':>11} {'loomcv img/s':>13} {'loomcv/hand':>12} {'peak GiB':>9}")
    for mode in args.modes:
        if mode in ("ddp_nccl", "fsdp") and device.type != "cuda":
            print(f"{mode:<14} skipped: NCCL needs a GPU")
            continue
        try:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            hand = None if mode in ("ddp_nccl", "fsdp") else hand_loop(args, mode, device)
            ours = runner_loop(args, mode, device)
            peak = torch.cuda.max_memory_allocated() / 2 ** 30 if device.type == "cuda" else float("nan")
            hand_ips = f"{args.batch / hand:11.1f}" if hand else f"{'-':>11}"
            ratio = f"{hand / ours:12.3f}" if hand else f"{'-':>12}"
            print(f"{mode:<14} {hand_ips} {args.batch / ours:13.1f} {ratio} {peak:9.2f}")
        except Exception as err:  # one mode's failure is a row, not the end of the table
            print(f"{mode:<14} FAILED: {type(err).__name__}: {str(err).splitlines()[0][:150]}")
            if os.environ.get("LOOMCV_BENCH_DEBUG"):
                traceback.print_exc()


if __name__ == "__main__":
    main()
