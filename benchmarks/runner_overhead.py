"""Runner overhead: the same model, data and optimizer trained by a hand-written PyTorch loop and
by the Runner (default hooks, a log line every 50 iterations). Prints s/iter for both, the ratio
and the framework's own cost per iteration in microseconds.

Three models, one CPU thread, process CPU time (not what the shared machine gives others):

* ``cnn``: a tiny CNN on 16x16 images, batch 32 (about 2 ms per iteration): the headline ratio,
  the setting the 1.03x target is stated for;
* ``mlp``: a 3-layer MLP, batch 64 (about 2.5 ms per iteration);
* ``tiny``: one linear layer on batches of 4, where the step costs little, so the difference in
  microseconds is the framework's own per-iteration cost (hooks, message hub, data
  preprocessor, loss parsing, optim wrapper).

Each repeat runs the hand loop and the Runner back to back (a pair); the ratio reported is the
median over the pairs, so machine noise hits both sides alike. Last, the function calls per
iteration beyond the hand loop's (``sys.setprofile``): the framework's work, which machine noise
does not move.

    python benchmarks/runner_overhead.py [--iters 400] [--repeats 5] [--models cnn mlp tiny]
"""

import argparse
import contextlib
import logging
import statistics
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from loomcv.model import BaseModel
from loomcv.runner import Runner

torch.set_num_threads(1)
# CPU time of this process: with one thread and no loader workers it is the work done, without
# the time the (shared, virtual) machine gives to others; --wall measures wall-clock time.
clock = time.process_time

SIZES = {"cnn": 32, "mlp": 64, "tiny": 4}  # model -> batch size


def make_net(size="mlp"):
    torch.manual_seed(0)
    if size == "tiny":
        return nn.Linear(256, 10)
    if size == "cnn":
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Linear(16, 10))
    return nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


class Wrapped(BaseModel):
    def __init__(self, size):
        super().__init__()
        self.net = make_net(size)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.net(inputs)
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        return logits


def collate(batch):
    return dict(inputs=torch.stack([b[0] for b in batch]), data_samples=torch.stack([b[1] for b in batch]))


def loader(iters, size="mlp"):
    batch_size = SIZES[size]
    g = torch.Generator().manual_seed(0)
    shape = (3, 16, 16) if size == "cnn" else (256,)
    data = TensorDataset(torch.randn(iters * batch_size, *shape, generator=g),
                         torch.randint(0, 10, (iters * batch_size,), generator=g))
    return DataLoader(data, batch_size=batch_size, shuffle=False, collate_fn=collate)


class CallCounter:
    """Counts Python and C function calls while active (``sys.setprofile``): a measure of the
    framework's work that machine noise does not move."""

    def __init__(self):
        self.python = self.c = 0

    def _profile(self, frame, event, arg):
        if event == "call":
            self.python += 1
        elif event == "c_call":
            self.c += 1

    def __enter__(self):
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)


def hand_written(iters, size="mlp", counter=None):
    model = make_net(size)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    data = loader(iters, size)
    lines = []
    counting = counter if counter is not None else contextlib.nullcontext()
    counting.__enter__()
    start = clock()
    model.train()
    for i, batch in enumerate(data):
        loss = F.cross_entropy(model(batch["inputs"]), batch["data_samples"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (i + 1) % 50 == 0:  # what a hand-written loop logs: the loss now and then
            lines.append(f"iter {i + 1} loss {loss.item():.4f}")
    elapsed = clock() - start
    counting.__exit__(None, None, None)
    return elapsed / iters


def with_runner(iters, size="mlp", counter=None):
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(model=Wrapped(size), work_dir=work_dir, train_dataloader=loader(iters, size),
                        train_cfg=dict(by_epoch=True, max_epochs=1),
                        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
                        default_hooks=dict(logger=dict(type="LoggerHook", interval=50),
                                           checkpoint=dict(type="CheckpointHook", interval=-1,
                                                           save_last=False)),
                        log_level="WARNING")
        loop = runner.train_loop
        times = {}
        original = loop.run_epoch

        def timed_epoch():
            with counter if counter is not None else contextlib.nullcontext():
                times["start"] = clock()
                original()
                times["end"] = clock()

        loop.run_epoch = timed_epoch
        runner.train()
        runner.logger.setLevel(logging.INFO)
        return (times["end"] - times["start"]) / iters


def measure(size: str, iters: int, repeats: int) -> dict:
    """``repeats`` pairs (hand loop, Runner) after a warm-up; per-iteration seconds of each."""
    with_runner(50, size)  # warm up: imports, registries, allocator
    hand_written(50, size)
    hand, run = [], []
    for _ in range(repeats):  # alternate so machine noise hits both alike
        hand.append(hand_written(iters, size))
        run.append(with_runner(iters, size))
    return dict(hand=hand, runner=run)


def count_calls(size: str, iters: int = 200) -> tuple:
    """Function calls per iteration beyond the hand loop's: (Python, C)."""
    hand, run = CallCounter(), CallCounter()
    hand_written(iters, size, hand)
    with_runner(iters, size, run)
    return (run.python - hand.python) / iters, (run.c - hand.c) / iters


def report(size: str, result: dict) -> str:
    hand, run = result["hand"], result["runner"]
    ratios = sorted(b / a for a, b in zip(hand, run))
    costs = sorted((b - a) * 1e6 for a, b in zip(hand, run))
    h, r = statistics.median(hand), statistics.median(run)
    return (f"[{size}, batch {SIZES[size]}] median of {len(hand)} pairs: hand-written loop {h * 1e3:.3f} ms/iter, "
            f"Runner {r * 1e3:.3f} ms/iter\n"
            f"  ratio Runner/hand: {statistics.median(ratios):.3f}x (pairs {ratios[0]:.3f}-{ratios[-1]:.3f}); "
            f"target <= 1.03x\n"
            f"  framework cost per iteration: {statistics.median(costs):+.1f} us "
            f"(pairs {costs[0]:+.1f} to {costs[-1]:+.1f} us)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of process CPU time")
    args = parser.parse_args()
    if args.wall:
        global clock
        clock = time.perf_counter
    for size in args.models:
        print(report(size, measure(size, args.iters, args.repeats)), flush=True)
    python_calls, c_calls = count_calls("tiny")
    print(f"framework work per iteration (deterministic): {python_calls:+.1f} Python and {c_calls:+.1f} C function "
          f"calls beyond the hand loop's", flush=True)


if __name__ == "__main__":
    main()
