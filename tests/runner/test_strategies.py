"""Strategies and model features in one process: FlexibleRunner/runner_type, strategy configs and
their errors, activation checkpointing, channels_last and compile (2-process FSDP and DDP runs are
in tests/dist/test_fsdp.py)."""

import copy
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.errors import ConfigError  # noqa: E402
from loomcv.model import BaseModel  # noqa: E402
from loomcv.registry import MODELS, RUNNERS  # noqa: E402
from loomcv.runner import (DDPStrategy, FlexibleRunner, FSDPStrategy, Runner, SingleDeviceStrategy,  # noqa: E402
                           turn_on_activation_checkpointing)
from loomcv.runner.strategies import compile_model, size_based_units  # noqa: E402
from loomcv.runner.strategies.features import compile_unavailable  # noqa: E402


class Block(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.drop = nn.Dropout(0.2)

    def forward(self, x, scale=1.0):
        return x + scale * self.drop(F.relu(self.fc(x)))


@MODELS.register_module(force=True)
class BlockNet(BaseModel):
    def __init__(self, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.stem = nn.Linear(8, 16)
        self.blocks = nn.Sequential(Block(), Block())
        self.head = nn.Linear(16, 2)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.head(self.blocks(self.stem(inputs)))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        return logits


@MODELS.register_module(force=True)
class TinyConvNet(BaseModel):
    """Takes the 8-d points as 2x2x2 images, so convolutions see 4-D inputs."""

    def __init__(self, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.conv = nn.Conv2d(2, 4, 1)
        self.head = nn.Linear(16, 2)
        self.seen_formats = []

    def forward(self, inputs, data_samples=None, mode="tensor"):
        self.seen_formats.append(inputs.is_contiguous(memory_format=torch.channels_last))
        logits = self.head(F.relu(self.conv(inputs)).flatten(1))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        return logits


def _config(tmp_path, **overrides):
    cfg = T.tiny_config(tmp_path, by_epoch=False, max_iters=4, val_dataloader=None, val_cfg=None,
                        val_evaluator=None)
    cfg["default_hooks"] = dict(logger=dict(type="LoggerHook", interval=2),
                                checkpoint=dict(type="CheckpointHook", interval=-1, save_last=False))
    cfg.update(overrides)
    return cfg


def _log(runner):
    with open(osp.join(runner.log_dir, f"{runner.timestamp}.log"), encoding="utf-8") as f:
        return f.read()


def _weights(runner):
    return {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


# ------------------------------------------------------------------ runner_type and strategies


def test_flexible_runner_is_the_runner(tmp_path):
    assert RUNNERS.get("FlexibleRunner") is Runner and FlexibleRunner is Runner
    runner = Runner.from_cfg(_config(tmp_path, runner_type="FlexibleRunner"))
    assert type(runner) is Runner and isinstance(runner.strategy, SingleDeviceStrategy)


def test_runner_type_picks_a_registered_subclass_and_names_typos(tmp_path):
    @RUNNERS.register_module(force=True)
    class CountingRunner(Runner):
        pass

    assert type(Runner.from_cfg(_config(tmp_path / "a", runner_type="CountingRunner"))) is CountingRunner
    with pytest.raises(ConfigError, match="runner_type='FlexibleRuner' is not a registered runner.*FlexibleRunner"):
        Runner.from_cfg(_config(tmp_path / "b", runner_type="FlexibleRuner"))


def test_strategy_from_config(tmp_path):
    runner = Runner.from_cfg(_config(tmp_path, strategy=dict(type="DDPStrategy")))
    assert isinstance(runner.strategy, DDPStrategy) and isinstance(runner.model, BaseModel)  # one process: no DDP
    with pytest.raises(ConfigError, match="sync_bn must be None or 'torch'"):
        DDPStrategy(sync_bn="mmcv")


def test_fsdp_without_a_process_group_trains_unsharded_and_says_so(tmp_path):
    cfg = _config(tmp_path, model=dict(type="BlockNet"), strategy=dict(type="FSDPStrategy", wrap_modules=["Block"]))
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=4, by_epoch=False)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert "FSDPStrategy: no process group (launcher='none'), so the model is not sharded" in _log(runner)
    assert osp.isfile(tmp_path / "iter_4.pth") and not runner.strategy.sharded


def test_fsdp_options_are_checked():
    assert FSDPStrategy(wrap_modules=["Block"]).units_spec == ["Block"]
    assert FSDPStrategy(auto_wrap_policy=dict(module_classes="Block")).units_spec == ["Block"]
    policy = dict(type="torch.distributed.fsdp.wrap.transformer_auto_wrap_policy", transformer_layer_cls=["Block"])
    assert FSDPStrategy(model_wrapper=dict(auto_wrap_policy=policy)).units_spec == ["Block"]
    size = dict(type="torch.distributed.fsdp.wrap.size_based_auto_wrap_policy", min_num_params=1e3)
    assert FSDPStrategy(auto_wrap_policy=size).units_spec == 1000
    strategy = FSDPStrategy(model_wrapper=dict(sharding_strategy="SHARD_GRAD_OP", use_orig_params=True),
                            state_dict_cfg="local", mixed_precision="bf16")
    assert strategy.reshard_after_forward is False and strategy.state_dict_type == "sharded"
    assert strategy.mp_policy.param_dtype == torch.bfloat16 and strategy.mp_policy.reduce_dtype is None
    with pytest.raises(ConfigError, match="FSDPStrategy: state_dict_type.*'fulll'.*full"):
        FSDPStrategy(state_dict_type="fulll")
    with pytest.raises(ConfigError, match="mixed_precision param_dtype='bf61'.*valid: float32"):
        FSDPStrategy(mixed_precision=dict(param_dtype="bf61"))
    with pytest.raises(ConfigError, match=r"model_wrapper keys \['limit_all_gathers'\] are not supported"):
        FSDPStrategy(model_wrapper=dict(limit_all_gathers=True))
    with pytest.raises(ConfigError, match="auto_wrap_policy keys"):
        FSDPStrategy(auto_wrap_policy=dict(classes=["Block"]))
    with pytest.raises(ConfigError, match="not both"):
        FSDPStrategy(wrap_modules=["Block"], auto_wrap_policy=dict(module_classes=["Block"]))


def test_fsdp_wrap_modules_must_exist():
    model = BlockNet()
    with pytest.raises(ConfigError, match="(?s)'Blok' is neither a submodule path of BlockNet.*classes: .*Block"):
        FSDPStrategy(wrap_modules=["Blok"])._units(model)
    units = FSDPStrategy(wrap_modules=["Block", "head"])._units(model)
    assert [n for n, _ in units] == ["head", "blocks.1", "blocks.0"]   # innermost (last in order) first


def test_size_based_units_follow_fsdp1():
    model = BlockNet()   # stem 144, each block 272, head 34 parameters
    assert [n for n, _ in size_based_units(model, 200)] == ["blocks.0.fc", "blocks.1.fc"]
    assert [n for n, _ in size_based_units(model, 600)] == []
    assert [n for n, _ in size_based_units(model, 100)] == ["stem", "blocks.0.fc", "blocks.1.fc"]


# ------------------------------------------------------------------ activation checkpointing


def _grads(model, x, y):
    torch.manual_seed(3)
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def test_activation_checkpointing_same_gradients_and_recomputes():
    torch.manual_seed(0)
    plain = BlockNet()
    ckpt = copy.deepcopy(plain)
    assert turn_on_activation_checkpointing(ckpt, ["Block"]) == ["blocks.0", "blocks.1"]
    calls = []
    ckpt.blocks[0].fc.register_forward_hook(lambda *a: calls.append(1))
    x, y = torch.randn(6, 8), torch.randint(0, 2, (6,))
    expected, got = _grads(plain, x, y), _grads(ckpt, x, y)
    assert len(calls) == 2   # forward, then again in backward
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    assert list(ckpt.state_dict()) == list(plain.state_dict())   # names unchanged: checkpoints load either way
    with torch.no_grad():
        ckpt(x)
    assert len(calls) == 3   # no recomputation without autograd
    assert ckpt.blocks[0](x[:, :16].repeat(1, 2)[:, :16], scale=0.0).shape == (6, 16)   # keyword arguments pass


def test_activation_checkpointing_by_path_survives_deepcopy():
    model = BlockNet()
    assert turn_on_activation_checkpointing(model, "blocks.1") == ["blocks.1"]
    assert turn_on_activation_checkpointing(model, ["blocks", "blocks.0"]) == ["blocks"]   # nested: the outer one
    twin = copy.deepcopy(model)   # EMA copies the model: its forward must use the copy's weights
    with torch.no_grad():
        twin.blocks[1].fc.weight.zero_()
        twin.blocks[1].fc.bias.zero_()
    x = torch.randn(3, 16)
    torch.manual_seed(0)
    assert torch.equal(twin.blocks[1](x), x)
    assert not torch.equal(model.blocks[1].fc.weight, twin.blocks[1].fc.weight)
    message = ("(?s)'blocks.7' is neither a submodule path of BlockNet.*Did you mean: 'blocks.1'.*"
               "top-level paths: data_preprocessor, stem, blocks, head")
    with pytest.raises(ConfigError, match=message):
        turn_on_activation_checkpointing(model, ["blocks.7"])


def test_activation_checkpointing_through_the_runner(tmp_path):
    base = _config(tmp_path / "plain", model=dict(type="BlockNet"))
    plain = Runner.from_cfg(copy.deepcopy(base))
    plain.train()
    ckpt = Runner.from_cfg(dict(base, work_dir=str(tmp_path / "ckpt"), activation_checkpointing=["Block"]))
    ckpt.train()
    assert "_loomcv_plain_forward" in ckpt.model.blocks[0].__dict__
    a, b = _weights(plain), _weights(ckpt)
    assert all(torch.equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ channels_last and compile


def test_channels_last_converts_weights_and_inputs(tmp_path):
    def collate(batch):
        return dict(inputs=torch.stack([b["inputs"].view(2, 2, 2) for b in batch]),
                    data_samples=torch.stack([b["data_samples"] for b in batch]))

    def run(name, **extra):
        cfg = _config(tmp_path / name, model=dict(type="TinyConvNet"), **extra)
        cfg["train_dataloader"]["collate_fn"] = collate
        runner = Runner.from_cfg(cfg)
        runner.train()
        return runner

    plain, fast = run("plain"), run("fast", channels_last=True)
    assert fast.model.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert set(fast.model.seen_formats) == {True}
    a, b = _weights(plain), _weights(fast)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_compile_trains_a_small_model(tmp_path, monkeypatch):
    reason = compile_unavailable({}, torch.device("cpu"))
    if reason:
        pytest.skip(f"torch.compile cannot run here: {reason}")
    from torch._inductor import config as inductor_config
    monkeypatch.setattr(inductor_config, "fallback_random", True)   # dropout masks as in eager mode
    base = _config(tmp_path / "eager", model=dict(type="BlockNet"))
    eager = Runner.from_cfg(copy.deepcopy(base))
    eager.train()
    compiled = Runner.from_cfg(dict(base, work_dir=str(tmp_path / "compiled"), compile=True))
    try:
        compiled.train()
    finally:
        from torch import _dynamo
        _dynamo.reset()   # leave no compiled code behind for other tests
    assert compiled.model.__dict__.get("_loomcv_compiled")
    a, b = _weights(eager), _weights(compiled)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_compile_says_why_it_cannot_run(monkeypatch):
    from torch import _dynamo
    monkeypatch.setattr(_dynamo, "is_dynamo_supported", lambda: False)
    with pytest.raises(ConfigError, match="compile=True: torch.compile does not support this platform.*"
                                          "Set compile=False"):
        compile_model(BlockNet(), True, torch.device("cpu"))
    with pytest.raises(ConfigError, match="compile must be True, False or a dict"):
        compile_model(BlockNet(), "yes", torch.device("cpu"))
