"""Image IO and numpy image operations (cv2 first, Pillow where asked).

See docs/data.md.
"""

from .geometric import (CV2_INTERP, FLIP_DIRECTIONS, PAD_MODES, bbox_clip, bbox_scaling, check_interpolation,
                        cutout, imcrop, imflip, impad, impad_to_multiple, imrescale, imresize, imrotate,
                        imshear, imtranslate, rescale_size)
from .io import ImageDecodeError, imfrombytes, imread, imwrite
from .photometric import (adjust_brightness, adjust_color, adjust_contrast, adjust_hue, adjust_lighting,
                          adjust_sharpness, auto_contrast, bgr2gray, bgr2hsv, bgr2rgb, equalize, gray2bgr,
                          gray2rgb, hsv2bgr, imconvert, imdenormalize, iminvert, imnormalize, imnormalize_,
                          posterize, rgb2bgr, rgb2gray, solarize)

__all__ = [
    "imread", "imfrombytes", "imwrite", "ImageDecodeError", "imresize", "imrescale",
    "rescale_size", "imcrop", "impad", "impad_to_multiple", "imflip", "imrotate", "imshear", "imtranslate",
    "cutout", "bbox_clip", "bbox_scaling", "check_interpolation", "CV2_INTERP", "FLIP_DIRECTIONS",
    "PAD_MODES", "imnormalize", "imnormalize_", "imdenormalize", "imconvert", "bgr2rgb", "rgb2bgr",
    "bgr2gray", "rgb2gray", "gray2bgr", "gray2rgb", "bgr2hsv", "hsv2bgr", "adjust_brightness",
    "adjust_color", "adjust_contrast", "adjust_sharpness", "adjust_hue", "adjust_lighting", "iminvert",
    "solarize", "posterize", "equalize", "auto_contrast",
]
