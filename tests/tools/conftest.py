"""A tiny classification run shared by the tool tests: LeNet-5 on the embedded digits, two epochs."""

import pytest

from loomcv.cli.main import main


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """(work_dir, checkpoint) of lenet5_1xb64_digits trained for 2 epochs on 320 images."""
    work = tmp_path_factory.mktemp("digits_run")
    rc = main(["train", "lenet5_1xb64_digits", "--work-dir", str(work), "--cfg-options",
               "train_cfg.max_epochs=2", "train_dataloader.dataset.indices=320", "default_hooks.logger.interval=5",
               "default_hooks.checkpoint.interval=2", "default_hooks.checkpoint.save_best=None"])
    assert rc == 0
    return work, work / "epoch_2.pth"
