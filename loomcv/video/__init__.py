"""Video and optical flow: VideoReader, frames <-> video, .flo and quantized flow files, flow pictures.

Built on OpenCV with MMCV's names (``mmcv.VideoReader``, ``mmcv.flowread`` ...).
"""

from .io import VideoReader, frames2video, video2frames
from .optflow import (dequantize, dequantize_flow, flow2rgb, flowread, flowwrite, make_color_wheel, quantize,
                      quantize_flow)

__all__ = ["VideoReader", "frames2video", "video2frames", "flowread", "flowwrite", "quantize_flow",
           "dequantize_flow", "quantize", "dequantize", "flow2rgb", "make_color_wheel"]
