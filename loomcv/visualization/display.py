"""Showing a drawn image in a window (``Visualizer.show``).

A training job usually runs where no window can open. There, showing warns
and returns instead of blocking on an event loop that can never end (what
a non-interactive matplotlib backend would otherwise do with ``wait_time=0``)
or aborting the process (what some OpenCV GUI builds do without a display).
"""

import os
import sys
import warnings
from typing import Any, Optional

import numpy as np


def display_missing() -> Optional[str]:
    """Why no window can open here, or None when one may."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
    return None


def _skip(reason: str) -> None:
    warnings.warn(f"Visualizer.show: cannot open a window ({reason}); nothing is shown. Save the "
                  f"image with add_image (LocalVisBackend writes PNG files) instead.", UserWarning,
                  stacklevel=5)


def wait_continue(figure: Any, timeout: float = 0, continue_key: str = " ") -> int:
    """Keep ``figure``'s window open until ``continue_key`` is pressed, the window
    is closed (returns 1) or ``timeout`` seconds pass (0: no time limit)."""
    from matplotlib.backend_bases import CloseEvent

    if figure.canvas.manager is not None:
        figure.show()
    while True:
        seen = []

        def on_event(event, seen=seen):
            # a closed window wins over a key press arriving in the same loop turn
            if not (seen and isinstance(seen[0], CloseEvent)):
                seen[:] = [event]
            figure.canvas.stop_event_loop()

        ids = [figure.canvas.mpl_connect(kind, on_event) for kind in ("key_press_event", "close_event")]
        try:
            figure.canvas.start_event_loop(timeout)
        finally:
            for cid in ids:
                figure.canvas.mpl_disconnect(cid)
        event = seen[0] if seen else None
        if isinstance(event, CloseEvent):
            return 1
        if event is None or event.key == continue_key:
            return 0


class WindowShower:
    """Holds the window between ``show`` calls, so successive images reuse it."""

    def __init__(self, fig_show_cfg: dict):
        self.fig_show_cfg = dict(fig_show_cfg)
        self.manager = None
        self.cv2_window: Optional[str] = None

    def show(self, image: np.ndarray, win_name: str, wait_time: float, continue_key: str,
             backend: str) -> Any:
        if backend == "matplotlib":
            return self._show_matplotlib(image, win_name, wait_time, continue_key)
        self._show_cv2(image, win_name, wait_time)
        return None

    def _show_matplotlib(self, image, win_name, wait_time, continue_key):
        import matplotlib
        from matplotlib.figure import Figure

        inline = "inline" in str(matplotlib.rcParams["backend"]).lower()
        if not inline and display_missing():
            return _skip(display_missing())
        try:
            import matplotlib.pyplot as plt
            if self.manager is None:
                self.manager = plt.new_figure_manager(num=1, FigureClass=Figure, **self.fig_show_cfg)
            canvas = self.manager.canvas
        except Exception as err:          # e.g. a GUI backend that cannot reach the display
            self.manager = None
            return _skip(f"matplotlib could not create a window: {err}")
        if "inline" in plt.get_backend():
            inline = True
        elif getattr(type(canvas), "required_interactive_framework", None) is None:
            self.manager = None
            return _skip(f"matplotlib backend {plt.get_backend()!r} draws no windows")
        figure = canvas.figure
        figure.clear()
        figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
        ax = figure.add_subplot()
        ax.axis(False)
        ax.imshow(image)
        try:
            self.manager.set_window_title(win_name)
        except Exception:
            pass
        canvas.draw()
        if inline:        # a notebook shows the returned figure
            return figure
        wait_continue(figure, timeout=wait_time, continue_key=continue_key)
        return None

    def _show_cv2(self, image, win_name, wait_time):
        import cv2

        if display_missing():
            return _skip(display_missing())
        window = self.cv2_window or f"loomcv-visualizer-{id(self)}"
        try:
            cv2.namedWindow(window)
            cv2.setWindowTitle(window, win_name)
            cv2.imshow(window, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        except cv2.error as err:          # opencv-python-headless has no windows at all
            return _skip(f"OpenCV has no GUI support here: {str(err).strip().splitlines()[-1]}")
        self.cv2_window = window
        cv2.waitKey(int(np.ceil(wait_time * 1000)))
        return None

    def close(self) -> None:
        if self.manager is not None:
            try:
                self.manager.destroy()
            except Exception:
                pass
            self.manager = None
        if self.cv2_window is not None:
            import cv2
            try:
                cv2.destroyWindow(self.cv2_window)
            except cv2.error:
                pass
            self.cv2_window = None
