"""Vis backends: where the Visualizer's scalars, images and config end up.

Each backend creates its files on first use (so building one is cheap and
makes no folders), and all take ``save_dir``, which the Visualizer sets to
``<log dir>/vis_data``.
"""

import json
import os
import os.path as osp
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from loomcv.registry import VISBACKENDS


def to_float(value: Any) -> float:
    """A Python float from a number, a numpy scalar or a one-element tensor."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a scalar to visualize must be a number or a one-element tensor/array, "
                        f"got {type(value).__name__}: {value!r}")
    return float(value)


def to_image(image: Any, owner: str) -> np.ndarray:
    """An RGB ``uint8`` HxWx3 (or HxW) array from an array or a HWC tensor."""
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"{owner}.add_image takes an HxW or HxWxC (C in 1, 3, 4) RGB image, "
                         f"got shape {image.shape}")
    if image.dtype != np.uint8:
        raise TypeError(f"{owner}.add_image takes a uint8 image, got dtype {image.dtype}")
    return image


def config_text(config: Any) -> str:
    """A Config's Python text, or ``repr`` of a plain dict."""
    pretty = getattr(config, "pretty_text", None)
    return pretty if isinstance(pretty, str) else repr(dict(config) if isinstance(config, Mapping) else config)


class BaseVisBackend:
    """Interface of a vis backend; every method but ``experiment`` may be a no-op."""

    def __init__(self, save_dir: str):
        if not save_dir:
            raise ValueError(f"{type(self).__name__} needs a save_dir")
        self.save_dir = save_dir
        self._env_ready = False

    @property
    def experiment(self) -> Any:
        """The underlying writer (created on first access)."""
        self._ensure_env()
        return self._experiment()

    def _ensure_env(self) -> None:
        if not self._env_ready:
            self._init_env()
            self._env_ready = True

    def _init_env(self) -> None:
        os.makedirs(self.save_dir, exist_ok=True)

    def _experiment(self) -> Any:
        return self

    def add_config(self, config: Any, **kwargs) -> None:
        pass

    def add_graph(self, model: Any, data_batch: Any = None, **kwargs) -> None:
        pass

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs) -> None:
        pass

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        pass

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


@VISBACKENDS.register_module()
class LocalVisBackend(BaseVisBackend):
    """Files under ``save_dir``: ``scalars.json`` (one JSON object per line, with
    ``step``), the config as ``config.py`` and images as ``<img_save_dir>/<name>_<step>.png``.
    """

    def __init__(self, save_dir: str, img_save_dir: str = "vis_image",
                 config_save_file: str = "config.py", scalar_save_file: str = "scalars.json"):
        super().__init__(save_dir)
        for arg, value, ext in (("config_save_file", config_save_file, ".py"),
                                ("scalar_save_file", scalar_save_file, ".json")):
            if not value.endswith(ext):
                raise ValueError(f"LocalVisBackend: {arg} must end with {ext!r}, got {value!r}")
        self.img_save_dir = osp.join(save_dir, img_save_dir)
        self.config_save_file = osp.join(save_dir, config_save_file)
        self.scalar_save_file = osp.join(save_dir, scalar_save_file)

    def add_config(self, config: Any, **kwargs) -> None:
        self._ensure_env()
        with open(self.config_save_file, "w", encoding="utf-8") as f:
            f.write(config_text(config))

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs) -> None:
        import cv2
        self._ensure_env()
        image = to_image(image, "LocalVisBackend")
        os.makedirs(self.img_save_dir, exist_ok=True)
        if image.ndim == 3 and image.shape[2] == 3:
            image = image[..., ::-1]
        elif image.ndim == 3 and image.shape[2] == 4:
            image = image[..., [2, 1, 0, 3]]
        path = osp.join(self.img_save_dir, f"{name}_{step}.png")
        if not cv2.imwrite(path, np.ascontiguousarray(image)):
            raise OSError(f"LocalVisBackend could not write image {path}")

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        self.add_scalars({name: value}, step)

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        """Append one line ``{name: value, ..., "step": step}``; also to ``file_path`` (in save_dir) if given."""
        self._ensure_env()
        if not isinstance(scalar_dict, Mapping):
            raise TypeError(f"add_scalars takes a dict, got {type(scalar_dict).__name__}")
        if "step" in scalar_dict:
            raise ValueError("add_scalars: 'step' is reserved for the step argument, not a scalar name")
        record = {k: to_float(v) for k, v in scalar_dict.items()}
        record["step"] = int(step)
        line = json.dumps(record) + "\n"
        targets = [self.scalar_save_file]
        if file_path is not None:
            if not file_path.endswith(".json"):
                raise ValueError(f"add_scalars: file_path must end with '.json', got {file_path!r}")
            extra = osp.join(self.save_dir, file_path)
            if osp.abspath(extra) != osp.abspath(self.scalar_save_file):
                targets.append(extra)
        for target in targets:
            with open(target, "a", encoding="utf-8") as f:
                f.write(line)


@VISBACKENDS.register_module()
class TensorboardVisBackend(BaseVisBackend):
    """TensorBoard event files in ``save_dir`` (``tensorboard --logdir <save_dir>``)."""

    def _init_env(self) -> None:
        super()._init_env()
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:
            raise ImportError("TensorboardVisBackend needs the tensorboard package: "
                              "pip install loomcv[tensorboard]") from err
        self._writer = SummaryWriter(self.save_dir)

    def _experiment(self) -> Any:
        return self._writer

    def add_config(self, config: Any, **kwargs) -> None:
        self.experiment.add_text("config", config_text(config))

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs) -> None:
        image = to_image(image, "TensorboardVisBackend")
        self.experiment.add_image(name, image, step, dataformats="HWC" if image.ndim == 3 else "HW")

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        self.experiment.add_scalar(name, to_float(value), step)

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        for name, value in scalar_dict.items():
            self.add_scalar(name, value, step)

    def close(self) -> None:
        if self._env_ready:
            self._writer.close()


@VISBACKENDS.register_module()
class MLflowVisBackend(BaseVisBackend):
    """MLflow tracking; by default a local file store in ``<save_dir>/mlruns``
    (``tracking_uri`` picks another, e.g. ``'sqlite:///mlflow.db'`` or a server).

    mlflow is an optional extra (``pip install loomcv[mlflow]``).
    ``artifact_suffix`` files found in the log folder are uploaded at ``close``.
    """

    def __init__(self, save_dir: str, exp_name: Optional[str] = None, run_name: Optional[str] = None,
                 tags: Optional[Mapping[str, Any]] = None, params: Optional[Mapping[str, Any]] = None,
                 tracking_uri: Optional[str] = None,
                 artifact_suffix: Sequence[str] = (".json", ".log", ".py", "yaml")):
        super().__init__(save_dir)
        self._exp_name = exp_name or "Default"
        self._run_name = run_name
        self._tags = dict(tags or {})
        self._params = dict(params or {})
        self._tracking_uri = tracking_uri
        self._artifact_suffix = tuple(artifact_suffix)

    def _init_env(self) -> None:
        super()._init_env()
        try:
            import mlflow
        except ImportError as err:
            raise ImportError("MLflowVisBackend needs the mlflow package: pip install loomcv[mlflow]") from err
        self._mlflow = mlflow
        uri = self._tracking_uri
        if uri is None:
            uri = "file://" + osp.abspath(osp.join(self.save_dir, "mlruns"))
            # mlflow 3 refuses the file store unless allowed; we chose it, so allow it (unless the user said no)
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(self._exp_name)
        if mlflow.active_run() is None:
            mlflow.start_run(run_name=self._run_name)
        if self._tags:
            mlflow.set_tags(self._tags)
        if self._params:
            mlflow.log_params(self._params)

    def _experiment(self) -> Any:
        return self._mlflow

    def add_config(self, config: Any, **kwargs) -> None:
        self.experiment.log_text(config_text(config), "config.py")

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs) -> None:
        self.experiment.log_image(to_image(image, "MLflowVisBackend"), f"{name}_{step}.png")

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        self.experiment.log_metric(name, to_float(value), step)

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        self.experiment.log_metrics({k: to_float(v) for k, v in scalar_dict.items()}, step)

    def close(self) -> None:
        if not self._env_ready:
            return
        log_dir = osp.dirname(osp.abspath(self.save_dir))
        for root, _, files in os.walk(log_dir):
            if "mlruns" in root.split(os.sep):
                continue
            for file in files:
                if file.endswith(self._artifact_suffix):
                    self._mlflow.log_artifact(osp.join(root, file),
                                              osp.relpath(root, log_dir) if root != log_dir else None)
        self._mlflow.end_run()
