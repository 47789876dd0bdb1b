"""loomcls' registries: children of loomcv's root ones, scope ``loomcls``.

Configs with ``default_scope = 'loomcls'`` (or the aliases ``mmpretrain`` and
``mmcls``) find loomcls' components here first, then loomcv's.
"""

from loomcv.registry import ROOT_REGISTRIES, Registry

_LOCATIONS = {
    "MODELS": ["loomcls.models"],
    "DATASETS": ["loomcls.datasets"],
    "TRANSFORMS": ["loomcls.datasets.transforms"],
    "METRICS": ["loomcls.evaluation"],
    "INFERENCERS": ["loomcls.apis"],
    "HOOKS": ["loomcls.engine"],
    "OPTIM_WRAPPER_CONSTRUCTORS": ["loomcls.engine"],
    "OPTIMIZERS": ["loomcls.engine"],
    "BATCH_AUGMENTS": ["loomcls.models"],
}


def _child(root_name: str, root: Registry) -> Registry:
    return Registry(root.name, parent=root, scope="loomcls", locations=_LOCATIONS.get(root_name, ()))


globals().update({name: _child(name, reg) for name, reg in ROOT_REGISTRIES.items()})

#: Mixup, CutMix... applied by the data preprocessor to whole batches.
BATCH_AUGMENTS = Registry("batch augment", scope="loomcls", locations=_LOCATIONS["BATCH_AUGMENTS"])

__all__ = [*ROOT_REGISTRIES, "BATCH_AUGMENTS"]
