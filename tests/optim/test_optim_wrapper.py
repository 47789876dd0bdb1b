import copy

import pytest
import torch
import torch.nn as nn

from loomcv.errors import ConfigError
from loomcv.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict, build_optim_wrapper
from loomcv.registry import OPTIMIZERS


def test_every_torch_optimizer_registered():
    for name in ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                 "RAdam", "ASGD", "Rprop", "LBFGS", "SparseAdam"]:
        assert OPTIMIZERS.get(name) is getattr(torch.optim, name)


def test_accumulation_equals_one_big_batch():
    torch.manual_seed(0)
    base = nn.Linear(5, 3)
    x, y = torch.randn(16, 5), torch.randn(16, 3)
    big, acc = copy.deepcopy(base), copy.deepcopy(base)
    big_w = OptimWrapper(torch.optim.SGD(big.parameters(), lr=0.1))
    acc_w = OptimWrapper(torch.optim.SGD(acc.parameters(), lr=0.1), accumulative_counts=4)
    big_w.update_params(nn.functional.mse_loss(big(x), y))
    for i in range(4):
        chunk = slice(4 * i, 4 * i + 4)
        acc_w.update_params(nn.functional.mse_loss(acc(x[chunk]), y[chunk]))
        assert (acc.weight.grad is None) == (i == 3)  # zeroed only after the step
    assert torch.allclose(big.weight, acc.weight, atol=1e-6)
    assert torch.allclose(big.bias, acc.bias, atol=1e-6)


def test_last_incomplete_window_scaled_by_its_size():
    model = nn.Linear(1, 1, bias=False)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0), accumulative_counts=4)
    wrapper.initialize_count_status(model, 4, 6)  # resume at 4 of 6: last window has 2 iterations
    model.weight.data.fill_(0.0)
    for _ in range(2):
        wrapper.update_params(model(torch.ones(1, 1)).sum())  # d/dw = 1 each time
    assert torch.allclose(model.weight, torch.tensor([[-1.0]]))  # mean over 2, not 4


def test_clip_grad_norm_and_value():
    model = nn.Linear(10, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0),
                           clip_grad=dict(max_norm=0.5, norm_type=2))
    wrapper.backward((model(torch.full((4, 10), 100.0)) ** 2).sum())
    wrapper.step()
    total = torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert total <= 0.5 + 1e-5 and wrapper.last_grad_norm > 0.5
    from loomcv.logging import MessageHub
    assert MessageHub.get_current_instance().get_scalar("train/grad_norm").current() > 0.5
    value = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0), clip_grad=dict(type="value", clip_value=0.1))
    value.zero_grad()
    value.backward((model(torch.full((4, 10), 100.0)) ** 2).sum())
    value.step()
    assert all(p.grad.abs().max() <= 0.1 for p in model.parameters())
    with pytest.raises(ConfigError, match="max_norm"):
        OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), clip_grad=dict(max_nrom=1))


def test_bf16_amp_step_on_cpu_trains():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), dtype="bfloat16")
    x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
    losses = []
    for _ in range(30):
        with wrapper.optim_context(model):
            out = model(x)
            assert out.dtype == torch.bfloat16
            loss = nn.functional.cross_entropy(out.float(), y)
        wrapper.update_params(loss)
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.9
    assert wrapper.loss_scaler is None and "loss_scaler" not in wrapper.state_dict()
    fp16 = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), loss_scale=64.0)
    assert fp16.state_dict()["loss_scaler"]["scale"] == 64.0
    with pytest.raises(ConfigError, match="bfloat16"):
        AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1), dtype="bfloat61")


def test_lr_momentum_state_and_dict():
    model = nn.Linear(2, 2)
    sgd = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    adam = build_optim_wrapper(model, dict(optimizer=dict(type="Adam", lr=0.01, betas=(0.8, 0.99))))
    assert sgd.get_lr() == {"lr": [0.1]} and sgd.get_momentum() == {"momentum": [0.9]}
    assert adam.get_momentum() == {"momentum": [0.8]}
    both = OptimWrapperDict(gen=sgd, disc=adam)
    assert both.get_lr() == {"gen.lr": [0.1], "disc.lr": [0.01]}
    state = both.state_dict()
    both.load_state_dict(state)
    with pytest.raises(NotImplementedError, match="gen"):
        both.update_params(torch.tensor(0.0))


def test_optim_context_skips_sync_inside_window():
    class FakeDDP(nn.Linear):
        synced = []

        def no_sync(self):
            import contextlib
            self.synced.append(False)
            return contextlib.nullcontext()

    model = FakeDDP(1, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    for _ in range(4):
        with wrapper.optim_context(model):
            loss = model(torch.ones(1, 1)).sum()
        wrapper.update_params(loss)
    assert model.synced == [False, False]  # iterations 1 and 3 skip the all-reduce
