"""LoadImageFromNDArray: the loading step for images already in memory (inference on arrays)."""

from typing import Dict

import numpy as np

from loomcv.transforms import LoadImageFromFile

from ...registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageFromNDArray(LoadImageFromFile):
    """Take ``results['img']`` (an H x W (x C) array, BGR) as the loaded image, so a test
    pipeline written for files runs on arrays; ``img_path`` becomes None.

    Required Keys: img
    Modified Keys: img (float32 with to_float32), img_path
    Added Keys: img_shape, ori_shape
    """

    def transform(self, results: Dict) -> Dict:
        img = results.get("img")
        if not isinstance(img, np.ndarray):
            raise TypeError(f"{type(self).__name__} needs results['img'] as a numpy array, "
                            f"got {type(img).__name__}")
        if self.to_float32:
            img = img.astype(np.float32)
        results["img_path"] = None
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results
