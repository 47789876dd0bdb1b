"""Images in class folders, or listed in an annotation file."""

import os
import os.path as osp
from typing import Sequence

from loomcls.registry import DATASETS
from .base_dataset import BaseDataset, list_files

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@DATASETS.register_module()
class CustomDataset(BaseDataset):
    """Your own images.

    Without ``ann_file``: every sub-folder of ``data_root/data_prefix`` is a
    class (sorted names; ``classes`` may fix the order or select some).
    With ``ann_file``: one ``relative/path.jpg label`` per line (or only the
    path with ``with_label=False``). ``extensions`` filters folder scans.
    """

    SOURCE = "your own images"
    LAYOUT = """data_root/data_prefix/
  class_a/xxx.png
  class_b/yyy.jpg
or an ann_file with lines 'class_a/xxx.png 0'"""

    def __init__(self, data_root: str = "", data_prefix="", ann_file: str = "", with_label: bool = True,
                 extensions: Sequence[str] = IMG_EXTENSIONS, metainfo=None, lazy_init: bool = False, **kwargs):
        self.extensions = tuple(extensions)
        self.with_label = with_label
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root, data_prefix=data_prefix,
                         lazy_init=lazy_init, **kwargs)

    def _scan_folders(self, root):
        classes = self.metainfo.get("classes") if self.classes_given else None
        if not self.with_label:
            return [dict(img_path=osp.join(root, p)) for p in list_files(root, self.extensions)]
        folders = sorted(d for d in os.listdir(root) if osp.isdir(osp.join(root, d)))
        if classes is None:
            classes = folders
            self._metainfo["classes"] = tuple(folders)
        missing = [c for c in classes if c not in folders]
        if missing:
            raise FileNotFoundError(f"{type(self).__name__}: no folder for classes {missing} in {root!r} "
                                    f"(found {folders})")
        items = []
        for label, name in enumerate(classes):
            files = list_files(osp.join(root, name), self.extensions)
            items += [dict(img_path=osp.join(root, name, f), gt_label=label) for f in files]
        if not items:
            raise FileNotFoundError(f"{type(self).__name__}: no images with extensions {self.extensions} "
                                    f"in the class folders of {root!r}")
        return items

    def _read_ann_file(self, root):
        items = []
        with open(self.require(self.ann_file), encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                if self.with_label:
                    path, sep, label = line.rpartition(" ")
                    if not sep or not label.lstrip("-").isdigit():
                        raise ValueError(f"{self.ann_file}:{lineno}: expected 'path label', got {line!r}")
                    items.append(dict(img_path=osp.join(root, path), gt_label=int(label)))
                else:
                    items.append(dict(img_path=osp.join(root, line)))
        return items

    def load_data_list(self):
        root = self.data_prefix.get("img_path", "") or self.data_root
        if self.ann_file:
            return self._read_ann_file(root)
        return self._scan_folders(self.require(root))
