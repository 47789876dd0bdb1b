"""The one annealing function behind OneCycle, CosineRestart and the MMCV 1.x policies."""

import math

import pytest

from loomcv.optim.scheduler.param_scheduler import anneal


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_anneal_goes_from_start_to_stop(strategy):
    assert anneal(strategy, 0.5, 0.1, 0.0) == pytest.approx(0.5)
    assert anneal(strategy, 0.5, 0.1, 1.0) == pytest.approx(0.1)
    assert anneal(strategy, 0.5, 0.1, 0.5) == pytest.approx(0.3)  # both pass the midpoint halfway
    values = [anneal(strategy, 0.5, 0.1, p / 10) for p in range(11)]
    assert values == sorted(values, reverse=True)


def test_cosine_is_flat_at_both_ends_and_linear_is_not():
    near_start = anneal("cos", 1.0, 0.0, 0.01)
    assert 1.0 - near_start == pytest.approx((1 - math.cos(math.pi * 0.01)) / 2)
    assert 1.0 - near_start < 0.001 < 1.0 - anneal("linear", 1.0, 0.0, 0.01)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_weight_scales_the_distance_from_stop(strategy):
    # a restart with weight 0.5 peaks halfway between the floor and the base
    assert anneal(strategy, 0.9, 0.1, 0.0, weight=0.5) == pytest.approx(0.5)
    assert anneal(strategy, 0.9, 0.1, 1.0, weight=0.5) == pytest.approx(0.1)
    assert anneal(strategy, 0.9, 0.1, 0.5, weight=0.5) == pytest.approx(0.3)


def test_unknown_strategy_names_the_valid_ones():
    with pytest.raises(ValueError, match="'cos' or 'linear', got 'cosine'"):
        anneal("cosine", 1.0, 0.0, 0.5)
