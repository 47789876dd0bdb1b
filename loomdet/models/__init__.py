"""Detection models and their parts.

Importing this package registers detectors, backbones, necks, heads, losses
and the data preprocessor in loomdet's MODELS, and task modules (anchor and
point generators, box coders, assigners, samplers) in TASK_UTILS.
"""

from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .dense_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
