"""MMCV 1.x / MMClassification 0.x configs are translated to the native schema."""

import os.path as osp

import pytest

from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.errors import ConfigError

TUTORIAL = osp.join(osp.dirname(osp.dirname(__file__)), "fixtures", "configs", "mmcls_0x_tutorial")


def load(name, **kwargs):
    return Config.fromfile(osp.join(TUTORIAL, name), import_custom_modules=False, **kwargs)


def test_full_resnet50_config_translates():
    cfg = load("ch1_resnet50_300e_inherit.py")
    assert "data" in cfg.legacy_keys and "lr_config" in cfg.legacy_keys
    for key in ("data", "optimizer", "optimizer_config", "lr_config", "runner", "checkpoint_config",
                "log_config", "evaluation", "workflow", "dist_params"):
        assert key not in cfg
    train = cfg.train_dataloader
    assert train.batch_size == 32 and train.num_workers == 2
    assert train.sampler == dict(type="DefaultSampler", shuffle=True)
    assert cfg.val_dataloader.sampler.shuffle is False
    steps = [t["type"] for t in train.dataset.pipeline]
    assert steps == ["LoadImageFromFile", "RandomResizedCrop", "RandomFlip", "PackInputs"]
    assert train.dataset.pipeline[1] == dict(type="RandomResizedCrop", scale=224)
    assert train.dataset.pipeline[2]["prob"] == 0.5
    val_steps = cfg.val_dataloader.dataset.pipeline
    assert val_steps[1] == dict(type="ResizeEdge", scale=256, edge="short")
    assert cfg.data_preprocessor == dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                                         to_rgb=True)
    assert cfg.optim_wrapper == dict(type="OptimWrapper", optimizer=dict(
        type="SGD", lr=0.1, momentum=0.9, weight_decay=0.0001))
    assert cfg.train_cfg == dict(by_epoch=True, max_epochs=300, val_interval=1)
    assert cfg.param_scheduler == [dict(type="MultiStepLR", by_epoch=True, begin=0, end=300,
                                        milestones=[150, 200, 250], gamma=0.1)]
    assert cfg.val_evaluator.type == "Accuracy"
    assert cfg.default_hooks.checkpoint == dict(type="CheckpointHook", interval=1)
    assert cfg.default_hooks.logger == dict(type="LoggerHook", interval=100)
    assert cfg.env_cfg.dist_cfg == dict(backend="nccl")
    assert cfg.default_scope == "loomcls"
    # provenance points back at the legacy key and line
    assert "(legacy lr_config)" in cfg.source_of("param_scheduler.0.milestones")
    assert "imagenet_bs256.py" in cfg.source_of("param_scheduler.0.milestones")


def test_untranslated_view_keeps_the_legacy_keys():
    cfg = load("ch1_resnet50_300e_inherit.py", translate_legacy=False)
    assert cfg.runner.max_epochs == 300 and cfg.legacy_keys == []


def test_optimizer_hooks_become_wrapper_options():
    clip = load("ch5_grad_clip_delete.py")
    assert clip.optim_wrapper.clip_grad == dict(max_norm=35, norm_type=2)
    accumulate = Config.fromstring(
        "optimizer = dict(type='SGD', lr=0.1)\n"
        "optimizer_config = dict(type='GradientCumulativeOptimizerHook', cumulative_iters=4)\n"
        "fp16 = dict(loss_scale=512.)\n", ".py")
    assert accumulate.optim_wrapper == dict(type="AmpOptimWrapper", accumulative_counts=4,
                                            loss_scale=512.0, optimizer=dict(type="SGD", lr=0.1))
    paramwise = load("ch5_paramwise_norm_decay.py")
    assert "paramwise_cfg" in paramwise.optim_wrapper


def test_warmup_and_policies():
    cfg = Config.fromstring(
        "runner = dict(type='IterBasedRunner', max_iters=1000)\n"
        "lr_config = dict(policy='CosineAnnealing', by_epoch=False, min_lr=0.0,\n"
        "                 warmup='linear', warmup_by_epoch=False, warmup_ratio=1e-3, warmup_iters=20)\n",
        ".py")
    warm, cosine = cfg.param_scheduler
    assert warm == dict(type="LinearLR", by_epoch=False, begin=0, end=21, start_factor=1e-3,
                        end_factor=1.0)
    assert cosine == dict(type="CosineAnnealingLR", by_epoch=False, begin=0, end=1000, T_max=1000,
                          eta_min=0.0)
    assert cfg.train_cfg == dict(by_epoch=False, max_iters=1000, val_interval=1)


def test_evaluation_save_best_and_start():
    cfg = Config.fromstring(
        "runner = dict(type='EpochBasedRunner', max_epochs=300)\n"
        "evaluation = dict(interval=2, start=200, save_best='accuracy_top-1', rule='greater',\n"
        "                  metric=['accuracy', 'precision', 'recall'], metric_options={'topk': (1, 5)})\n",
        ".py")
    assert cfg.train_cfg == dict(by_epoch=True, max_epochs=300, val_interval=2, val_begin=200)
    assert cfg.val_evaluator == [dict(type="Accuracy", topk=(1, 5)),
                                 dict(type="SingleLabelMetric", items=["precision", "recall"])]
    assert cfg.default_hooks.checkpoint == dict(type="CheckpointHook", save_best="accuracy/top1",
                                                rule="greater")


def test_model_pretrained_and_batch_augments():
    cfg = Config.fromstring(
        "model = dict(type='ImageClassifier', pretrained='ckpt.pth', backbone=dict(type='ResNet'),\n"
        "             train_cfg=dict(augments=dict(type='BatchMixup', alpha=0.2, num_classes=10, prob=1.)))\n"
        "optimizer = dict(type='SGD', lr=0.1)\n", ".py")
    assert cfg.model.init_cfg == dict(type="Pretrained", checkpoint="ckpt.pth")
    assert "train_cfg" not in cfg.model and "pretrained" not in cfg.model
    assert cfg.data_preprocessor == dict(num_classes=10, batch_augments=dict(
        augments=[dict(type="Mixup", alpha=0.2)]))


@pytest.mark.parametrize("text, key", [
    ("runner = dict(max_epochs=1)\nworkflow = [('train', 1), ('val', 1)]\n", "workflow"),
    ("runner = dict(type='IterBasedRunner', max_iters=10)\nworkflow = [('train', 5), ('val', 1)]\n", "workflow"),
    ("runner = dict(max_epochs=1)\nlr_config = dict(policy='Triangle')\n", "lr_config.policy"),
    ("runner = dict(max_epochs=1)\nlr_config = dict(policy='cyclic', by_epoch=True)\n", "lr_config.by_epoch"),
    ("runner = dict(max_epochs=1)\nlr_config = dict(policy='step', step=[1], warm_up='linear')\n", "lr_config"),
    ("runner = dict(type='IterBasedRunner', max_iters=10)\nlr_config = dict(policy='fixed', warmup='linear',"
     " warmup_iters=1, warmup_by_epoch=True)\n", "lr_config.warmup_by_epoch"),
    ("runner = dict(max_epochs=1)\nlr_config = dict(policy='step', step=[1])\n"
     "momentum_config = dict(policy='poly')\n", "momentum_config.policy"),
    ("runner = dict(max_epochs=1)\nmomentum_config = dict(policy='cyclic', warmup='linear', warmup_iters=2,"
     " warmup_by_epoch=True)\n", "momentum_config.warmup_by_epoch"),
    ("log_config = dict(interval=1, hooks=[dict(type='WandbLoggerHook')])\n", "log_config.hooks"),
    ("optimizer = dict(type='SGD', lr=0.1)\noptimizer_config = dict(grad_clip=None, foo=1)\n",
     "optimizer_config"),
])
def test_untranslatable_keys_are_errors_naming_them(text, key):
    with pytest.raises(ConfigError, match=f"legacy config key {key}"):
        Config.fromstring(text, ".py")


def test_mmcls_0x_tutorial_cyclic_momentum_and_exp_epoch_warmup_translate():
    options = {"runner": dict(type="EpochBasedRunner", max_epochs=4),
               "optimizer": dict(type="SGD", lr=0.1, momentum=0.9)}
    cyclic = load("ch5_momentum_cyclic.py", cfg_options=options)
    assert [(s.type, s.policy, s.per_epoch) for s in cyclic.param_scheduler] == [
        ("LegacyLR", "cyclic", False), ("LegacyMomentum", "cyclic", False)]
    assert cyclic.param_scheduler[1].target_ratio == (0.85 / 0.95, 1)
    assert "(legacy momentum_config)" in cyclic.source_of("param_scheduler.1.target_ratio")
    warm = load("ch5_warmup_exp_epoch.py", cfg_options=options)
    assert warm.param_scheduler == [dict(
        type="LegacyLR", policy="CosineAnnealing", per_epoch=True, warmup="exp", warmup_iters=5,
        warmup_ratio=0.1, warmup_by_epoch=True, min_lr_ratio=1e-2, begin=0, end=4, by_epoch=True,
        convert_to_iter_based=True)]
    assert "(legacy lr_config)" in warm.source_of("param_scheduler.0.warmup")


def test_print_config_translated_explain(capsys):
    path = osp.join(TUTORIAL, "ch7_finetune_cifar.py")
    assert main(["print-config", path, "--translated", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "train_dataloader = dict(" in out and "(legacy data.train)" in out
    assert main(["print-config", path]) == 0
    assert "runner = dict(" in capsys.readouterr().out


def test_cfg_options_apply_in_the_dialect_they_name():
    cfg = Config.fromfile(osp.join(TUTORIAL, "ch7_finetune_cifar.py"), cfg_options={
        "data.samples_per_gpu": 4, "runner.max_epochs": 3, "train_cfg.val_interval": 2})
    assert [cfg[f"{s}_dataloader"].batch_size for s in ("train", "val", "test")] == [4, 4, 4]
    assert cfg.train_cfg.max_epochs == 3 and cfg.train_cfg.val_interval == 2  # legacy first, native after
    assert "data" not in cfg and "runner" not in cfg
    assert cfg.source_of("train_dataloader.batch_size").startswith("--cfg-options data.samples_per_gpu")
