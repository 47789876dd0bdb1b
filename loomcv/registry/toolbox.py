"""Toolboxes: packages that extend loomcv by declaring themselves, never by editing it.

A toolbox (loomcv's own task packages, or a user's) publishes one
:class:`Toolbox` under the ``loomcv.toolboxes`` entry-point group::

    # pyproject.toml of the toolbox
    [project.entry-points."loomcv.toolboxes"]
    mytask = "mytask.toolbox:TOOLBOX"

    # mytask/toolbox.py (keep it light: no torch, no models)
    TOOLBOX = Toolbox(scope="mytask", aliases=("oldname",),
                      commands={"infer": ("mytask.cli.infer", "run a model on images")})

From that declaration loomcv finds the toolbox's registries (``mytask.Type``,
``default_scope='mytask'``), its shipped configs (``loomcv train NAME``,
``_base_ = 'mytask::path.py'``), the scope aliases it answers to
(``custom_imports=dict(imports='oldname.models')``), its CLI commands and the
names that moved out of loomcv into it. Declarations are read lazily, on the
first question, so importing loomcv imports no toolbox.
"""

import importlib
import importlib.util
import os.path as osp
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

ENTRY_POINT_GROUP = "loomcv.toolboxes"

#: The engine's own scope and the OpenMMLab names it answers to.
ENGINE_SCOPE = "loomcv"
ENGINE_ALIASES = ("mmengine", "mmcv")


@dataclass(frozen=True)
class Toolbox:
    """What a toolbox tells loomcv about itself.

    Args:
        scope: its registry scope, also its import package unless ``package`` says otherwise.
        aliases: other scope names that mean this toolbox (``'mmpretrain'``).
        package: the import package (default: ``scope``).
        registry: the module whose import creates its child registries
            (default: ``<package>.registry``).
        config_dir: its shipped configs, relative to the package folder.
        commands: CLI sub-commands it adds: name -> (module, one-line help);
            the module has ``add_arguments(parser)`` and ``run(args)``.
        moved: old loomcv attribute paths -> their new homes in this toolbox
            (``'loomcv.structures.DataSample': 'mytask.structures.DataSample'``),
            served with a DeprecationWarning.
        legacy_model_types: model types of the MMCV 1.x-era configs it runs
            (``'ImageClassifier'``); those configs name no scope, so their
            translation takes this toolbox's.
        checkpoint_urls: checkpoint URL schemes it adds: scheme -> ``'module:ATTR'``
            naming a :class:`loomcv.checkpoint.urls.UrlTable` or a name -> URL dict
            (``{'mmcls': 'mytask.hub:MMCLS_URLS'}`` makes ``mmcls://NAME`` work);
            imported only when such a checkpoint is loaded.
        export_specs: the module that registers how its models are exported
            (:func:`loomcv.export.register_export_spec`), imported by
            ``loomcv export`` before it looks for a model's export spec.
        compat_imports: OpenMMLab import paths whose home here is not ``<package>.<same path>``
            under one of its aliases: old module or name -> new one
            (``{'mmcls.datasets.pipelines': 'mytask.datasets.transforms'}``; a tuple of modules
            serves one old module from several, searched in order); read by
            :mod:`loomcv.compat`, which serves ``import <alias>...`` from this toolbox.
    """

    scope: str
    aliases: Tuple[str, ...] = ()
    package: Optional[str] = None
    registry: Optional[str] = None
    config_dir: str = "configs"
    commands: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    moved: Dict[str, str] = field(default_factory=dict)
    legacy_model_types: Tuple[str, ...] = ()
    checkpoint_urls: Dict[str, str] = field(default_factory=dict)
    export_specs: Optional[str] = None
    compat_imports: Dict[str, Union[str, Tuple[str, ...]]] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.scope, str) or not self.scope.isidentifier():
            raise ValueError(f"Toolbox scope must be a Python identifier, got {self.scope!r}")
        object.__setattr__(self, "aliases", tuple(self.aliases))
        for scheme, target in dict(self.checkpoint_urls).items():
            module, sep, attr = str(target).partition(":")
            if not (isinstance(target, str) and sep and module and attr.isidentifier()):
                raise ValueError(f"Toolbox {self.scope!r}: checkpoint_urls[{scheme!r}] must be "
                                 f"'module:ATTR' naming a URL table, got {target!r}")
        if self.export_specs is not None and not (
                isinstance(self.export_specs, str) and all(p.isidentifier() for p in self.export_specs.split("."))):
            raise ValueError(f"Toolbox {self.scope!r}: export_specs must be a dotted module name, "
                             f"got {self.export_specs!r}")
        if self.package is None:
            object.__setattr__(self, "package", self.scope)
        if self.registry is None:
            object.__setattr__(self, "registry", f"{self.package}.registry")

    @property
    def names(self) -> Tuple[str, ...]:
        """Every scope name that means this toolbox."""
        return (self.scope, *self.aliases)

    def configs_path(self) -> Optional[str]:
        """The folder of its shipped configs, or None if the package is not importable."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        return osp.join(list(spec.submodule_search_locations)[0], self.config_dir)


_declared: Optional[Dict[str, Toolbox]] = None
_registered: Dict[str, Toolbox] = {}


def _load_entry_points() -> Dict[str, Toolbox]:
    from importlib.metadata import entry_points
    found: Dict[str, Toolbox] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            toolbox = ep.load()
        except Exception as err:  # a broken toolbox must not take the others down
            warnings.warn(f"toolbox entry point {ep.name!r} ({ep.value}) failed to load: "
                          f"{type(err).__name__}: {err}", RuntimeWarning, stacklevel=3)
            continue
        if not isinstance(toolbox, Toolbox):
            warnings.warn(f"toolbox entry point {ep.name!r} ({ep.value}) is a "
                          f"{type(toolbox).__name__}, not a loomcv Toolbox; ignored",
                          RuntimeWarning, stacklevel=3)
            continue
        found.setdefault(toolbox.scope, toolbox)
    return found


def toolboxes() -> Dict[str, Toolbox]:
    """Every declared toolbox by scope: installed entry points, then :func:`register_toolbox` calls."""
    global _declared
    if _declared is None:
        _declared = _load_entry_points()
    return {**_declared, **_registered}


def register_toolbox(toolbox: Toolbox) -> Toolbox:
    """Declare a toolbox from code (for a package that is not installed with metadata)."""
    if not isinstance(toolbox, Toolbox):
        raise TypeError(f"register_toolbox takes a Toolbox, got {type(toolbox).__name__}")
    _registered[toolbox.scope] = toolbox
    return toolbox


def refresh_toolboxes() -> None:
    """Forget what was discovered, so newly installed toolboxes are found (tests, notebooks)."""
    global _declared
    _declared = None


def scope_aliases() -> Dict[str, str]:
    """Alias -> scope for the engine and every declared toolbox."""
    aliases = {alias: ENGINE_SCOPE for alias in ENGINE_ALIASES}
    for toolbox in toolboxes().values():
        for alias in toolbox.aliases:
            aliases.setdefault(alias, toolbox.scope)
    return aliases


def find_toolbox(name: str) -> Optional[Toolbox]:
    """The toolbox that ``name`` (its scope, an alias or its package) means, or None."""
    for toolbox in toolboxes().values():
        if name in toolbox.names or name == toolbox.package:
            return toolbox
    return None


def resolve_package(name: str) -> str:
    """The import package for a scope, alias or package name (``'mmcls'`` -> its toolbox's package)."""
    if name in ENGINE_ALIASES:
        return ENGINE_SCOPE
    toolbox = find_toolbox(name)
    return toolbox.package if toolbox is not None else name


def config_packages() -> List[Toolbox]:
    """Declared toolboxes whose shipped-configs folder exists."""
    return [tb for tb in toolboxes().values() if osp.isdir(tb.configs_path() or "")]


def toolbox_commands() -> Dict[str, List[Tuple[Toolbox, str, str]]]:
    """CLI command name -> [(toolbox, module, help)], one entry per toolbox that provides it."""
    commands: Dict[str, List[Tuple[Toolbox, str, str]]] = {}
    for toolbox in toolboxes().values():
        for name, (module, help_text) in toolbox.commands.items():
            commands.setdefault(name, []).append((toolbox, module, help_text))
    return commands


def moved_attribute(module: str, name: str):
    """Serve ``module.name`` that moved out of loomcv into a toolbox, with a DeprecationWarning.

    loomcv packages call this from their ``__getattr__``; it raises
    AttributeError when no toolbox declares the name as moved.
    """
    old = f"{module}.{name}"
    for toolbox in toolboxes().values():
        new = toolbox.moved.get(old)
        if new is not None:
            new_module, _, attr = new.rpartition(".")
            warnings.warn(f"{old} moved to {new}; import it from {new_module} "
                          f"(the old path goes away in the next release)", DeprecationWarning, stacklevel=3)
            return getattr(importlib.import_module(new_module), attr)
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


def toolbox_of_model(model_type: str) -> Optional[Toolbox]:
    """The toolbox an unscoped model type comes from, for configs that name no scope.

    First the toolboxes that declare it in ``legacy_model_types`` (no import);
    then, as a fallback, the first whose own model registry holds it (imports
    the toolboxes' models).
    """
    declared = [tb for tb in toolboxes().values() if model_type in tb.legacy_model_types]
    if declared:
        return declared[0]
    for toolbox in toolboxes().values():
        try:
            models = getattr(importlib.import_module(toolbox.registry), "MODELS", None)
        except ImportError:
            continue
        if models is not None:
            models.import_from_locations()
            if model_type in models.module_dict:
                return toolbox
    return None
