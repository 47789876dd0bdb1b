"""init_detector / inference_detector / ``loomcv infer``, DetLocalVisualizer and DetVisualizationHook,
run with two small real detectors defined here (the real ones live in loomdet.models)."""

import glob
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from torch import nn

import loomdet.registry as det_registry
from loomcv.config import Config
from loomcv.model import BaseModel
from loomcv.registry import DefaultScope, Registry
from loomcv.structures import InstanceData
from loomdet.apis import inference_detector, init_detector
from loomdet.structures import DetDataSample
from loomdet.visualization import DetLocalVisualizer, get_palette

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """init_detector and the Runner set loomdet as the process's default scope: undo it for later tests."""
    before = dict(DefaultScope._instances)
    yield
    DefaultScope._instances.clear()
    DefaultScope._instances.update(before)

#: this file's detectors, in a scope of their own below loomdet's
TEST_MODELS = Registry("model", parent=det_registry.MODELS, scope="detdata_test")


@TEST_MODELS.register_module()
class BrightBoxDetector(BaseModel):
    """One detection: the box around the input pixels brighter than ``thr``, mapped back to the
    original image with the sample's ``scale_factor`` (what every detector's predict does)."""

    def __init__(self, thr: float = 128, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type="ImgDataPreprocessor"))
        self.thr = thr
        self.score = nn.Parameter(torch.tensor(0.9))  # a weight, so checkpoints carry something

    def forward(self, inputs, data_samples=None, mode="tensor"):
        if mode == "loss":
            return dict(loss=(self.score - 1) ** 2)
        if mode == "tensor":
            return inputs.mean(1)
        for img, sample in zip(inputs, data_samples):
            ys, xs = torch.nonzero(img.mean(0) > self.thr, as_tuple=True)
            box = torch.stack([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
            sx, sy = sample.metainfo.get("scale_factor", (1.0, 1.0))
            box = box / torch.tensor([sx, sy, sx, sy])
            sample.pred_instances = InstanceData(bboxes=box[None], scores=self.score.detach()[None],
                                                 labels=torch.tensor([1]))
        return data_samples


@TEST_MODELS.register_module()
class OracleDetector(BaseModel):
    """Predicts the ground truth the samples carry as ``instances`` (score 0.9), plus a wrong box
    scoring 0.1: evaluation through the runner must give exactly mAP 1.0 (the stray box ranks last)."""

    def __init__(self, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor or dict(type="ImgDataPreprocessor"))
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode="tensor"):
        for sample in data_samples:
            inst = sample.instances
            boxes = torch.tensor([i["bbox"] for i in inst] + [[0, 0, 3, 3]], dtype=torch.float32)
            sample.pred_instances = InstanceData(
                bboxes=boxes, labels=torch.tensor([i["bbox_label"] for i in inst] + [0]),
                scores=torch.tensor([0.9] * len(inst) + [0.1]))
        return data_samples


def bright_config(tmp_path, scale=(128, 96)):
    """A detection config: resize to ``scale`` so predictions must be mapped back."""
    pipeline = [dict(type="LoadImageFromFile"), dict(type="Resize", scale=scale),
                dict(type="LoadAnnotations", with_bbox=True),
                dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"))]
    cfg = dict(default_scope="loomdet", model=dict(type="detdata_test.BrightBoxDetector"),
               test_dataloader=dict(batch_size=1, dataset=dict(type="CocoDataset", ann_file="none.json",
                                                               metainfo=dict(classes=("dim", "bright")),
                                                               pipeline=pipeline)))
    path = tmp_path / "bright_det.py"
    path.write_text(Config(cfg).pretty_text)
    return str(path)


def bright_image(tmp_path, name="img.png"):
    img = np.full((48, 64, 3), 20, np.uint8)
    img[10:30, 16:40] = 250
    path = str(tmp_path / name)
    cv2.imwrite(path, img)
    return path, img


def test_inference_detector_returns_boxes_in_original_pixels_for_paths_arrays_and_lists(tmp_path):
    model = init_detector(bright_config(tmp_path), device="cpu")
    assert model.dataset_meta["classes"] == ("dim", "bright") and not model.training
    path, img = bright_image(tmp_path)
    one = inference_detector(model, path)
    assert isinstance(one, DetDataSample)
    assert one.pred_instances.bboxes.tolist() == [[16, 10, 40, 30]]  # the network saw it at 2x
    assert one.scale_factor == (2.0, 2.0) and one.ori_shape == (48, 64)
    from_array = inference_detector(model, img)
    assert from_array.pred_instances.bboxes.tolist() == [[16, 10, 40, 30]] and from_array.img_path is None
    both = inference_detector(model, [path, img])
    assert isinstance(both, list) and len(both) == 2
    with pytest.raises(FileNotFoundError, match="nope.png"):
        inference_detector(model, str(tmp_path / "nope.png"))


def test_init_detector_takes_weights_and_class_names_from_the_checkpoint(tmp_path):
    config = bright_config(tmp_path)
    ckpt = str(tmp_path / "det.pth")
    torch.save(dict(state_dict=dict(score=torch.tensor(0.75)), meta=dict(dataset_meta=dict(classes=("a", "b")))),
               ckpt)
    model = init_detector(config, ckpt, palette="random", cfg_options=dict(model=dict(thr=100)))
    assert model.thr == 100 and model.dataset_meta == dict(classes=("a", "b"), palette="random")
    path, _ = bright_image(tmp_path)
    assert inference_detector(model, path).pred_instances.scores.tolist() == [0.75]


def test_loomcv_infer_picks_loomdet_by_scope_prints_and_draws(tmp_path, capsys):
    from loomcv.cli.main import main
    config = bright_config(tmp_path)
    ckpt = str(tmp_path / "det.pth")
    torch.save(dict(state_dict=dict(score=torch.tensor(0.9)), meta=dict(dataset_meta=dict(classes=("a", "b")))),
               ckpt)
    path, img = bright_image(tmp_path)
    out_dir = str(tmp_path / "out")
    assert main(["infer", config, ckpt, path, "--out-dir", out_dir]) == 0
    printed = capsys.readouterr().out
    assert f"{path}: 1 detection(s) above 0.3" in printed and "  b 0.900 [16.0, 10.0, 40.0, 30.0]" in printed
    drawn = cv2.imread(osp.join(out_dir, "vis", "img.png"))
    assert drawn.shape == img.shape
    color = np.array(get_palette("random", 2)[1][::-1])  # class 'b' (label 1), BGR in the file
    edge = drawn[20, 14:19].astype(int)  # across the left edge of the box, x = 16
    assert (np.abs(edge - color).sum(axis=1) < 120).any()
    assert np.array_equal(drawn[45, 60], img[45, 60])  # far from the box: untouched


def test_det_local_visualizer_draws_gt_and_filtered_predictions_side_by_side(tmp_path):
    vis = DetLocalVisualizer(bbox_color=(255, 0, 0), line_width=2)
    vis.dataset_meta = dict(classes=("x", "y"))
    image = np.zeros((60, 80, 3), np.uint8)
    sample = DetDataSample()
    masks = torch.zeros(1, 60, 80, dtype=torch.bool)
    masks[0, 40:50, 60:70] = True
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10., 10, 30, 30]]), labels=torch.tensor([0]),
                                       masks=masks)
    sample.pred_instances = InstanceData(bboxes=torch.tensor([[10., 10, 30, 30], [50, 5, 70, 25]]),
                                         labels=torch.tensor([0, 1]), scores=torch.tensor([0.8, 0.2]))
    out = str(tmp_path / "drawn.png")
    vis.add_datasample("s", image, sample, pred_score_thr=0.3, out_file=out)
    drawn = cv2.imread(out)[..., ::-1]
    assert drawn.shape == (60, 160, 3)
    gt, pred = drawn[:, :80], drawn[:, 80:]
    assert gt[20, 9:12, 0].max() > 150 and pred[20, 9:12, 0].max() > 150  # the red left edge at x = 10
    assert gt[45, 65].any() and not pred[45, 65].any()  # the mask only in the gt
    assert not pred[15, 49:52].any()  # the 0.2 box is under the threshold: not drawn
    vis.add_datasample("s", image, sample, draw_gt=False, pred_score_thr=0.1, out_file=out)
    drawn = cv2.imread(out)[..., ::-1]
    assert drawn.shape == (60, 80, 3) and drawn[15, 49:52, 0].max() > 150


def test_det_visualization_hook_and_coco_metric_through_the_runner(tmp_path):
    from loomcv.runner import Runner
    root = str(tmp_path / "digits")  # not generated yet: the dataset is built before the metric reads the json
    pipeline = [dict(type="LoadImageFromFile"), dict(type="Resize", scale=(96, 96)),
                dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape",
                                                      "scale_factor", "instances"))]
    loader = dict(batch_size=2, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
                  collate_fn=dict(type="pseudo_collate"),
                  dataset=dict(type="DigitsDetDataset", split="val", num_images=3, img_size=64, data_root=root,
                               test_mode=True, pipeline=pipeline))
    evaluator = dict(type="CocoMetric", ann_file=osp.join(root, "annotations", "instances_val.json"))
    runner = Runner.from_cfg(dict(
        work_dir=str(tmp_path / "wd"), default_scope="loomdet", model=dict(type="detdata_test.OracleDetector"),
        val_dataloader=loader, val_cfg=dict(), val_evaluator=evaluator,
        test_dataloader=loader, test_cfg=dict(), test_evaluator=evaluator,
        # scoped: the Runner builds its visualizer before it sets default_scope (reported to the engine side)
        visualizer=dict(type="loomdet.DetLocalVisualizer", vis_backends=[dict(type="LocalVisBackend")]),
        custom_hooks=[dict(type="DetVisualizationHook", draw=True, interval=1, test_out_dir="drawn")]))
    metrics = runner.val()
    assert metrics["coco/bbox_mAP"] == 1.0 and metrics["coco/bbox_mAP_50"] == 1.0
    val_images = glob.glob(osp.join(runner.log_dir, "vis_data", "**", "val_img*.png"), recursive=True)
    assert len(val_images) == 2  # the first sample of each of the 2 batches
    assert cv2.imread(val_images[0]).shape == (64, 128, 3)  # gt | predictions, original size
    assert runner.test()["coco/bbox_mAP"] == 1.0
    drawn = sorted(os.listdir(osp.join(runner.work_dir, runner.timestamp, "drawn")))
    assert drawn == ["000001.png", "000002.png", "000003.png"]
