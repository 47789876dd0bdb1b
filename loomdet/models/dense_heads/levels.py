"""Bookkeeping of dense predictions over pyramid levels and images.

Dense heads compute targets image by image (all levels concatenated) but
losses level by level (all images stacked); these helpers move between the
two layouts and pick the top-scoring candidates before NMS.
"""

from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor


def multi_apply(func: Callable, *args, **kwargs) -> Tuple[list, ...]:
    """Call ``func`` on zipped ``args`` (extra ``kwargs`` for every call); return one list per output."""
    pfunc = partial(func, **kwargs) if kwargs else func
    return tuple(map(list, zip(*map(pfunc, *args))))


def images_to_levels(target: List[Tensor], num_levels: Sequence[int]) -> List[Tensor]:
    """Per-image tensors of all levels ``[(n_total, ...)] * B`` -> per-level ``[(B, n_level, ...)]``."""
    stacked = torch.stack(target, 0)
    level_targets, start = [], 0
    for n in num_levels:
        level_targets.append(stacked[:, start:start + n])
        start += n
    return level_targets


def unmap(data: Tensor, count: int, inds: Tensor, fill: Union[int, float] = 0) -> Tensor:
    """Scatter ``data`` (one row per True of ``inds``) back into ``count`` rows filled with ``fill``."""
    ret = data.new_full((count,) + tuple(data.size()[1:]), fill)
    ret[inds.bool()] = data
    return ret


def select_single_mlvl(mlvl_tensors: Sequence[Tensor], batch_id: int, detach: bool = True) -> List[Tensor]:
    """Image ``batch_id``'s slice of every level's ``(B, ...)`` tensor."""
    if not isinstance(mlvl_tensors, (list, tuple)):
        raise TypeError(f"select_single_mlvl: expected a list of per-level tensors, got {type(mlvl_tensors).__name__}")
    return [t[batch_id].detach() if detach else t[batch_id] for t in mlvl_tensors]


def filter_scores_and_topk(scores: Tensor, score_thr: float, topk: int,
                           results: Union[None, Dict[str, Tensor], List[Tensor], Tensor] = None):
    """Keep (prior, class) pairs scoring above ``score_thr``; then the ``topk`` best of them.

    Args:
        scores: ``(num_priors, num_classes)``.
        score_thr: pairs scoring at or below it are dropped.
        topk: how many to keep; <= 0 keeps all that pass the threshold.
        results: tensors with one row per prior, filtered along with the scores.

    Returns:
        ``(scores, labels, keep_idxs, filtered_results)``, best first; ``keep_idxs``
        are prior indices (a prior appears once per class it keeps).
    """
    valid_mask = scores > score_thr
    scores = scores[valid_mask]
    valid_idxs = torch.nonzero(valid_mask, as_tuple=False)
    num_topk = valid_idxs.size(0) if topk <= 0 else min(topk, valid_idxs.size(0))
    scores, idxs = scores.sort(descending=True, stable=True)
    scores = scores[:num_topk]
    keep_idxs, labels = valid_idxs[idxs[:num_topk]].unbind(dim=1)
    filtered: Optional[Union[Dict[str, Tensor], List[Tensor], Tensor]] = None
    if isinstance(results, dict):
        filtered = {k: v[keep_idxs] for k, v in results.items()}
    elif isinstance(results, (list, tuple)):
        filtered = [r[keep_idxs] for r in results]
    elif isinstance(results, Tensor):
        filtered = results[keep_idxs]
    elif results is not None:
        raise TypeError(f"filter_scores_and_topk: results must be a dict, list or tensor, got "
                        f"{type(results).__name__}")
    return scores, labels, keep_idxs, filtered


def unpack_gt_instances(batch_data_samples: list) -> tuple:
    """``(batch_gt_instances, batch_gt_instances_ignore, batch_img_metas)`` of detection data samples."""
    batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = [], [], []
    for i, sample in enumerate(batch_data_samples):
        if "gt_instances" not in sample:
            raise KeyError(f"data sample {i} has no gt_instances; training needs the annotations packed by "
                           "PackDetInputs (is LoadAnnotations in the pipeline?)")
        batch_img_metas.append(sample.metainfo)
        batch_gt_instances.append(sample.gt_instances)
        batch_gt_instances_ignore.append(sample.get("ignored_instances", None))
    return batch_gt_instances, batch_gt_instances_ignore, batch_img_metas
