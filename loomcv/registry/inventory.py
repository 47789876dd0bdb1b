"""What is registered where: MMEngine's ``traverse_registry_tree`` and ``count_registered_modules``,
used to audit a project's registries (and by tools that list the components one can name)."""

import datetime
import importlib
import json
import os
import os.path as osp
from typing import Optional

from .registry import Registry

#: the loomcv packages whose import registers the built-in components
ENGINE_PACKAGES = ("loomcv.dataset", "loomcv.evaluator", "loomcv.hooks", "loomcv.model", "loomcv.optim",
                   "loomcv.runner", "loomcv.visualization", "loomcv.transforms")


def traverse_registry_tree(registry: Registry, verbose: bool = True) -> list:
    """One dict per registry of ``registry``'s tree (from its root, depth first): ``num_modules``,
    ``scope`` and, per source folder (``'loomcv/model'``), the names registered from it."""
    from loomcv.logging import print_log
    found = []
    stack = [registry.root]
    while stack:
        reg = stack.pop(0)
        reg.import_from_locations()
        info = dict(num_modules=len(reg.module_dict), scope=reg.scope)
        for name, obj in reg.module_dict.items():
            folder = "/".join(getattr(obj, "__module__", "").split(".")[:-1])
            info.setdefault(folder, []).append(name)
        if verbose:
            print_log(f"Find {info['num_modules']} modules in {reg.scope}'s '{reg.name}' registry", "current")
        found.append(info)
        stack[:0] = list(reg.children.values())
    return found


def count_registered_modules(save_path: Optional[str] = None, verbose: bool = True) -> dict:
    """Every root registry's tree (:func:`traverse_registry_tree`) after importing loomcv's
    built-in components; with ``save_path``, also written to
    ``save_path/modules_statistic_results.json``."""
    from loomcv.logging import print_log

    from . import root
    for package in ENGINE_PACKAGES:
        importlib.import_module(package)
    registries = {name: traverse_registry_tree(reg, verbose) for name, reg in root.ROOT_REGISTRIES.items()}
    data = dict(scan_date=datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"), registries=registries)
    if save_path is not None:
        os.makedirs(save_path, exist_ok=True)
        path = osp.join(save_path, "modules_statistic_results.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        if verbose:
            print_log(f"registry statistics written to {path}", "current")
    return data
