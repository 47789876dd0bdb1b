import logging

import pytest

from loomcv.logging import LoomLogger, get_logger, print_log


def test_console_and_file(tmp_path, capsys):
    log_file = tmp_path / "sub" / "run.log"
    logger = get_logger("test_console_and_file", log_file=str(log_file), log_level="INFO")
    logger.debug("hidden")
    logger.info("hello")
    logger.warning("careful")
    out = capsys.readouterr().out
    assert "loomcv - hello" in out and "loomcv - WARNING - careful" in out and "hidden" not in out
    text = log_file.read_text()
    assert "INFO - hello" in text and "WARNING - careful" in text and "hidden" not in text
    assert LoomLogger.get_instance("test_console_and_file") is logger
    logger.close()


def test_non_zero_rank_logs_warnings_only(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    quiet = LoomLogger("rank1_quiet", log_file=str(tmp_path / "a.log"))
    quiet.info("info from rank 1")
    quiet.warning("warning from rank 1")
    out = capsys.readouterr().out
    assert "info from rank 1" not in out and "warning from rank 1" in out
    assert not (tmp_path / "a.log").exists()

    loud = LoomLogger("rank1_loud", log_file=str(tmp_path / "b.log"), distributed=True)
    loud.info("info everywhere")
    assert "info everywhere" in capsys.readouterr().out
    assert "info everywhere" in (tmp_path / "b_rank1.log").read_text()
    loud.close()


def test_print_log_targets(capsys):
    logger = get_logger("print_log_target")
    print_log("plain")
    print_log("dropped", logger="silent")
    print_log("by name", logger="print_log_target")
    print_log("current", logger="current")
    print_log("debug", logger=logger, level=logging.DEBUG)
    out = capsys.readouterr().out
    assert "plain" in out and "by name" in out and "current" in out
    assert "dropped" not in out and "debug" not in out
    with pytest.raises(KeyError, match="no LoomLogger named 'print_log_targe'"):
        print_log("x", logger="print_log_targe")
    with pytest.raises(ValueError, match="valid levels"):
        get_logger("bad_level", log_level="LOUD")


def test_set_level(capsys):
    logger = get_logger("set_level_test", log_level="WARNING")
    logger.info("quiet")
    logger.set_level("DEBUG")
    logger.debug("now shown")
    out = capsys.readouterr().out
    assert "quiet" not in out and "now shown" in out


def test_logging_and_visualization_import_without_torch():
    """Log readers and plotting tools can use these packages without loading torch."""
    import subprocess
    import sys
    code = "import sys, loomcv.logging, loomcv.visualization; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
