"""Visualizer: sends scalars, images and the config to every configured vis backend.

Built by the runner from ``visualizer=dict(type='Visualizer', vis_backends=[...])``
with ``save_dir`` set to the run's log folder; backends write under
``<save_dir>/vis_data``. Hooks find it again with ``Visualizer.get_current_instance()``.
"""

import os.path as osp
from collections import OrderedDict
from typing import Any, List, Mapping, Optional, Sequence, Union

from loomcv.logging import ManagerMixin
from loomcv.registry import VISBACKENDS, VISUALIZERS

from .backends import BaseVisBackend, to_image


@VISUALIZERS.register_module()
class Visualizer(ManagerMixin):
    """Args:
        name: instance name (``Visualizer.get_instance(name)``).
        image: an RGB image to start from (``set_image``).
        vis_backends: a backend config, or a list of configs / backend objects.
            A config may carry ``name`` (default: its type) to tell two apart.
        save_dir: the log folder; backends write to ``<save_dir>/vis_data``.
            Without it, configured backends are dropped (nothing to write to).
    """

    def __init__(self, name: str = "visualizer", image: Any = None,
                 vis_backends: Union[None, Mapping, BaseVisBackend, Sequence] = None,
                 save_dir: Optional[str] = None, **kwargs):
        super().__init__(name)
        unknown = sorted(set(kwargs) - {"fig_save_cfg", "fig_show_cfg"})
        if unknown:
            raise TypeError(f"Visualizer got unexpected argument(s) {unknown}")
        self.dataset_meta: Optional[dict] = None   # class names etc., for drawing
        self._image = None if image is None else to_image(image, "Visualizer")
        self._vis_backends: "OrderedDict[str, BaseVisBackend]" = OrderedDict()
        if vis_backends is None or save_dir is None:
            return
        if isinstance(vis_backends, (Mapping, BaseVisBackend)):
            vis_backends = [vis_backends]
        data_dir = osp.join(save_dir, "vis_data")
        for item in vis_backends:
            if isinstance(item, BaseVisBackend):
                backend, key = item, type(item).__name__
            elif isinstance(item, Mapping):
                cfg = dict(item)
                key = cfg.pop("name", None)
                backend = VISBACKENDS.build(cfg, default_args=dict(save_dir=data_dir))
                key = key or type(backend).__name__
            else:
                raise TypeError(f"Visualizer: each of vis_backends must be a dict config or a vis backend, "
                                f"got {type(item).__name__}: {item!r}")
            if key in self._vis_backends:
                raise ValueError(f"Visualizer: two vis backends are both named {key!r}; give them "
                                 f"different 'name' keys")
            self._vis_backends[key] = backend

    # -- backends ------------------------------------------------------------------------
    @property
    def vis_backends(self) -> "OrderedDict[str, BaseVisBackend]":
        return self._vis_backends

    def get_backend(self, name: str) -> Optional[BaseVisBackend]:
        """The backend called ``name`` (its config ``name`` or type), or None."""
        return self._vis_backends.get(name)

    # -- the image being drawn -----------------------------------------------------------
    def set_image(self, image: Any) -> None:
        self._image = to_image(image, "Visualizer")

    def get_image(self) -> Any:
        """The current RGB image (subclasses draw on it before ``add_image``)."""
        if self._image is None:
            raise RuntimeError("Visualizer has no image; call set_image(image) first")
        return self._image

    # -- logging to backends -------------------------------------------------------------
    def add_config(self, config: Any, **kwargs) -> None:
        for backend in self._vis_backends.values():
            backend.add_config(config, **kwargs)

    def add_graph(self, model: Any, data_batch: Any = None, **kwargs) -> None:
        for backend in self._vis_backends.values():
            backend.add_graph(model, data_batch, **kwargs)

    def add_image(self, name: str, image: Any, step: int = 0) -> None:
        for backend in self._vis_backends.values():
            backend.add_image(name, image, step)

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        for backend in self._vis_backends.values():
            backend.add_scalar(name, value, step, **kwargs)

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        for backend in self._vis_backends.values():
            backend.add_scalars(scalar_dict, step, file_path, **kwargs)

    def add_datasample(self, name: str, image: Any, data_sample: Any = None, step: int = 0,
                       **kwargs) -> None:
        """Draw a prediction on ``image``; task visualizers (loomcls) override this.

        The base class has no task to draw, so it logs the plain image.
        """
        self.add_image(name, image, step)

    def close(self) -> None:
        """Flush and close every backend (call at the end of a run)."""
        for backend in self._vis_backends.values():
            backend.close()
