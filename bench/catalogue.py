"""The whole catalogue end to end, cold and warm, and the CLI's start-up time.

    python bench/catalogue.py [--snapshot]

1. ``distillproof verify`` over the built-in catalogue with a fresh, empty cache
   directory (``DISTILLPROOF_CACHE``): cold; then again with the same directory:
   warm (every family read back from checker/_cache.py); then with ``--no-cache``.
   Targets: cold <= 30 s, warm <= 5 s (2-core machine).
2. ``distillproof --help`` against a bare ``python -c pass`` in the same venv: the
   minimum and median of 15 runs each, interleaved.  Target: at most 3x.
Timings are wall clock of whole processes; they are reported, never asserted.

``--snapshot`` runs a frozen copy of the sources (``python -m distillproof`` from a
temporary package tree): the cache key hashes the code, so a tree being edited while
the benchmark runs would turn the warm run into a cold one.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT: dict = {}


def _cli() -> list[str]:
    script = BIN / "distillproof"
    if SNAPSHOT or not script.exists():
        return [sys.executable, "-m", "distillproof"]
    return [str(script)]


def _snapshot(tmp: str) -> dict:
    """A frozen package tree of the sources; the environment that imports it."""
    pkg = Path(tmp) / "src" / "distillproof"
    shutil.copytree(ROOT / "distillproof", pkg)
    for sub in ("axioms", "checker", "proofs", "reports"):
        shutil.copytree(ROOT / sub, pkg / sub, ignore=shutil.ignore_patterns("__pycache__"))
    return {"PYTHONPATH": str(Path(tmp) / "src")}


def timed(cmd, env=None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if "--snapshot" in sys.argv:
            SNAPSHOT.update(_snapshot(tmp))
        env = dict(os.environ, DISTILLPROOF_CACHE=str(Path(tmp) / "cache"), **SNAPSHOT)
        out = str(Path(tmp) / "out")
        verify = _cli() + ["verify", "--out", out]
        cold = timed(verify, env)
        warm = timed(verify, env)
        nocache = timed(verify + ["--no-cache"], env)
        entries = len(list((Path(tmp) / "cache").rglob("*.pickle")))
        bare, help_ = [], []
        for _ in range(15):
            bare.append(timed([sys.executable, "-c", "pass"], env))
            help_.append(timed(_cli() + ["--help"], env))
    print("distillproof verify over the whole catalogue (wall clock, one run each"
          + (", frozen copy of the sources)" if SNAPSHOT else ")") + "\n")
    print(f"{'run':28} {'seconds':>8} {'target':>8} {'x warm':>8}")
    for name, sec, target in (("cold (empty cache)", cold, "<= 30"), ("warm (same cache)", warm, "<= 5"),
                              ("--no-cache", nocache, "")):
        print(f"{name:28} {sec:8.2f} {target:>8} {sec / warm:8.1f}")
    print(f"cache entries written: {entries}")
    print(f"\nstart-up: {' '.join(_cli())} --help against python -c pass, 15 interleaved runs\n")
    print(f"{'command':28} {'min ms':>8} {'median ms':>10}")
    for name, xs in (("python -c pass", bare), ("distillproof --help", help_)):
        print(f"{name:28} {min(xs) * 1e3:8.1f} {statistics.median(xs) * 1e3:10.1f}")
    print(f"ratio --help / bare python: {min(help_) / min(bare):.2f} (min), "
          f"{statistics.median(help_) / statistics.median(bare):.2f} (median); target <= 3")


if __name__ == "__main__":
    main()
