"""Import cost of loomcv and load time of a four-level inherited config.

Run: python benchmarks/config_load.py
Each import is timed in a fresh interpreter (best of 5, interpreter start-up
subtracted); the config load is timed in-process (best of 20).
"""

import os.path as osp
import subprocess
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
CONFIG = osp.join(HERE, "..", "tests", "fixtures", "configs", "inherit", "level4.py")


def fresh_import_ms(module: str, repeats: int = 5) -> float:
    code = ("import time; t = time.perf_counter(); "
            f"{'import ' + module if module else 'pass'}; print((time.perf_counter() - t) * 1000)")
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeats)]
    return min(runs)


def main() -> None:
    for module in ("loomcv", "loomcv.registry", "loomcv.config"):
        print(f"import {module:<16} {fresh_import_ms(module):7.1f} ms (fresh interpreter, best of 5)")
    from loomcv.config import Config
    Config.fromfile(CONFIG)  # warm the file cache
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        Config.fromfile(CONFIG)
        best = min(best, time.perf_counter() - start)
    print(f"Config.fromfile (4 levels, 6 files, py/yaml/json): {best * 1000:.2f} ms (best of 20)")
    # For scale: the same values written out in one plain Python file, exec'd by hand.
    import tempfile
    cfg = Config.fromfile(CONFIG)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(cfg.pretty_text)
    with open(f.name) as fh:
        source = fh.read()
    best_plain = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        exec(compile(source, f.name, "exec"), {})
        best_plain = min(best_plain, time.perf_counter() - start)
    print(f"plain exec of the flattened file: {best_plain * 1000:.2f} ms; "
          f"ratio {best / best_plain:.1f}x")


if __name__ == "__main__":
    main()
