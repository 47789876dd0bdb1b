"""loomcv's box-aware RandomCrop and classification's padding RandomCrop share a name: the
default scope decides, as MMEngine's building from the default scope's registry does."""

from loomcv.registry import MODELS, TRANSFORMS, default_scope
from loomcv.transforms import RandomCrop


def test_the_default_scope_picks_which_random_crop():
    from loomcls.registry import TRANSFORMS as CLS_TRANSFORMS
    cls_crop = CLS_TRANSFORMS.get("RandomCrop")
    assert cls_crop is not RandomCrop and cls_crop.__module__.startswith("loomcls")
    assert TRANSFORMS.get("RandomCrop") is RandomCrop and TRANSFORMS.get("loomcv.RandomCrop") is RandomCrop
    with default_scope("loomcls"):
        assert TRANSFORMS.get("RandomCrop") is cls_crop          # the toolbox's name wins in its scope
        assert TRANSFORMS.get("loomcv.RandomCrop") is RandomCrop  # a scoped name still reaches loomcv's
        assert TRANSFORMS.build(dict(type="RandomCrop", crop_size=8, padding=2)).padding is not None
    with default_scope("mmpretrain"):                             # an alias of loomcls
        assert TRANSFORMS.get("RandomCrop") is cls_crop
    with default_scope("loomdet"):                                # loomdet has none: loomcv's
        assert TRANSFORMS.get("RandomCrop") is RandomCrop


def test_a_toolbox_registry_keeps_its_own_names_under_a_sibling_scope():
    from loomcls.registry import MODELS as CLS_MODELS
    from loomdet.registry import MODELS as DET_MODELS
    CLS_MODELS.import_from_locations()
    DET_MODELS.import_from_locations()
    shared = sorted(set(CLS_MODELS.module_dict) & set(DET_MODELS.module_dict))
    assert shared, "both toolboxes register some model names (e.g. CrossEntropyLoss)"
    with default_scope("loomcls"):
        for name in shared:
            assert DET_MODELS.get(name) is DET_MODELS.module_dict[name]
    assert MODELS.get("loomdet." + shared[0]) is DET_MODELS.module_dict[shared[0]]
