"""BaseDetDataset: what every detection dataset adds to loomcv's BaseDataset.

Each entry of the data list is MMDetection 3.x's ``data_info``: ``img_path``,
``img_id``, ``height``, ``width`` and ``instances`` (``bbox`` as
[x1, y1, x2, y2], ``bbox_label``, ``ignore_flag``, optionally ``mask``).
On top of the engine's loading it checks that the listed images exist and
logs a short summary (images, instances per class, images dropped by
``filter_cfg``), because a dataset that silently loses its labels trains to
mAP 0 without one error.
"""

import logging
import os.path as osp
from collections import Counter
from typing import List, Optional

from loomcv import fileio
from loomcv.dataset import BaseDataset
from loomcv.errors import ConfigError
from loomcv.logging import print_log

from ..registry import DATASETS


def _is_local(path: str, backend_args: Optional[dict]) -> bool:
    backend = (backend_args or {}).get("backend", "local")
    return backend in ("local", "disk") and "://" not in str(path)


def format_summary(title: str, rows: List[tuple], notes: List[str], class_counts: List[tuple]) -> str:
    """A plain-text block: ``rows`` of (name, value), per-class counts in columns, then ``notes``."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(str(name), str(value))
    per_class = None
    if class_counts:
        columns = min(3, len(class_counts))
        per_class = Table(box=None, pad_edge=False)
        for _ in range(columns):
            per_class.add_column("class")
            per_class.add_column("instances", justify="right")
        cells = [item for name, count in class_counts for item in (str(name), str(count))]
        cells += [""] * (-len(cells) % (2 * columns))
        for start in range(0, len(cells), 2 * columns):
            per_class.add_row(*cells[start:start + 2 * columns])
    console = Console(file=StringIO(), width=110, color_system=None)
    console.print(title, highlight=False)
    console.print(table)
    if per_class is not None:
        console.print(per_class)
    for note in notes:
        console.print(note, highlight=False)
    return console.file.getvalue().rstrip()


@DATASETS.register_module()
class BaseDetDataset(BaseDataset):
    """Detection dataset base (MMDetection 3.x's arguments on top of loomcv's BaseDataset).

    Args:
        seg_map_suffix: suffix of the semantic segmentation map next to each image.
        proposal_file: precomputed proposals, a dict keyed by ``<folder>/<file name>``.
        backend_args: storage backend of the annotation and image files.
        return_classes: put the class names in each entry as ``text`` (open-vocabulary models).
        file_client_args: MMDetection <= 3.0.0rc6's name; refused, use ``backend_args``.
        log_summary: log the dataset summary once the annotations are loaded.
    Other arguments: those of :class:`loomcv.dataset.BaseDataset`.
    """

    def __init__(self, *args, seg_map_suffix: str = ".png", proposal_file: Optional[str] = None,
                 file_client_args: Optional[dict] = None, backend_args: Optional[dict] = None,
                 return_classes: bool = False, log_summary: bool = True, **kwargs):
        if file_client_args is not None:
            raise ConfigError(f"{type(self).__name__}: `file_client_args` is no longer supported; give "
                              f"`backend_args` instead (e.g. backend_args=None for local files)")
        if backend_args is not None and not isinstance(backend_args, dict):
            raise ConfigError(f"{type(self).__name__}: backend_args must be a dict or None, got {backend_args!r}")
        self.seg_map_suffix = seg_map_suffix
        self.proposal_file = proposal_file
        self.backend_args = backend_args
        self.return_classes = return_classes
        self.log_summary = log_summary
        #: lines the loading step adds to the summary (skipped annotations and the like)
        self.summary_notes: List[str] = []
        self.summary: str = ""
        self._filter_counts: Counter = Counter()
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ loading
    def full_init(self) -> None:
        """Load, add proposals, filter, check the images exist, subset, serialize; then log a summary."""
        if self._fully_initialized:
            return
        self.summary_notes = []
        self._filter_counts = Counter()
        self.data_list = self.load_data_list()
        if not isinstance(self.data_list, list):
            raise TypeError(f"{type(self).__name__}.load_data_list() must return a list of dicts, "
                            f"got {type(self.data_list).__name__}")
        if self.proposal_file is not None:
            self.load_proposals()
        loaded = len(self.data_list)
        self.data_list = self.filter_data()
        filtered = len(self.data_list)
        if self._indices is not None:
            self.data_list = self._subset(self.data_list, self._indices)
        self.check_images_exist(self.data_list)
        self.summary = self.dataset_summary(loaded, filtered)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize(self.data_list)
            self.data_list = []
        self._fully_initialized = True
        if self.log_summary:
            print_log(self.summary, "current", logging.INFO)

    def check_model(self, model) -> None:
        """The detector's heads must predict as many classes as the dataset names: called once by
        the Runner when a loop is built. A mismatch otherwise trains without error and evaluates
        to an mAP of 0 (the trap MMDetection's users report most often with custom data)."""
        classes = self.metainfo.get("classes")
        if classes is None:
            return
        where = f"{type(self).__name__} ({self.ann_file})" if self.ann_file else type(self).__name__
        if isinstance(classes, str):
            raise ConfigError(f"{where}: metainfo classes is the string {classes!r}, read as "
                              f"{len(classes)} one-letter classes; write classes=({classes!r},) with a comma")
        for path, head in class_heads(model):
            if head.num_classes != len(classes):
                shown = ", ".join(map(repr, list(classes)[:5])) + (", ..." if len(classes) > 5 else "")
                raise ConfigError(
                    f"{where}: the dataset has {len(classes)} classes ({shown}) but model.{path}.num_classes="
                    f"{head.num_classes}; set model.{path}.num_classes={len(classes)}, or give the dataset "
                    f"metainfo=dict(classes=(...)) with the {head.num_classes} classes the model predicts")

    def load_proposals(self) -> None:
        """Attach ``proposals`` to each entry from ``proposal_file`` (keyed by ``<folder>/<file name>``)."""
        path = self.proposal_file
        if self.data_root and not osp.isabs(path) and "://" not in path:
            path = osp.join(self.data_root, path)
        proposals = fileio.load(path, backend_args=self.backend_args)
        if not isinstance(proposals, dict):
            raise ConfigError(f"{type(self).__name__}: proposal_file {path!r} must hold a dict keyed by "
                              f"'<folder>/<image file>', got {type(proposals).__name__}")
        for info in self.data_list:
            folder, name = osp.split(info["img_path"])
            key = osp.join(osp.basename(folder), name)
            if key not in proposals:
                raise KeyError(f"{type(self).__name__}: proposal_file {path!r} has no proposals for {key!r}")
            info["proposals"] = proposals[key]

    def check_images_exist(self, data_list: List[dict]) -> None:
        """A FileNotFoundError naming the listed images that are not on disk (local files only)."""
        if not _is_local(self.data_prefix.get("img", self.data_root) or ".", self.backend_args):
            return
        missing = [info["img_path"] for info in data_list
                   if info.get("img_path") and "://" not in str(info["img_path"]) and not osp.isfile(info["img_path"])]
        if missing:
            shown = "\n    ".join(missing[:5])
            more = f"\n    ... and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise FileNotFoundError(
                f"{type(self).__name__}: {len(missing)} of the {len(data_list)} images that {self.ann_file!r} "
                f"lists do not exist:\n    {shown}{more}\n  Check data_root ({self.data_root!r}) and "
                f"data_prefix ({self.data_prefix!r}).")

    def get_cat_ids(self, idx: int) -> List[int]:
        """The labels of the instances of entry ``idx`` (ClassBalancedDataset uses them)."""
        return [int(instance["bbox_label"]) for instance in self.get_data_info(idx).get("instances", [])]

    # ------------------------------------------------------------------ summary
    def count_dropped(self, reason: str, count: int = 1) -> None:
        """Record that ``filter_data`` dropped ``count`` images for ``reason`` (shown in the summary)."""
        self._filter_counts[reason] += count

    def dataset_summary(self, loaded: int, filtered: Optional[int] = None) -> str:
        """Images loaded and kept, what filter_cfg dropped, instances per class, and the loading notes."""
        classes = list(self._metainfo.get("classes") or ())
        counts: Counter = Counter()
        ignored = 0
        for info in self.data_list:
            for instance in info.get("instances", []):
                if instance.get("ignore_flag", 0):
                    ignored += 1
                else:
                    counts[int(instance["bbox_label"])] += 1
        kept = len(self.data_list)
        dropped = loaded - (kept if filtered is None else filtered)
        reasons = ", ".join(f"{n} {why}" for why, n in self._filter_counts.items() if n)
        rows = [("annotation file", self.ann_file or "-"),
                ("mode", "test" if self.test_mode else "train"),
                ("images", f"{kept} (of {loaded} listed)"
                 + (f"; `indices` kept {kept} of {filtered}"
                    if filtered is not None and filtered != kept else "")),
                ("dropped by filter_cfg", f"{dropped}" + (f" ({reasons})" if reasons else "")
                 + (f"  filter_cfg={self.filter_cfg}" if self.filter_cfg else "")),
                ("instances", f"{sum(counts.values())}" + (f" (+{ignored} ignored/crowd)" if ignored else "")),
                ("classes", len(classes))]
        class_counts = [(name, counts.get(i, 0)) for i, name in enumerate(classes)]
        notes = list(self.summary_notes)
        empty = [name for name, count in class_counts if count == 0]
        if empty and kept:
            notes.append(f"warning: {len(empty)} class(es) have no instance: {', '.join(map(str, empty[:10]))}"
                         + (" ..." if len(empty) > 10 else ""))
        return format_summary(f"{type(self).__name__} summary", rows, notes, class_counts)


def class_heads(model):
    """(path, module) of the detector's classifying heads: ``bbox_head``/``mask_head`` modules with
    an int ``num_classes`` (the RPN's one class is not the dataset's)."""
    for path, module in model.named_modules():
        found = getattr(module, "num_classes", None)
        if (path.split(".")[-1] in ("bbox_head", "mask_head") and isinstance(found, int)
                and not isinstance(found, bool)):
            yield path, module
