"""build_from_cfg: turn ``dict(type='Name', **args)`` into an object.

Errors name the registry, the scopes searched, the config key path and the
file (and line) the value came from, with the closest valid names.
"""

import inspect
from typing import Any, Mapping, Optional, Tuple, Union

from loomcv.errors import BuildArgumentError, ConfigKeyError, RegistryError, closest, did_you_mean

from .default_scope import DefaultScope


def where(cfg: Any, key: str = "type") -> str:
    """``'model.backbone.type (set in configs/a.py:12)'`` for a ConfigDict, else ''."""
    locate = getattr(type(cfg), "locate", None)
    if locate is None:
        return ""
    path, source = locate(cfg, key)
    text = path or ""
    if source:
        text += f" (set in {source})" if text else f"set in {source}"
    return text


def _copy_containers(value: Any) -> Any:
    """Copy dicts, lists and tuples recursively; share every other object.

    Builders may pop from the configs they receive; this keeps the caller's
    config intact without deep-copying tensors or modules passed in it.
    """
    if isinstance(value, Mapping):
        copy = getattr(value, "copy", None)
        out = copy() if copy is not None else dict(value)
        for k in out:
            out[k] = _copy_containers(out[k])
        return out
    if isinstance(value, list):
        return [_copy_containers(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_copy_containers(v) for v in value)
    return value


def check_arguments(obj_cls: Any, args: Mapping[str, Any], context: str) -> None:
    """Reject arguments ``obj_cls`` does not accept, naming the valid ones."""
    try:
        params = inspect.signature(obj_cls).parameters
    except (TypeError, ValueError):
        return
    kinds = inspect.Parameter
    if any(p.kind is kinds.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items()
                if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)]
    name = getattr(obj_cls, "__qualname__", repr(obj_cls))
    for key in args:
        if key not in accepted:
            raise BuildArgumentError(
                f"{name} got an unexpected argument {key!r}{context}.{did_you_mean(key, accepted, 1)}\n"
                f"  accepted arguments: {', '.join(accepted) or '(none)'}")
    missing = [n for n in accepted if params[n].default is inspect.Parameter.empty and n not in args]
    if missing:
        raise BuildArgumentError(
            f"{name} is missing required argument(s) {', '.join(map(repr, missing))}{context}.\n"
            f"  accepted arguments: {', '.join(accepted)}")


def unknown_type_message(registry: Any, type_name: str, cfg: Any) -> str:
    order = registry.search_order(type_name)
    searched = " -> ".join(f"{r.scope}" for r in order) or "none"
    lines = [f"{type_name!r} is not registered in registry {registry.name!r} "
             f"(scopes searched: {searched})."]
    scope = type_name.partition(".")[0] if "." in type_name else None
    if scope is not None and not order:
        lines.append(f"  scope {scope!r} is not a known registry scope (known: "
                     f"{', '.join(sorted(_all_scopes(registry)))}).")
    location = where(cfg)
    if location:
        lines.append(f"  config key: {location}")
    short = type_name.rpartition(".")[2]
    hits = closest(short, registry.visible_names(type_name))
    if hits:
        lines.append(f"  closest registered names: {', '.join(map(repr, hits))}")
    elsewhere = _scopes_holding(registry, short) if scope is None else []
    if elsewhere:
        lines.append(f"  {short!r} is registered in scope {' and '.join(map(repr, elsewhere))}: set "
                     f"default_scope = {elsewhere[0]!r} in the config, or write type='{elsewhere[0]}.{short}'.")
    lines.append("  If it is defined in your own code, import that module first, e.g. "
                 "custom_imports=dict(imports=['my_package.my_module']).")
    return "\n".join(lines)


def _scopes_holding(registry: Any, name: str) -> list:
    """Declared toolboxes whose registry of this kind holds ``name`` (imports their registries)."""
    import importlib

    from .toolbox import toolboxes
    scopes = []
    for toolbox in toolboxes().values():
        try:
            importlib.import_module(toolbox.registry)
        except ImportError:
            continue
        child = registry.root.children.get(toolbox.scope)
        if child is not None and child not in registry.search_order(name):
            child.import_from_locations()
            if name in child.module_dict:
                scopes.append(toolbox.scope)
    return scopes


def _all_scopes(registry: Any) -> set:
    scopes, stack = set(), [registry.root]
    while stack:
        reg = stack.pop()
        scopes.add(reg.scope)
        stack.extend(reg.children.values())
    return scopes


def build_from_cfg(cfg: Any, registry: Any, default_args: Optional[Mapping] = None) -> Any:
    """Build the object that ``cfg['type']`` names, with the other keys as arguments.

    ``default_args`` fill keys that ``cfg`` lacks; the caller's ``cfg`` is never
    mutated. A ``_scope_`` key switches the default scope while building.
    Nested configs are passed on as dicts for the component to build itself.
    """
    if not isinstance(cfg, Mapping):
        raise TypeError(f"a config to build from registry {registry.name!r} must be a dict, "
                        f"got {type(cfg).__name__}: {cfg!r}")
    if default_args is not None and not isinstance(default_args, Mapping):
        raise TypeError(f"default_args must be a dict or None, got {type(default_args).__name__}")
    if "type" not in cfg and not (default_args and "type" in default_args):
        location = where(cfg, "")
        raise ConfigKeyError(
            f"a config for registry {registry.name!r} needs a 'type' key"
            f"{' (at ' + location + ')' if location else ''}; got keys {sorted(cfg)}")
    args = _copy_containers(cfg)
    for key, value in (default_args or {}).items():
        args.setdefault(key, value)
    scope = args.pop("_scope_", None)
    with DefaultScope.overwrite_default_scope(scope):
        obj_type = args.pop("type")
        if isinstance(obj_type, str):
            obj_cls = registry.get(obj_type)
            if obj_cls is None:
                raise RegistryError(unknown_type_message(registry, obj_type, cfg))
        elif callable(obj_type):
            obj_cls = obj_type
        else:
            raise TypeError(f"'type' must be a str, class or function, got {obj_type!r}"
                            f"{' at ' + where(cfg) if where(cfg) else ''}")
        location = where(cfg, "")
        context = f" (config {location})" if location else ""
        check_arguments(obj_cls, args, context)
        try:
            return obj_cls(**args)
        except Exception as err:
            name = getattr(obj_cls, "__qualname__", repr(obj_cls))
            err.add_note(f"while building {name} from registry {registry.name!r}{context}")
            raise


def _type_names(expected: Union[type, Tuple[type, ...]]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(getattr(t, "__qualname__", repr(t)) for t in types)


def build_or_accept(cfg_or_obj: Any, registry: Any, expected_type: Union[None, type, Tuple[type, ...]] = None,
                    name: str = "argument", owner: Any = None, default_args: Optional[Mapping] = None,
                    allow_none: bool = False) -> Any:
    """Build ``cfg_or_obj`` from ``registry`` when it is a config dict, else take it as built.

    Components accept either a config or a ready object for their parts (a
    model's backbone, an evaluator's metrics, a pipeline's transforms); this is
    the one place that decides which, so every one of them answers a wrong
    value the same way: a TypeError naming ``owner``, the argument ``name``, what
    it takes and what it got. With ``expected_type``, an object given (or one the
    config built) must be an instance of it; ``None`` is accepted only with
    ``allow_none``.
    """
    prefix = f"{owner if isinstance(owner, str) else type(owner).__name__}: " if owner is not None else ""
    if cfg_or_obj is None and allow_none:
        return None
    if isinstance(cfg_or_obj, Mapping):
        built = registry.build(cfg_or_obj, default_args=default_args)
        if expected_type is not None and not isinstance(built, expected_type):
            raise TypeError(f"{prefix}{name} config built a {type(built).__name__}, not a "
                            f"{_type_names(expected_type)}: {cfg_or_obj!r}")
        return built
    if cfg_or_obj is None or (expected_type is not None and not isinstance(cfg_or_obj, expected_type)):
        wanted = f"a {_type_names(expected_type)} or a config dict" if expected_type is not None \
            else "a config dict or a built object"
        raise TypeError(f"{prefix}{name} must be {wanted}, got {type(cfg_or_obj).__name__}: {cfg_or_obj!r}")
    return cfg_or_obj
