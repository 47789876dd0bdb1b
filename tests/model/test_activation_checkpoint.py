"""activation_checkpoint: same values and gradients, activations recomputed only when training."""

import torch

from loomcv.model.bricks import activation_checkpoint


def _block():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def test_same_output_and_gradients_as_a_plain_call():
    block = _block()
    x = torch.randn(3, 4, requires_grad=True)
    plain = block(x)
    plain.sum().backward()
    grads = [p.grad.clone() for p in block.parameters()] + [x.grad.clone()]
    block.zero_grad()
    x.grad = None
    ckpt = activation_checkpoint(block, x, enabled=True)
    ckpt.sum().backward()
    torch.testing.assert_close(ckpt, plain)
    for want, p in zip(grads, list(block.parameters()) + [x]):
        torch.testing.assert_close(p.grad, want)


def test_recomputes_forward_in_backward_only_when_enabled_and_grad_is_needed():
    calls = []

    def fn(x):
        calls.append(1)
        return x * x  # backward needs x, so a checkpoint must recompute it

    x = torch.ones(2, requires_grad=True)
    activation_checkpoint(fn, x, enabled=True).sum().backward()
    assert len(calls) == 2  # forward, then the recomputation during backward
    calls.clear()
    activation_checkpoint(fn, x, enabled=False).sum().backward()
    assert len(calls) == 1
    calls.clear()
    with torch.no_grad():
        activation_checkpoint(fn, torch.ones(2), enabled=True)
    assert len(calls) == 1
