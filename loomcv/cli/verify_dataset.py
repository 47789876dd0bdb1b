"""``loomcv verify-dataset CONFIG [--split train|val|test]``: find the samples a pipeline cannot load.

Every sample of the split's dataset goes through its pipeline in worker
processes (each builds the dataset from the config once); the broken ones are
listed with their file and the error, and the command exits with 1 if there
are any. A sample that the pipeline drops (a transform returned None) is
listed too. ``--out broken.json`` also writes the list.
"""

import argparse
import json
import os
import os.path as osp
from typing import Any, Optional, Tuple

SPLITS = ("train", "val", "test")

_DATASET = None  # the dataset of one worker process, built by _init_worker


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcv.config import DictAction
    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument("--split", choices=SPLITS, default="train", help="which <split>_dataloader's dataset")
    parser.add_argument("--num-workers", type=int, default=min(4, os.cpu_count() or 1),
                        help="worker processes (0: check in this process)")
    parser.add_argument("--out", help="also write the broken samples to this JSON file")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: a.b=1")


def pipeline_owner(dataset: Any) -> Any:
    """The dataset inside wrappers (Repeat, ClassBalanced, Concat's first) that runs the pipeline."""
    while not hasattr(dataset, "prepare_data"):
        if hasattr(dataset, "dataset"):
            dataset = dataset.dataset
        elif getattr(dataset, "datasets", None):
            dataset = dataset.datasets[0]
        else:
            raise TypeError(f"verify-dataset: {type(dataset).__name__} has no pipeline (prepare_data) to run")
    return dataset


def build_dataset(dataset_cfg: dict, scope: Optional[str], custom_imports: Optional[dict]):
    from loomcv.registry import DATASETS, import_custom_modules, init_default_scope
    if custom_imports:
        import_custom_modules(custom_imports)
    if scope:
        init_default_scope(scope)
    dataset = pipeline_owner(DATASETS.build(dict(dataset_cfg, lazy_init=False) if "lazy_init" in dataset_cfg
                                            else dataset_cfg))
    if hasattr(dataset, "full_init"):
        dataset.full_init()
    return dataset


def _init_worker(dataset_cfg: dict, scope: Optional[str], custom_imports: Optional[dict]) -> None:
    global _DATASET
    _DATASET = build_dataset(dataset_cfg, scope, custom_imports)


def check_sample(idx: int) -> Optional[Tuple[int, str, str]]:
    """None if sample ``idx`` loads, else (idx, its file, the reason)."""
    from loomcv.dataset.broken import sample_source
    dataset = _DATASET
    try:
        info = dataset.get_data_info(idx)
    except Exception as err:  # a bad annotation entry
        return idx, f"sample {idx}", f"{type(err).__name__}: {err}"
    source = sample_source(info, idx)
    try:
        data = dataset.pipeline(info)
    except Exception as err:
        return idx, source, f"{type(err).__name__}: {err}"
    if data is None:
        return idx, source, "dropped by the pipeline (a transform returned None)"
    return None


def run(args: argparse.Namespace) -> int:
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    from loomcv.logging.progress import track_parallel_progress, track_progress

    if args.num_workers < 0:
        raise ValueError(f"--num-workers must be >= 0, got {args.num_workers}")
    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    key = f"{args.split}_dataloader"
    loader = cfg.get(key)
    if not loader or "dataset" not in loader:
        raise KeyError(f"verify-dataset: the config has no `{key}.dataset`")
    to_dict = getattr(loader["dataset"], "to_dict", None)
    dataset_cfg = to_dict() if callable(to_dict) else dict(loader["dataset"])
    custom = cfg.get("custom_imports")
    custom = dict(custom) if custom else None
    scope = cfg.get("default_scope")
    _init_worker(dataset_cfg, scope, custom)  # here too: the sample count, and the check without workers
    indices = list(range(len(_DATASET)))
    print(f"checking {len(indices)} samples of the {args.split} set of {osp.basename(cfg.filename or args.config)}")
    if args.num_workers == 0 or len(indices) < 2:
        results = track_progress(check_sample, indices)
    else:
        results = track_parallel_progress(check_sample, indices, args.num_workers, initializer=_init_worker,
                                          initargs=(dataset_cfg, scope, custom), chunksize=8)
    broken = [r for r in results if r is not None]
    for idx, source, reason in broken:
        print(f"broken sample {idx}: {source}: {reason}")
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump([dict(index=i, file=s, reason=r) for i, s, r in broken], f, indent=1)
    print(f"{len(broken)} of {len(indices)} samples are broken" if broken else f"all {len(indices)} samples load")
    return 1 if broken else 0
