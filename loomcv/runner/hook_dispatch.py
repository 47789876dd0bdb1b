"""Registering hooks in priority order and calling them: the Runner's part that talks to hooks.

Each stage keeps the list of bound methods of the hooks that implement it, so
calling a stage is one loop over functions; a stage no hook implements costs
one dictionary look-up.
"""

from collections.abc import Mapping
from typing import Dict, List, Optional, Union

from loomcv.hooks import Hook
from loomcv.hooks.hook import STAGES
from loomcv.hooks.priority import get_priority, priority_name
from loomcv.registry import HOOKS

DEFAULT_HOOKS = dict(
    runtime_info=dict(type="RuntimeInfoHook"),
    timer=dict(type="IterTimerHook"),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    logger=dict(type="LoggerHook"),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1),
)


class HookDispatch:
    """Mixed into the Runner: ``register_hook(s)``, ``call_hook``, ``get_hooks_info``, ``hooks``."""

    _hooks: List[Hook]
    _stage_hooks: Dict[str, List[Hook]]
    _stage_calls: Dict[str, list]

    def _init_hooks(self) -> None:
        self._hooks = []
        self._stage_hooks = {stage: [] for stage in STAGES}
        self._stage_calls = {stage: [] for stage in STAGES}

    @property
    def hooks(self) -> List[Hook]:
        return list(self._hooks)

    def register_hook(self, hook: Union[Hook, dict], priority: Union[None, int, str] = None) -> None:
        """Add a hook; it runs after every registered hook of the same or higher priority."""
        if isinstance(hook, Mapping):
            cfg = dict(hook)
            cfg_priority = cfg.pop("priority", None)
            hook = HOOKS.build(cfg)
            priority = priority if priority is not None else cfg_priority
        if not isinstance(hook, Hook):
            raise TypeError(f"register_hook takes a Hook or a config dict, got {type(hook).__name__}")
        hook.priority = get_priority(priority if priority is not None else hook.priority)
        position = len(self._hooks)
        for i, other in enumerate(self._hooks):
            if hook.priority < other.priority:
                position = i
                break
        self._hooks.insert(position, hook)
        for stage in STAGES:
            # Hook.stages(h), not h.stages(): a hook written for MMEngine may use `stages` as its own attribute
            self._stage_hooks[stage] = [h for h in self._hooks if stage in Hook.stages(h)]
            self._stage_calls[stage] = [getattr(h, stage) for h in self._stage_hooks[stage]]

    def register_hooks(self, default_hooks: Optional[dict] = None, custom_hooks: Optional[list] = None) -> None:
        self.register_default_hooks(default_hooks)
        if custom_hooks is not None:
            self.register_custom_hooks(custom_hooks)

    def register_default_hooks(self, hooks: Optional[dict] = None) -> None:
        """The default hooks (DEFAULT_HOOKS), each replaced by ``hooks[name]`` or left out when that is None."""
        merged = dict(DEFAULT_HOOKS)
        for key, value in (hooks or {}).items():
            merged[key] = value
        for value in merged.values():
            if value is not None:
                self.register_hook(value)

    def register_custom_hooks(self, hooks: List[Union[Hook, dict]]) -> None:
        for value in hooks:
            self.register_hook(value)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        """Call ``fn_name`` on every hook that implements it, in priority order.

        A name outside STAGES (a custom loop's ``'before_warmup_iter'``) is called on every hook
        that has such a method, as MMEngine does; a misspelt built-in stage no hook defines warns.
        """
        calls = self._stage_calls.get(fn_name)
        if calls is None:
            calls = [getattr(h, fn_name) for h in self._hooks if callable(getattr(h, fn_name, None))]
            if not calls:
                _warn_near_miss(fn_name)
        for call in calls:
            call(self, **kwargs)

    def get_hooks_info(self) -> str:
        """For each stage, the hooks that run there, in order, with their priorities."""
        lines = []
        for stage in STAGES:
            hooks = self._stage_hooks[stage]
            if hooks:
                lines.append(f"{stage}:")
                lines += [f"({priority_name(h.priority):<12}) {type(h).__name__}" for h in hooks]
                lines.append("-" * 40)
        return "\n".join(lines)


_WARNED: set = set()


def _warn_near_miss(fn_name: str) -> None:
    """A name one or two letters away from a built-in stage is a typo; a custom loop's own stage
    ('before_warmup_iter') is not, and stays silent when no hook defines it."""
    import difflib
    hits = difflib.get_close_matches(fn_name, STAGES, n=1, cutoff=0.9)
    if hits and fn_name not in _WARNED:
        _WARNED.add(fn_name)
        import warnings
        warnings.warn(f"call_hook({fn_name!r}): no hook defines this stage. Did you mean {hits[0]!r}?",
                      UserWarning, stacklevel=3)
