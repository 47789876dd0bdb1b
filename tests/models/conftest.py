"""Checks every backbone test runs: frozen stages stay frozen, norm_eval holds, and
state dicts match the MMPretrain manifests in tests/fixtures/compat/."""

import types
from pathlib import Path

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

COMPAT = Path(__file__).parents[1] / "fixtures" / "compat"


def read_manifest(name, prefix="backbone."):
    """{key: shape} for the manifest's keys under ``prefix`` (prefix removed)."""
    path = COMPAT / name
    entries = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape = line.split("\t")
        if key.startswith(prefix):
            entries[key[len(prefix):]] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    assert entries, f"no keys under {prefix!r} in {path}"
    return entries


def state_dict_shapes(model):
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def assert_frozen_after_step(model, frozen_prefixes, x):
    """Params under ``frozen_prefixes`` have requires_grad False and do not move in an SGD step;
    at least one other parameter does move."""
    model.train()
    params = dict(model.named_parameters())
    frozen = {n for n in params if n.startswith(tuple(frozen_prefixes))}
    assert frozen, f"no parameters under {frozen_prefixes}"
    assert all(not params[n].requires_grad for n in frozen)
    trainable = [p for n, p in params.items() if n not in frozen]
    assert all(p.requires_grad for p in trainable)
    before = {n: p.detach().clone() for n, p in params.items()}
    buffers = {n: b.clone() for n, b in model.named_buffers() if n.startswith(tuple(frozen_prefixes))}
    opt = torch.optim.SGD(trainable, lr=0.1)
    sum(o.float().pow(2).mean() for o in model(x)).backward()
    opt.step()
    for n in frozen:
        assert params[n].grad is None and torch.equal(params[n], before[n]), n
    for n, b in model.named_buffers():
        if n in buffers:  # frozen BN statistics are not updated either
            assert torch.equal(b, buffers[n]), n
    assert any(not torch.equal(params[n], before[n]) for n in params if n not in frozen)
    for name, module in model.named_modules():
        if name.startswith(tuple(frozen_prefixes)) and isinstance(module, _BatchNorm):
            assert not module.training, name


def assert_norm_eval(model):
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    assert model.training


@pytest.fixture
def checks():
    return types.SimpleNamespace(read_manifest=read_manifest, state_dict_shapes=state_dict_shapes,
                                 assert_frozen_after_step=assert_frozen_after_step,
                                 assert_norm_eval=assert_norm_eval)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run faster on one thread, and far faster when other processes load the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
