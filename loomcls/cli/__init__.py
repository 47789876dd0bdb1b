"""loomcls' sub-commands of the ``loomcv`` command (declared in :mod:`loomcls.toolbox`)."""
