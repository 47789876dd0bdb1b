"""BaseModel.train_step + OptimWrapper.update_params vs a hand-written PyTorch step (CPU, tiny MLP).

Prints the time ratio (ours / plain); the overhead is pure Python per iteration.
"""

import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.model import BaseModel
from loomcv.optim import OptimWrapper


class MLP(BaseModel):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, inputs, data_samples=None, mode="tensor"):
        out = self.net(inputs)
        return dict(loss=F.cross_entropy(out, data_samples)) if mode == "loss" else out


def bench(n=2000):
    torch.manual_seed(0)
    x, y = torch.randn(32, 64), torch.randint(0, 10, (32,))
    model = MLP()
    plain = torch.optim.SGD(model.parameters(), lr=0.01)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    data = dict(inputs=x, data_samples=y)
    for _ in range(50):
        model.train_step(data, wrapper)
    t0 = time.perf_counter()
    for _ in range(n):
        loss = F.cross_entropy(model.net(x), y)
        loss.backward()
        plain.step()
        plain.zero_grad()
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n):
        model.train_step(data, wrapper)
    t_ours = time.perf_counter() - t0
    print(f"plain {t_plain / n * 1e6:.1f} us/iter, train_step {t_ours / n * 1e6:.1f} us/iter, "
          f"ratio {t_ours / t_plain:.2f}")


if __name__ == "__main__":
    torch.set_num_threads(1)  # steadier timings on a shared machine
    bench()
    bench()
