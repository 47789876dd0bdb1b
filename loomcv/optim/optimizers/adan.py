"""Adan: adaptive Nesterov momentum from the gradient and its change between steps.

Xie et al., "Adan: Adaptive Nesterov Momentum Algorithm for Faster Optimizing
Deep Models" (2022), with the argument names MMPretrain registers. ``betas``
are the decay rates of the three running averages (gradient, gradient
difference, squared Nesterov gradient); weight decay is applied as the
proximal step ``w / (1 + lr * wd)`` unless ``no_prox=True`` (then decoupled,
``w * (1 - lr * wd)``). With ``max_grad_norm > 0`` all gradients are first
scaled so their global norm is at most that value.
"""

import math
from typing import Iterable, Tuple

import torch
from torch.optim import Optimizer

from loomcv.registry import OPTIMIZERS
from loomcv.validation import check


@OPTIMIZERS.register_module()
class Adan(Optimizer):
    """Adaptive Nesterov momentum."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: Tuple[float, float, float] = (0.98, 0.92, 0.99),
                 eps: float = 1e-8, weight_decay: float = 0.0, max_grad_norm: float = 0.0, no_prox: bool = False,
                 foreach: bool = True):
        for name, value in (("lr", lr), ("eps", eps), ("max_grad_norm", max_grad_norm),
                            ("weight_decay", weight_decay)):
            check(isinstance(value, (int, float)) and value >= 0, self,
                  f"{name} must be a number >= 0, got {name}={value!r}", ValueError)
        check(len(betas) == 3 and all(0 <= b < 1 for b in betas), self,
              f"betas must be three numbers in [0, 1), got betas={betas!r}", ValueError)
        # ``foreach`` is accepted for config compatibility; the per-tensor loop gives the same numbers
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      max_grad_norm=max_grad_norm, no_prox=no_prox, foreach=foreach))

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("no_prox", False)

    def _clip_factor(self) -> float:
        max_norm = self.defaults["max_grad_norm"]
        if max_norm <= 0:
            return 1.0
        squares = [p.grad.pow(2).sum() for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not squares:
            return 1.0
        norm = torch.stack(squares).sum().sqrt().item() + self.param_groups[-1]["eps"]
        return min(max_norm / norm, 1.0)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        clip = self._clip_factor()
        for group in self.param_groups:
            beta1, beta2, beta3 = group["betas"]
            group["step"] = group.get("step", 0) + 1
            t = group["step"]
            correction1, correction2 = 1 - beta1 ** t, 1 - beta2 ** t
            correction3_sqrt = math.sqrt(1 - beta3 ** t)
            lr, wd = group["lr"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.mul(clip)
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    state["exp_avg_diff"] = torch.zeros_like(p)
                if "pre_grad" not in state or t == 1:
                    state["pre_grad"] = grad.clone()  # no difference on the first step
                diff = grad - state["pre_grad"]
                nesterov_grad = grad + beta2 * diff
                state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                state["exp_avg_diff"].mul_(beta2).add_(diff, alpha=1 - beta2)
                state["exp_avg_sq"].mul_(beta3).addcmul_(nesterov_grad, nesterov_grad, value=1 - beta3)
                denom = (state["exp_avg_sq"].sqrt() / correction3_sqrt).add_(group["eps"])
                update = (state["exp_avg"] / correction1 + beta2 * state["exp_avg_diff"] / correction2) / denom
                if group["no_prox"]:
                    p.mul_(1 - lr * wd).add_(update, alpha=-lr)
                else:
                    p.add_(update, alpha=-lr).div_(1 + lr * wd)
                state["pre_grad"] = grad.clone()
        return loss
