"""Classify images with a model from init_model: one call or batches."""

import os
from collections.abc import Mapping
from typing import List, Optional, Sequence, Union

import numpy as np
import torch

from loomcls.registry import INFERENCERS
from loomcv.dataset import pseudo_collate
from loomcv.transforms import Compose

LOADERS = ("LoadImageFromFile", "loomcv.LoadImageFromFile", "mmcv.LoadImageFromFile")


def _channels(model) -> int:
    mean = getattr(model.data_preprocessor, "mean", None)
    return int(mean.shape[0]) if mean is not None else 3


def build_test_pipeline(model, from_path: bool) -> Compose:
    """The config's test pipeline, with (for paths) or without (for arrays) a loading step."""
    cfg = model.cfg
    loader = cfg.get("test_dataloader") or cfg.get("val_dataloader")
    if loader is None:
        raise ValueError("the config has no test_dataloader/val_dataloader to take the test pipeline from")
    steps = [dict(s) for s in loader["dataset"].get("pipeline", [])]
    steps = [s for s in steps if s.get("type") not in LOADERS]
    if from_path:
        color = "grayscale" if _channels(model) == 1 else "color"
        steps.insert(0, dict(type="LoadImageFromFile", color_type=color))
    return Compose(steps)


class ImageClassificationInferencer:
    """Classify images (paths or HxW[xC] uint8 arrays, BGR) in batches.

    ``ImageClassificationInferencer('lenet5_1xb64_digits', pretrained='epoch_40.pth')(['a.png'])``
    returns one dict per image: pred_label, pred_score, pred_scores, pred_class.
    """

    def __init__(self, model, pretrained: Optional[str] = None, device: str = "cpu"):
        if isinstance(model, torch.nn.Module):
            self.model = model
        else:
            from .model import init_model
            self.model = init_model(model, pretrained, device=device)
        self.classes = (getattr(self.model, "dataset_meta", None) or {}).get("classes")
        self._pipelines = {}

    def _prepare(self, image):
        from_path = isinstance(image, (str, os.PathLike))
        if from_path not in self._pipelines:
            self._pipelines[from_path] = build_test_pipeline(self.model, from_path)
        if from_path:
            if not os.path.isfile(image):
                raise FileNotFoundError(f"image {os.fspath(image)!r} does not exist")
            data = dict(img_path=os.fspath(image))
        elif isinstance(image, np.ndarray):
            if _channels(self.model) == 1 and image.ndim == 3:
                import cv2
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            data = dict(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2])
        else:
            raise TypeError(f"an image must be a file path or a numpy array, got {type(image).__name__}")
        return self._pipelines[from_path](data)

    @torch.no_grad()
    def __call__(self, inputs: Union[str, np.ndarray, Sequence], batch_size: int = 1) -> List[dict]:
        inputs = [inputs] if isinstance(inputs, (str, os.PathLike, np.ndarray)) else list(inputs)
        results = []
        for start in range(0, len(inputs), batch_size):
            batch = pseudo_collate([self._prepare(x) for x in inputs[start:start + batch_size]])
            for sample in self.model.test_step(batch):
                results.append(self._to_dict(sample))
        return results

    def _to_dict(self, sample) -> dict:
        scores = sample.pred_score.detach().cpu().numpy()
        label = int(sample.pred_label.reshape(-1)[0])
        result = dict(pred_label=label, pred_score=float(scores[label]), pred_scores=scores)
        if self.classes:
            result["pred_class"] = self.classes[label]
        return result


INFERENCERS.register_module(module=ImageClassificationInferencer)


def inference_model(model, img: Union[str, np.ndarray]) -> dict:
    """Classify one image (path or array): dict(pred_label, pred_score, pred_scores, pred_class)."""
    return ImageClassificationInferencer(model)(img)[0]


def show_result(img: Union[str, np.ndarray], result: Mapping, out_file: str, min_size: int = 256,
                classes: Optional[Sequence[str]] = None) -> str:
    """Save ``img`` (a path, or a BGR array as the inferencer takes) with the prediction drawn by
    :class:`~loomcls.visualization.UniversalVisualizer`; images under ``min_size`` px are enlarged.
    Returns ``out_file``."""
    from loomcls.structures import DataSample
    from loomcls.visualization import UniversalVisualizer
    from loomcv.image import imread
    if isinstance(img, (str, os.PathLike)):
        image = imread(os.fspath(img), channel_order="rgb")
    else:
        image = np.asarray(img)
        if image.ndim == 3 and image.shape[2] == 3:
            image = np.ascontiguousarray(image[..., ::-1])
    scores = np.asarray(result["pred_scores"], dtype=np.float32)
    label = int(result["pred_label"])
    if classes is None and "pred_class" in result:  # only the predicted label is drawn: name that one
        classes = [str(i) for i in range(len(scores))]
        classes[label] = result["pred_class"]
    sample = DataSample().set_pred_label(label).set_pred_score(scores)
    visualizer = UniversalVisualizer.get_instance("loomcls_inference")
    visualizer.min_short_edge = min_size
    visualizer.visualize_cls(image, sample, classes=classes, out_file=out_file)
    return out_file
