"""Classification models: classifiers, backbones, necks, heads, losses, batch augments.

Importing this package registers all of them in loomcls' registries.
"""

from .backbones import *  # noqa: F401,F403
from .batch_augments import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .data_preprocessor import ClsDataPreprocessor  # noqa: F401
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
