"""Task modules of dense and RoI heads: priors, box coders, assigners, samplers.

Importing this package registers all of them in loomdet's TASK_UTILS.
"""

from .assigners import *  # noqa: F401,F403
from .coders import *  # noqa: F401,F403
from .prior_generators import *  # noqa: F401,F403
from .samplers import *  # noqa: F401,F403
