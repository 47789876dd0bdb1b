"""SwitchRecipeHook: change the training recipe at given epochs (progressive resizing,
weaker augmentation early on), as MMPretrain's MobileOne and other recipes do.

Each schedule entry has ``action_epoch`` (1-based: the switch happens before
that epoch runs) and any of ``train_pipeline`` (``pipeline`` is accepted too,
the key MMPretrain's MobileOne configs use), ``batch_augments`` (a
RandomBatchAugment config, or None to turn them off) and ``loss``. On resume,
every switch before the resumed epoch is replayed.
"""

import copy
from typing import List, Mapping

from loomcls.models.batch_augments import RandomBatchAugment
from loomcls.registry import HOOKS, MODELS
from loomcv.errors import ConfigError
from loomcv.hooks import Hook
from loomcv.logging import print_log
from loomcv.model.wrappers import unwrap_model
from loomcv.transforms import Compose

RECIPE_KEYS = ("action_epoch", "train_pipeline", "pipeline", "batch_augments", "loss")


@HOOKS.register_module()
class SwitchRecipeHook(Hook):
    """Switch the train pipeline, batch augments and/or loss at the given epochs."""

    priority = "NORMAL"

    def __init__(self, schedule: List[Mapping]):
        if not isinstance(schedule, (list, tuple)) or not schedule:
            raise ConfigError(f"SwitchRecipeHook: schedule must be a non-empty list of dicts, got {schedule!r}")
        recipes = {}
        for entry in schedule:
            if not isinstance(entry, Mapping) or "action_epoch" not in entry:
                raise ConfigError(f"SwitchRecipeHook: every schedule entry needs an 'action_epoch', got {entry!r}")
            unknown = [k for k in entry if k not in RECIPE_KEYS]
            if unknown:
                raise ConfigError(f"SwitchRecipeHook: unknown schedule keys {unknown}; valid keys: {list(RECIPE_KEYS)}")
            recipe = copy.deepcopy(dict(entry))
            epoch = recipe.pop("action_epoch")
            if epoch in recipes:
                raise ConfigError(f"SwitchRecipeHook: action_epoch {epoch} appears twice in the schedule")
            if "pipeline" in recipe:
                if "train_pipeline" in recipe:
                    raise ConfigError("SwitchRecipeHook: give 'train_pipeline' or 'pipeline', not both")
                recipe["train_pipeline"] = recipe.pop("pipeline")
            if "train_pipeline" in recipe:
                recipe["train_pipeline"] = Compose(list(recipe["train_pipeline"]))
            if isinstance(recipe.get("batch_augments"), Mapping):
                recipe["batch_augments"] = RandomBatchAugment(**recipe["batch_augments"])
            if isinstance(recipe.get("loss"), Mapping):
                recipe["loss"] = MODELS.build(recipe["loss"])
            recipes[epoch] = recipe
        self.schedule = dict(sorted(recipes.items()))

    def before_train(self, runner) -> None:
        if not getattr(runner, "_resume", False):
            return
        for epoch, recipe in self.schedule.items():
            if epoch > runner.epoch:
                break
            self._switch(runner, recipe, f" (replayed: the recipe of epoch {epoch})")

    def before_train_epoch(self, runner) -> None:
        recipe = self.schedule.get(runner.epoch + 1)
        if recipe is not None:
            self._switch(runner, recipe, f" at epoch {runner.epoch + 1}")

    def _switch(self, runner, recipe, note: str) -> None:
        model = unwrap_model(runner.model)
        if "batch_augments" in recipe:
            model.data_preprocessor.batch_augments = recipe["batch_augments"]
            print_log(f"Switch batch augments{note}.", logger="current")
        if "train_pipeline" in recipe:
            loader = runner.train_loop.dataloader
            _set_pipeline(loader.dataset, recipe["train_pipeline"])
            if hasattr(loader, "_iterator"):
                loader._iterator = None  # persistent workers hold the old pipeline: restart them
            print_log(f"Switch train pipeline{note}.", logger="current")
        if "loss" in recipe:
            if hasattr(model, "loss_module"):
                model.loss_module = recipe["loss"]
            elif hasattr(getattr(model, "head", None), "loss_module"):
                model.head.loss_module = recipe["loss"]
            else:
                raise RuntimeError(f"SwitchRecipeHook: {type(model).__name__} has no loss_module (nor its head)")
            print_log(f"Switch loss{note}.", logger="current")


def _set_pipeline(dataset, pipeline) -> None:
    if hasattr(dataset, "pipeline"):
        dataset.pipeline = pipeline
    elif hasattr(dataset, "datasets"):
        for sub in dataset.datasets:
            _set_pipeline(sub, pipeline)
    elif hasattr(dataset, "dataset"):
        _set_pipeline(dataset.dataset, pipeline)
    else:
        raise RuntimeError(f"SwitchRecipeHook: cannot find the pipeline of {type(dataset).__name__}")
