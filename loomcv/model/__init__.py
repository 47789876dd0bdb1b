"""Model base classes, weight initialization, bricks, wrappers and averaged models.

Importing this package registers every built-in model component (bricks in
MODELS, initializers in WEIGHT_INITIALIZERS, wrappers in MODEL_WRAPPERS).
"""

from loomcv.checkpoint import LoadReport, _load_checkpoint, load_checkpoint, load_state_dict

from .averaged_model import BaseAveragedModel, ExponentialMovingAverage, MomentumAnnealingEMA, StochasticWeightAverage
from .base_model import BaseModel, merge_dict
from .base_module import BaseModule, ModuleDict, ModuleList, Sequential
from .bricks import (GELU, Clamp, ConvModule, DepthwiseSeparableConvModule, Dropout, DropPath,
                     HSigmoid, SELayer, Swish, build_activation_layer, build_conv_layer,
                     build_norm_layer, build_padding_layer, drop_path, infer_abbr, is_norm,
                     make_divisible)
from .data_preprocessor import BaseDataPreprocessor, ImgDataPreprocessor, stack_batch
from .separate_ddp import MMSeparateDistributedDataParallel
from .test_time_aug import BaseTTAModel
from .weight_init import (BaseInit, Caffe2XavierInit, ConstantInit, KaimingInit, NormalInit,
                          PretrainedInit, TruncNormalInit, UniformInit, XavierInit,
                          bias_init_with_prob, caffe2_xavier_init, constant_init, initialize, kaiming_init, normal_init,
                          trunc_normal_init, uniform_init, update_init_info, xavier_init)
from .wrappers import (LoomDistributedDataParallel, MMDistributedDataParallel, convert_sync_batchnorm,
                       detect_anomalous_params, is_model_wrapper, revert_sync_batchnorm, unwrap_model)

__all__ = [
    "BaseModule", "Sequential", "ModuleList", "ModuleDict", "BaseModel", "BaseDataPreprocessor",
    "ImgDataPreprocessor", "BaseAveragedModel", "ExponentialMovingAverage", "MomentumAnnealingEMA",
    "ConvModule", "DepthwiseSeparableConvModule", "DropPath", "Dropout", "drop_path", "SELayer",
    "make_divisible", "GELU", "Swish", "HSigmoid", "Clamp", "build_conv_layer", "build_norm_layer",
    "build_activation_layer", "build_padding_layer", "infer_abbr", "is_norm",
    "load_checkpoint", "load_state_dict", "_load_checkpoint", "LoadReport",
    "BaseInit", "ConstantInit", "NormalInit", "UniformInit", "KaimingInit", "XavierInit",
    "TruncNormalInit", "Caffe2XavierInit", "PretrainedInit", "initialize", "update_init_info",
    "constant_init", "normal_init", "uniform_init", "kaiming_init", "xavier_init",
    "trunc_normal_init", "bias_init_with_prob",
    "LoomDistributedDataParallel", "is_model_wrapper", "convert_sync_batchnorm",
    "revert_sync_batchnorm", "unwrap_model", "MMDistributedDataParallel", "StochasticWeightAverage",
    "BaseTTAModel", "stack_batch", "merge_dict", "detect_anomalous_params", "caffe2_xavier_init",
    "MMSeparateDistributedDataParallel",
]
