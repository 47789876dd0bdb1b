"""Runner overhead: the same model, data and optimizer trained by a hand-written PyTorch loop and
by the Runner (default hooks, a log line every 50 iterations). Prints s/iter for both and the ratio.

Two sizes: the MLP (about 3 ms per iteration on one CPU thread), whose ratio is the headline
figure but moves by several percent with machine noise, and a one-layer model on batches of 4,
where the step costs little, so the difference in microseconds is the framework's own
per-iteration cost (hooks, message hub, data preprocessor, loss parsing).

    python benchmarks/runner_overhead.py [--iters 400] [--repeats 7]
"""

import argparse
import logging
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


SIZES = {"mlp": 64, "tiny": 4}  # model -> batch size


def make_net(size="mlp"):
    torch.manual_seed(0)
    if size == "tiny":
        return nn.Linear(256, 10)
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


def loader(iters, batch_size=64):
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(iters * batch_size, 256, generator=g),
                         torch.randint(0, 10, (iters * batch_size,), generator=g))
    return DataLoader(data, batch_size=batch_size, shuffle=False, collate_fn=collate)


def hand_written(iters, size="mlp"):
    model = make_net(size)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    data = loader(iters, SIZES[size])
    start = clock()
    model.train()
    for i, batch in enumerate(data):
        loss = F.cross_entropy(model(batch["inputs"]), batch["data_samples"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (i + 1) % 50 == 0:
            print(f"iter {i + 1} loss {loss.item():.4f}", end="\r")
    return (clock() - start) / iters



def with_runner(iters, size="mlp"):
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(model=Wrapped(size), work_dir=work_dir, train_dataloader=loader(iters, SIZES[size]),
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
            times["start"] = clock()
            original()
            times["end"] = clock()

        loop.run_epoch = timed_epoch
        runner.train()
        runner.logger.setLevel(logging.INFO)
        return (times["end"] - times["start"]) / iters


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iters", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of process CPU time")
    args = parser.parse_args()
    if args.wall:
        global clock
        clock = time.perf_counter
    for size in SIZES:
        with_runner(50, size)  # warm up: imports, registries, allocator
        hand_written(50, size)
        hand, run = [], []
        for _ in range(args.repeats):  # alternate so machine noise hits both alike
            hand.append(hand_written(args.iters, size))
            run.append(with_runner(args.iters, size))
        h, r = min(hand), min(run)
        paired = sorted(b / a for a, b in zip(hand, run))
        print(" " * 40)
        print(f"[{size}, batch {SIZES[size]}] best of {args.repeats}: hand-written loop {h * 1e3:.3f} ms/iter "
              f"({h:.6f} s/iter), Runner {r * 1e3:.3f} ms/iter ({r:.6f} s/iter)")
        print(f"  ratio Runner/hand: {r / h:.3f}x best-to-best, {paired[len(paired) // 2]:.3f}x median of "
              f"pairs ({paired[0]:.3f}-{paired[-1]:.3f}); target <= 1.03x")
        print(f"  Runner cost per iteration: {(r - h) * 1e6:+.1f} us")

if __name__ == "__main__":
    main()
