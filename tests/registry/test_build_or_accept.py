"""build_or_accept: a component's part given as a config dict is built, a built one is kept."""

from collections.abc import Callable

import pytest

from loomcv.registry import Registry, build_or_accept

PARTS = Registry("part")


@PARTS.register_module()
class Wheel:
    def __init__(self, size=16):
        self.size = size


@PARTS.register_module()
def make_horn():
    return "honk"


class Car:
    pass


def test_a_config_is_built_with_default_args_and_a_built_object_is_kept():
    built = build_or_accept(dict(type="Wheel"), PARTS, Wheel, "wheel", default_args=dict(size=18))
    assert isinstance(built, Wheel) and built.size == 18
    wheel = Wheel(20)
    assert build_or_accept(wheel, PARTS, Wheel, "wheel") is wheel


def test_a_wrong_object_names_owner_argument_and_expected_type():
    with pytest.raises(TypeError, match=r"Car: wheel must be a Wheel or a config dict, got str: 'round'"):
        build_or_accept("round", PARTS, Wheel, "wheel", Car())
    with pytest.raises(TypeError, match=r"Car: horn must be a config dict or a built object, got NoneType"):
        build_or_accept(None, PARTS, name="horn", owner="Car")


def test_none_only_with_allow_none():
    assert build_or_accept(None, PARTS, Wheel, "wheel", allow_none=True) is None
    with pytest.raises(TypeError, match="wheel must be a Wheel or a config dict, got NoneType"):
        build_or_accept(None, PARTS, Wheel, "wheel")


def test_a_config_that_builds_the_wrong_kind_of_object_is_refused():
    assert build_or_accept(dict(type="make_horn"), PARTS, name="horn") == "honk"
    with pytest.raises(TypeError, match="Car: wheel config built a str, not a Wheel"):
        build_or_accept(dict(type="make_horn"), PARTS, Wheel, "wheel", "Car")


def test_callable_as_expected_type_accepts_functions_and_built_transforms():
    assert build_or_accept(len, PARTS, Callable, "step") is len
    with pytest.raises(TypeError, match="step must be a Callable or a config dict, got int"):
        build_or_accept(3, PARTS, Callable, "step")


def test_a_tuple_of_types_is_listed_in_the_message():
    with pytest.raises(TypeError, match="must be a Wheel or Car or a config dict"):
        build_or_accept(1.5, PARTS, (Wheel, Car), "part")
