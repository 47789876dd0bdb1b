"""Export latency on CPU: PyTorch eager vs TorchScript vs ONNX Runtime, batch 1 and batch 8.

Three ImageNet-sized classifiers at 224x224 (random weights: latency does not
depend on them): ResNet-18, MobileNetV2 and ViT DeiT-tiny (patch 16). Each is
exported with ``loomcv.export.export_model`` (dynamic batch, so one file serves
both batch sizes; the export's own check against PyTorch runs too), then each
runtime is timed on the same input. Prints milliseconds per batch (median of
the repeats after a warm-up) and the ratio eager / runtime (above 1: faster
than eager).

All runtimes get the same thread count (``--threads``, default 1): torch's
intra-op threads and ONNX Runtime's ``intra_op_num_threads``. The runtimes
take turns within each repeat, so a burst of load from others on a shared
machine hits all of them alike; with one thread the clock is this process's
CPU time (``time.process_time``: the work done, not the time the machine gave
to others), ``--wall`` or more threads measure wall-clock time.

    python benchmarks/export_latency.py [--repeats 10] [--threads 1] [--wall]
                                        [--models resnet18 mobilenet_v2 deit_tiny]
"""

import argparse
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
import torch

from loomcls.apis import get_model  # noqa: F401 - registers loomcls's models
from loomcls.registry import MODELS
from loomcv.export import ExportedModel, export_model, get_export_spec
from loomcv.registry import DefaultScope

MODELS_CFG = {
    "resnet18": dict(type="ImageClassifier", backbone=dict(type="ResNet", depth=18),
                     neck=dict(type="GlobalAveragePooling"),
                     head=dict(type="LinearClsHead", num_classes=1000, in_channels=512)),
    "mobilenet_v2": dict(type="ImageClassifier", backbone=dict(type="MobileNetV2", widen_factor=1.0),
                         neck=dict(type="GlobalAveragePooling"),
                         head=dict(type="LinearClsHead", num_classes=1000, in_channels=1280)),
    "deit_tiny": dict(type="ImageClassifier", backbone=dict(type="VisionTransformer", arch="deit-tiny",
                                                            img_size=224, patch_size=16),
                      neck=None, head=dict(type="VisionTransformerClsHead", num_classes=1000, in_channels=192)),
}
RUNTIMES = ("eager", "torchscript", "onnxruntime")
BATCHES = (1, 8)


def build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope("loomcls"):
        return MODELS.build(MODELS_CFG[name]).eval()


def time_calls(calls: dict, x, repeats: int, clock, warmup: int = 2) -> dict:
    """Median milliseconds of each ``calls[name](x)``; the calls take turns within each repeat."""
    for fn in calls.values():
        for _ in range(warmup):
            fn(x)
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            start = clock()
            fn(x)
            times[name].append(clock() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def runners(name: str, folder: str, threads: int):
    """runtime name -> callable taking a numpy NCHW batch."""
    model = build(name)
    module = get_export_spec(model).module.eval()
    shape = (3, 224, 224)
    calls = {}

    def eager(x):
        with torch.no_grad():
            return module(torch.from_numpy(x))

    calls["eager"] = eager
    for fmt, suffix in (("torchscript", ".pt"), ("onnx", ".onnx")):
        path = os.path.join(folder, name + suffix)
        export_model(model, fmt, path, shape, batch=2, dynamic_batch=True)
        if fmt == "onnx":
            import onnxruntime as ort
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            calls["onnxruntime"] = lambda x, s=session: s.run(None, {"input": x})
        else:
            scripted = ExportedModel(path, "torchscript")
            calls["torchscript"] = scripted
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wall", action="store_true", help="wall-clock time instead of process CPU time")
    parser.add_argument("--models", nargs="+", default=list(MODELS_CFG), choices=list(MODELS_CFG))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wall = args.wall or args.threads > 1
    clock = time.perf_counter if wall else time.process_time
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            calls = runners(name, folder, args.threads)
            for batch in BATCHES:
                x = rng.standard_normal((batch, 3, 224, 224)).astype(np.float32)
                ms = time_calls({rt: calls[rt] for rt in RUNTIMES}, x, args.repeats, clock)
                rows.append((name, batch, ms))
    import onnxruntime
    print(f"CPU latency, ms per batch ({'wall-clock' if wall else 'process CPU'} time, median of {args.repeats}), "
          f"{args.threads} thread(s), torch {torch.__version__}, onnxruntime {onnxruntime.__version__}; "
          "ratio = eager / runtime")
    header = f"{'model':<14}{'batch':>6}" + "".join(f"{rt + ' ms':>16}" for rt in RUNTIMES) + \
        "".join(f"{'x ' + rt:>16}" for rt in RUNTIMES[1:])
    print(header)
    print("-" * len(header))
    for name, batch, ms in rows:
        print(f"{name:<14}{batch:>6}" + "".join(f"{ms[rt]:>16.2f}" for rt in RUNTIMES)
              + "".join(f"{ms['eager'] / ms[rt]:>16.2f}" for rt in RUNTIMES[1:]))


if __name__ == "__main__":
    main()
