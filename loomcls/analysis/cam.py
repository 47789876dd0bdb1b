"""Class-activation maps (Grad-CAM, Grad-CAM++) in plain torch, with hooks.

A forward hook keeps each target layer's output and a tensor hook its
gradient when the chosen class score is back-propagated. Grad-CAM weights
each channel by its mean gradient (Selvaraju et al., 2017); Grad-CAM++ by the
positive gradients with the per-pixel coefficients of Chattopadhay et al.,
2018, in the closed form that the pytorch-grad-cam package uses (which needs
torchvision, hence this implementation). The weighted sum over channels,
after a ReLU, is resized to the input and scaled to [0, 1].

Transformers give tokens (B, L, C): :class:`TokenReshape` drops the extra
(class/distillation) tokens and lays the rest out on their (H, W) patch grid,
row by row, which is the order of ViT patches and of Swin's stages alike.
"""

import math
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

METHODS = ("gradcam", "gradcam++")
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)


def token_grid(num_tokens: int, input_hw: Tuple[int, int]) -> Tuple[int, int]:
    """(H, W) with ``H * W == num_tokens`` whose aspect ratio is closest to the input's."""
    ratio = input_hw[0] / input_hw[1]
    best = None
    for height in range(1, num_tokens + 1):
        if num_tokens % height:
            continue
        width = num_tokens // height
        error = abs(math.log((height / width) / ratio))
        if best is None or error < best[0]:
            best = (error, height, width)
    return best[1], best[2]


class TokenReshape:
    """Turn (B, L, C) tokens into a (B, C, H, W) map; 4-D maps pass through.

    Args:
        num_extra_tokens: leading tokens that are not patches (ViT's class token: 1; Swin: 0).
        input_hw: the model input's (height, width), which fixes the grid's aspect ratio; set by
            :class:`GradCAM` for each call.
    """

    def __init__(self, num_extra_tokens: int = 1, input_hw: Optional[Tuple[int, int]] = None):
        if not isinstance(num_extra_tokens, int) or num_extra_tokens < 0:
            raise ValueError(f"TokenReshape: num_extra_tokens must be an int >= 0, got {num_extra_tokens!r}")
        self.num_extra_tokens = num_extra_tokens
        self.input_hw = input_hw

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        if tensor.ndim == 4:
            return tensor
        if tensor.ndim != 3:
            raise ValueError(f"TokenReshape: expected (B, L, C) tokens or a (B, C, H, W) map, got shape "
                             f"{tuple(tensor.shape)}")
        patches = tensor[:, self.num_extra_tokens:, :]
        count = patches.shape[1]
        if count < 1:
            raise ValueError(f"TokenReshape: {tensor.shape[1]} tokens minus num_extra_tokens="
                             f"{self.num_extra_tokens} leaves no patch tokens")
        height, width = token_grid(count, self.input_hw or (1, 1))
        if self.input_hw is None and height != width:
            raise ValueError(f"TokenReshape: {count} patch tokens do not form a square grid; give input_hw")
        return patches.reshape(patches.shape[0], height, width, patches.shape[2]).permute(0, 3, 1, 2)


def get_layer(model: nn.Module, name: str) -> nn.Module:
    """The sub-module called ``name`` (``backbone.layer4.1``), with the valid names on a typo."""
    modules = dict(model.named_modules())
    if name not in modules:
        close = [n for n in modules if n and (n.startswith(name.rsplit(".", 1)[0]) or name in n)][:12]
        raise ValueError(f"GradCAM: the model has no layer {name!r}; layers near it: {close or list(modules)[:12]}")
    return modules[name]


def default_target_layers(model: nn.Module, vit_like: bool = False,
                          num_extra_tokens: Optional[int] = None) -> List[str]:
    """MMPretrain's choice: the backbone's last norm layer (for a ViT with extra tokens, the one
    before the last attention block, since after it the patch tokens no longer feed the class
    token); without norm layers, the last convolution."""
    backbone = getattr(model, "backbone", model)
    prefix = "backbone" if backbone is not model else ""
    named = list(backbone.named_modules(prefix=prefix))
    norms = [name for name, layer in named if isinstance(layer, _NORMS)]
    if vit_like and norms:
        extra = num_extra_tokens if num_extra_tokens is not None else getattr(backbone, "num_extra_tokens", 1)
        if (getattr(backbone, "out_type", "avg_featmap") == "cls_token" or extra > 0) and len(norms) >= 3:
            return [norms[-3]]
    if norms:
        return [norms[-1]]
    convs = [name for name, layer in named if isinstance(layer, nn.Conv2d)]
    if convs:
        return [convs[-1]]
    raise ValueError("GradCAM: the model has no norm or Conv2d layer to choose; give target_layers")


class GradCAM:
    """Class-activation maps of ``model`` at ``target_layers``.

    Args:
        model: maps a (B, C, H, W) batch to class scores (B, num_classes); a
            classifier with ``mode='tensor'`` does (see :func:`classifier_scores`).
        target_layers: modules or their dotted names.
        method: 'gradcam' or 'gradcam++'.
        reshape_transform: applied to each target layer's output and gradient
            before use (e.g. :class:`TokenReshape` for ViT/Swin tokens).
    """

    def __init__(self, model: Callable, target_layers: Sequence[Union[str, nn.Module]], method: str = "gradcam",
                 reshape_transform: Optional[Callable] = None, module: Optional[nn.Module] = None):
        if method not in METHODS:
            raise ValueError(f"GradCAM: method must be one of {METHODS}, got {method!r}")
        owner = module if module is not None else model
        if isinstance(target_layers, (str, nn.Module)):
            target_layers = [target_layers]
        if not target_layers:
            raise ValueError("GradCAM: give at least one target layer")
        self.layers = [get_layer(owner, t) if isinstance(t, str) else t for t in target_layers]
        self.model, self.method, self.reshape_transform = model, method, reshape_transform

    def _weights(self, activation: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        if self.method == "gradcam":
            return grad.mean(dim=(2, 3))
        grad2, grad3 = grad.pow(2), grad.pow(3)
        total = activation.sum(dim=(2, 3), keepdim=True)
        alpha = grad2 / (2 * grad2 + total * grad3 + 1e-7)
        alpha = torch.where(grad != 0, alpha, torch.zeros_like(alpha))
        return (F.relu(grad) * alpha).sum(dim=(2, 3))

    def __call__(self, inputs: torch.Tensor, target_category: Union[None, int, Sequence[int]] = None
                 ) -> Tuple[np.ndarray, List[int]]:
        """(maps, categories): (B, H, W) float32 maps in [0, 1] at the input size, and the class of
        each map (``target_category``, one int or one per image; default: the top-scoring class)."""
        if inputs.ndim != 4:
            raise ValueError(f"GradCAM: inputs must be a (B, C, H, W) batch, got shape {tuple(inputs.shape)}")
        if isinstance(self.reshape_transform, TokenReshape):
            self.reshape_transform.input_hw = tuple(inputs.shape[-2:])
        outputs: List[torch.Tensor] = [None] * len(self.layers)
        grads: List[torch.Tensor] = [None] * len(self.layers)

        def keep(index: int):
            def forward_hook(module, args, output):
                if isinstance(output, (tuple, list)):
                    output = output[0]
                outputs[index] = output.detach().clone()

                def save_grad(grad, index=index):
                    grads[index] = grad.detach()
                output.register_hook(save_grad)
            return forward_hook

        handles = [layer.register_forward_hook(keep(i)) for i, layer in enumerate(self.layers)]
        try:
            with torch.enable_grad():
                scores = self.model(inputs)
                if scores.ndim != 2:
                    raise ValueError(f"GradCAM: the model must return (B, num_classes) scores, got shape "
                                     f"{tuple(scores.shape)}")
                categories = self._categories(scores, target_category)
                picked = scores[torch.arange(len(categories)), torch.tensor(categories)]
                picked.sum().backward()
        finally:
            for handle in handles:
                handle.remove()
        maps = []
        for index, (activation, grad) in enumerate(zip(outputs, grads)):
            if activation is None or grad is None:
                raise RuntimeError(f"GradCAM: target layer {index} ({type(self.layers[index]).__name__}) "
                                   f"{'was not run' if activation is None else 'got no gradient'}; does the "
                                   f"class score depend on it?")
            if self.reshape_transform is not None:
                activation, grad = self.reshape_transform(activation), self.reshape_transform(grad)
            if activation.ndim != 4:
                raise ValueError(f"GradCAM: target layer {index} gives shape {tuple(activation.shape)}; a "
                                 f"transformer's tokens need the token reshape (vit_like / TokenReshape)")
            cam = F.relu((self._weights(activation, grad)[:, :, None, None] * activation).sum(dim=1, keepdim=True))
            cam = F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
            maps.append(_scale(cam))
        merged = _scale(torch.stack(maps).mean(dim=0))  # several layers: their mean, rescaled
        return merged.numpy().astype(np.float32), categories

    @staticmethod
    def _categories(scores: torch.Tensor, target_category) -> List[int]:
        batch, num_classes = scores.shape
        if target_category is None:
            return scores.argmax(dim=1).tolist()
        if isinstance(target_category, int):
            target_category = [target_category] * batch
        target_category = [int(c) for c in target_category]
        if len(target_category) != batch:
            raise ValueError(f"GradCAM: {len(target_category)} target categories for a batch of {batch}")
        bad = [c for c in target_category if not 0 <= c < num_classes]
        if bad:
            raise ValueError(f"GradCAM: target category {bad[0]} is outside [0, {num_classes - 1}]")
        return target_category


def _scale(cam: torch.Tensor) -> torch.Tensor:
    """Each map min-max scaled to [0, 1] (a constant map becomes zeros)."""
    flat = cam.flatten(1)
    low = flat.min(dim=1).values[:, None, None]
    span = (flat.max(dim=1).values - flat.min(dim=1).values)[:, None, None]
    return torch.where(span > 0, (cam - low) / span.clamp_min(1e-12), torch.zeros_like(cam))


def classifier_scores(classifier: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The class scores (before softmax) of a loomcls classifier for a preprocessed batch."""
    def scores(inputs: torch.Tensor) -> torch.Tensor:
        out = classifier(inputs, mode="tensor")
        if isinstance(out, (tuple, list)):
            out = out[-1]
        return out
    return scores
