"""Experiment trackers as vis backends: Weights & Biases and DVCLive.

Configured as in MMEngine::

    visualizer = dict(type='Visualizer', vis_backends=[
        dict(type='LocalVisBackend'),
        dict(type='WandbVisBackend', init_kwargs=dict(project='my-project')),
        dict(type='DVCLiveVisBackend')])

Both packages are optional extras (``pip install loomcv[wandb]``,
``loomcv[dvclive]``); the backend is built without them and says which extra
to install when first used. Offline use: ``WANDB_MODE=offline`` makes wandb
write its run under ``<save_dir>/wandb/offline-run-*`` (``wandb sync`` uploads
it later); DVCLive always writes plain files (``metrics.json``,
``plots/metrics/*.tsv``, ``params.yaml``) under ``save_dir``.
"""

import os
import os.path as osp
from typing import Any, Mapping, Optional, Sequence, Union

from loomcv.registry import VISBACKENDS

from .backends import BaseVisBackend, to_float, to_image


def _require(package: str, extra: str, owner: str):
    """Import ``package`` or say which loomcv extra installs it."""
    import importlib
    try:
        return importlib.import_module(package)
    except ImportError as err:
        raise ImportError(f"{owner} needs the {package} package, which is not installed: "
                          f"pip install 'loomcv[{extra}]' (or pip install {package})") from err


def _plain(value: Any) -> Any:
    """Config values as JSON/YAML-friendly Python (dicts, lists, numbers, strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _config_dict(config: Any) -> dict:
    to_dict = getattr(config, "to_dict", None)
    data = to_dict() if callable(to_dict) else config
    if not isinstance(data, Mapping):
        raise TypeError(f"add_config takes a Config or a dict, got {type(config).__name__}")
    return _plain(data)


@VISBACKENDS.register_module()
class WandbVisBackend(BaseVisBackend):
    """Weights & Biases (extra ``wandb``).

    Args:
        save_dir: where wandb keeps its run folder (``init_kwargs['dir']`` unless given).
        init_kwargs: arguments of ``wandb.init`` (project, name, mode, tags, ...).
        define_metric_cfg: ``{metric: summary}`` (e.g. ``{'accuracy/top1': 'max'}``) or a list of
            ``wandb.define_metric`` argument dicts.
        commit: ``commit`` of each ``wandb.log``.
        log_code_name: name of the code artifact saved with the config.
        watch_kwargs: arguments of ``wandb.watch`` for ``add_graph``.

    As in MMEngine, ``step`` is not passed to wandb (train values are stepped
    by iteration and validation values by epoch, which wandb's single
    increasing step cannot mix); wandb counts its own steps.
    """

    def __init__(self, save_dir: str, init_kwargs: Optional[dict] = None,
                 define_metric_cfg: Union[dict, list, None] = None, commit: Optional[bool] = True,
                 log_code_name: Optional[str] = None, watch_kwargs: Optional[dict] = None):
        super().__init__(save_dir)
        if init_kwargs is not None and not isinstance(init_kwargs, Mapping):
            raise TypeError(f"WandbVisBackend: init_kwargs must be a dict of wandb.init arguments, "
                            f"got {type(init_kwargs).__name__}")
        if define_metric_cfg is not None and not isinstance(define_metric_cfg, (Mapping, list)):
            raise TypeError(f"WandbVisBackend: define_metric_cfg must be a dict {{metric: summary}} or a list "
                            f"of define_metric argument dicts, got {type(define_metric_cfg).__name__}")
        self._init_kwargs = dict(init_kwargs or {})
        self._define_metric_cfg = define_metric_cfg
        self._commit = commit
        self._log_code_name = log_code_name
        self._watch_kwargs = dict(watch_kwargs or {})

    def _init_env(self) -> None:
        super()._init_env()
        wandb = _require("wandb", "wandb", "WandbVisBackend")
        self._init_kwargs.setdefault("dir", self.save_dir)
        self._run = wandb.init(**self._init_kwargs)
        if isinstance(self._define_metric_cfg, Mapping):
            for metric, summary in self._define_metric_cfg.items():
                wandb.define_metric(metric, summary=summary)
        elif isinstance(self._define_metric_cfg, list):
            for metric_cfg in self._define_metric_cfg:
                wandb.define_metric(**metric_cfg)
        self._wandb = wandb

    def _experiment(self) -> Any:
        return self._wandb

    def add_config(self, config: Any, **kwargs) -> None:
        self._ensure_env()
        allow = self._init_kwargs.get("allow_val_change", False)
        self._wandb.config.update(_config_dict(config), allow_val_change=allow)
        if self._log_code_name is not None:
            self._wandb.run.log_code(name=self._log_code_name)

    def add_graph(self, model: Any, data_batch: Any = None, **kwargs) -> None:
        self._ensure_env()
        self._wandb.watch(model, **self._watch_kwargs)

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs) -> None:
        self._ensure_env()
        self._wandb.log({name: self._wandb.Image(to_image(image, "WandbVisBackend"))}, commit=self._commit)

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        self.add_scalars({name: value}, step)

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        self._ensure_env()
        if not isinstance(scalar_dict, Mapping):
            raise TypeError(f"add_scalars takes a dict, got {type(scalar_dict).__name__}")
        self._wandb.log({k: to_float(v) for k, v in scalar_dict.items()}, commit=self._commit)

    def close(self) -> None:
        if self._env_ready:
            self._run.finish()


@VISBACKENDS.register_module()
class DVCLiveVisBackend(BaseVisBackend):
    """DVCLive (extra ``dvclive``): metrics as ``plots/metrics/<name>.tsv`` and ``metrics.json``,
    the config as ``params.yaml``, images under ``plots/images``, all in ``save_dir``.

    Args:
        save_dir: DVCLive's ``dir``.
        artifact_suffix: files of ``save_dir`` logged as artifacts at ``close`` (needs a DVC repo).
        init_kwargs: arguments of ``dvclive.Live``. Unlike MMEngine, ``save_dvc_exp`` and
            ``cache_images`` default to False and no ``dvc init`` is run in the working
            directory: both need a DVC repository, which the user sets up (then turns them on).
    """

    def __init__(self, save_dir: str, artifact_suffix: Union[str, Sequence[str]] = (".json", ".py", "yaml"),
                 init_kwargs: Optional[dict] = None):
        super().__init__(save_dir)
        if init_kwargs is not None and not isinstance(init_kwargs, Mapping):
            raise TypeError(f"DVCLiveVisBackend: init_kwargs must be a dict of dvclive.Live arguments, "
                            f"got {type(init_kwargs).__name__}")
        self._artifact_suffix = (artifact_suffix,) if isinstance(artifact_suffix, str) else tuple(artifact_suffix)
        self._init_kwargs = dict(init_kwargs or {})

    def _init_env(self) -> None:
        super()._init_env()
        dvclive = _require("dvclive", "dvclive", "DVCLiveVisBackend")
        self._init_kwargs.setdefault("dir", self.save_dir)
        self._init_kwargs.setdefault("save_dvc_exp", False)
        self._init_kwargs.setdefault("cache_images", False)
        self._live = dvclive.Live(**self._init_kwargs)

    def _experiment(self) -> Any:
        return self._live

    def add_config(self, config: Any, **kwargs) -> None:
        self._ensure_env()
        self._live.log_params(_config_dict(config))

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs) -> None:
        self._ensure_env()
        self._live.log_image(f"{name}.png", to_image(image, "DVCLiveVisBackend"))

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        self._ensure_env()
        self._live.step = int(step)
        self._live.log_metric(name, to_float(value))

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        if not isinstance(scalar_dict, Mapping):
            raise TypeError(f"add_scalars takes a dict, got {type(scalar_dict).__name__}")
        for name, value in scalar_dict.items():
            self.add_scalar(name, value, step)

    def close(self) -> None:
        if not self._env_ready:
            return
        if getattr(self._live, "_dvc_repo", None) is not None:  # artifacts need a DVC repository
            for root, _, files in os.walk(self.save_dir):
                for file in files:
                    if file.endswith(self._artifact_suffix):
                        self._live.log_artifact(osp.join(root, file))
        self._live.end()
