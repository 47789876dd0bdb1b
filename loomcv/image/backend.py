"""Which library decodes images and runs the pixel ops that have two implementations.

``use_backend('pillow')`` changes the default of every ``backend=None`` argument
(``imread``, ``imfrombytes``, ``imresize``, ``adjust_brightness`` ...), as
``mmcv.use_backend`` does. MMCV also lists 'turbojpeg' and 'tifffile'; loomcv
decodes with cv2 or Pillow only and says so when asked for another.
"""

from loomcv.validation import check_choice

#: the backends ``use_backend`` accepts
supported_backends = ["cv2", "pillow"]
_MMCV_ONLY = ("turbojpeg", "tifffile")
_state = {"backend": "cv2"}


def use_backend(backend: str) -> None:
    """Make ``backend`` ('cv2' or 'pillow') the default image backend of this process."""
    if backend in _MMCV_ONLY:
        raise ValueError(f"use_backend: {backend!r} is an MMCV backend loomcv does not implement; "
                         f"choose one of {supported_backends}")
    check_choice("use_backend", "backend", backend, supported_backends)
    _state["backend"] = backend


def current_backend() -> str:
    """The backend that ``backend=None`` means now ('cv2' unless ``use_backend`` changed it)."""
    return _state["backend"]


def resolve_backend(backend, owner: str) -> str:
    """``backend`` itself, or the current default for None; refuses unknown names."""
    backend = current_backend() if backend is None else backend
    check_choice(owner, "backend", backend, supported_backends)
    return backend
