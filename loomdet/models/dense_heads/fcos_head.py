"""FCOSHead (Tian et al., 2019): per-pixel class, (l, t, r, b) distances and centerness."""

from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from loomcv.dist import all_reduce
from loomcv.structures import InstanceData
from loomdet.models.layers import Scale
from loomdet.registry import MODELS
from .anchor_free_head import AnchorFreeHead
from .levels import multi_apply

INF = 1e8


def reduce_mean(tensor: Tensor) -> Tensor:
    """The mean of ``tensor`` over all processes (itself when not distributed)."""
    tensor = tensor.clone()
    all_reduce(tensor, op="mean")
    return tensor


@MODELS.register_module()
class FCOSHead(AnchorFreeHead):
    """Args (beyond :class:`AnchorFreeHead`):
        regress_ranges: per level, the ``(min, max)`` of ``max(l, t, r, b)`` the level learns.
        center_sampling: positives only within ``center_sample_radius * stride`` of a box center.
        center_sample_radius: see ``center_sampling``.
        norm_on_bbox: regress distances divided by the stride (and ReLU'd instead of exp'd).
        centerness_on_reg: centerness from the regression tower instead of the classification one.
        loss_centerness: config of the centerness loss.
        norm_cfg: tower norm; GroupNorm(32) by default.
        cls_predictor_cfg: a normalized-conv classifier; not available here.
    """

    raw_output_kinds = ("cls_score", "bbox_pred", "centerness")

    def __init__(self, num_classes: int, in_channels: int,
                 regress_ranges=((-1, 64), (64, 128), (128, 256), (256, 512), (512, INF)),
                 center_sampling: bool = False, center_sample_radius: float = 1.5, norm_on_bbox: bool = False,
                 centerness_on_reg: bool = False,
                 loss_cls: dict = dict(type="FocalLoss", use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_bbox: dict = dict(type="IoULoss", loss_weight=1.0),
                 loss_centerness: dict = dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
                 norm_cfg: dict = dict(type="GN", num_groups=32, requires_grad=True), cls_predictor_cfg=None,
                 init_cfg=dict(type="Normal", layer="Conv2d", std=0.01,
                               override=dict(type="Normal", name="conv_cls", std=0.01, bias_prob=0.01)),
                 **kwargs) -> None:  # noqa: B006 (configs are copied)
        if cls_predictor_cfg is not None:
            raise ValueError("FCOSHead: cls_predictor_cfg (NormedConv2d classifier) is not supported; leave it None")
        self.regress_ranges = regress_ranges
        self.center_sampling = center_sampling
        self.center_sample_radius = center_sample_radius
        self.norm_on_bbox = norm_on_bbox
        self.centerness_on_reg = centerness_on_reg
        self.cls_predictor_cfg = cls_predictor_cfg
        super().__init__(num_classes=num_classes, in_channels=in_channels, loss_cls=loss_cls, loss_bbox=loss_bbox,
                         norm_cfg=norm_cfg, init_cfg=init_cfg, **kwargs)
        if len(self.regress_ranges) != len(self.strides):
            raise ValueError(f"FCOSHead: regress_ranges has {len(self.regress_ranges)} ranges for "
                             f"{len(self.strides)} strides")
        self.loss_centerness = MODELS.build(loss_centerness)

    def _init_layers(self) -> None:
        super()._init_layers()
        self.conv_centerness = nn.Conv2d(self.feat_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def forward(self, x: Tuple[Tensor]) -> Tuple[List[Tensor], List[Tensor], List[Tensor]]:
        """Per level ``(B, C, H, W)`` class logits, ``(B, 4, H, W)`` distances, ``(B, 1, H, W)`` centerness."""
        return multi_apply(self.forward_single, x, self.scales, self.strides)

    def forward_single(self, x: Tensor, scale: Scale, stride: int) -> Tuple[Tensor, Tensor, Tensor]:
        cls_score, bbox_pred, cls_feat, reg_feat = super().forward_single(x)
        centerness = self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat)
        bbox_pred = scale(bbox_pred).float()
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)
            if not self.training:
                bbox_pred = bbox_pred * stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred, centerness

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], centernesses: List[Tensor],
                     batch_gt_instances: List[InstanceData], batch_img_metas: List[dict],
                     batch_gt_instances_ignore=None) -> Dict[str, Tensor]:
        """``loss_cls`` (focal, over all points), ``loss_bbox`` (IoU of positives weighted by their
        centerness target) and ``loss_centerness``."""
        if not len(cls_scores) == len(bbox_preds) == len(centernesses):
            raise ValueError(f"FCOSHead: {len(cls_scores)}, {len(bbox_preds)} and {len(centernesses)} levels of "
                             "scores, boxes and centerness")
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        all_level_points = self.prior_generator.grid_priors(featmap_sizes, dtype=bbox_preds[0].dtype,
                                                            device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(all_level_points, batch_gt_instances)
        num_imgs = cls_scores[0].size(0)
        flatten_cls_scores = torch.cat([s.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels) for s in cls_scores])
        flatten_bbox_preds = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flatten_centerness = torch.cat([c.permute(0, 2, 3, 1).reshape(-1) for c in centernesses])
        flatten_labels = torch.cat(labels)
        flatten_bbox_targets = torch.cat(bbox_targets)
        flatten_points = torch.cat([points.repeat(num_imgs, 1) for points in all_level_points])

        bg_class_ind = self.num_classes
        pos_inds = ((flatten_labels >= 0) & (flatten_labels < bg_class_ind)).nonzero().reshape(-1)
        num_pos = torch.tensor(len(pos_inds), dtype=torch.float, device=bbox_preds[0].device)
        num_pos = max(reduce_mean(num_pos), 1.0)
        loss_cls = self.loss_cls(flatten_cls_scores, flatten_labels, avg_factor=num_pos)

        pos_bbox_preds = flatten_bbox_preds[pos_inds]
        pos_centerness = flatten_centerness[pos_inds]
        pos_bbox_targets = flatten_bbox_targets[pos_inds]
        pos_centerness_targets = self.centerness_target(pos_bbox_targets)
        centerness_denorm = max(reduce_mean(pos_centerness_targets.sum().detach()), 1e-6)
        if len(pos_inds) > 0:
            pos_points = flatten_points[pos_inds]
            pos_decoded_bbox_preds = self.bbox_coder.decode(pos_points, pos_bbox_preds)
            pos_decoded_target_preds = self.bbox_coder.decode(pos_points, pos_bbox_targets)
            loss_bbox = self.loss_bbox(pos_decoded_bbox_preds, pos_decoded_target_preds,
                                       weight=pos_centerness_targets, avg_factor=centerness_denorm)
            loss_centerness = self.loss_centerness(pos_centerness, pos_centerness_targets, avg_factor=num_pos)
        else:
            loss_bbox = pos_bbox_preds.sum()
            loss_centerness = pos_centerness.sum()
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_centerness=loss_centerness)

    def get_targets(self, points: List[Tensor], batch_gt_instances: List[InstanceData]) -> Tuple[List, List]:
        """Per level, labels ``(B * n,)`` (``num_classes`` = background) and ``(B * n, 4)`` distance targets."""
        if len(points) != len(self.regress_ranges):
            raise ValueError(f"FCOSHead: {len(points)} point levels for {len(self.regress_ranges)} regress_ranges")
        num_levels = len(points)
        expanded_ranges = [points[i].new_tensor(self.regress_ranges[i])[None].expand_as(points[i])
                           for i in range(num_levels)]
        concat_ranges = torch.cat(expanded_ranges, dim=0)
        concat_points = torch.cat(points, dim=0)
        num_points = [center.size(0) for center in points]
        labels_list, bbox_targets_list = multi_apply(self._get_targets_single, batch_gt_instances,
                                                     points=concat_points, regress_ranges=concat_ranges,
                                                     num_points_per_lvl=num_points)
        labels_list = [labels.split(num_points, 0) for labels in labels_list]
        bbox_targets_list = [targets.split(num_points, 0) for targets in bbox_targets_list]
        concat_lvl_labels, concat_lvl_bbox_targets = [], []
        for i in range(num_levels):
            concat_lvl_labels.append(torch.cat([labels[i] for labels in labels_list]))
            bbox_targets = torch.cat([targets[i] for targets in bbox_targets_list])
            if self.norm_on_bbox:
                bbox_targets = bbox_targets / self.strides[i]
            concat_lvl_bbox_targets.append(bbox_targets)
        return concat_lvl_labels, concat_lvl_bbox_targets

    def _get_targets_single(self, gt_instances: InstanceData, points: Tensor, regress_ranges: Tensor,
                            num_points_per_lvl: List[int]) -> Tuple[Tensor, Tensor]:
        """Each point takes the smallest box that contains it (or its center region) and whose
        largest distance falls in the point's level range; others are background."""
        num_points = points.size(0)
        num_gts = len(gt_instances)
        gt_bboxes, gt_labels = gt_instances.bboxes, gt_instances.labels
        if num_gts == 0:
            return gt_labels.new_full((num_points,), self.num_classes), gt_bboxes.new_zeros((num_points, 4))

        areas = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
        areas = areas[None].repeat(num_points, 1)
        regress_ranges = regress_ranges[:, None, :].expand(num_points, num_gts, 2)
        gt_bboxes = gt_bboxes[None].expand(num_points, num_gts, 4)
        xs = points[:, 0][:, None].expand(num_points, num_gts)
        ys = points[:, 1][:, None].expand(num_points, num_gts)
        left = xs - gt_bboxes[..., 0]
        right = gt_bboxes[..., 2] - xs
        top = ys - gt_bboxes[..., 1]
        bottom = gt_bboxes[..., 3] - ys
        bbox_targets = torch.stack((left, top, right, bottom), -1)

        if self.center_sampling:
            center_xs = (gt_bboxes[..., 0] + gt_bboxes[..., 2]) / 2
            center_ys = (gt_bboxes[..., 1] + gt_bboxes[..., 3]) / 2
            stride = center_xs.new_zeros(center_xs.shape)
            start = 0
            for lvl_idx, n in enumerate(num_points_per_lvl):
                stride[start:start + n] = self.strides[lvl_idx] * self.center_sample_radius
                start += n
            center_gts = torch.stack([torch.maximum(center_xs - stride, gt_bboxes[..., 0]),
                                      torch.maximum(center_ys - stride, gt_bboxes[..., 1]),
                                      torch.minimum(center_xs + stride, gt_bboxes[..., 2]),
                                      torch.minimum(center_ys + stride, gt_bboxes[..., 3])], -1)
            center_bbox = torch.stack((xs - center_gts[..., 0], ys - center_gts[..., 1],
                                       center_gts[..., 2] - xs, center_gts[..., 3] - ys), -1)
            inside_gt_bbox_mask = center_bbox.min(-1)[0] > 0
        else:
            inside_gt_bbox_mask = bbox_targets.min(-1)[0] > 0

        max_regress_distance = bbox_targets.max(-1)[0]
        inside_regress_range = ((max_regress_distance >= regress_ranges[..., 0])
                                & (max_regress_distance <= regress_ranges[..., 1]))
        areas[inside_gt_bbox_mask == 0] = INF
        areas[inside_regress_range == 0] = INF
        min_area, min_area_inds = areas.min(dim=1)
        labels = gt_labels[min_area_inds]
        labels[min_area == INF] = self.num_classes
        bbox_targets = bbox_targets[range(num_points), min_area_inds]
        return labels, bbox_targets

    def centerness_target(self, pos_bbox_targets: Tensor) -> Tensor:
        """``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`` of positive targets ``(n, 4)``."""
        left_right = pos_bbox_targets[:, [0, 2]]
        top_bottom = pos_bbox_targets[:, [1, 3]]
        if len(left_right) == 0:
            centerness = left_right[..., 0]
        else:
            centerness = ((left_right.min(dim=-1)[0] / left_right.max(dim=-1)[0])
                          * (top_bottom.min(dim=-1)[0] / top_bottom.max(dim=-1)[0]))
        return torch.sqrt(centerness)
