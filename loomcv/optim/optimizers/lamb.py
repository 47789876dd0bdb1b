"""LAMB: Adam's direction, rescaled per tensor by the trust ratio ``||w|| / ||update||``.

You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76
minutes" (2020), in the form MMPretrain registers (timm's): the whole gradient
is first clipped to a global norm of ``max_grad_norm``; the trust ratio is
applied when weight decay is on (or ``always_adapt``), optionally capped at 1
(``trust_clip``).
"""

from typing import Iterable, Tuple

import torch
from torch.optim import Optimizer

from loomcv.registry import OPTIMIZERS
from loomcv.validation import check


@OPTIMIZERS.register_module()
class Lamb(Optimizer):
    """Layer-wise adaptive moments for large-batch training."""

    def __init__(self, params: Iterable, lr: float = 1e-3, bias_correction: bool = True,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-6, weight_decay: float = 0.01,
                 grad_averaging: bool = True, max_grad_norm: float = 1.0, trust_clip: bool = False,
                 always_adapt: bool = False):
        check(isinstance(lr, (int, float)) and lr >= 0, self, f"lr must be >= 0, got lr={lr!r}", ValueError)
        check(len(betas) == 2 and all(0 <= b < 1 for b in betas), self,
              f"betas must be two numbers in [0, 1), got betas={betas!r}", ValueError)
        check(eps >= 0 and weight_decay >= 0, self,
              f"eps and weight_decay must be >= 0, got eps={eps!r}, weight_decay={weight_decay!r}", ValueError)
        check(max_grad_norm is None or max_grad_norm >= 0, self,
              f"max_grad_norm must be >= 0 or None, got {max_grad_norm!r}", ValueError)
        super().__init__(params, dict(lr=lr, bias_correction=bias_correction, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, grad_averaging=grad_averaging,
                                      max_grad_norm=max_grad_norm, trust_clip=trust_clip,
                                      always_adapt=always_adapt))

    def _clip_factor(self) -> float:
        """The factor that divides every gradient so the global norm is at most ``max_grad_norm``."""
        max_norm = self.defaults["max_grad_norm"]
        if not max_norm:
            return 1.0
        squares = [p.grad.pow(2).sum() for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not squares:
            return 1.0
        norm = torch.stack(squares).sum().sqrt().item()
        return norm / max_norm if norm > max_norm else 1.0

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        clip = self._clip_factor()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            group["step"] = group.get("step", 0) + 1
            t = group["step"]
            if group["bias_correction"]:
                correction1, correction2 = 1 - beta1 ** t, 1 - beta2 ** t
            else:
                correction1 = correction2 = 1.0
            grad_weight = 1 - beta1 if group["grad_averaging"] else 1.0
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("Lamb does not support sparse gradients")
                grad = p.grad.div_(clip)
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(grad, alpha=grad_weight)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                update = (m / correction1) / ((v.sqrt() / correction2 ** 0.5).add_(group["eps"]))
                if group["weight_decay"] != 0:
                    update.add_(p, alpha=group["weight_decay"])
                if group["weight_decay"] != 0 or group["always_adapt"]:
                    w_norm = torch.linalg.vector_norm(p).item()
                    u_norm = torch.linalg.vector_norm(update).item()
                    ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
                    if group["trust_clip"]:
                        ratio = min(ratio, 1.0)
                    update.mul_(ratio)
                p.add_(update, alpha=-group["lr"])
        return loss
