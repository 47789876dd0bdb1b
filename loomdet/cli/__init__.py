"""loomdet's sub-commands of ``loomcv`` (declared in :mod:`loomdet.toolbox`)."""
