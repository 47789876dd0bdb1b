import math

import pytest

from loomcv.cli.main import main
from loomcv.cli.plot_lr import simulate

CFG = dict(
    train_cfg=dict(by_epoch=True, max_epochs=4),
    train_dataloader=dict(batch_size=10, dataset=dict(type="NotThere", data_root="/nowhere")),
    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
    param_scheduler=[
        dict(type="LinearLR", start_factor=0.1, by_epoch=True, end=1, convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", by_epoch=True, begin=1, convert_to_iter_based=True)])


def test_simulate_warmup_cosine_per_iteration():
    curves = simulate(CFG, dataset_size=45)  # 5 iterations per epoch, 20 in all
    lr = curves["lr"]
    assert len(lr) == 20 and curves["momentum"] == [0.9] * 20
    assert lr[:5] == pytest.approx([0.1 * (0.1 + 0.9 * t / 4) for t in range(5)])
    assert lr[5:] == pytest.approx([0.05 * (1 + math.cos(math.pi * t / 15)) for t in range(15)])
    with pytest.raises(ValueError, match="--dataset-size"):
        simulate(CFG)


def test_cli_writes_png(tmp_path, capsys):
    cfg = tmp_path / "warmup_cosine.py"
    cfg.write_text("\n".join(f"{k} = {v!r}" for k, v in CFG.items()))
    out = tmp_path / "lr.png"
    assert main(["plot-lr", str(cfg), "--dataset-size", "45", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "20 iterations" in capsys.readouterr().out
    assert main(["plot-lr", str(cfg), "--out", str(out)]) == 1  # epoch-based without a size
