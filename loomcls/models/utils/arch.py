"""Reading a backbone's ``arch`` argument and the per-layer settings derived from it.

Backbones with a table of sizes (ViT, Swin, RegNet) take ``arch`` as a name
from that table or as a dict that spells the sizes out; the checks on what
comes back (output indices, frozen stages) and the per-layer stochastic depth
rates are the same for all of them.
"""

from typing import Mapping, Sequence, Union

from loomcv.errors import ConfigError, InvalidChoiceError, did_you_mean
from loomcv.validation import owner_name


def select_arch(owner, arch: Union[str, Mapping], arch_zoo: Mapping, essential_keys: Sequence[str],
                allow_extra_keys: bool = True) -> dict:
    """A copy of the settings that ``arch`` names (case-insensitive) or spells out.

    A dict must hold every key of ``essential_keys``; with
    ``allow_extra_keys=False`` it may hold no other key either.
    """
    owner = owner_name(owner)
    if isinstance(arch, str):
        settings = arch_zoo.get(arch.lower())
        if settings is None:
            raise InvalidChoiceError(f"{owner}: unknown arch {arch!r}; choose from {sorted(arch_zoo)} or give a "
                                     f"dict with keys {list(essential_keys)}.{did_you_mean(arch, arch_zoo)}")
        return dict(settings)
    if not isinstance(arch, Mapping):
        raise TypeError(f"{owner}: arch must be a name from {sorted(arch_zoo)} or a dict with keys "
                        f"{list(essential_keys)}, got {type(arch).__name__}")
    missing = [k for k in essential_keys if k not in arch]
    extra = [] if allow_extra_keys else [k for k in arch if k not in essential_keys]
    if missing or extra:
        exactly = "" if allow_extra_keys else "exactly "
        raise ConfigError(f"{owner}: a custom arch dict needs {exactly}the keys {list(essential_keys)}; "
                          f"missing {missing}{f', unknown {extra}' if extra else ''} in {dict(arch)!r}")
    return dict(arch)


def normalize_out_indices(owner, out_indices, num_layers: int) -> tuple:
    """Out indices as non-negative ints (``-1`` is the last layer), validated."""
    owner = owner_name(owner)
    if isinstance(out_indices, int):
        out_indices = [out_indices]
    if not isinstance(out_indices, Sequence):
        raise TypeError(f"{owner}: out_indices must be an int or a sequence, got {type(out_indices).__name__}")
    result = []
    for index in out_indices:
        if not -num_layers <= index < num_layers:
            raise ValueError(f"{owner}: out_indices entry {index} is out of range for {num_layers} layers "
                             f"(use 0..{num_layers - 1} or -{num_layers}..-1)")
        result.append(index % num_layers)
    return tuple(result)


def check_frozen_stages(owner, frozen_stages, last: int) -> int:
    """``frozen_stages`` must be -1 (nothing frozen) up to ``last``."""
    if frozen_stages not in range(-1, last + 1):
        raise ValueError(f"{owner_name(owner)}: frozen_stages must be in -1..{last}, got {frozen_stages!r}")
    return frozen_stages


def drop_path_rates(drop_path_rate: float, num_layers: int) -> list:
    """Stochastic depth per layer: 0 for the first, rising evenly to ``drop_path_rate`` for the last."""
    if num_layers <= 1:
        return [0.0] * num_layers
    return [drop_path_rate * i / (num_layers - 1) for i in range(num_layers)]
