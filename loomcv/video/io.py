"""Video files through OpenCV: a random-access reader with a frame cache, and
conversion between videos and folders of frames (MMCV's API)."""

import os
import os.path as osp
from collections import OrderedDict
from typing import Iterator, List, Optional, Tuple, Union

import cv2
import numpy as np

from loomcv.image import imread, imwrite


class _FrameCache:
    """The ``capacity`` most recently put frames, by index (least recently used dropped first)."""

    def __init__(self, capacity: int):
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"VideoReader: cache_capacity must be a positive int, got {capacity!r}")
        self.capacity = capacity
        self._frames: "OrderedDict[int, np.ndarray]" = OrderedDict()

    def put(self, key: int, frame: np.ndarray) -> None:
        self._frames[key] = frame
        self._frames.move_to_end(key)
        while len(self._frames) > self.capacity:
            self._frames.popitem(last=False)

    def get(self, key: int) -> Optional[np.ndarray]:
        frame = self._frames.get(key)
        if frame is not None:
            self._frames.move_to_end(key)
        return frame


class VideoReader:
    """Frames of a video file: ``len``, ``fps``, ``resolution``, ``reader[i]``,
    ``reader[a:b]`` (a list), iteration and ``read()``.

    Decoded frames (BGR uint8, as ``cv2.VideoCapture`` gives them) are kept
    in an LRU cache of ``cache_capacity`` frames, so stepping back and forth
    over a few frames does not seek and decode again.
    """

    def __init__(self, filename: str, cache_capacity: int = 10):
        filename = str(filename)
        if not filename.startswith(("https://", "http://")) and not osp.isfile(filename):
            raise FileNotFoundError(f"VideoReader: video file {filename!r} does not exist")
        self._vcap = cv2.VideoCapture(filename)
        if not self._vcap.isOpened():
            raise OSError(f"VideoReader: OpenCV cannot open {filename!r} (unknown codec or not a video)")
        self._cache = _FrameCache(cache_capacity)
        self._position = 0      # the next frame read() returns
        self._capture_at = 0    # the next frame the capture decodes
        self._width = int(self._vcap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self._height = int(self._vcap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._fps = self._vcap.get(cv2.CAP_PROP_FPS)
        self._frame_cnt = int(self._vcap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._fourcc = self._vcap.get(cv2.CAP_PROP_FOURCC)
        self.filename = filename

    # ------------------------------------------------------------------ facts
    @property
    def vcap(self) -> cv2.VideoCapture:
        return self._vcap

    @property
    def opened(self) -> bool:
        return self._vcap.isOpened()

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def resolution(self) -> Tuple[int, int]:
        """(width, height) in pixels."""
        return self._width, self._height

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_cnt(self) -> int:
        return self._frame_cnt

    @property
    def fourcc(self) -> str:
        code = int(self._fourcc)
        return "".join(chr((code >> 8 * i) & 0xFF) for i in range(4))

    @property
    def position(self) -> int:
        """The index of the next frame :meth:`read` returns."""
        return self._position

    # ------------------------------------------------------------------ reading
    def _seek(self, frame_id: int) -> None:
        """Put the capture (and the position) at ``frame_id``."""
        self._vcap.set(cv2.CAP_PROP_POS_FRAMES, frame_id)
        self._capture_at = frame_id
        self._position = frame_id

    def _decode_next(self) -> Optional[np.ndarray]:
        if self._capture_at != self._position:
            self._seek(self._position)
        ok, frame = self._vcap.read()
        if not ok:
            return None
        self._cache.put(self._position, frame)
        self._position += 1
        self._capture_at = self._position
        return frame

    def read(self) -> Optional[np.ndarray]:
        """The next frame, or None after the last one."""
        frame = self._cache.get(self._position)
        if frame is not None:
            self._position += 1
            return frame
        return self._decode_next()

    def get_frame(self, frame_id: int) -> Optional[np.ndarray]:
        """Frame ``frame_id`` (0-based); the next :meth:`read` continues after it."""
        if isinstance(frame_id, bool) or not isinstance(frame_id, (int, np.integer)) \
                or not 0 <= frame_id < self._frame_cnt:
            raise IndexError(f"VideoReader: frame_id must be in [0, {self._frame_cnt - 1}], got {frame_id!r}")
        self._position = int(frame_id)
        return self.read()

    def current_frame(self) -> Optional[np.ndarray]:
        """The frame last returned (None before the first read)."""
        if self._position == 0:
            return None
        return self._cache.get(self._position - 1)

    def __len__(self) -> int:
        return self._frame_cnt

    def __getitem__(self, index: Union[int, slice]) -> Union[np.ndarray, List[np.ndarray]]:
        if isinstance(index, slice):
            return [self.get_frame(i) for i in range(*index.indices(self._frame_cnt))]
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"VideoReader indices must be ints or slices, got {type(index).__name__}")
        if index < 0:
            index += self._frame_cnt
        return self.get_frame(index)

    def __iter__(self) -> Iterator[np.ndarray]:
        self._position = 0
        return self

    def __next__(self) -> np.ndarray:
        frame = self.read()
        if frame is None:
            raise StopIteration
        return frame

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self._vcap.release()

    # ------------------------------------------------------------------ to frames
    def cvt2frames(self, frame_dir: str, file_start: int = 0, filename_tmpl: str = "{:06d}.jpg",
                   start: int = 0, max_num: int = 0, show_progress: bool = True) -> None:
        """Write frames ``start`` .. (``start + max_num``, or the end when 0) as images in ``frame_dir``,
        named ``filename_tmpl.format(file_start + k)``."""
        os.makedirs(frame_dir, exist_ok=True)
        if not 0 <= start < self._frame_cnt:
            raise ValueError(f"VideoReader.cvt2frames: start must be in [0, {self._frame_cnt - 1}], got {start}")
        task_num = self._frame_cnt - start if max_num == 0 else min(self._frame_cnt - start, max_num)
        self._position = start

        def write(k: int) -> None:
            frame = self.read()
            if frame is None:
                raise OSError(f"VideoReader.cvt2frames: {self.filename!r} ends before frame {start + k}")
            imwrite(frame, osp.join(frame_dir, filename_tmpl.format(file_start + k)))

        if show_progress:
            from loomcv.logging.progress import track_progress
            track_progress(write, list(range(task_num)))
        else:
            for k in range(task_num):
                write(k)


def video2frames(video_file: str, frame_dir: str, file_start: int = 0, filename_tmpl: str = "{:06d}.jpg",
                 start: int = 0, max_num: int = 0, show_progress: bool = False) -> int:
    """Write a video's frames as images in ``frame_dir``; returns how many were written."""
    with VideoReader(video_file) as reader:
        reader.cvt2frames(frame_dir, file_start, filename_tmpl, start, max_num, show_progress)
        count = reader.frame_cnt - start if max_num == 0 else min(reader.frame_cnt - start, max_num)
    return count


def frames2video(frame_dir: str, video_file: str, fps: float = 30, fourcc: str = "XVID",
                 filename_tmpl: str = "{:06d}.jpg", start: int = 0, end: int = 0,
                 show_progress: bool = True) -> None:
    """Encode the images ``filename_tmpl.format(start)`` .. ``format(end - 1)`` of ``frame_dir``
    (``end=0``: every file in the folder) into ``video_file``; the first frame sets the size."""
    if end == 0:
        ext = filename_tmpl.split(".")[-1]
        end = len([name for name in os.listdir(frame_dir) if name.endswith(ext)])
    if end <= start:
        raise ValueError(f"frames2video: no frames to write (start={start}, end={end}) in {frame_dir!r}")
    if len(fourcc) != 4:
        raise ValueError(f"frames2video: fourcc must be 4 characters such as 'XVID' or 'mp4v', got {fourcc!r}")
    first = osp.join(frame_dir, filename_tmpl.format(start))
    if not osp.isfile(first):
        raise FileNotFoundError(f"frames2video: first frame {first!r} does not exist")
    height, width = imread(first).shape[:2]
    folder = osp.dirname(osp.abspath(video_file))
    os.makedirs(folder, exist_ok=True)
    writer = cv2.VideoWriter(str(video_file), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"frames2video: OpenCV cannot write {video_file!r} with fourcc {fourcc!r}")

    def write(index: int) -> None:
        path = osp.join(frame_dir, filename_tmpl.format(index))
        if not osp.isfile(path):
            raise FileNotFoundError(f"frames2video: frame {path!r} does not exist")
        frame = imread(path)
        if frame.shape[:2] != (height, width):
            raise ValueError(f"frames2video: {path!r} is {frame.shape[1]}x{frame.shape[0]}, the first frame "
                             f"{width}x{height}; all frames must have one size")
        writer.write(frame)

    try:
        if show_progress:
            from loomcv.logging.progress import track_progress
            track_progress(write, list(range(start, end)))
        else:
            for index in range(start, end):
                write(index)
    finally:
        writer.release()
