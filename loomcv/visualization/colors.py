"""Colors for drawing: names, RGB tuples in 0-255 and lists of them.

Users write colors the MMEngine way: a matplotlib name or hex string
(``'g'``, ``'red'``, ``'#ff8800'``, ``'none'``) or an RGB tuple of 0-255 values
(``(255, 0, 0)``); a list gives one color per drawn item. matplotlib wants
tuples in 0-1 and OpenCV-style pixel blending wants 0-255, so both
conversions live here. matplotlib is imported only when a name is checked.
"""

from typing import Any, List, Sequence, Tuple, Union

Color = Union[str, Tuple[float, ...]]

_HELP = ("a color is a matplotlib name or hex string ('g', 'red', '#ff0000', 'none') "
         "or an RGB tuple of three 0-255 numbers")


def _rgb_tuple(color: Any, owner: str) -> Tuple[float, ...]:
    """Check an RGB 0-255 tuple (or array of 3) and return it as a tuple of numbers."""
    if hasattr(color, "tolist") and not isinstance(color, tuple):   # a numpy array of 3
        color = tuple(color.tolist())
    if len(color) != 3 or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in color):
        raise ValueError(f"{owner}: {_HELP}; got {color!r}")
    if not all(0 <= c <= 255 for c in color):
        raise ValueError(f"{owner}: RGB color values must lie in 0-255, got {color!r}")
    return tuple(color)


def _check_name(color: str, owner: str) -> str:
    from matplotlib.colors import is_color_like
    if not is_color_like(color):
        raise ValueError(f"{owner}: unknown color {color!r}; {_HELP}")
    return color


def _is_single(color: Any) -> bool:
    return isinstance(color, (str, tuple)) or (hasattr(color, "shape") and getattr(color, "ndim", 0) == 1)


def color_val_matplotlib(colors: Union[Color, Sequence[Color]], owner: str = "color") -> Union[Color, List[Color]]:
    """A color (or list of colors) in the form matplotlib draws with.

    Names pass through (after a check), RGB tuples in 0-255 become 0-1 tuples.
    """
    if isinstance(colors, str):
        return _check_name(colors, owner)
    if _is_single(colors):
        return tuple(c / 255 for c in _rgb_tuple(colors, owner))
    if isinstance(colors, list):
        for color in colors:
            if not _is_single(color):
                raise ValueError(f"{owner}: each item of a color list must be one color; {_HELP}; "
                                 f"got {color!r}")
        return [color_val_matplotlib(color, owner) for color in colors]
    raise TypeError(f"{owner}: {_HELP}, or a list of those; got {type(colors).__name__}: {colors!r}")


def color_str2rgb(color: str) -> Tuple[int, int, int]:
    """A matplotlib color name as an RGB tuple of 0-255 ints (alpha dropped)."""
    from matplotlib.colors import to_rgb
    _check_name(color, "color_str2rgb")
    return tuple(int(c * 255) for c in to_rgb(color))


def color_val_rgb255(color: Color, owner: str = "color") -> Tuple[int, int, int]:
    """One color as 0-255 RGB ints, for blending pixels with OpenCV."""
    if isinstance(color, str):
        _check_name(color, owner)
        return color_str2rgb(color)
    return tuple(int(round(c)) for c in _rgb_tuple(color, owner))


def colors_per_item(colors: Any, count: int, owner: str) -> List[Color]:
    """``count`` colors: one color repeated, or the first ``count`` of a list
    (a shorter list is an error)."""
    if _is_single(colors):
        return [colors] * count
    if not isinstance(colors, list):
        raise TypeError(f"{owner}: {_HELP}, or a list of those; got {type(colors).__name__}: {colors!r}")
    if len(colors) < count:
        raise ValueError(f"{owner}: got {len(colors)} colors for {count} items; give one color "
                         f"or at least one per item")
    return list(colors[:count])
