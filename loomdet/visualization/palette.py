"""Class colours for drawing detections (MMDetection's ``get_palette`` conventions)."""

from typing import List, Sequence, Tuple, Union

import numpy as np

from loomcv.visualization.colors import color_val_rgb255

Palette = Union[None, str, Tuple[int, int, int], Sequence[Tuple[int, int, int]]]


def get_palette(palette: Palette, num_classes: int) -> List[Tuple[int, int, int]]:
    """``num_classes`` RGB 0-255 colours from a list (one per class), one colour for all
    (an RGB tuple or a matplotlib name), or 'random'/None (the same seeded colours every time)."""
    if not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"get_palette: num_classes must be an int >= 0, got {num_classes!r}")
    if isinstance(palette, list):
        if len(palette) < num_classes:
            raise ValueError(f"get_palette: the palette has {len(palette)} colours for {num_classes} classes")
        return [color_val_rgb255(tuple(c), "palette") for c in palette[:num_classes]]
    if palette is None or palette == "random":
        colors = np.random.RandomState(42).randint(0, 256, size=(num_classes, 3))
        return [tuple(int(v) for v in c) for c in colors]
    if isinstance(palette, (tuple, str)):
        return [color_val_rgb255(palette, "palette")] * num_classes
    raise TypeError(f"get_palette: palette must be a list of RGB tuples, one RGB tuple, a colour name, "
                    f"'random' or None; got {type(palette).__name__}: {palette!r}")


def adaptive_scales(areas: np.ndarray, min_area: int = 800, max_area: int = 30000) -> np.ndarray:
    """Text scale per box, 0.5 for boxes of ``min_area`` px or less up to 1.0 from ``max_area``."""
    return 0.5 + (np.clip(areas, min_area, max_area) - min_area) / (max_area - min_area) * 0.5
