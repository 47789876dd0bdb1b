"""Classification metrics, registered in loomcls' METRICS."""

from .metrics import *  # noqa: F401,F403
