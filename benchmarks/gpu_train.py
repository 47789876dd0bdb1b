"""GPU training throughput: the Runner against a hand-written PyTorch loop, setting by setting.

Trains a ResNet-50 (or ``--model resnet18``) on synthetic ImageNet-sized batches for each
setting, once through the Runner and once through a hand-written loop doing the same work
(same model, data, optimizer, precision, memory format, wrapper), and prints a table:

    setting          loomcv img/s  hand img/s  ratio  loomcv MiB  hand MiB  syncs/iter  note

* ``fp32``, ``amp_bf16``, ``amp_fp16`` (``AmpOptimWrapper``; fp16 with a GradScaler),
* ``channels_last`` (bf16 + ``channels_last=True``), ``compile`` (bf16 + channels_last + ``compile=True``),
* ``ddp`` (``DDPStrategy``, NCCL, world size 1) and ``fsdp`` (``FSDPStrategy``, bf16 ``mixed_precision``,
  world size 1), both on a process group this script creates with a file store.

``ratio`` is loomcv/hand images per second (1.00 = no framework cost). ``syncs/iter`` counts the
device synchronisations during the timed iterations (``torch.cuda.set_sync_debug_mode('warn')``),
loomcv then hand; a float16 GradScaler syncs once per step in both (PyTorch checks for inf/NaN on
the host), every other setting should show 0. Each setting runs in its own try/except: a failure
is printed in its row and the others go on. Peak memory is ``torch.cuda.max_memory_allocated``.

    python benchmarks/gpu_train.py                                  # ResNet-50, batch 64, all settings
    python benchmarks/gpu_train.py --model resnet18 --settings fp32 amp_bf16 --iters 100
    python benchmarks/gpu_train.py --device cpu --iters 3 --small   # the CPU smoke run the tests use

Budget: about 3-4 minutes on one H100 with the defaults (compile takes most of it).
"""

import argparse
import contextlib
import gc
import os
import statistics
import sys
import tempfile
import time
import traceback
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from loomcv.hooks import Hook  # noqa: E402
from loomcv.model import BaseModel, ImgDataPreprocessor  # noqa: E402

SETTINGS = ("fp32", "amp_bf16", "amp_fp16", "channels_last", "compile", "ddp", "fsdp")
MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)


# ---------------------------------------------------------------- the model (no torchvision here)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * self.expansion
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.down = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width)
        self.down = None if stride == 1 and cin == width else nn.Sequential(
            nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


ARCHS = {"resnet50": (Bottleneck, (3, 4, 6, 3), 64), "resnet18": (BasicBlock, (2, 2, 2, 2), 64),
         "small": (BasicBlock, (1, 1), 8)}


class ResNet(nn.Module):
    def __init__(self, arch="resnet50", num_classes=1000):
        super().__init__()
        block, depths, width = ARCHS[arch]
        self.stem = nn.Sequential(nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, cin = [], width
        for i, depth in enumerate(depths):
            for j in range(depth):
                layers.append(block(cin, width * 2 ** i, 2 if j == 0 and i > 0 else 1))
                cin = width * 2 ** i * block.expansion
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))


class Classifier(BaseModel):
    """The ResNet as the Runner trains it: ImgDataPreprocessor (to device, float, normalize) + CE loss."""

    def __init__(self, arch, num_classes):
        super().__init__(data_preprocessor=ImgDataPreprocessor(mean=MEAN, std=STD, non_blocking=True))
        self.net = ResNet(arch, num_classes)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.net(inputs)
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        return logits


# ---------------------------------------------------------------- data


class SyntheticBatches:
    """``length`` collated batches cycled from a small pool of uint8 images (pinned on CUDA machines)."""

    def __init__(self, length, batch_size, size, num_classes, pin):
        g = torch.Generator().manual_seed(0)
        self.pool = []
        for _ in range(4):
            images = torch.randint(0, 256, (batch_size, 3, size, size), dtype=torch.uint8, generator=g)
            labels = torch.randint(0, num_classes, (batch_size,), generator=g)
            if pin:
                images, labels = images.pin_memory(), labels.pin_memory()
            self.pool.append(dict(inputs=images, data_samples=labels))
        self.length = length

    def __len__(self):
        return self.length

    def __iter__(self):
        return (self.pool[i % len(self.pool)] for i in range(self.length))


# ---------------------------------------------------------------- timing


class Meter:
    """Times iterations ``warmup`` .. end and counts device synchronisations in between."""

    def __init__(self, device, warmup, iters, batch_size):
        self.device, self.warmup, self.iters, self.batch_size = device, warmup, iters, batch_size
        self.syncs = 0
        self._catch = None

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def start(self):
        self._sync()
        if self.device.type == "cuda":
            self._catch = warnings.catch_warnings(record=True)
            self._records = self._catch.__enter__()
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
        self.t0 = time.perf_counter()

    def stop(self):
        if self._catch is not None:
            torch.cuda.set_sync_debug_mode("default")
            self.syncs = sum("synchroniz" in str(w.message) for w in self._records)
            self._catch.__exit__(None, None, None)
            self._catch = None
        self._sync()
        self.elapsed = time.perf_counter() - self.t0

    @property
    def images_per_s(self):
        return self.batch_size * self.iters / self.elapsed


class MeterHook(Hook):
    """Starts the meter after the warm-up iterations and stops it after the last one."""

    priority = "HIGHEST"

    def __init__(self, meter):
        self.meter = meter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        done = runner.iter + 1
        if done == self.meter.warmup:
            self.meter.start()
        elif done == self.meter.warmup + self.meter.iters:
            self.meter.stop()


def peak_mib(device):
    return torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == "cuda" else None


def reset_peak(device):
    gc.collect()  # the other side's model (held in reference cycles) must not count here
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


# ---------------------------------------------------------------- the two sides


PRECISION = dict(fp32=None, amp_bf16="bfloat16", amp_fp16="float16", channels_last="bfloat16",
                 compile="bfloat16", ddp="bfloat16", fsdp="bfloat16")


def with_runner(setting, args, device):
    from loomcv.runner import Runner
    torch.manual_seed(0)
    model = Classifier(args.arch, args.num_classes)
    meter = Meter(device, args.warmup, args.iters, args.batch_size)
    dtype = PRECISION[setting]
    optim = dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4))
    if dtype is not None and setting != "fsdp":
        optim.update(type="AmpOptimWrapper", dtype=dtype)
    extra = {}
    if setting in ("channels_last", "compile"):
        extra["channels_last"] = True
    if setting == "compile":
        extra["compile"] = True
    if setting == "ddp":
        extra["strategy"] = dict(type="DDPStrategy")
    if setting == "fsdp":
        extra["strategy"] = dict(type="FSDPStrategy", wrap_modules=[ARCHS[args.arch][0].__name__],
                                 mixed_precision=dict(param_dtype="bfloat16", reduce_dtype="float32"))
    total = args.warmup + args.iters
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(model=model, work_dir=work_dir,
                        train_dataloader=SyntheticBatches(total, args.batch_size, args.size, args.num_classes,
                                                          device.type == "cuda"),
                        train_cfg=dict(by_epoch=False, max_iters=total, val_interval=total + 1),
                        optim_wrapper=optim, log_level="WARNING", env_cfg=dict(cudnn_benchmark=True),
                        default_hooks=dict(logger=dict(type="LoggerHook", interval=total + 1),
                                           checkpoint=dict(type="CheckpointHook", interval=-1, save_last=False)),
                        custom_hooks=[MeterHook(meter)], **extra)
        reset_peak(device)
        runner.train()
    return meter, peak_mib(device)


def hand_written(setting, args, device):
    torch.manual_seed(0)
    model = ResNet(args.arch, args.num_classes).to(device)
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    dtype = {None: None, "bfloat16": torch.bfloat16, "float16": torch.float16}[PRECISION[setting]]
    memory_format = torch.channels_last if setting in ("channels_last", "compile") else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    if setting == "ddp":
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if setting == "fsdp":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
        policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
        norm_policy = MixedPrecisionPolicy(reduce_dtype=torch.float32, cast_forward_inputs=False)
        for module in model.modules():   # BatchNorm keeps float32 parameters, as FSDPStrategy does
            if isinstance(module, nn.BatchNorm2d):
                fully_shard(module, mp_policy=norm_policy)
        for module in model.modules():
            if isinstance(module, ARCHS[args.arch][0]):
                fully_shard(module, mp_policy=policy)
        fully_shard(model, mp_policy=policy)
        dtype = None  # the policy casts
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    forward = torch.compile(model) if setting == "compile" else model
    meter = Meter(device, args.warmup, args.iters, args.batch_size)
    data = SyntheticBatches(args.warmup + args.iters, args.batch_size, args.size, args.num_classes,
                            device.type == "cuda")
    reset_peak(device)
    model.train()
    for i, batch in enumerate(data):
        if i == args.warmup:
            meter.start()
        x = batch["inputs"].to(device, non_blocking=True).float()
        x = ((x - mean) / std).contiguous(memory_format=memory_format)
        y = batch["data_samples"].to(device, non_blocking=True)
        autocast = torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        with autocast:
            loss = F.cross_entropy(forward(x), y)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        optimizer.zero_grad()
    meter.stop()
    return meter, peak_mib(device)


# ---------------------------------------------------------------- main


@contextlib.contextmanager
def process_group(device):
    """A world-size-1 process group on a file store (NCCL on CUDA, gloo on the CPU)."""
    import torch.distributed as dist
    if dist.is_initialized():
        yield
        return
    with tempfile.TemporaryDirectory() as folder:
        store = dist.FileStore(os.path.join(folder, "store"), 1)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", store=store, rank=0, world_size=1)
        try:
            yield
        finally:
            dist.destroy_process_group()


def run_setting(setting, args, device):
    """The row for one setting: numbers, or the error that stopped it."""
    if setting in ("amp_fp16",) and device.type == "cpu" and not hasattr(torch.amp, "GradScaler"):
        return dict(note="skipped: no GradScaler for the CPU in this torch")
    if setting == "compile" and device.type == "cpu" and not args.compile_on_cpu:
        return dict(note="skipped on the CPU (slow to compile; add --compile-on-cpu)")
    row, failures = {}, []
    group = process_group(device) if setting in ("ddp", "fsdp") else contextlib.nullcontext()
    try:
        with group:
            for side, fn in (("loomcv", with_runner), ("hand", hand_written)):
                try:  # one broken side or setting must not hide the others
                    meter, peak = fn(setting, args, device)
                except Exception as err:
                    message = str(err).splitlines()[0][:120] if str(err) else ""
                    failures.append(f"{side} FAILED: {type(err).__name__}: {message}")
                    if args.verbose:
                        traceback.print_exc()
                    continue
                row[side] = meter.images_per_s
                row[f"{side}_mib"] = peak
                row[f"{side}_syncs"] = meter.syncs / args.iters
    except Exception as err:  # the process group itself
        failures.append(f"FAILED to start the process group: {type(err).__name__}: {err}")
    if failures:
        row["note"] = "; ".join(failures)
    return row


def fmt(value, spec):
    width = int(spec.split(".")[0] or 1)
    return f"{'-':>{width}}" if value is None else format(value, spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--model", dest="arch", default="resnet50", choices=["resnet50", "resnet18"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--iters", type=int, default=50, help="timed iterations per setting and side")
    parser.add_argument("--warmup", type=int, default=None, help="untimed iterations first (default 10, "
                                                                 "25 for compile)")
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    parser.add_argument("--small", action="store_true", help="a tiny ResNet on 32x32 images, batch 4 (smoke test)")
    parser.add_argument("--compile-on-cpu", action="store_true", help="run the compile setting on the CPU too")
    parser.add_argument("--verbose", action="store_true", help="print the traceback of a failed setting")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here; use --device cpu (with --small for a quick check)")
    if device.type == "cuda":
        if device.index is not None:  # a plain "cuda" means the current device
            torch.cuda.set_device(device)
        device = torch.device("cuda", torch.cuda.current_device())
        torch.backends.cudnn.benchmark = True
    args.size, args.num_classes = (32, 10) if args.small else (224, 1000)
    if args.small:
        args.arch, args.batch_size = "small", 4
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), "
          f"torch {torch.__version__}, model {args.arch}, batch {args.batch_size}, {args.size}x{args.size}, "
          f"{args.iters} timed iterations", flush=True)
    header = (f"{'setting':<14} {'loomcv img/s':>12} {'hand img/s':>11} {'ratio':>6} {'loomcv MiB':>10} "
              f"{'hand MiB':>9} {'syncs/iter':>11}  note")
    print(header)
    print("-" * len(header))
    ratios = []
    for setting in args.settings:
        warmup = args.warmup if args.warmup is not None else (25 if setting == "compile" else 10)
        if args.small and args.warmup is None:
            warmup = 2
        args_for = argparse.Namespace(**dict(vars(args), warmup=warmup))
        start = time.perf_counter()
        row = run_setting(setting, args_for, device)
        ratio = row["loomcv"] / row["hand"] if "loomcv" in row and "hand" in row else None
        if ratio is not None:
            ratios.append(ratio)
        syncs = (f"{fmt(row.get('loomcv_syncs'), '.0f')} / {fmt(row.get('hand_syncs'), '.0f')}"
                 if device.type == "cuda" and ("loomcv" in row or "hand" in row) else "-")
        note = row.get("note", f"{time.perf_counter() - start:.0f} s")
        print(f"{setting:<14} {fmt(row.get('loomcv'), '12.1f')} {fmt(row.get('hand'), '11.1f')} "
              f"{fmt(ratio, '6.3f')} {fmt(row.get('loomcv_mib'), '10.0f')} {fmt(row.get('hand_mib'), '9.0f')} "
              f"{syncs:>11}  {note}", flush=True)
    if ratios:
        print(f"median ratio loomcv/hand over {len(ratios)} setting(s): {statistics.median(ratios):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
