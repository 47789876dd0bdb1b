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


def show_result(img: Union[str, np.ndarray], result: Mapping, out_file: str, min_size: int = 256) -> str:
    """Save ``img`` (upscaled to at least ``min_size`` px) with the predicted label drawn on it; return the path."""
    import cv2
    from loomcv.image import imread
    image = imread(img) if isinstance(img, (str, os.PathLike)) else np.asarray(img)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scale = max(1.0, min_size / min(image.shape[:2]))
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    name = result.get("pred_class", result["pred_label"])
    text = f"{name} ({result['pred_score']:.2f})"
    cv2.rectangle(image, (0, 0), (image.shape[1], 28), (0, 0, 0), -1)
    cv2.putText(image, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    if not cv2.imwrite(out_file, image):
        raise OSError(f"could not write {out_file!r}")
    return out_file
