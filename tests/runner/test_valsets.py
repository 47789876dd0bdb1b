"""Several validation/test sets with prefixed metrics; save_best over any of them."""

import json
import os
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.errors import ConfigError  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def _val_loader(seed, **extra):
    return dict(batch_size=8, num_workers=0, dataset=dict(type="TinyPoints", num=24, seed=seed),
                sampler=dict(type="DefaultSampler", shuffle=False), collate_fn=dict(type="default_collate"),
                **extra)


def _two_set_config(work_dir, **overrides):
    cfg = T.tiny_config(work_dir, max_epochs=2)
    # the second set: harder points; its prefix is given, the first set is named after its dataset
    hard = _val_loader(2, prefix="hard")
    hard["dataset"]["separation"] = 0.2
    cfg.update(val_dataloader=[_val_loader(1), hard], test_dataloader=[_val_loader(1), hard],
               val_evaluator=dict(type="TinyAccuracy"), test_evaluator=[dict(type="TinyAccuracy")] * 2)
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=1, save_best="hard/tiny/accuracy")
    cfg.update(overrides)
    return cfg


def _scalars(runner):
    with open(osp.join(runner.log_dir, "vis_data", "scalars.json")) as f:
        return [json.loads(line) for line in f]


def test_two_validation_sets_are_all_evaluated_logged_and_usable_for_save_best(tmp_path):
    runner = Runner.from_cfg(_two_set_config(tmp_path / "wd"))
    runner.train()
    assert [s.prefix for s in runner.val_loop.sets] == ["tinypoints", "hard"]
    metrics = runner.message_hub.get_info("val_metrics")
    assert list(metrics) == ["tinypoints/tiny/accuracy", "hard/tiny/accuracy"]

    # each set's value is what evaluating that set alone gives with the same weights
    alone = Runner.from_cfg(dict(T.tiny_config(tmp_path / "alone"), val_dataloader=_two_set_config("x")
                                 ["val_dataloader"][1] | dict(prefix=None),
                                 load_from=osp.join(runner.work_dir, "epoch_2.pth")))
    assert alone.val() == {"tiny/accuracy": metrics["hard/tiny/accuracy"]}  # one set: names unchanged

    with open(osp.join(runner.log_dir, f"{runner.timestamp}.log")) as f:
        log = f.read()
    assert "Epoch(val) [2][6/6]    tinypoints/tiny/accuracy: " in log  # 3 + 3 batches
    assert "hard/tiny/accuracy: " in log
    val_rows = [row for row in _scalars(runner) if "hard/tiny/accuracy" in row]
    assert len(val_rows) == 2 and all("tinypoints/tiny/accuracy" in row for row in val_rows)
    best = [f for f in os.listdir(runner.work_dir) if f.startswith("best_")]
    assert len(best) == 1 and best[0].startswith("best_hard_tiny_accuracy_epoch_")

    # test: a list of evaluators, one per set
    tested = Runner.from_cfg(dict(_two_set_config(tmp_path / "test"), load_from=osp.join(runner.work_dir,
                                                                                         "epoch_2.pth")))
    assert tested.test() == metrics


def test_auto_save_best_takes_the_first_metric_of_the_first_set(tmp_path):
    cfg = _two_set_config(tmp_path / "wd")
    cfg["default_hooks"]["checkpoint"]["save_best"] = "auto"
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.message_hub.get_info("best_ckpt").split(os.sep)[-1].startswith("best_tinypoints_tiny_accuracy_")


def test_unknown_save_best_key_names_the_available_keys(tmp_path):
    cfg = _two_set_config(tmp_path / "wd")
    cfg["default_hooks"]["checkpoint"]["save_best"] = "hard/tiny/acuracy"
    with pytest.raises(ConfigError, match=r"available: tinypoints/tiny/accuracy, hard/tiny/accuracy\. "
                                          r"Did you mean: 'hard/tiny/accuracy'"):
        Runner.from_cfg(cfg).train()


@pytest.mark.parametrize("change, message", [
    (dict(val_evaluator=[dict(type="TinyAccuracy")] * 3), "val_evaluator has 3 entries but val_dataloader has 2"),
    (dict(val_dataloader=[_val_loader(1), _val_loader(2)]),
     r"val_dataloader\[0\] and val_dataloader\[1\] both get the metric prefix 'tinypoints'"),
    (dict(val_dataloader=[_val_loader(1, prefix="a"), dict(_val_loader(2), dataset=dict(type="TinyPoints",
                                                                                         prefix="a"))]),
     "both get the metric prefix 'a'"),
    (dict(val_dataloader=[_val_loader(1, prefix=""), _val_loader(2)]), "prefix must be a non-empty string"),
    (dict(val_dataloader=[], val_evaluator=[]), "val_dataloader is an empty list"),
])
def test_bad_set_configs_are_named(tmp_path, change, message):
    runner = Runner.from_cfg(_two_set_config(tmp_path / "wd", **change))
    with pytest.raises(ConfigError, match=message):
        runner.val_loop


def test_prefix_from_dataset_config_and_evaluator_entry(tmp_path):
    sets = [dict(_val_loader(1), dataset=dict(type="TinyPoints", num=24, seed=1, prefix="clean")),
            _val_loader(2)]
    evaluators = [dict(type="TinyAccuracy"), dict(metrics=[dict(type="TinyAccuracy")], prefix="noisy")]
    runner = Runner.from_cfg(_two_set_config(tmp_path / "wd", val_dataloader=sets, val_evaluator=evaluators))
    assert [s.prefix for s in runner.val_loop.sets] == ["clean", "noisy"]
    metrics = runner.val()
    assert list(metrics) == ["clean/tiny/accuracy", "noisy/tiny/accuracy"]
    # a single dataloader takes an explicit prefix too
    single = Runner.from_cfg(_two_set_config(tmp_path / "one", val_dataloader=_val_loader(1, prefix="clean"),
                                             val_evaluator=dict(type="TinyAccuracy")))
    assert list(single.val()) == ["clean/tiny/accuracy"]
    assert torch.is_tensor(single.val_dataloader.dataset.points)
