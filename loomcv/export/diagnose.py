"""Turn an exporter's failure into one sentence: which module, which operation.

Exporters fail deep inside their tracers and print pages of graph dumps. We
silence them while they run (:func:`quiet`), and when one raises we look for
the culprit twice over: first in the traceback (the innermost frame whose
``self`` is a submodule of the exported model: tracing and non-strict
torch.export run the real ``forward`` methods), then, when the error comes
from a later stage such as ONNX conversion, by exporting the submodules one
by one on the inputs they received (:func:`bisect_modules`).
"""

import contextlib
import linecache
import logging
import os
import re
import sys
import tempfile
import warnings
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn

#: code of the exporters (torch's and ours): a failing line in it says nothing about the model
INTERNAL_DIRS = (os.path.dirname(torch.__file__), os.path.dirname(os.path.abspath(__file__)))


class ExportError(RuntimeError):
    """A model that cannot be exported, or whose export disagrees with PyTorch."""


@contextlib.contextmanager
def quiet(verbose: bool = False, traced: bool = False) -> Iterator[None]:
    """Silence an exporter's prints (Python's and C++'s), torch's logs and warnings; ``verbose`` keeps the prints.

    With ``traced``, a tensor computed from the input's values turned into a
    Python bool (which a tracer would freeze into the graph) raises instead.
    """
    with warnings.catch_warnings(), (_refuse_data_dependent_bool() if traced else contextlib.nullcontext()):
        warnings.simplefilter("ignore")
        if verbose:
            yield
            return
        loggers = [logging.getLogger("torch")] + [
            logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("torch")]
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        with tempfile.TemporaryFile(mode="w+b") as sink:
            try:
                os.dup2(sink.fileno(), 1)
                os.dup2(sink.fileno(), 2)
                with contextlib.redirect_stdout(_TextSink(sink)), contextlib.redirect_stderr(_TextSink(sink)):
                    yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                for fd in saved:
                    os.close(fd)
                for lg, level in zip(loggers, levels):
                    lg.setLevel(level)


class DataDependentBranch(RuntimeError):
    """Raised inside a traced forward where a tensor computed from the input's values becomes a Python bool."""


#: tracer nodes whose output depends on the input's shape only, never on its values
_SHAPE_OPS = frozenset({"aten::size", "aten::dim", "aten::numel", "prim::shape", "prim::Constant", "aten::len",
                        "prim::device", "prim::dtype"})


def _depends_on_values(tensor: torch.Tensor) -> bool:
    """Whether the traced ``tensor`` is computed from the graph inputs' values (not just their shapes)."""
    try:
        start = torch._C._get_value_trace(tensor)
    except RuntimeError:  # not part of the trace: a constant
        return False
    stack, seen = [start], set()
    while stack:
        value = stack.pop()
        if value.unique() in seen:
            continue
        seen.add(value.unique())
        node = value.node()
        if node.kind() == "prim::Param":
            return True
        if node.kind() not in _SHAPE_OPS:
            stack.extend(node.inputs())
    return False


@contextlib.contextmanager
def _refuse_data_dependent_bool():
    """While tracing, make ``bool(tensor)`` of a value-dependent tensor raise; shape checks stay allowed.

    A tracer records one branch of such an ``if`` and freezes it: the export
    would silently take that branch for every input.
    """
    had_own = "__bool__" in torch.Tensor.__dict__
    original = torch.Tensor.__bool__

    def checked_bool(self):
        try:
            refuse = torch._C._get_tracing_state() is not None and _depends_on_values(self)
        except Exception:  # noqa: BLE001 - tracer internals changed: fall back to torch's own behaviour
            refuse = False
        if refuse:
            raise DataDependentBranch("data-dependent Python control flow: a tensor computed from the "
                                      "input's values is used as a Python bool")
        return original(self)

    torch.Tensor.__bool__ = checked_bool
    try:
        yield
    finally:
        if had_own:
            torch.Tensor.__bool__ = original
        else:
            del torch.Tensor.__bool__


class _TextSink:
    """sys.stdout stand-in that writes into the capture file (Python-level prints)."""

    def __init__(self, sink):
        self.sink = sink

    def write(self, text: str) -> int:
        self.sink.write(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        self.sink.flush()


def _chain(err: BaseException) -> List[BaseException]:
    seen, out = set(), []
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        out.append(err)
        err = err.__cause__ or err.__context__
    return out


def _where(frame, lineno: int) -> str:
    code = linecache.getline(frame.f_code.co_filename, lineno).strip()
    place = f"{os.path.basename(frame.f_code.co_filename)}:{lineno}"
    return f"{place} `{code}`" if code else place


def locate_in_traceback(root: nn.Module, err: BaseException) -> Optional[Tuple[str, nn.Module, str]]:
    """(name, module, 'file:line `code`') of the innermost submodule of ``root`` running when ``err`` rose."""
    names = {id(m): name for name, m in root.named_modules()}
    for exc in _chain(err):
        found, user_line, tb = None, None, exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            owner = frame.f_locals.get("self")
            if owner is not None and id(owner) in names and isinstance(owner, nn.Module):
                found = owner
                user_line = None
            if found is not None and not frame.f_code.co_filename.startswith(INTERNAL_DIRS):
                user_line = _where(frame, tb.tb_lineno)  # innermost line of model code under the module
            tb = tb.tb_next
        if found is not None:
            return names[id(found)], found, user_line or ""
    return None


def record_inputs(root: nn.Module, example) -> Dict[int, tuple]:
    """The positional inputs each submodule got first when ``root`` ran on ``example``."""
    calls: Dict[int, tuple] = {}

    def hook(module, args):
        calls.setdefault(id(module), args)

    handles = [m.register_forward_pre_hook(hook) for m in root.modules()]
    try:
        with torch.no_grad():
            root(example)
    except Exception:  # the modules called before the failure are recorded all the same
        pass
    finally:
        for h in handles:
            h.remove()
    return calls


def failure_kind(err: BaseException) -> Optional[str]:
    """The kind of an export failure when it can be told ('aten::grid_sampler', 'data-dependent'...), else None."""
    joined = "\n".join(f"{type(e).__name__}: {e}" for e in _chain(err))
    if any(key in joined for key in DATA_DEPENDENT):
        return "data-dependent"
    if "Constraints violated" in joined:
        return "constraints"
    match = re.search(r"operator '([\w:.]+)'", joined)
    return match.group(1) if match else None


def bisect_modules(root: nn.Module, example, try_export: Callable[[nn.Module, tuple], None],
                   original: Optional[BaseException] = None,
                   max_tries: int = 200) -> Optional[Tuple[str, nn.Module, BaseException]]:
    """The deepest submodule that fails to export on its own, with its error, or None.

    Walks down from ``root``: the first child that fails is entered; a module
    none of whose children fail is the culprit. When the ``original`` error's
    kind is known, a child failing for another reason (exported alone, a
    submodule may fail differently) is not taken for the culprit.
    """
    calls = record_inputs(root, example)
    kind = failure_kind(original) if original is not None else None
    tries = [0]

    def descend(module: nn.Module, prefix: str):
        for name, child in module.named_children():
            args = calls.get(id(child))
            if args is None or tries[0] >= max_tries:
                continue
            tries[0] += 1
            try:
                try_export(child, args)
            except Exception as err:  # noqa: BLE001 - a failure of the same kind marks the culprit's branch
                if kind is None or failure_kind(err) == kind:
                    return descend(child, f"{prefix}{name}.") or (f"{prefix}{name}", child, err)
        return None

    return descend(root, "")


DATA_DEPENDENT = ("data-dependent", "Data dependent", "Python boolean", "GuardOnDataDependent",
                  "__bool__' of 'torch._C.TensorBase")


def operation(err: BaseException) -> str:
    """What the exporter could not handle, in a few words."""
    texts = [f"{type(e).__name__}: {e}" for e in _chain(err)]
    joined = "\n".join(texts)
    if any(key in joined for key in DATA_DEPENDENT):
        return ("data-dependent Python control flow (an `if` or bool() on a tensor's values), which a graph "
                "cannot hold: use torch.where, or torch.cond for torch-export")
    fixed = re.search(r"specialized it to be a constant \((\d+)\)", joined)
    if "Constraints violated" in joined and fixed:
        return (f"the code fixes the batch size to {fixed.group(1)} (a Python loop or int over the batch "
                "dimension), so it cannot be dynamic: export without --dynamic-batch")
    match = re.search(r"operator '([\w:.]+)'", joined)
    if match is None and re.search(r"not supported|unsupported|no (?:symbolic|decomposition|translation)", joined,
                                   flags=re.I):
        match = re.search(r"\b(aten(?:::|\.)\w+(?:\.\w+)?)", joined)
    first = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
    first = first if len(first) <= 300 else first[:297] + "..."
    return f"unsupported operation {match.group(1)!r} ({first})" if match else f"{type(err).__name__}: {first}"


def describe(root: nn.Module, name: str, module: nn.Module, where: str, err: BaseException, what: str) -> str:
    """The one-paragraph error: ``what`` failed in module ``name`` (its class) at ``where``, because ..."""
    shown = name.split(".", 1)[1] if name.startswith("model.") else (name or "(the exported wrapper)")
    if name == "model":
        shown = "(the model itself)"
    at = f" at {where}" if where else ""
    return (f"{what}: module {shown!r} ({type(module).__name__}){at}: {operation(err)}. "
            f"Rerun with --debug for the exporter's traceback.")
