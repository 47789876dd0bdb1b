"""MMDetection backbones' deprecated ``pretrained=`` argument, turned into ``init_cfg``."""

import warnings


def resolve_init_cfg(owner: str, pretrained, init_cfg, default):
    """``init_cfg`` to use: a ``Pretrained`` entry for a ``pretrained`` path, else ``init_cfg``,
    else ``default`` (what MMDetection uses when neither is given)."""
    if pretrained is not None and init_cfg:
        raise ValueError(f"{owner}: give init_cfg or pretrained, not both (pretrained={pretrained!r})")
    if isinstance(pretrained, str):
        warnings.warn(f"{owner}: pretrained= is deprecated; use init_cfg=dict(type='Pretrained', checkpoint=...)",
                      DeprecationWarning, stacklevel=3)
        return dict(type="Pretrained", checkpoint=pretrained)
    if pretrained is not None:
        raise TypeError(f"{owner}: pretrained must be a str or None, got {type(pretrained).__name__}")
    return default if init_cfg is None else init_cfg


#: MMDetection's initialization of a backbone given neither init_cfg nor pretrained
DEFAULT_BACKBONE_INIT = (dict(type="Kaiming", layer="Conv2d"),
                         dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]))
