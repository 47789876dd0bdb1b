"""Detection models and their parts.

Importing this package registers losses in loomdet's MODELS and task modules
(anchor generators, box coders, assigners, samplers) in TASK_UTILS.
"""

from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
