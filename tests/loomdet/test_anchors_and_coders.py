"""Anchor layouts of known configs and the delta box coder."""

import math

import pytest
import torch

from loomdet.models.task_modules import AnchorGenerator, DeltaXYWHBBoxCoder
from loomdet.models.task_modules.coders import bbox2delta, delta2bbox


def retinanet_generator():
    return AnchorGenerator(strides=[8, 16, 32, 64, 128], ratios=[0.5, 1.0, 2.0], octave_base_scale=4,
                           scales_per_octave=3)


def test_retinanet_base_anchors_at_stride_8():
    gen = retinanet_generator()
    # Base size 8, scales 4 * 2**(0, 1/3, 2/3), ratios h/w = 0.5, 1, 2; scale-major order.
    expected = torch.tensor([
        [-22.6274, -11.3137, 22.6274, 11.3137], [-28.5088, -14.2544, 28.5088, 14.2544],
        [-35.9188, -17.9594, 35.9188, 17.9594], [-16.0000, -16.0000, 16.0000, 16.0000],
        [-20.1587, -20.1587, 20.1587, 20.1587], [-25.3984, -25.3984, 25.3984, 25.3984],
        [-11.3137, -22.6274, 11.3137, 22.6274], [-14.2544, -28.5088, 14.2544, 28.5088],
        [-17.9594, -35.9188, 17.9594, 35.9188]])
    assert torch.allclose(gen.base_anchors[0], expected, atol=1e-4)
    assert gen.num_base_priors == [9] * 5 and gen.num_base_anchors == [9] * 5
    assert gen.num_levels == 5
    # Each level scales with its stride.
    assert torch.allclose(gen.base_anchors[2], expected * 4, atol=1e-3)


def test_grid_priors_tile_row_by_row():
    gen = retinanet_generator()
    sizes = [(4, 5), (2, 3), (1, 2), (1, 1), (1, 1)]
    anchors = gen.grid_priors(sizes, device="cpu")
    assert [a.shape for a in anchors] == [torch.Size([h * w * 9, 4]) for h, w in sizes]
    first = anchors[0]
    base = gen.base_anchors[0]
    assert torch.allclose(first[:9], base)
    assert torch.allclose(first[9:18], base + torch.tensor([8., 0., 8., 0.]))  # next column
    assert torch.allclose(first[5 * 9:6 * 9], base + torch.tensor([0., 8., 0., 8.]))  # next row
    assert anchors[1].dtype == torch.float32
    assert gen.grid_priors(sizes, dtype=torch.float64, device="cpu")[0].dtype == torch.float64


def test_documented_small_configs():
    anchors = AnchorGenerator([16], [1.], [1.], [9]).grid_priors([(2, 2)], device="cpu")
    assert anchors[0].tolist() == [[-4.5, -4.5, 4.5, 4.5], [11.5, -4.5, 20.5, 4.5],
                                   [-4.5, 11.5, 4.5, 20.5], [11.5, 11.5, 20.5, 20.5]]
    two = AnchorGenerator([16, 32], [1.], [1.], [9, 18]).grid_priors([(2, 2), (1, 1)], device="cpu")
    assert two[1].tolist() == [[-9., -9., 9., 9.]]
    # RPN-style anchors centered on the middle of the cell.
    centered = AnchorGenerator([16], [1.], [1.], center_offset=0.5)
    assert centered.base_anchors[0].tolist() == [[0., 0., 16., 16.]]
    explicit = AnchorGenerator([16], [1.], [2.], centers=[(3., 4.)])
    assert explicit.base_anchors[0].tolist() == [[-13., -12., 19., 20.]]


def test_ratio_major_order_and_rectangular_strides():
    gen = AnchorGenerator([(8, 16)], ratios=[1.0, 4.0], scales=[1.0, 2.0], scale_major=False)
    widths = (gen.base_anchors[0][:, 2] - gen.base_anchors[0][:, 0]).tolist()
    heights = (gen.base_anchors[0][:, 3] - gen.base_anchors[0][:, 1]).tolist()
    # Base size is the smaller stride (8); order is scale by scale, ratios inside.
    assert widths == pytest.approx([8., 4., 16., 8.])
    assert heights == pytest.approx([8., 16., 16., 32.])
    anchors = gen.single_level_grid_priors((2, 2), 0, device="cpu")
    assert torch.allclose(anchors[4:8], gen.base_anchors[0] + torch.tensor([8., 0., 8., 0.]))
    assert torch.allclose(anchors[8:12], gen.base_anchors[0] + torch.tensor([0., 16., 0., 16.]))


def test_sparse_priors_pick_the_same_anchors():
    gen = retinanet_generator()
    dense = gen.single_level_grid_priors((5, 7), 1, device="cpu")
    idx = torch.tensor([0, 8, 9, 100, 314])
    assert torch.allclose(gen.sparse_priors(idx, (5, 7), 1, device="cpu"), dense[idx])


def test_valid_flags_cover_the_unpadded_image():
    gen = AnchorGenerator([8], ratios=[1.0, 2.0], scales=[1.0])
    flags = gen.valid_flags([(3, 3)], pad_shape=(17, 10, 3), device="cpu")[0]
    # ceil(17 / 8) = 3 rows and ceil(10 / 8) = 2 columns are valid.
    cells = [True, True, False] * 3
    assert flags.tolist() == [c for c in cells for _ in range(2)]


def test_anchor_generator_rejects_inconsistent_settings():
    with pytest.raises(ValueError, match="either scales or both"):
        AnchorGenerator([8], [1.0], scales=[1.0], octave_base_scale=4, scales_per_octave=3)
    with pytest.raises(ValueError, match="either scales or both"):
        AnchorGenerator([8], [1.0])
    with pytest.raises(ValueError, match="center_offset must be in"):
        AnchorGenerator([8], [1.0], [1.0], center_offset=1.5)
    with pytest.raises(ValueError, match="centers cannot be set"):
        AnchorGenerator([8], [1.0], [1.0], centers=[(0, 0)], center_offset=0.5)
    with pytest.raises(ValueError, match="base_sizes"):
        AnchorGenerator([8, 16], [1.0], [1.0], base_sizes=[8])
    with pytest.raises(ValueError, match="featmap_sizes"):
        AnchorGenerator([8], [1.0], [1.0]).grid_priors([(1, 1), (1, 1)], device="cpu")


def random_boxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 100
    return torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 60 + 2], 1)


def test_encode_of_a_known_pair():
    coder = DeltaXYWHBBoxCoder(target_stds=(0.1, 0.1, 0.2, 0.2))
    deltas = coder.encode(torch.tensor([[0., 0., 10., 10.]]), torch.tensor([[5., 5., 25., 15.]]))
    # Center moves (10, 5) on a 10x10 prior; width doubles; then divided by the stds.
    assert deltas[0].tolist() == pytest.approx([10., 5., math.log(2) / 0.2, 0.], abs=1e-5)


@pytest.mark.parametrize("means,stds", [((0., 0., 0., 0.), (1., 1., 1., 1.)),
                                        ((0.1, -0.2, 0.05, 0.), (0.1, 0.1, 0.2, 0.2))])
def test_decode_inverts_encode(means, stds):
    coder = DeltaXYWHBBoxCoder(means, stds)
    priors, gts = random_boxes(50, 1), random_boxes(50, 2)
    decoded = coder.decode(priors, coder.encode(priors, gts))
    assert torch.allclose(decoded, gts, atol=1e-3)


def test_decode_known_deltas_with_clipping():
    rois = torch.tensor([[0., 0., 1., 1.], [0., 0., 1., 1.], [0., 0., 1., 1.], [5., 5., 5., 5.]])
    deltas = torch.tensor([[0., 0., 0., 0.], [1., 1., 1., 1.], [0., 0., 2., -1.], [0.7, -1.9, -0.5, 0.3]])
    expected = torch.tensor([[0.0000, 0.0000, 1.0000, 1.0000], [0.1409, 0.1409, 2.8591, 2.8591],
                             [0.0000, 0.3161, 4.1945, 0.6839], [5.0000, 5.0000, 5.0000, 5.0000]])
    assert torch.allclose(delta2bbox(rois, deltas, max_shape=(32, 32, 3)), expected, atol=1e-4)
    # Without clip_border the third box keeps its negative x1 (0.5 - e**2 / 2).
    free = DeltaXYWHBBoxCoder(clip_border=False).decode(rois, deltas, max_shape=(32, 32))
    assert free[2, 0].item() == pytest.approx(0.5 - math.exp(2) / 2, abs=1e-5)


def test_size_change_is_bounded_and_center_clamp_applies():
    rois = torch.tensor([[0., 0., 10., 10.]])
    huge = torch.tensor([[0., 0., 50., 50.]])
    width = delta2bbox(rois, huge)[0, 2] - delta2bbox(rois, huge)[0, 0]
    assert width.item() == pytest.approx(10 / (16 / 1000), rel=1e-4)  # exp(|log 0.016|) times
    coder = DeltaXYWHBBoxCoder(add_ctr_clamp=True, ctr_clamp=4)
    shifted = coder.decode(rois, torch.tensor([[3., -3., 0., 0.]]))
    assert shifted[0].tolist() == pytest.approx([4., -4., 14., 6.])


def test_per_class_and_batched_decoding():
    coder = DeltaXYWHBBoxCoder(target_stds=(0.1, 0.1, 0.2, 0.2))
    priors = random_boxes(6, 3)
    deltas = torch.randn(6, 3 * 4, generator=torch.Generator().manual_seed(4)) * 0.3
    per_class = coder.decode(priors, deltas, max_shape=(120, 140))
    assert per_class.shape == (6, 12)
    assert torch.allclose(per_class[:, 4:8], coder.decode(priors, deltas[:, 4:8], max_shape=(120, 140)))
    batched = coder.decode(torch.stack([priors, priors + 5]), torch.stack([deltas, deltas]),
                           max_shape=[(120, 140), (60, 70)])
    assert torch.allclose(batched[0], per_class)
    assert torch.allclose(batched[1], coder.decode(priors + 5, deltas, max_shape=(60, 70)))
    assert coder.decode(priors[:0], deltas[:0]).shape == (0, 12)


def test_coder_argument_errors():
    with pytest.raises(ValueError, match="target_stds"):
        DeltaXYWHBBoxCoder(target_stds=(1., 1.))
    with pytest.raises(ValueError, match="use_box_type"):
        DeltaXYWHBBoxCoder(use_box_type=True)
    with pytest.raises(ValueError, match="encode"):
        DeltaXYWHBBoxCoder().encode(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="same shape"):
        bbox2delta(torch.zeros(2, 4), torch.zeros(3, 4))
