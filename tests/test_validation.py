"""The shared argument checks: what they accept, and errors that name owner, argument and valid values."""

import pytest

from loomcv.errors import ConfigError, InvalidChoiceError
from loomcv.validation import check, check_choice, check_positive, check_prob, check_range


class Resize:
    pass


def test_check_prefixes_the_owner_class_name_and_takes_another_error_class():
    check(True, Resize(), "unused")
    with pytest.raises(ConfigError, match=r"^Resize: scale is too large$"):
        check(False, Resize(), "scale is too large")
    with pytest.raises(TypeError, match=r"^imread: bad$"):
        check(False, "imread", "bad", TypeError)


def test_check_choice_lists_the_choices_in_order_and_suggests_a_close_one():
    assert check_choice("imflip", "direction", "vertical", ("horizontal", "vertical")) == "vertical"
    with pytest.raises(InvalidChoiceError) as info:
        check_choice(Resize(), "interpolation", "bilnear", ("nearest", "bilinear"))
    assert str(info.value) == ("Resize: interpolation must be one of ['nearest', 'bilinear'], "
                               "got interpolation='bilnear'. Did you mean: 'bilinear', 'nearest'?")


def test_an_invalid_choice_is_both_a_value_error_and_a_key_error():
    for error in (ValueError, KeyError, ConfigError):
        with pytest.raises(error, match=r"depth must be one of \[18, 34\], got depth=19\.$"):
            check_choice("ResNet", "depth", 19, [18, 34])
    with pytest.raises(InvalidChoiceError, match="got mode=\\['a'\\]"):
        check_choice("", "mode", ["a"], {"a": 1})  # an unhashable value against a dict's keys


def test_check_prob_and_check_range():
    assert check_prob("Flip", "prob", 0.5) == 0.5
    for bad in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(ConfigError, match=r"Flip: prob must be a number in \[0, 1\]"):
            check_prob("Flip", "prob", bad)
    assert check_range("Crop", "ratio", [0.5, 2]) == (0.5, 2)
    for bad in ((2, 1), (1,), ("a", "b"), (-1, 1)):
        with pytest.raises(ConfigError, match=r"Crop: ratio must be a \(min, max\) pair with 0 <= min <= max"):
            check_range("Crop", "ratio", bad, low=0)


def test_check_positive_ints_and_numbers():
    assert check_positive("Head", "num_classes", 10, integer=True) == 10
    assert check_positive("Net", "widen_factor", 0.5) == 0.5
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ConfigError, match=f"Head: num_classes must be a positive int, got {bad!r}"):
            check_positive("Head", "num_classes", bad, integer=True)
    with pytest.raises(ConfigError, match="widen_factor must be a positive number, got False"):
        check_positive("Net", "widen_factor", False)
