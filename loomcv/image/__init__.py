"""Image IO and numpy image operations (cv2 first, Pillow where asked).

See docs/data.md.
"""

from .backend import current_backend, supported_backends, use_backend
from .colorspace import (bgr2gray, bgr2hls, bgr2hsv, bgr2rgb, bgr2ycbcr, gray2bgr, gray2rgb, hls2bgr, hsv2bgr,
                         imconvert, rgb2bgr, rgb2gray, rgb2ycbcr, ycbcr2bgr, ycbcr2rgb)
from .geometric import (CV2_INTERP, FLIP_DIRECTIONS, PAD_MODES, bbox_clip, bbox_scaling, check_interpolation,
                        cutout, imcrop, imflip, imflip_, impad, impad_to_multiple, imrescale, imresize,
                        imresize_like, imresize_to_multiple, imrotate, imshear, imtranslate, rescale_size,
                        scale_size)
from .io import ImageDecodeError, imfrombytes, imread, imwrite
from .photometric import (adjust_brightness, adjust_color, adjust_contrast, adjust_hue, adjust_lighting,
                          adjust_sharpness, auto_contrast, clahe, equalize, imdenormalize, imequalize, iminvert,
                          imnormalize, imnormalize_, lut_transform, posterize, solarize)
from .tensor import tensor2imgs

__all__ = [
    "use_backend", "supported_backends", "current_backend", "imread", "imfrombytes", "imwrite",
    "ImageDecodeError", "imresize", "imresize_like", "imresize_to_multiple", "imrescale", "rescale_size",
    "scale_size", "imcrop", "impad", "impad_to_multiple", "imflip", "imflip_", "imrotate", "imshear",
    "imtranslate", "cutout", "bbox_clip", "bbox_scaling", "check_interpolation", "CV2_INTERP",
    "FLIP_DIRECTIONS", "PAD_MODES", "imnormalize", "imnormalize_", "imdenormalize", "imconvert", "bgr2rgb",
    "rgb2bgr", "bgr2gray", "rgb2gray", "gray2bgr", "gray2rgb", "bgr2hsv", "hsv2bgr", "bgr2hls", "hls2bgr",
    "rgb2ycbcr", "bgr2ycbcr", "ycbcr2rgb", "ycbcr2bgr", "adjust_brightness", "adjust_color",
    "adjust_contrast", "adjust_sharpness", "adjust_hue", "adjust_lighting", "iminvert", "solarize",
    "posterize", "equalize", "imequalize", "auto_contrast", "lut_transform", "clahe", "tensor2imgs",
]
