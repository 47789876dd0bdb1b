"""Config files with ``_base_`` inheritance, references and provenance.

See docs/config.md. Nothing here imports torch.
"""

from .config import MISSING, Config
from .config_dict import ConfigDict
from .lazy import LazyAttr, LazyObject, read_base
from .options import DictAction, parse_option_value, parse_options

__all__ = ["Config", "ConfigDict", "DictAction", "parse_option_value", "parse_options", "MISSING", "LazyObject",
           "LazyAttr", "read_base"]
