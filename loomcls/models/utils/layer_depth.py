"""Which depth a backbone parameter sits at, for layer-wise learning-rate decay.

Each rule returns ``(depth, number_of_depths)``: the stem is depth 0, the last
depth (``number_of_depths - 1``) is everything after the backbone (neck, head)
and so gets the full learning rate. The numbering is MMPretrain's, so its
fine-tuning recipes give the same learning rates. Backbones may instead define
``get_layer_depth(param_name, prefix)`` themselves (VisionTransformer and
SwinTransformer do); the table here serves families that do not.
"""

from typing import Callable, Dict, Sequence, Tuple


def swin_layer_depth(depths: Sequence[int], param_name: str, prefix: str = "") -> Tuple[int, int]:
    """Patch embedding 0, block j of stage i ``sum(depths[:i]) + j + 1``, a stage's patch merging
    the depth of its last block, anything else (final norms, head) the last depth."""
    num_depths = sum(depths) + 2
    if not param_name.startswith(prefix):
        return num_depths - 1, num_depths
    parts = param_name[len(prefix):].split(".")
    if parts[0] == "patch_embed":
        return 0, num_depths
    if parts[0] == "stages" and len(parts) > 3:
        stage = int(parts[1])
        if parts[3] in ("reduction", "norm"):  # stages.i.downsample.{reduction,norm}
            return sum(depths[:stage + 1]), num_depths
        return sum(depths[:stage]) + int(parts[3]) + 1, num_depths
    return num_depths - 1, num_depths


def convnext_layer_depth(depths: Sequence[int], param_name: str, prefix: str = "") -> Tuple[int, int]:
    """ConvNeXt's 12 (deep third stage) or 6 depths: stem 0, stages 0-1 -> 1-2, the third stage
    in groups of three blocks, the last stage the top backbone depth."""
    top = 12 if depths[-2] > 9 else 6
    if not param_name.startswith(prefix):
        return top + 1, top + 2
    parts = param_name[len(prefix):].split(".")
    stage = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    if parts[0] == "downsample_layers" and stage is not None:
        depth = 0 if stage == 0 else stage + 1 if stage in (1, 2) else top
    elif parts[0] == "stages" and stage is not None:
        depth = stage + 1 if stage in (0, 1) else 3 + int(parts[2]) // 3 if stage == 2 else top
    else:
        depth = top + 1
    return depth, top + 2


#: backbone class name -> rule(backbone, param_name, prefix)
LAYER_DEPTH_RULES: Dict[str, Callable] = {
    "SwinTransformer": lambda backbone, name, prefix: swin_layer_depth(backbone.depths, name, prefix),
    "ConvNeXt": lambda backbone, name, prefix: convnext_layer_depth(backbone.depths, name, prefix),
}
