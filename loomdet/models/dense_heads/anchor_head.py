"""AnchorHead: anchors, IoU assignment, delta targets and per-level losses (RPN, RetinaNet, SSD)."""

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from loomcv.structures import InstanceData
from loomdet.models.task_modules.prior_generators import anchor_inside_flags
from loomdet.models.task_modules.samplers import PseudoSampler
from loomdet.registry import MODELS, TASK_UTILS
from loomdet.structures.bbox import cat_boxes, get_box_tensor
from .base_dense_head import BaseDenseHead
from .levels import images_to_levels, multi_apply, unmap


def _train_cfg_value(head, key):
    if key not in head.train_cfg:
        raise KeyError(f"{type(head).__name__}: train_cfg needs {key!r} (got keys {sorted(head.train_cfg)})")
    return head.train_cfg[key]


@MODELS.register_module()
class AnchorHead(BaseDenseHead):
    """A 1x1 classification conv and a 1x1 regression conv over anchors.

    Args:
        num_classes: object classes, background excluded.
        in_channels: channels of the input feature maps.
        feat_channels: hidden channels (used by subclasses' conv towers).
        anchor_generator: config of the anchor generator.
        bbox_coder: config of the box coder.
        reg_decoded_bbox: regress decoded boxes (for IoU losses) instead of deltas.
        loss_cls / loss_bbox: loss configs.
        train_cfg: ``assigner``, optional ``sampler`` (default PseudoSampler),
            ``allowed_border``, ``pos_weight``.
        test_cfg: ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``, ``min_bbox_size``.
    """

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 anchor_generator: dict = dict(type="AnchorGenerator", scales=[8, 16, 32], ratios=[0.5, 1.0, 2.0],
                                               strides=[4, 8, 16, 32, 64]),
                 bbox_coder: dict = dict(type="DeltaXYWHBBoxCoder", clip_border=True, target_means=(.0, .0, .0, .0),
                                         target_stds=(1.0, 1.0, 1.0, 1.0)),
                 reg_decoded_bbox: bool = False,
                 loss_cls: dict = dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
                 loss_bbox: dict = dict(type="SmoothL1Loss", beta=1.0 / 9.0, loss_weight=1.0),
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg=dict(type="Normal", layer="Conv2d", std=0.01)) -> None:  # noqa: B006 (copied)
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{name}: num_classes must be an int >= 1, got {num_classes!r}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.feat_channels = feat_channels
        self.use_sigmoid_cls = loss_cls.get("use_sigmoid", False)
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        self.reg_decoded_bbox = reg_decoded_bbox
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if self.train_cfg:
            if "assigner" not in self.train_cfg:
                raise KeyError(f"{name}: train_cfg needs an 'assigner', got keys {sorted(self.train_cfg)}")
            self.assigner = TASK_UTILS.build(self.train_cfg["assigner"])
            if self.train_cfg.get("sampler", None) is not None:
                self.sampler = TASK_UTILS.build(self.train_cfg["sampler"], default_args=dict(context=self))
            else:
                self.sampler = PseudoSampler(context=self)
        self.prior_generator = TASK_UTILS.build(anchor_generator)
        # anchors per cell of one level (SSD's differ per level; every head here has one number)
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        self._init_layers()

    def _init_layers(self) -> None:
        self.conv_cls = nn.Conv2d(self.in_channels, self.num_base_priors * self.cls_out_channels, 1)
        self.conv_reg = nn.Conv2d(self.in_channels, self.num_base_priors * self.bbox_coder.encode_size, 1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        return self.conv_cls(x), self.conv_reg(x)

    def forward(self, x: Tuple[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Per level ``(B, A * C, H, W)`` class logits and ``(B, A * 4, H, W)`` box deltas."""
        return multi_apply(self.forward_single, x)

    def get_anchors(self, featmap_sizes: List[tuple], batch_img_metas: List[dict], device="cuda"):
        """``(anchor_list, valid_flag_list)``: per image, per level; anchors on padding are not valid."""
        multi_level_anchors = self.prior_generator.grid_priors(featmap_sizes, device=device)
        anchor_list = [multi_level_anchors for _ in batch_img_metas]
        valid_flag_list = []
        for img_meta in batch_img_metas:
            pad_shape = img_meta.get("pad_shape", img_meta.get("img_shape"))
            if pad_shape is None:
                raise KeyError(f"{type(self).__name__}: image meta needs 'pad_shape' (set by DetDataPreprocessor) "
                               f"or 'img_shape', got keys {sorted(img_meta)}")
            valid_flag_list.append(self.prior_generator.valid_flags(featmap_sizes, pad_shape, device))
        return anchor_list, valid_flag_list

    def _get_targets_single(self, flat_anchors: Tensor, valid_flags: Tensor, gt_instances: InstanceData,
                            img_meta: dict, gt_instances_ignore: Optional[InstanceData] = None,
                            unmap_outputs: bool = True) -> tuple:
        inside_flags = anchor_inside_flags(flat_anchors, valid_flags, img_meta["img_shape"][:2],
                                           _train_cfg_value(self, "allowed_border"))
        if not inside_flags.any():
            raise ValueError(f"{type(self).__name__}: no anchor lies inside the image {img_meta['img_shape'][:2]}; "
                             "check the image and anchor sizes, or set train_cfg.allowed_border=-1")
        anchors = flat_anchors[inside_flags]
        pred_instances = InstanceData(priors=anchors)
        assign_result = self.assigner.assign(pred_instances, gt_instances, gt_instances_ignore)
        sampling_result = self.sampler.sample(assign_result, pred_instances, gt_instances)

        num_valid = anchors.shape[0]
        target_dim = gt_instances.bboxes.size(-1) if self.reg_decoded_bbox else self.bbox_coder.encode_size
        bbox_targets = anchors.new_zeros(num_valid, target_dim)
        bbox_weights = anchors.new_zeros(num_valid, target_dim)
        labels = anchors.new_full((num_valid,), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros(num_valid, dtype=torch.float)
        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        if len(pos_inds) > 0:
            if self.reg_decoded_bbox:
                pos_targets = get_box_tensor(sampling_result.pos_gt_bboxes)
            else:
                pos_targets = self.bbox_coder.encode(sampling_result.pos_priors, sampling_result.pos_gt_bboxes)
            bbox_targets[pos_inds, :] = pos_targets
            bbox_weights[pos_inds, :] = 1.0
            labels[pos_inds] = sampling_result.pos_gt_labels
            pos_weight = _train_cfg_value(self, "pos_weight")
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds) > 0:
            label_weights[neg_inds] = 1.0

        if unmap_outputs:
            total = flat_anchors.size(0)
            labels = unmap(labels, total, inside_flags, fill=self.num_classes)
            label_weights = unmap(label_weights, total, inside_flags)
            bbox_targets = unmap(bbox_targets, total, inside_flags)
            bbox_weights = unmap(bbox_weights, total, inside_flags)
        return labels, label_weights, bbox_targets, bbox_weights, pos_inds, neg_inds, sampling_result

    def get_targets(self, anchor_list: List[List[Tensor]], valid_flag_list: List[List[Tensor]],
                    batch_gt_instances: List[InstanceData], batch_img_metas: List[dict],
                    batch_gt_instances_ignore: Optional[list] = None, unmap_outputs: bool = True,
                    return_sampling_results: bool = False) -> tuple:
        """Per level ``(labels, label_weights, bbox_targets, bbox_weights)`` stacked over images, and
        ``avg_factor`` (positives with PseudoSampler, positives + negatives with a real sampler)."""
        num_imgs = len(batch_img_metas)
        if not len(anchor_list) == len(valid_flag_list) == num_imgs:
            raise ValueError(f"{type(self).__name__}.get_targets: {len(anchor_list)} anchor lists and "
                             f"{len(valid_flag_list)} flag lists for {num_imgs} images")
        if batch_gt_instances_ignore is None:
            batch_gt_instances_ignore = [None] * num_imgs
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        concat_anchors = [cat_boxes(anchors) for anchors in anchor_list]
        concat_flags = [torch.cat(flags) for flags in valid_flag_list]
        results = multi_apply(self._get_targets_single, concat_anchors, concat_flags, batch_gt_instances,
                              batch_img_metas, batch_gt_instances_ignore, unmap_outputs=unmap_outputs)
        all_labels, all_label_weights, all_bbox_targets, all_bbox_weights, _, _, sampling_results = results[:7]
        rest = list(results[7:])
        avg_factor = sum(result.avg_factor for result in sampling_results)
        self._raw_positive_infos.update(sampling_results=sampling_results)
        res = (images_to_levels(all_labels, num_level_anchors), images_to_levels(all_label_weights, num_level_anchors),
               images_to_levels(all_bbox_targets, num_level_anchors),
               images_to_levels(all_bbox_weights, num_level_anchors), avg_factor)
        if return_sampling_results:
            res = res + (sampling_results,)
        return res + tuple(images_to_levels(r, num_level_anchors) for r in rest)

    def loss_by_feat_single(self, cls_score: Tensor, bbox_pred: Tensor, anchors: Tensor, labels: Tensor,
                            label_weights: Tensor, bbox_targets: Tensor, bbox_weights: Tensor,
                            avg_factor: int) -> tuple:
        """Classification and regression losses of one level."""
        labels = labels.reshape(-1)
        label_weights = label_weights.reshape(-1)
        cls_score = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
        loss_cls = self.loss_cls(cls_score, labels, label_weights, avg_factor=avg_factor)
        target_dim = bbox_targets.size(-1)
        bbox_targets = bbox_targets.reshape(-1, target_dim)
        bbox_weights = bbox_weights.reshape(-1, target_dim)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, self.bbox_coder.encode_size)
        if self.reg_decoded_bbox:
            anchors = anchors.reshape(-1, anchors.size(-1))
            bbox_pred = get_box_tensor(self.bbox_coder.decode(anchors, bbox_pred))
        loss_bbox = self.loss_bbox(bbox_pred, bbox_targets, bbox_weights, avg_factor=avg_factor)
        return loss_cls, loss_bbox

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], batch_gt_instances: List[InstanceData],
                     batch_img_metas: List[dict], batch_gt_instances_ignore: Optional[list] = None) -> dict:
        """``dict(loss_cls=[per level], loss_bbox=[per level])``."""
        if not self.train_cfg:
            raise ValueError(f"{type(self).__name__}: computing losses needs train_cfg (assigner, allowed_border, "
                             "pos_weight); the detector's train_cfg is None")
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f"{type(self).__name__}: {len(featmap_sizes)} feature levels but the anchor generator "
                             f"has {self.prior_generator.num_levels} strides")
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(featmap_sizes, batch_img_metas, device=device)
        labels_list, label_weights_list, bbox_targets_list, bbox_weights_list, avg_factor = self.get_targets(
            anchor_list, valid_flag_list, batch_gt_instances, batch_img_metas,
            batch_gt_instances_ignore=batch_gt_instances_ignore)
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        all_anchor_list = images_to_levels([cat_boxes(anchors) for anchors in anchor_list], num_level_anchors)
        losses_cls, losses_bbox = multi_apply(self.loss_by_feat_single, cls_scores, bbox_preds, all_anchor_list,
                                              labels_list, label_weights_list, bbox_targets_list,
                                              bbox_weights_list, avg_factor=avg_factor)
        return dict(loss_cls=losses_cls, loss_bbox=losses_bbox)
