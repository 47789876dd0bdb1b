"""BaseDenseHead: the loss / predict protocol of dense (one-stage and RPN) heads.

``loss(x, data_samples)`` runs ``forward`` then ``loss_by_feat``;
``predict(x, data_samples)`` runs ``forward`` then ``predict_by_feat``, which
decodes the boxes of each image, keeps the ``nms_pre`` best candidates per
level above ``score_thr``, and applies ``test_cfg.nms`` and ``max_per_img``.
"""

import copy
from abc import ABCMeta, abstractmethod
from typing import List, Mapping, Optional, Tuple

import torch
from torch import Tensor

from loomcv.model import BaseModule
from loomcv.structures import InstanceData
from loomdet.models.layers import batched_nms
from loomdet.structures.bbox import cat_boxes, get_box_tensor, get_box_wh, scale_boxes
from .levels import filter_scores_and_topk, select_single_mlvl, unpack_gt_instances


def _cfg_get(cfg: Optional[Mapping], key: str, default=None):
    return default if cfg is None else cfg.get(key, default)


class BaseDenseHead(BaseModule, metaclass=ABCMeta):
    """Base of dense heads; subclasses define ``forward``, ``loss_by_feat`` and the priors.

    ``predict_by_feat`` here serves heads whose ``forward`` returns
    ``(cls_scores, bbox_preds[, score_factors])`` per level and that have a
    ``prior_generator``, a ``bbox_coder``, ``cls_out_channels`` and
    ``use_sigmoid_cls``.
    """

    #: what ``forward`` returns, one per-level list each, in order (names of the exported outputs)
    raw_output_kinds: Tuple[str, ...] = ("cls_score", "bbox_pred")

    def __init__(self, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self._raw_positive_infos = dict()

    def loss(self, x: Tuple[Tensor], batch_data_samples: list) -> dict:
        """Losses of the head on features ``x`` for the annotated ``batch_data_samples``."""
        outs = self(x)
        batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = unpack_gt_instances(batch_data_samples)
        return self.loss_by_feat(*outs, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore)

    @abstractmethod
    def loss_by_feat(self, *args, **kwargs) -> dict:
        """Losses from the head's raw outputs and the ground truth."""

    def loss_and_predict(self, x: Tuple[Tensor], batch_data_samples: list, proposal_cfg=None):
        """Losses and detections in one forward (a one-stage head used as an RPN)."""
        batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = unpack_gt_instances(batch_data_samples)
        outs = self(x)
        losses = self.loss_by_feat(*outs, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore)
        predictions = self.predict_by_feat(*outs, batch_img_metas=batch_img_metas, cfg=proposal_cfg)
        return losses, predictions

    def predict(self, x: Tuple[Tensor], batch_data_samples: list, rescale: bool = False) -> List[InstanceData]:
        """Detections (``bboxes``, ``scores``, ``labels``) per image; ``rescale`` maps them back to the
        original image through each sample's ``scale_factor``."""
        batch_img_metas = [sample.metainfo for sample in batch_data_samples]
        outs = self(x)
        return self.predict_by_feat(*outs, batch_img_metas=batch_img_metas, rescale=rescale)

    def predict_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                        score_factors: Optional[List[Tensor]] = None, batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[Mapping] = None, rescale: bool = False,
                        with_nms: bool = True) -> List[InstanceData]:
        """Detections per image from per-level ``(B, C, H, W)`` outputs."""
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f"{type(self).__name__}.predict_by_feat: {len(cls_scores)} levels of cls_scores but "
                             f"{len(bbox_preds)} of bbox_preds")
        if batch_img_metas is None:
            raise ValueError(f"{type(self).__name__}.predict_by_feat: batch_img_metas is needed (img_shape, "
                             "scale_factor of each image)")
        with_score_factors = score_factors is not None
        num_levels = len(cls_scores)
        featmap_sizes = [cls_scores[i].shape[-2:] for i in range(num_levels)]
        mlvl_priors = self.prior_generator.grid_priors(featmap_sizes, dtype=cls_scores[0].dtype,
                                                       device=cls_scores[0].device)
        results = []
        for img_id, img_meta in enumerate(batch_img_metas):
            results.append(self._predict_by_feat_single(
                cls_score_list=select_single_mlvl(cls_scores, img_id),
                bbox_pred_list=select_single_mlvl(bbox_preds, img_id),
                score_factor_list=(select_single_mlvl(score_factors, img_id) if with_score_factors
                                   else [None] * num_levels),
                mlvl_priors=mlvl_priors, img_meta=img_meta, cfg=cfg, rescale=rescale, with_nms=with_nms))
        return results

    def _predict_by_feat_single(self, cls_score_list: List[Tensor], bbox_pred_list: List[Tensor],
                                score_factor_list: List[Optional[Tensor]], mlvl_priors: List[Tensor], img_meta: dict,
                                cfg: Optional[Mapping], rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        with_score_factors = score_factor_list[0] is not None
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        if "img_shape" not in img_meta:
            raise KeyError(f"{type(self).__name__}.predict: image meta needs 'img_shape', got keys "
                           f"{sorted(img_meta)}")
        img_shape = img_meta["img_shape"]
        nms_pre = _cfg_get(cfg, "nms_pre", -1)
        score_thr = _cfg_get(cfg, "score_thr", 0)
        mlvl_bbox_preds, mlvl_priors_kept, mlvl_scores, mlvl_labels, mlvl_factors = [], [], [], [], []
        for cls_score, bbox_pred, score_factor, priors in zip(cls_score_list, bbox_pred_list, score_factor_list,
                                                              mlvl_priors):
            if cls_score.size()[-2:] != bbox_pred.size()[-2:]:
                raise ValueError(f"{type(self).__name__}: cls_score {tuple(cls_score.shape)} and bbox_pred "
                                 f"{tuple(bbox_pred.shape)} cover different feature-map sizes")
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, self.bbox_coder.encode_size)
            if with_score_factors:
                score_factor = score_factor.permute(1, 2, 0).reshape(-1).sigmoid()
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            scores = cls_score.sigmoid() if self.use_sigmoid_cls else cls_score.softmax(-1)[:, :-1]
            scores, labels, keep_idxs, kept = filter_scores_and_topk(
                scores, score_thr, nms_pre, dict(bbox_pred=bbox_pred, priors=priors))
            mlvl_bbox_preds.append(kept["bbox_pred"])
            mlvl_priors_kept.append(kept["priors"])
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
            if with_score_factors:
                mlvl_factors.append(score_factor[keep_idxs])

        bboxes = self.bbox_coder.decode(cat_boxes(mlvl_priors_kept), torch.cat(mlvl_bbox_preds), max_shape=img_shape)
        results = InstanceData(bboxes=bboxes, scores=torch.cat(mlvl_scores), labels=torch.cat(mlvl_labels))
        if with_score_factors:
            results.score_factors = torch.cat(mlvl_factors)
        return self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms, img_meta=img_meta)

    def _bbox_post_process(self, results: InstanceData, cfg: Optional[Mapping], rescale: bool = False,
                           with_nms: bool = True, img_meta: Optional[dict] = None) -> InstanceData:
        """Rescale to the original image, weight scores by ``score_factors``, drop boxes not above
        ``min_bbox_size``, then class-wise NMS and ``max_per_img``."""
        if rescale:
            scale_factor = (img_meta or {}).get("scale_factor")
            if scale_factor is None:
                raise KeyError(f"{type(self).__name__}: rescaling predictions to the original image needs "
                               "'scale_factor' in the image meta (added by Resize); predict with rescale=False "
                               "to keep boxes in the input's coordinates")
            results.bboxes = scale_boxes(results.bboxes, [1 / s for s in scale_factor])
        if "score_factors" in results:
            results.scores = results.scores * results.pop("score_factors")
        min_bbox_size = _cfg_get(cfg, "min_bbox_size", -1)
        if min_bbox_size >= 0:
            w, h = get_box_wh(results.bboxes)
            valid = (w > min_bbox_size) & (h > min_bbox_size)
            if not valid.all():
                results = results[valid]
        if with_nms and results.bboxes.numel() > 0:
            det_bboxes, keep_idxs = batched_nms(get_box_tensor(results.bboxes), results.scores, results.labels,
                                                _cfg_get(cfg, "nms"))
            results = results[keep_idxs]
            results.scores = det_bboxes[:, -1]
            max_per_img = _cfg_get(cfg, "max_per_img", -1)
            if max_per_img > 0:
                results = results[:max_per_img]
        return results
