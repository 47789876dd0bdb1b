"""loomcv: a config-driven training framework for PyTorch.

Importing the package is cheap on purpose: the engine's parts (and torch) load
only when a sub-package that needs them is imported.
"""

__version__ = "0.1.0"
