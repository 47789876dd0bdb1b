"""Video frames round trip through OpenCV, optical flow files, progress helpers and the Timer."""

import io
import time

import cv2
import numpy as np
import pytest

from loomcv.logging.progress import ProgressBar, track_iter_progress, track_parallel_progress, track_progress
from loomcv.logging.timer import Timer, TimerError, check_time
from loomcv.video import (VideoReader, dequantize_flow, flow2rgb, flowread, flowwrite, frames2video,
                          make_color_wheel, quantize_flow, video2frames)


def _frames(n=12, h=48, w=64):
    """Frames whose mean brightness encodes their index (survives lossy codecs)."""
    return [np.full((h, w, 3), 10 + 20 * i, np.uint8) for i in range(n)]


@pytest.fixture
def video(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(_frames()):
        cv2.imwrite(str(folder / f"{i:06d}.png"), frame)
    path = tmp_path / "clip.avi"
    frames2video(str(folder), str(path), fps=12, fourcc="MJPG", filename_tmpl="{:06d}.png", show_progress=False)
    return path


def _level(frame):
    return int(round((frame.mean() - 10) / 20))


def test_video_reader_reads_back_frame_by_frame(video):
    reader = VideoReader(str(video), cache_capacity=3)
    assert len(reader) == 12 and reader.resolution == (64, 48) and reader.fps == pytest.approx(12)
    assert reader.fourcc == "MJPG" and reader.opened
    assert [_level(f) for f in reader] == list(range(12))
    assert _level(reader[5]) == 5 and reader.position == 6
    assert _level(reader.read()) == 6 and _level(reader.current_frame()) == 6
    assert _level(reader[-1]) == 11 and reader.read() is None
    assert [_level(f) for f in reader[2:8:2]] == [2, 4, 6]
    assert _level(reader[3]) == 3  # back again: from the cache or by seeking
    with pytest.raises(IndexError, match=r"\[0, 11\]"):
        reader.get_frame(12)


def test_video2frames_and_errors(video, tmp_path):
    out = tmp_path / "out"
    assert video2frames(str(video), str(out), start=4, max_num=3, filename_tmpl="{:03d}.png") == 3
    written = sorted(p.name for p in out.iterdir())
    assert written == ["000.png", "001.png", "002.png"]
    assert [_level(cv2.imread(str(out / n))) for n in written] == [4, 5, 6]
    with pytest.raises(FileNotFoundError, match="nope.avi"):
        VideoReader(str(tmp_path / "nope.avi"))
    with pytest.raises(ValueError, match="fourcc"):
        frames2video(str(out), str(tmp_path / "x.avi"), fourcc="XV", filename_tmpl="{:03d}.png")


def test_flo_round_trip_and_quantized_pairs(tmp_path):
    rng = np.random.default_rng(0)
    flow = rng.uniform(-0.1, 0.1, (6, 10, 2)).astype(np.float32)  # inside max_val * size
    flowwrite(flow, str(tmp_path / "a.flo"))
    raw = (tmp_path / "a.flo").read_bytes()
    assert raw[:4] == b"PIEH" and np.frombuffer(raw[4:12], np.int32).tolist() == [10, 6]
    np.testing.assert_array_equal(flowread(str(tmp_path / "a.flo")), flow)
    for axis in (0, 1):
        path = str(tmp_path / f"q{axis}.png")
        flowwrite(flow, path, quantize=True, concat_axis=axis)
        assert cv2.imread(path, cv2.IMREAD_UNCHANGED).shape == ((12, 10) if axis == 0 else (6, 20))
        back = flowread(path, quantize=True, concat_axis=axis)
        # one quantization bin: 2 * max_val / 255 of the width (dx) or height (dy)
        assert np.abs(back[..., 0] - flow[..., 0]).max() <= 0.04 / 255 * 10 / 2 + 1e-6
        assert np.abs(back[..., 1] - flow[..., 1]).max() <= 0.04 / 255 * 6 / 2 + 1e-6
    dx, dy = quantize_flow(np.full((2, 4, 2), 100.0))  # clipped at max_val
    assert dx.dtype == np.uint8 and dx.max() == 254
    np.testing.assert_allclose(dequantize_flow(dx, dy)[..., 0], (254.5 / 255 * 0.04 - 0.02) * 4)
    with pytest.raises(ValueError, match="not a .flo file"):
        flowread(str(tmp_path / "q0.png"))


def test_flow2rgb_colors():
    wheel = make_color_wheel()
    assert wheel.shape == (55, 3)
    np.testing.assert_allclose(wheel[0], [1, 0, 0])     # red
    np.testing.assert_allclose(wheel[15], [1, 1, 0])    # yellow after 15 steps
    flow = np.zeros((2, 3, 2), np.float32)
    flow[0, 0] = (-1, 0)     # the longest vector, pointing left: the middle of the wheel (cyan-blue ramp)
    flow[0, 1] = (np.nan, 0)
    rgb = flow2rgb(flow)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.float32
    np.testing.assert_allclose(rgb[0, 0], wheel[27])
    np.testing.assert_allclose(rgb[0, 0], [0, 9 / 11, 1], rtol=1e-6)
    np.testing.assert_allclose(rgb[0, 1], 0)            # unknown -> black
    np.testing.assert_allclose(rgb[1, 1], 1)            # no motion -> white


def _square(x):
    return x * x


def test_progress_helpers_keep_order_and_count():
    out = io.StringIO()
    assert track_progress(_square, list(range(7)), file=out) == [x * x for x in range(7)]
    assert "7/7" in out.getvalue()
    assert track_progress(_square, (iter(range(3)), 3), file=io.StringIO()) == [0, 1, 4]
    assert list(track_iter_progress(list("abc"), file=io.StringIO())) == ["a", "b", "c"]
    assert track_parallel_progress(_square, list(range(20)), nproc=2, chunksize=3, file=io.StringIO()) == \
        [x * x for x in range(20)]
    unordered = track_parallel_progress(_square, list(range(10)), 2, keep_order=False, skip_first=True,
                                        file=io.StringIO())
    assert sorted(unordered) == [x * x for x in range(10)]
    bar = ProgressBar(2, file=io.StringIO())
    bar.update()
    bar.update()
    assert bar.completed == 2
    with pytest.raises(TypeError, match="tasks must be"):
        track_progress(_square, iter(range(3)))
    with pytest.raises(ValueError, match="nproc"):
        track_parallel_progress(_square, [1], nproc=0)


def test_timer_and_check_time(capsys):
    timer = Timer()
    time.sleep(0.02)
    assert timer.since_last_check() >= 0.015
    assert timer.since_start() >= 0.015 and timer.is_running
    with Timer(print_tmpl="took {:.1f}s"):
        pass
    assert "took 0.0s" in capsys.readouterr().out
    with pytest.raises(TimerError):
        Timer(start=False).since_start()
    assert check_time("tools-test") == 0
    time.sleep(0.01)
    assert check_time("tools-test") >= 0.005
