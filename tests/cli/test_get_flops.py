"""``loomcv get-flops``: per-module parameters and multiply-adds, checked against hand counts."""

import pytest

from loomcv.cli.main import main


def test_lenet_counts_equal_the_hand_computed_multiply_adds(capsys):
    assert main(["get-flops", "lenet5_1xb64_digits"]) == 0
    out = capsys.readouterr().out
    # The digits pipeline resizes to 32x32, so that is the default input size.
    assert "input 1x1x32x32" in out
    # conv 1->6 5x5 at 28x28, conv 6->16 5x5 at 10x10, conv 16->120 5x5 at 1x1, fc 120->84, fc 84->10
    macs = 6 * 25 * 28 * 28 + 16 * 6 * 25 * 10 * 10 + 120 * 16 * 25 + 120 * 84 + 84 * 10
    params = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (120 * 16 * 25 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert macs == 416_520 and params == 61_706
    assert "Params: 61.706K  FLOPs: 416.520K" in out
    assert "features" in out and "classifier" in out  # depth 2 shows the backbone's children


def test_frozen_stages_are_reported_as_mmcv_counts_them(capsys):
    """MMDetection publishes RetinaNet-R50 at 37.74M: MMCV counts only trainable parameters, and
    frozen_stages=1 freezes the ResNet stem and first stage (0.225M)."""
    assert main(["get-flops", "retinanet_r50_fpn_1x_coco", "--shape", "64", "--depth", "0"]) == 0
    assert "Params: 37.969M (trainable 37.743M: frozen stages excluded)" in capsys.readouterr().out


def test_shape_option_and_depth_zero(capsys):
    assert main(["get-flops", "resnet18_8xb16_cifar10", "--shape", "16", "--depth", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("input 1x3x16x16")
    assert lines[2].startswith("(total)") and lines[3].startswith("Params: 11.174M")


def test_convolution_counts_scale_with_the_pixels_and_the_head_does_not():
    from loomcv.cli.get_flops import build_model, count
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    model = build_model(Config.fromfile(find_config("resnet18_8xb16_cifar10")))
    small, big = (dict((name, flops) for name, _, flops in count(model, (s, s), depth=1)) for s in (16, 32))
    assert small["head"] == big["head"] == 512 * 10  # the fc sees pooled features
    assert big["backbone"] == 4 * small["backbone"]
    assert big["(total)"] == big["backbone"] + big["head"]


@pytest.mark.parametrize("argv, message", [
    (["--shape", "1", "2", "3"], "one or two sizes"),
    (["--shape", "224"], "needs 32x32 inputs"),
])
def test_bad_input_gives_a_clear_error(capsys, argv, message):
    assert main(["get-flops", "lenet5_1xb64_digits", *argv]) == 1
    assert message in capsys.readouterr().err


def test_unknown_config_is_named(capsys):
    assert main(["get-flops", "resnet_does_not_exist"]) == 1
    assert "resnet_does_not_exist" in capsys.readouterr().err


def test_counting_on_the_meta_device_equals_counting_on_the_cpu():
    from loomcv.cli.get_flops import build_model, count, measure
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    cfg = Config.fromfile(find_config("resnet18_8xb16_cifar10"))
    model, rows = measure(cfg, (32, 32), depth=2)
    assert next(model.parameters()).device.type == "meta"
    assert rows == count(build_model(cfg), (32, 32), depth=2)


def test_the_docs_table_is_current():
    """docs/models.md shows every shipped config's totals; regenerate with `loomcv get-flops --shipped`."""
    from pathlib import Path
    from loomcv.cli.get_flops import shipped_table
    docs = (Path(__file__).parents[2] / "docs" / "models.md").read_text()
    shown = docs.split("<!-- get-flops --shipped -->\n", 1)[1].strip().split("\n\n")[0]
    assert shown == shipped_table()
