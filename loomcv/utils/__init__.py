"""MMEngine's public helpers (``mmengine.utils``) under loomcv, grouped by theme.

``path`` (folders and files), ``sequence`` (type checks and sequence helpers),
``version`` (versions, installed packages, git), ``deprecation`` (deprecated
functions and arguments, overridden methods) and ``progress`` (progress bars
and timers, from :mod:`loomcv.logging`). No torch is imported here.
"""

from loomcv.logging.manager import ManagerMixin
from loomcv.registry.imports import import_modules_from_strings

from .deprecation import deprecated_api_warning, deprecated_function, has_method, is_method_overridden
from .path import check_file_exist, find_vcs_root, fopen, is_abs, is_filepath, mkdir_or_exist, scandir, symlink
from .progress import (ProgressBar, Timer, TimerError, check_time, init_pool, track_iter_progress,
                       track_parallel_progress, track_progress)
from .sequence import (apply_to, concat_list, is_list_of, is_seq_of, is_str, is_tuple_of, slice_list, to_1tuple,
                       to_2tuple, to_3tuple, to_4tuple, to_ntuple)
from .version import digit_version, get_git_hash, get_installed_path, is_installed

__all__ = [
    "ManagerMixin", "import_modules_from_strings",
    "deprecated_api_warning", "deprecated_function", "has_method", "is_method_overridden",
    "check_file_exist", "find_vcs_root", "fopen", "is_abs", "is_filepath", "mkdir_or_exist", "scandir", "symlink",
    "ProgressBar", "Timer", "TimerError", "check_time", "init_pool", "track_iter_progress", "track_parallel_progress",
    "track_progress",
    "apply_to", "concat_list", "is_list_of", "is_seq_of", "is_str", "is_tuple_of", "slice_list", "to_1tuple",
    "to_2tuple", "to_3tuple", "to_4tuple", "to_ntuple",
    "digit_version", "get_git_hash", "get_installed_path", "is_installed",
]
