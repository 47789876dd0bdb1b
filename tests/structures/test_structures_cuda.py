"""The structures on a GPU: moves, indexing a CUDA field with CPU indexes, cat, one-hot on device."""

import numpy as np
import pytest
import torch

from loomcv.structures import BaseDataElement, InstanceData, LabelData, PixelData

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


def test_moves_to_and_from_the_gpu():
    el = BaseDataElement(x=torch.ones(2), nested=InstanceData(b=torch.zeros(3, 4)), arr=np.ones(1))
    gpu = el.cuda()
    assert gpu.x.is_cuda and gpu.nested.b.is_cuda and isinstance(gpu.arr, np.ndarray)
    assert not el.x.is_cuda
    assert el.to("cuda").x.is_cuda and not gpu.cpu().nested.b.is_cuda
    assert isinstance(gpu.numpy().nested.b, np.ndarray)


def test_instance_data_on_gpu_takes_cpu_indexes():
    inst = InstanceData(bboxes=torch.arange(20.0).view(5, 4), names=list("abcde")).cuda()
    assert inst.bboxes.is_cuda
    keep = torch.tensor([True, False, True, False, True])
    for index in (keep, keep.cuda(), keep.numpy(), [0, 2, 4], np.array([0, 2, 4]), torch.tensor([0, 2, 4]).cuda()):
        picked = inst[index]
        assert picked.bboxes.is_cuda and picked.bboxes[:, 0].tolist() == [0, 8, 16] and picked.names == list("ace")
    assert inst[inst.bboxes[:, 0] > 10].names == ["d", "e"]
    assert inst[torch.tensor(1).cuda()].names == ["b"]
    joined = InstanceData.cat([inst, inst[:1]])
    assert joined.bboxes.is_cuda and len(joined) == 6


def test_label_and_pixel_data_on_gpu():
    label = torch.tensor([1, 3]).cuda()
    onehot = LabelData.label_to_onehot(label, 5)
    assert onehot.is_cuda and onehot.tolist() == [0, 1, 0, 1, 0]
    back = LabelData.onehot_to_label(onehot)
    assert back.is_cuda and back.tolist() == [1, 3]
    p = PixelData(seg=torch.arange(48).view(6, 8)).cuda()
    assert p.seg.is_cuda and p[1:3, 2:4].seg.is_cuda and p[1:3, 2:4].seg[0, 0, 0].item() == 10
    assert p.resize((3, 4), interpolation="nearest").seg.is_cuda
    assert p.padding((1, 1)).shape == (6, 10)
