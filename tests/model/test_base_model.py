import os

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.model import (BaseModel, ExponentialMovingAverage, ImgDataPreprocessor,
                          LoomDistributedDataParallel, MomentumAnnealingEMA, convert_sync_batchnorm,
                          is_model_wrapper, revert_sync_batchnorm)
from loomcv.optim import OptimWrapper


class TinyNet(BaseModel):
    def __init__(self, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.fc = nn.Linear(12, 2)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.fc(inputs.flatten(1))
        if mode == "loss":
            return dict(loss_cls=F.cross_entropy(logits, data_samples),
                        loss_aux=[logits.pow(2).mean() * 0.0], acc=(logits.argmax(1) == data_samples).float())
        if mode == "predict":
            return logits.argmax(1)
        return logits


def _batch(n=4):
    return dict(inputs=[torch.randint(0, 255, (3, 2, 2), dtype=torch.uint8) for _ in range(n)],
                data_samples=torch.randint(0, 2, (n,)))


def test_img_preprocessor_normalize_swap_and_pad():
    pre = ImgDataPreprocessor(mean=[1.0, 2.0, 3.0], std=[2.0, 2.0, 2.0], bgr_to_rgb=True,
                              pad_size_divisor=4, pad_value=-1)
    a = torch.arange(3 * 2 * 3, dtype=torch.uint8).view(3, 2, 3)
    b = torch.ones(3, 5, 2, dtype=torch.uint8)
    out = pre(dict(inputs=[a, b], data_samples=["s1", "s2"]))["inputs"]
    assert out.shape == (2, 3, 8, 4) and out.dtype == torch.float32
    expected_a = (a.flip(0).float() - torch.tensor([1.0, 2, 3]).view(3, 1, 1)) / 2
    assert torch.allclose(out[0, :, :2, :3], expected_a)
    assert torch.all(out[0, :, 2:, :] == -1) and torch.all(out[1, :, 5:, :] == -1)
    same = pre(dict(inputs=[a, a]))["inputs"]
    assert same.shape == (2, 3, 4, 4) and torch.allclose(same[1, :, :2, :3], expected_a)
    with pytest.raises(ValueError, match="both mean and std"):
        ImgDataPreprocessor(mean=[0.0])


def test_parse_losses_and_train_step():
    torch.manual_seed(0)
    model = TinyNet(dict(type="ImgDataPreprocessor", mean=[127.5] * 3, std=[127.5] * 3))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
    data = _batch(8)
    first = model.train_step(data, wrapper)
    assert list(first) == ["loss", "loss_cls", "loss_aux", "acc"]
    assert torch.allclose(first["loss"], first["loss_cls"] + first["loss_aux"])
    assert not first["loss"].requires_grad
    for _ in range(20):
        last = model.train_step(data, wrapper)
    assert last["loss"] < first["loss"]
    assert model.val_step(data).shape == (8,)
    with pytest.raises(TypeError, match="'bad'"):
        model.parse_losses(dict(loss=torch.tensor(1.0), bad="x"))


def test_ddp_wrapper_train_step_goes_through_ddp_forward():
    import torch.distributed as dist
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        model = TinyNet()
        ddp = LoomDistributedDataParallel(model)
        assert is_model_wrapper(ddp) and not is_model_wrapper(model)
        calls = []
        ddp.register_forward_pre_hook(lambda mod, args: calls.append(1))
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
        log = ddp.train_step(dict(inputs=torch.randn(4, 3, 2, 2), data_samples=torch.tensor([0, 1, 0, 1])), wrapper)
        assert calls and "loss" in log and model.fc.weight.grad is not None
    finally:
        dist.destroy_process_group()


def test_sync_batchnorm_round_trip():
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    with torch.no_grad():
        net[1].weight.fill_(3.0)
    synced = convert_sync_batchnorm(net)
    assert isinstance(synced[1], nn.SyncBatchNorm)
    back = revert_sync_batchnorm(synced)
    assert not isinstance(back[1], nn.SyncBatchNorm) and torch.all(back[1].weight == 3.0)
    assert list(back.state_dict()) == list(net.state_dict())
    assert back(torch.randn(2, 3, 4, 4)).shape == (2, 4, 4, 4)


def test_ema_and_momentum_annealing():
    model = nn.Linear(2, 1, bias=False)
    ema = ExponentialMovingAverage(model, momentum=0.5)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update_parameters(model)  # first update copies
    model.weight.data.fill_(3.0)
    ema.update_parameters(model)
    assert torch.allclose(ema.module.weight, torch.full((1, 2), 2.0))
    assert list(ema.state_dict()) == ["steps", "module.weight"]
    anneal = MomentumAnnealingEMA(model, momentum=0.01, gamma=1, interval=1)
    model.weight.data.fill_(0.0)
    anneal.update_parameters(model)
    model.weight.data.fill_(4.0)
    anneal.update_parameters(model)  # steps=1: momentum = max(0.01, 1/2)
    assert torch.allclose(anneal.module.weight, torch.full((1, 2), 2.0))
    bn = nn.BatchNorm1d(2)
    ema_bn = ExponentialMovingAverage(bn, momentum=0.5, update_buffers=True, interval=2)
    bn.running_mean.fill_(2.0)
    ema_bn.update_parameters(bn)
    bn.running_mean.fill_(4.0)
    ema_bn.update_parameters(bn)  # steps=1, not a multiple of interval 2: unchanged
    assert torch.all(ema_bn.module.running_mean == 2.0)
    ema_bn.update_parameters(bn)
    assert torch.all(ema_bn.module.running_mean == 3.0)
