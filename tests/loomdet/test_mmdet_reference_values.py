"""Parity with MMDetection where it publishes numbers: the decoded boxes its own unit tests expect
for the same inputs (YOLOBBoxCoder, DeltaXYWHBBoxCoder with max_shape, distance2bbox with clipping)."""

import torch

from loomdet.models.task_modules.coders import DeltaXYWHBBoxCoder, YOLOBBoxCoder
from loomdet.structures.bbox import distance2bbox


def test_yolo_coder_decodes_as_mmdetection():
    anchors = torch.tensor([[-42., -29., 74., 61.], [-10., -29., 106., 61.], [22., -29., 138., 61.],
                            [54., -29., 170., 61.]])
    preds = torch.tensor([[0.4709, 0.6152, 0.1690, -0.4056], [0.5399, 0.6653, 0.1162, -0.4162],
                          [0.4654, 0.6618, 0.1548, -0.4301], [0.4786, 0.6197, 0.1896, -0.4479]])
    mmdet = torch.tensor([[-53.6102, -10.3096, 83.7478, 49.6824], [-15.8700, -8.3901, 114.4236, 50.9693],
                          [11.1822, -8.0924, 146.6034, 50.4476], [41.2068, -8.9232, 181.4236, 48.5840]])
    torch.testing.assert_close(YOLOBBoxCoder().decode(anchors, preds, 32), mmdet, atol=1e-4, rtol=0)


def test_delta_coder_decodes_and_clips_as_mmdetection():
    rois = torch.tensor([[0., 0., 1., 1.], [0., 0., 1., 1.], [0., 0., 1., 1.], [5., 5., 5., 5.]])
    deltas = torch.tensor([[0., 0., 0., 0.], [1., 1., 1., 1.], [0., 0., 2., -1.], [0.7, -1.9, -0.5, 0.3]])
    mmdet = torch.tensor([[0., 0., 1., 1.], [0.1409, 0.1409, 2.8591, 2.8591], [0., 0.3161, 4.1945, 0.6839],
                          [5., 5., 5., 5.]])
    coder = DeltaXYWHBBoxCoder()
    torch.testing.assert_close(coder.decode(rois, deltas, max_shape=(32, 32)), mmdet, atol=1e-4, rtol=0)
    batched = coder.decode(rois[None].repeat(2, 1, 1), deltas[None].repeat(2, 1, 1), max_shape=(32, 32))
    torch.testing.assert_close(batched[1], mmdet, atol=1e-4, rtol=0)


def test_distance2bbox_clips_as_mmdetection():
    points = torch.tensor([[74., 61.], [-29., 106.], [138., 61.], [29., 170.]])
    distances = torch.tensor([[0., 0, 1., 1.], [1., 2., 10., 6.], [22., -29., 138., 61.], [54., -29., 170., 61.]])
    mmdet = torch.tensor([[74., 61., 75., 62.], [0., 104., 0., 112.], [100., 90., 100., 120.],
                          [0., 120., 100., 120.]])
    torch.testing.assert_close(distance2bbox(points, distances, max_shape=(120, 100)), mmdet)
