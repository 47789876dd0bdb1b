"""LARS: SGD whose step for each tensor is scaled by ``eta * ||w|| / (||g|| + wd * ||w||)``.

You, Gitman and Ginsburg, "Large Batch Training of Convolutional Networks"
(2017), Algorithm 1, with MMPretrain's argument names and defaults. A param
group with ``lars_exclude=True`` (biases and norms, usually) takes plain SGD
steps.
"""

from typing import Iterable

import torch
from torch.optim import Optimizer

from loomcv.registry import OPTIMIZERS
from loomcv.validation import check


@OPTIMIZERS.register_module()
class LARS(Optimizer):
    """Layer-wise adaptive rate scaling for SGD (with optional momentum and Nesterov)."""

    def __init__(self, params: Iterable, lr: float, momentum: float = 0, weight_decay: float = 0,
                 dampening: float = 0, eta: float = 0.001, nesterov: bool = False, eps: float = 1e-8):
        for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay), ("eta", eta),
                            ("eps", eps)):
            check(isinstance(value, (int, float)) and value >= 0, self,
                  f"{name} must be a number >= 0, got {name}={value!r}", ValueError)
        check(not nesterov or (momentum > 0 and dampening == 0), self,
              f"nesterov=True needs momentum > 0 and dampening=0, got momentum={momentum}, "
              f"dampening={dampening}", ValueError)
        self.eps = eps
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, eta=eta))

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            wd, momentum, dampening = group["weight_decay"], group["momentum"], group["dampening"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                trust = 1.0
                if not group.get("lars_exclude", False):
                    w_norm, g_norm = torch.linalg.vector_norm(p).item(), torch.linalg.vector_norm(grad).item()
                    if w_norm > 0 and g_norm > 0:
                        trust = group["eta"] * w_norm / (g_norm + wd * w_norm + self.eps)
                # the scaled step, including weight decay, is what the momentum buffer accumulates
                delta = grad.add(p, alpha=wd).mul_(trust * group["lr"])
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buf = state["momentum_buffer"] = delta.clone()
                    else:
                        buf = state["momentum_buffer"].mul_(momentum).add_(delta, alpha=1 - dampening)
                    delta = delta.add(buf, alpha=momentum) if group["nesterov"] else buf
                p.sub_(delta)
        return loss
