"""Detection data structures; box helpers live in :mod:`loomdet.structures.bbox`."""
