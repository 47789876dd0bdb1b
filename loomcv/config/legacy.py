"""Translation of MMCV 1.x / MMClassification 0.x configs (issue 8; not built yet).

For now the hook only passes configs through unchanged.
"""


def maybe_translate(cfg):
    return cfg
