"""Lamb, LARS and Adan against updates worked out by hand from each paper's equations.

A single 2-element parameter ``w`` gets fixed gradients; the expected values
are computed here with plain Python floats, step by step.
"""

import copy
import math

import pytest
import torch

from loomcv.registry import OPTIMIZERS


def _run(opt_cfg, w0, grads):
    w = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = OPTIMIZERS.build(dict(opt_cfg, params=[w]))
    history = []
    for g in grads:
        w.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        history.append(w.detach().tolist())
    return history


def _norm(v):
    return math.sqrt(sum(x * x for x in v))


def test_lars_two_steps_with_momentum():
    lr, eta, wd, mom = 0.1, 0.01, 0.1, 0.9
    got = _run(dict(type="LARS", lr=lr, eta=eta, weight_decay=wd, momentum=mom), [3.0, 4.0],
               [[0.6, 0.8], [0.0, 1.0]])
    # step 1: ||w|| = 5, ||g|| = 1 -> trust = 0.01 * 5 / (1 + 0.1 * 5 + eps) ~ 1/30
    trust = 0.05 / (1.5 + 1e-8)
    d1 = [(0.6 + 0.3) * trust * lr, (0.8 + 0.4) * trust * lr]  # ~ [0.003, 0.004]
    assert d1 == pytest.approx([0.003, 0.004])
    w1 = [3.0 - d1[0], 4.0 - d1[1]]
    assert got[0] == pytest.approx(w1, abs=1e-12)
    # step 2: new trust from w1 and g2 = [0, 1]; buffer = 0.9 * d1 + d2
    trust2 = eta * _norm(w1) / (1.0 + wd * _norm(w1) + 1e-8)
    d2 = [(0.0 + wd * w1[0]) * trust2 * lr, (1.0 + wd * w1[1]) * trust2 * lr]
    buf = [mom * d1[0] + d2[0], mom * d1[1] + d2[1]]
    assert got[1] == pytest.approx([w1[0] - buf[0], w1[1] - buf[1]], abs=1e-12)


def test_lars_exclude_group_takes_plain_sgd_step():
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0], dtype=torch.float64))
    opt = OPTIMIZERS.build(dict(type="LARS", lr=0.1, params=[dict(params=[w], lars_exclude=True)]))
    w.grad = torch.tensor([1.0, -1.0], dtype=torch.float64)
    opt.step()
    assert w.tolist() == pytest.approx([2.9, 4.1])


def test_lamb_two_steps():
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-6, 0.1
    w0, grads = [1.0, -2.0], [[3.0, 4.0], [0.5, 0.0]]
    got = _run(dict(type="Lamb", lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, max_grad_norm=1.0),
               w0, grads)
    w, m, v = list(w0), [0.0, 0.0], [0.0, 0.0]
    for t, g in enumerate(grads, start=1):
        n = _norm(g)
        g = [x / n for x in g] if n > 1.0 else list(g)  # clip the global norm to 1
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        r = [(mi / (1 - b1 ** t)) / (math.sqrt(vi / (1 - b2 ** t)) + eps) for mi, vi in zip(m, v)]
        u = [ri + wd * wi for ri, wi in zip(r, w)]
        ratio = _norm(w) / _norm(u)
        w = [wi - lr * ratio * ui for wi, ui in zip(w, u)]
        assert got[t - 1] == pytest.approx(w, abs=1e-9)
    # first step by hand: g/||g|| = [0.6, 0.8] -> r = [1, 1] (up to eps); u = [1.1, 0.8]
    r1 = [1.0, 1.0]
    u1 = [r1[0] + 0.1, r1[1] - 0.2]
    ratio1 = math.sqrt(5.0) / math.sqrt(1.1 ** 2 + 0.8 ** 2)
    assert got[0] == pytest.approx([1.0 - 0.01 * ratio1 * u1[0], -2.0 - 0.01 * ratio1 * u1[1]], abs=1e-6)


def test_lamb_without_weight_decay_is_clipped_adam():
    got = _run(dict(type="Lamb", lr=0.1, weight_decay=0.0, max_grad_norm=None), [1.0, 1.0], [[2.0, -0.5]])
    # one bias-corrected Adam step moves every coordinate by lr * sign(g) (eps aside)
    assert got[0] == pytest.approx([0.9, 1.1], abs=1e-6)


@pytest.mark.parametrize("no_prox", [False, True])
def test_adan_two_steps(no_prox):
    lr, (b1, b2, b3), eps, wd = 0.01, (0.98, 0.92, 0.99), 1e-8, 0.05
    w0, grads = [1.0, -1.0], [[0.5, 2.0], [1.5, -1.0]]
    got = _run(dict(type="Adan", lr=lr, betas=(b1, b2, b3), eps=eps, weight_decay=wd, no_prox=no_prox),
               w0, grads)
    w = list(w0)
    m, d, n = [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    prev = grads[0]
    for t, g in enumerate(grads, start=1):
        diff = [gi - pi for gi, pi in zip(g, prev)]
        nest = [gi + b2 * di for gi, di in zip(g, diff)]
        m = [b1 * x + (1 - b1) * gi for x, gi in zip(m, g)]
        d = [b2 * x + (1 - b2) * di for x, di in zip(d, diff)]
        n = [b3 * x + (1 - b3) * ni * ni for x, ni in zip(n, nest)]
        eta = [(mi / (1 - b1 ** t) + b2 * di / (1 - b2 ** t)) / (math.sqrt(ni / (1 - b3 ** t)) + eps)
               for mi, di, ni in zip(m, d, n)]
        if no_prox:
            w = [wi * (1 - lr * wd) - lr * e for wi, e in zip(w, eta)]
        else:
            w = [(wi - lr * e) / (1 + lr * wd) for wi, e in zip(w, eta)]
        assert got[t - 1] == pytest.approx(w, abs=1e-12)
        prev = g
    # step 1 has no gradient difference: a sign step of size lr, then the decay
    if not no_prox:
        assert got[0] == pytest.approx([(1.0 - 0.01) / 1.0005, (-1.0 - 0.01) / 1.0005], abs=1e-6)


def test_adan_clips_global_norm():
    got = _run(dict(type="Adan", lr=0.1, max_grad_norm=1.0), [0.0, 0.0], [[30.0, 40.0], [3.0, 4.0]])
    clipped = _run(dict(type="Adan", lr=0.1), [0.0, 0.0], [[0.6, 0.8], [0.6, 0.8]])
    assert got[1] == pytest.approx(clipped[1], abs=1e-6)


@pytest.mark.parametrize("cfg, word", [(dict(type="LARS", lr=-1.0), "lr"),
                                       (dict(type="LARS", lr=0.1, nesterov=True), "nesterov"),
                                       (dict(type="Lamb", betas=(0.9, 1.5)), "betas"),
                                       (dict(type="Adan", betas=(0.9, 0.9)), "betas")])
def test_bad_arguments_name_class_and_argument(cfg, word):
    with pytest.raises(Exception, match=f"{cfg['type']}.*{word}"):
        OPTIMIZERS.build(dict(cfg, params=[torch.nn.Parameter(torch.zeros(2))]))


def test_adan_state_dict_round_trip():
    w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = OPTIMIZERS.build(dict(type="Adan", params=[w], lr=0.1))
    w.grad = torch.tensor([0.1, -0.2])
    opt.step()
    w2 = torch.nn.Parameter(w.detach().clone())
    opt2 = OPTIMIZERS.build(dict(type="Adan", params=[w2], lr=0.1))
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))  # torch shares tensors otherwise
    for p, o in ((w, opt), (w2, opt2)):
        p.grad = torch.tensor([0.3, 0.1])
        o.step()
    assert torch.equal(w, w2)
