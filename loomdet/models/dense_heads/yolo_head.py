"""YOLOV3Head (Redmon and Farhadi, 2018): one 3x3 bridge conv and one 1x1 predictor per scale."""

import copy
import warnings
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from loomcv.model.bricks import ConvModule, is_norm
from loomcv.model.weight_init import bias_init_with_prob, constant_init, normal_init
from loomcv.structures import InstanceData
from loomdet.models.task_modules.samplers import PseudoSampler
from loomdet.registry import MODELS, TASK_UTILS
from .base_dense_head import BaseDenseHead, _cfg_get
from .levels import filter_scores_and_topk, images_to_levels, multi_apply


@MODELS.register_module()
class YOLOV3Head(BaseDenseHead):
    """Predicts, for each of A anchors per cell, ``(tx, ty, tw, th, objectness, C class logits)``.

    Args:
        num_classes: object classes, background excluded.
        in_channels: input channels per scale (coarsest first).
        out_channels: channels of the bridge conv per scale.
        anchor_generator: config of a :class:`YOLOAnchorGenerator`.
        bbox_coder: config of a :class:`YOLOBBoxCoder`.
        featmap_strides: stride per scale, descending (32, 16, 8).
        one_hot_smoother: label smoothing of the class targets (0 = off).
        conv_cfg / norm_cfg / act_cfg: of the bridge convs.
        loss_cls / loss_conf / loss_xy / loss_wh: loss configs.
        train_cfg: ``assigner`` (GridAssigner) and optional ``sampler``.
        test_cfg: ``conf_thr``, ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img``, ``min_bbox_size``.
    """

    raw_output_kinds = ("pred_map",)

    def __init__(self, num_classes: int, in_channels: Sequence[int], out_channels: Sequence[int] = (1024, 512, 256),
                 anchor_generator: dict = dict(type="YOLOAnchorGenerator",
                                               base_sizes=[[(116, 90), (156, 198), (373, 326)],
                                                           [(30, 61), (62, 45), (59, 119)],
                                                           [(10, 13), (16, 30), (33, 23)]],
                                               strides=[32, 16, 8]),
                 bbox_coder: dict = dict(type="YOLOBBoxCoder"), featmap_strides: Sequence[int] = (32, 16, 8),
                 one_hot_smoother: float = 0., conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type="BN", requires_grad=True),
                 act_cfg: dict = dict(type="LeakyReLU", negative_slope=0.1),
                 loss_cls: dict = dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
                 loss_conf: dict = dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
                 loss_xy: dict = dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
                 loss_wh: dict = dict(type="MSELoss", loss_weight=1.0),
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None) -> None:  # noqa: B006
        super().__init__(init_cfg=None)
        if not len(in_channels) == len(out_channels) == len(featmap_strides):
            raise ValueError(f"YOLOV3Head: in_channels {list(in_channels)}, out_channels {list(out_channels)} and "
                             f"featmap_strides {list(featmap_strides)} need one entry per scale each")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"YOLOV3Head: num_classes must be an int >= 1, got {num_classes!r}")
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.featmap_strides = featmap_strides
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        if self.train_cfg:
            if "assigner" not in self.train_cfg:
                raise KeyError(f"YOLOV3Head: train_cfg needs an 'assigner', got keys {sorted(self.train_cfg)}")
            self.assigner = TASK_UTILS.build(self.train_cfg["assigner"])
            if self.train_cfg.get("sampler", None) is not None:
                self.sampler = TASK_UTILS.build(self.train_cfg["sampler"], default_args=dict(context=self))
            else:
                self.sampler = PseudoSampler()
        self.one_hot_smoother = one_hot_smoother
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.prior_generator = TASK_UTILS.build(anchor_generator)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_conf = MODELS.build(loss_conf)
        self.loss_xy = MODELS.build(loss_xy)
        self.loss_wh = MODELS.build(loss_wh)
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        if len(self.prior_generator.num_base_priors) != len(featmap_strides):
            raise ValueError(f"YOLOV3Head: the anchor generator has {len(self.prior_generator.num_base_priors)} "
                             f"levels but featmap_strides has {len(featmap_strides)}")
        self._init_layers()

    @property
    def num_levels(self) -> int:
        return len(self.featmap_strides)

    @property
    def num_attrib(self) -> int:
        """Values per anchor: 4 box, 1 objectness, num_classes class logits."""
        return 5 + self.num_classes

    def _init_layers(self) -> None:
        self.convs_bridge = nn.ModuleList()
        self.convs_pred = nn.ModuleList()
        for i in range(self.num_levels):
            self.convs_bridge.append(ConvModule(self.in_channels[i], self.out_channels[i], 3, padding=1,
                                                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                                act_cfg=self.act_cfg))
            self.convs_pred.append(nn.Conv2d(self.out_channels[i], self.num_base_priors * self.num_attrib, 1))

    def init_weights(self) -> None:
        """Normal(0.01) convs, unit norms; objectness bias at a prior of 8 objects per 608-pixel
        image at each level, class biases at prior 0.01 (as ultralytics/yolov3 does)."""
        super().init_weights()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                normal_init(m, mean=0, std=0.01)
            if is_norm(m):
                constant_init(m, 1)
        for conv_pred, stride in zip(self.convs_pred, self.featmap_strides):
            bias = conv_pred.bias.reshape(self.num_base_priors, -1)
            nn.init.constant_(bias.data[:, 4], bias_init_with_prob(8 / (608 / stride) ** 2))
            nn.init.constant_(bias.data[:, 5:], bias_init_with_prob(0.01))

    def forward(self, x: Tuple[Tensor, ...]) -> tuple:
        """``(pred_maps,)``: per scale ``(B, A * (5 + C), H, W)``."""
        if len(x) != self.num_levels:
            raise ValueError(f"YOLOV3Head: expected {self.num_levels} feature maps, got {len(x)}")
        return tuple(self.convs_pred[i](self.convs_bridge[i](x[i])) for i in range(self.num_levels)),

    def predict_by_feat(self, pred_maps: Sequence[Tensor], batch_img_metas: Optional[List[dict]],
                        cfg: Optional[dict] = None, rescale: bool = False, with_nms: bool = True) -> List[InstanceData]:
        """Detections per image: objectness above ``conf_thr``, class scores above ``score_thr``,
        the ``nms_pre`` best (prior, class) pairs, then scores times objectness and NMS."""
        if len(pred_maps) != self.num_levels:
            raise ValueError(f"YOLOV3Head: expected {self.num_levels} prediction maps, got {len(pred_maps)}")
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        num_imgs = len(batch_img_metas)
        featmap_sizes = [pred_map.shape[-2:] for pred_map in pred_maps]
        mlvl_anchors = self.prior_generator.grid_priors(featmap_sizes, device=pred_maps[0].device)
        flatten_preds, flatten_strides = [], []
        for pred, stride in zip(pred_maps, self.featmap_strides):
            pred = pred.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_attrib)
            pred = torch.cat([pred[..., :2].sigmoid(), pred[..., 2:]], dim=-1)
            flatten_preds.append(pred)
            flatten_strides.append(pred.new_tensor(stride).expand(pred.size(1)))
        flatten_preds = torch.cat(flatten_preds, dim=1)
        flatten_objectness = flatten_preds[..., 4].sigmoid()
        flatten_cls_scores = flatten_preds[..., 5:].sigmoid()
        flatten_bboxes = self.bbox_coder.decode(torch.cat(mlvl_anchors), flatten_preds[..., :4],
                                                torch.cat(flatten_strides).unsqueeze(-1))
        conf_thr = _cfg_get(cfg, "conf_thr", -1)
        score_thr = _cfg_get(cfg, "score_thr", 0)
        nms_pre = _cfg_get(cfg, "nms_pre", -1)
        results_list = []
        for bboxes, scores, objectness, img_meta in zip(flatten_bboxes, flatten_cls_scores, flatten_objectness,
                                                        batch_img_metas):
            if conf_thr > 0:
                keep = objectness >= conf_thr
                bboxes, scores, objectness = bboxes[keep, :], scores[keep, :], objectness[keep]
            scores, labels, keep_idxs, _ = filter_scores_and_topk(scores, score_thr, nms_pre)
            results = InstanceData(scores=scores, labels=labels, bboxes=bboxes[keep_idxs],
                                   score_factors=objectness[keep_idxs])
            results_list.append(self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                                        img_meta=img_meta))
        return results_list

    def loss_by_feat(self, pred_maps: Sequence[Tensor], batch_gt_instances: List[InstanceData],
                     batch_img_metas: List[dict], batch_gt_instances_ignore: Optional[list] = None) -> dict:
        """``dict(loss_cls, loss_conf, loss_xy, loss_wh)``, each a list with one loss per scale."""
        if not self.train_cfg:
            raise ValueError("YOLOV3Head: computing losses needs train_cfg with an assigner; the detector's "
                             "train_cfg is None")
        num_imgs = len(batch_img_metas)
        device = pred_maps[0][0].device
        featmap_sizes = [pred_maps[i].shape[-2:] for i in range(self.num_levels)]
        mlvl_anchors = self.prior_generator.grid_priors(featmap_sizes, device=device)
        anchor_list = [mlvl_anchors for _ in range(num_imgs)]
        responsible_flag_list = [self.responsible_flags(featmap_sizes, gt.bboxes, device)
                                 for gt in batch_gt_instances]
        target_maps_list, neg_maps_list = self.get_targets(anchor_list, responsible_flag_list, batch_gt_instances)
        losses_cls, losses_conf, losses_xy, losses_wh = multi_apply(self.loss_by_feat_single, pred_maps,
                                                                    target_maps_list, neg_maps_list)
        return dict(loss_cls=losses_cls, loss_conf=losses_conf, loss_xy=losses_xy, loss_wh=losses_wh)

    def loss_by_feat_single(self, pred_map: Tensor, target_map: Tensor, neg_map: Tensor) -> tuple:
        """The four losses of one scale; positives learn everything, negatives only objectness."""
        num_imgs = len(pred_map)
        pred_map = pred_map.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_attrib)
        neg_mask = neg_map.float()
        pos_mask = target_map[..., 4]
        pos_and_neg_mask = neg_mask + pos_mask
        pos_mask = pos_mask.unsqueeze(dim=-1)
        if torch.max(pos_and_neg_mask) > 1.:
            warnings.warn("YOLOV3Head: some priors are both positive and negative", stacklevel=2)
            pos_and_neg_mask = pos_and_neg_mask.clamp(min=0., max=1.)
        loss_cls = self.loss_cls(pred_map[..., 5:], target_map[..., 5:], weight=pos_mask)
        loss_conf = self.loss_conf(pred_map[..., 4], target_map[..., 4], weight=pos_and_neg_mask)
        loss_xy = self.loss_xy(pred_map[..., :2], target_map[..., :2], weight=pos_mask)
        loss_wh = self.loss_wh(pred_map[..., 2:4], target_map[..., 2:4], weight=pos_mask)
        return loss_cls, loss_conf, loss_xy, loss_wh

    def get_targets(self, anchor_list: List[List[Tensor]], responsible_flag_list: List[List[Tensor]],
                    batch_gt_instances: List[InstanceData]) -> tuple:
        """Per scale ``(B, n, 5 + C)`` target maps and ``(B, n)`` negative maps."""
        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        all_target_maps, all_neg_maps = multi_apply(self._get_targets_single, anchor_list, responsible_flag_list,
                                                    batch_gt_instances)
        return images_to_levels(all_target_maps, num_level_anchors), images_to_levels(all_neg_maps,
                                                                                      num_level_anchors)

    def _get_targets_single(self, anchors: List[Tensor], responsible_flags: List[Tensor],
                            gt_instances: InstanceData) -> tuple:
        gt_bboxes, gt_labels = gt_instances.bboxes, gt_instances.labels
        anchor_strides = torch.cat([torch.tensor(self.featmap_strides[i], device=gt_bboxes.device).repeat(len(a))
                                    for i, a in enumerate(anchors)])
        concat_anchors = torch.cat(anchors)
        pred_instances = InstanceData(priors=concat_anchors, responsible_flags=torch.cat(responsible_flags))
        assign_result = self.assigner.assign(pred_instances, gt_instances)
        sampling_result = self.sampler.sample(assign_result, pred_instances, gt_instances)

        target_map = concat_anchors.new_zeros(concat_anchors.size(0), self.num_attrib)
        pos_inds = sampling_result.pos_inds
        target_map[pos_inds, :4] = self.bbox_coder.encode(sampling_result.pos_priors, sampling_result.pos_gt_bboxes,
                                                          anchor_strides[pos_inds])
        target_map[pos_inds, 4] = 1
        gt_labels_one_hot = F.one_hot(gt_labels, num_classes=self.num_classes).float()
        if self.one_hot_smoother != 0:
            gt_labels_one_hot = (gt_labels_one_hot * (1 - self.one_hot_smoother)
                                 + self.one_hot_smoother / self.num_classes)
        target_map[pos_inds, 5:] = gt_labels_one_hot[sampling_result.pos_assigned_gt_inds]
        neg_map = concat_anchors.new_zeros(concat_anchors.size(0), dtype=torch.uint8)
        neg_map[sampling_result.neg_inds] = 1
        return target_map, neg_map

    def responsible_flags(self, featmap_sizes: List[tuple], gt_bboxes: Tensor, device) -> List[Tensor]:
        """Per scale, 1 for the anchors of the cells that contain a ground-truth center."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f"YOLOV3Head: {len(featmap_sizes)} feature sizes for {self.num_levels} levels")
        return self.prior_generator.responsible_flags(featmap_sizes, gt_bboxes, device)
