"""Kernel throughput against the np.log floor, and the memory of a streamed check.

    python bench/kernels.py [--quick]

1. At ``N x K = 256 x 131072`` (float64), side by side in one process and interleaved
   over repetitions (minimum CPU time of the thread, which a loaded machine disturbs
   far less than wall time; wall time is printed too):
   * the floor: the ``np.log`` passes a check cannot avoid, one per divergence it
     evaluates, over the same arrays into a preallocated output
     (``np.log(q, out=buf); np.log(mq, out=buf)``);
   * for ``kl_pairwise``, a second floor: a KL between two batch rows has no
     precomputed logarithm, so each element needs the ratio ``a / b`` (or a second
     ``log``) as well as a ``log``: ``np.divide`` then ``np.log`` in place, per pair
     ``(mq, mq2)``, ``(q, q2)``, on blocks of 32768 elements so that the ratio stays in
     cache (over whole arrays the ratio would go through memory: over twice the time);
   * ``contraction_ratios`` for ``kl_forward`` (MT3), ``kl_reverse`` (MT3r) and
     ``kl_pairwise`` (MT3p), and the textbook NumPy a user would write
     (``(p * np.log(p / mq)).sum(1) / (p * np.log(p / q)).sum(1)``).
2. Peak resident memory of ``contraction_check_stream`` at ``K = 262144``,
   ``N = 4096`` (rows generated 16 at a time; holding them would take 16 GiB), in a
   fresh subprocess, read from ``/usr/bin/time -v`` when present, else ``getrusage``.

The measurements run in subprocesses whose environment drops OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE (set on some machines for old OpenBLAS builds; they slow a current
NumPy), so the BLAS ``ddot`` the kernels use runs its native kernel.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

N, K = 256, 131072
FLOOR = "floor: 2 np.log passes"
FLOOR2 = "floor: 2 x (np.divide + np.log)"
STREAM_K, STREAM_N, STREAM_BATCH = 262144, 4096, 16


def _env():
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    return env


def throughput(reps: int) -> dict:
    import numpy as np
    from distillproof.axioms import divergences as dv
    rng = np.random.default_rng(0)
    q = rng.random((N, K)) + 0.01
    q /= q.sum(axis=1, keepdims=True)
    p = rng.random(K) + 0.01
    p /= p.sum()
    mq = 0.3 * p + 0.7 * q
    q2 = q[::-1].copy()
    mq2 = 0.3 * p + 0.7 * q2
    buf = np.empty_like(q)
    seg = dv.CHUNK_BYTES // 8
    ratio = np.empty(seg)
    pairs = [(mq.reshape(-1), mq2.reshape(-1)), (q.reshape(-1), q2.reshape(-1))]

    def floor():
        np.log(q, out=buf)
        np.log(mq, out=buf)

    def floor_ratio():
        for a, b in pairs:
            for s in range(0, a.size, seg):
                np.divide(a[s:s + seg], b[s:s + seg], out=ratio)
                np.log(ratio, out=ratio)

    def textbook():
        return (p * np.log(p / mq)).sum(1) / (p * np.log(p / q)).sum(1)
    cases = {FLOOR: floor, FLOOR2: floor_ratio,
             "kl_forward  (MT3)": lambda: dv.contraction_ratios("kl_forward", p, q, mq),
             "kl_reverse  (MT3r)": lambda: dv.contraction_ratios("kl_reverse", p, q, mq),
             "kl_pairwise (MT3p)": lambda: dv.contraction_ratios("kl_pairwise", None, q, mq, q2, mq2),
             "textbook NumPy kl_forward": textbook}
    cpu = {k: [] for k in cases}
    wall = {k: [] for k in cases}
    for _ in range(reps):
        for name, f in cases.items():
            t0, w0 = time.thread_time(), time.perf_counter()
            f()
            cpu[name].append(time.thread_time() - t0)
            wall[name].append(time.perf_counter() - w0)
    try:
        from threadpoolctl import threadpool_info
        blas = [f"{i.get('internal_api')} {i.get('architecture')}" for i in threadpool_info()]
    except ImportError:
        blas = ["threadpoolctl not installed"]
    return {"cpu": {k: min(v) for k, v in cpu.items()},
            "wall": {k: sorted(v)[len(v) // 2] for k, v in wall.items()}, "blas": blas}


def stream() -> dict:
    import resource
    import numpy as np
    from distillproof.axioms import divergences as dv
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(STREAM_K))

    def batches():
        for _ in range(STREAM_N // STREAM_BATCH):
            q = rng.random((STREAM_BATCH, STREAM_K))
            q /= q.sum(axis=1, keepdims=True)
            yield q, 0.3 * p + 0.7 * q
    t0 = time.perf_counter()
    ratios = dv.contraction_check_stream("kl_forward", p, batches())
    return {"seconds": time.perf_counter() - t0, "rows": int(ratios.size),
            "max_ratio": float(np.nanmax(ratios)),
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _worker(what: str, *args) -> dict:
    cmd = [sys.executable, __file__, "--worker", what, *args]
    timev = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if what == "stream" and timev:
        cmd = [timev, "-v"] + cmd
    run = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=True)
    out = json.loads(run.stdout.strip().splitlines()[-1])
    for line in run.stderr.splitlines():
        if "Maximum resident set size" in line:
            out["maxrss_mib"] = int(line.split(":")[1]) / 1024
            out["maxrss_source"] = "/usr/bin/time -v"
    out.setdefault("maxrss_source", "getrusage")
    return out


def main(argv):
    if "--worker" in argv:
        what = argv[argv.index("--worker") + 1]
        res = throughput(int(argv[-1])) if what == "throughput" else stream()
        print(json.dumps(res))
        return
    reps = 3 if "--quick" in argv else 9
    print(f"Kernel throughput at N x K = {N} x {K} (float64, {N * K * 8 / 2**20:.0f} MiB per "
          f"array), min thread CPU time of {reps} interleaved runs; OPENBLAS_CORETYPE/L2_SIZE "
          "unset in the worker\n")
    tp = _worker("throughput", str(reps))
    cpu = tp["cpu"]
    floor = cpu[FLOOR]
    print(f"{'':32} {'CPU ms':>9} {'x floor':>8} {'wall ms (median)':>17} {'Melem/s':>9}")
    for name, sec in cpu.items():
        print(f"{name:32} {sec * 1e3:9.1f} {sec / floor:8.2f} {tp['wall'][name] * 1e3:17.1f} "
              f"{2 * N * K / sec / 1e6:9.0f}")
    ratios = {kind: cpu[name] / floor for kind, name in
              (("kl_forward", "kl_forward  (MT3)"), ("kl_reverse", "kl_reverse  (MT3r)"),
               ("kl_pairwise", "kl_pairwise (MT3p)"))}
    print("\ntarget: <= 1.5 x floor. " + "; ".join(
        f"{kind} {x:.2f} x ({'met' if x <= 1.5 else 'not met'})" for kind, x in ratios.items()))
    print(f"kl_pairwise against the second floor ({FLOOR2}: a KL between two batch rows needs "
          f"the ratio): {cpu['kl_pairwise (MT3p)'] / cpu[FLOOR2]:.2f} x; that floor alone is "
          f"{cpu[FLOOR2] / floor:.2f} x the first")
    print(f"BLAS: {'; '.join(tp['blas'])}")
    if "--quick" in argv:
        return
    print(f"\nStreaming check at K = {STREAM_K}, N = {STREAM_N} (batches of {STREAM_BATCH} rows; "
          f"materialised q and Mq would be {2 * STREAM_N * STREAM_K * 8 / 2**30:.0f} GiB)")
    st = _worker("stream")
    print(f"  peak RSS {st['maxrss_mib']:.0f} MiB ({st['maxrss_source']}), target < 1024 MiB; "
          f"{st['rows']} ratios in {st['seconds']:.1f} s (mostly generating the rows), "
          f"max ratio {st['max_ratio']:.4f} <= 1 - alpha = 0.7")


if __name__ == "__main__":
    main(sys.argv[1:])
