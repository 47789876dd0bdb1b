"""The ``loomcv`` command: one module per sub-command, imported only when run."""
