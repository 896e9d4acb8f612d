"""Samplers of the numeric stage: points of the open simplex and of parameter domains.

Everything is seeded (``numpy.random.Generator``) and deterministic in the seed.

Vectors (:func:`_sample_vector`, a mixture per row): Dirichlet at concentrations
0.2, 1, 5 (:data:`CONCENTRATIONS`: spiky, uniform, central); near a vertex
(``(1-e) e_j + e Dir(1)``, ``e`` in ``[1e-6, 1e-1]`` log-uniformly); near a face
(random components scaled by ``1e-7..1e-2``); for each vector after the first, near
an earlier one (logit jitter or a small mixture: ratios near the anchor); near a given
``center`` such as a fixed point (:func:`near_point`: where local rates live);
components ``>= FLOOR``.

Parameters (:func:`_sample_parameter`): an interval from the sign assumptions and the
domain's bounds linear in the parameter alone, sampled uniformly, within
``1e-7..1e-1`` (relative) of each end and at simple rationals ``lo + (hi-lo) n/d``; on
a half-line at ``end + 10^U(-3,1)``, near the end and at ``end + n/d``; on the line
uniformly on ``[-10, 10]`` and at log-uniform magnitudes.  Equalities of the domain
are solved (see :mod:`._numeric`) and rows are filtered by the whole domain,
vectorised (:func:`_admissible`).

:func:`climb` is the adversarial sampler: it hill-climbs any batched objective on the
simplex (a contraction ratio, a margin) from starting rows, in centred-logit
coordinates with shrinking Gaussian steps, keeping a trial only when it improves.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from distillproof.axioms.claims import Claim

__all__ = ["sample_points", "near_point", "dirichlet", "climb", "FLOOR", "CONCENTRATIONS"]

FLOOR = 1e-9                                 # smallest sampled vector component
CONCENTRATIONS = (0.2, 1.0, 5.0)

Batch = dict[str, np.ndarray]                # vector -> (n, K); parameter -> (n,)


def _values(f: Callable, cols, n: int) -> np.ndarray:
    """``f(*cols)`` as ``n`` floats (NaN where complex or undefined)."""
    with np.errstate(all="ignore"):
        v = np.asarray(f(*cols))
    if np.iscomplexobj(v):
        v = np.where(np.abs(v.imag) > 1e-12 * (1 + np.abs(v.real)), np.nan, v.real)
    return np.broadcast_to(v.astype(np.float64, copy=False), (n,))



def _finish(x: np.ndarray, floor: float = FLOOR) -> np.ndarray:
    x = np.maximum(np.nan_to_num(x, nan=floor), floor)
    return x / x.sum(axis=1, keepdims=True)


def _sample_vector(rng, n: int, k: int, earlier: list[np.ndarray],
                   center: np.ndarray | None = None) -> np.ndarray:
    """``n`` points of the open simplex ``Δ_k`` from the mixture of the module
    docstring; ``earlier`` vectors of the same rows make the ``near`` scheme, and a
    ``center`` (a fixed point) adds rows :func:`near_point` of it."""
    schemes = [*CONCENTRATIONS, "vertex", "face"] + (["near"] if earlier else []) + (
        ["center"] if center is not None else [])
    weights = np.array([0.2, 0.2, 0.2, 0.15, 0.15] + ([0.45] if earlier else [])
                       + ([0.45] if center is not None else []))
    kind = rng.choice(len(schemes), size=n, p=weights / weights.sum())
    x = np.empty((n, k))
    for j, scheme in enumerate(schemes):
        rows = np.flatnonzero(kind == j)
        m = len(rows)
        if isinstance(scheme, float):
            x[rows] = rng.dirichlet(np.full(k, scheme), m)
        elif scheme == "vertex":
            eps = 10.0 ** rng.uniform(-6, -1, (m, 1))
            x[rows] = (1 - eps) * np.eye(k)[rng.integers(0, k, m)] + eps * rng.dirichlet(np.ones(k), m)
        elif scheme == "face":
            base, hit = rng.dirichlet(np.ones(k), m), rng.random((m, k)) < 0.5
            hit[np.arange(m), rng.integers(0, k, m)] = False
            x[rows] = np.where(hit, base * 10.0 ** rng.uniform(-7, -2, (m, k)), base)
        elif scheme == "center":
            x[rows] = near_point(rng, m, center)
        else:
            base = np.stack(earlier)[rng.integers(0, len(earlier), m), rows]
            jitter = _finish(np.exp(np.log(base) + 10.0 ** rng.uniform(-4, 0, (m, 1))
                                    * rng.standard_normal((m, k))))
            eps = 10.0 ** rng.uniform(-5, -0.3, (m, 1))
            mix = (1 - eps) * base + eps * rng.dirichlet(np.ones(k), m)
            x[rows] = np.where(rng.random((m, 1)) < 0.5, jitter, mix)
    return _finish(x)


def _sample_parameter(rng, n: int, lo: float, hi: float) -> np.ndarray:
    kind = rng.choice(4, size=n, p=[0.45, 0.15, 0.15, 0.25])
    den = rng.integers(1, 13, n).astype(float)
    if np.isfinite(lo) and np.isfinite(hi):
        w = hi - lo
        near = w * 10.0 ** rng.uniform(-7, -1, n)
        opts = [lo + w * rng.random(n), lo + near, hi - near,
                lo + w * np.floor(rng.random(n) * (den + 1)) / den]
    elif np.isfinite(lo) or np.isfinite(hi):
        end, sign = (lo, 1.0) if np.isfinite(lo) else (hi, -1.0)
        opts = [end + sign * 10.0 ** rng.uniform(-3, 1, n), end + sign * 10.0 ** rng.uniform(-7, -3, n),
                end + sign * rng.uniform(0, 10, n), end + sign * rng.integers(1, 31, n) / np.minimum(den, 6)]
    else:
        sgn = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        opts = [rng.uniform(-10, 10, n), sgn * 10.0 ** rng.uniform(-3, 1, n),
                sgn * 10.0 ** rng.uniform(-7, -3, n), rng.integers(-30, 31, n) / den]
    return np.choose(kind, opts)


def _columns(c, batch: Batch) -> list[np.ndarray]:
    cols = [batch[name][:, i] for name, comps in c.claim.vectors.items() for i in range(len(comps))]
    return cols + [batch[s.name] for s in c.claim.parameters]


def _size(batch: Batch) -> int:
    return len(next(iter(batch.values()))) if batch else 1


def _complete(c, batch: Batch) -> Batch:
    """Fill in the solved symbols: vector components, renormalise, then parameters."""
    for vectors in (True, False):
        cols, n = _columns(c, batch), _size(batch)
        for sym, _, f in c.solved:
            if (sym in c.owner) == vectors:
                name, i = c.owner.get(sym, (sym.name, None))
                (batch[name] if i is None else batch[name][:, i])[:] = _values(f, cols, n)
        for name in sorted({c.owner[s][0] for s, _, _ in c.solved if s in c.owner} if vectors else ()):
            with np.errstate(all="ignore"):
                batch[name] = batch[name] / batch[name].sum(axis=1, keepdims=True)
    return batch


def _admissible(c, batch: Batch) -> np.ndarray:
    n = _size(batch)
    ok = np.ones(n, bool)
    for name in c.claim.vectors:
        ok &= np.all(batch[name] > 0, axis=1) & np.all(np.isfinite(batch[name]), axis=1)
    cols = _columns(c, batch)
    for check in c.domain:
        ok &= check(cols, n)
    return ok


def _draw(c, rng, n: int, centers: dict | None = None) -> Batch:
    batch, earlier = {}, []
    for name, comps in c.claim.vectors.items():
        batch[name] = _sample_vector(rng, n, len(comps), earlier, (centers or {}).get(name))
        earlier.append(batch[name])
    for s in c.claim.parameters:
        batch[s.name] = (_sample_parameter(rng, n, *c.intervals[s.name]) if s.name in c.free
                         else np.zeros(n))
    return _complete(c, batch)


def sample_points(claim: Claim, n: int, seed: int = 0, *, centers: dict | None = None) -> Batch:
    """Up to ``n`` admissible points (module docstring): vector name -> ``(n, K)`` array
    in the open simplex, parameter name -> ``(n,)`` array; every row in the domain.
    Fewer rows only when the domain is too thin to hit by the samplers.  ``centers``
    maps vector names to points (a fixed point) to sample near as well."""
    from ._numeric import compile_claim
    c = compile_claim(claim)
    rng = np.random.default_rng(seed)
    parts, have, size = [], 0, max(n, 16)
    for _ in range(8):
        batch = _draw(c, rng, size, centers)
        ok = _admissible(c, batch)
        batch = {k: v[ok] for k, v in batch.items()}
        parts.append(batch)
        have += _size(batch) if batch else 0
        if have >= n or not batch:
            break
        size = min(8 * size, 64 * max(n, 16))
    return {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}


def dirichlet(rng, n: int, k: int, concentration: float = 1.0) -> np.ndarray:
    """``n`` Dirichlet(``concentration``) rows of ``Δ_k``, components ``>= FLOOR``."""
    return _finish(rng.dirichlet(np.full(k, float(concentration)), n))


def near_point(rng, n: int, center, scales=(1e-4, 1e-1)) -> np.ndarray:
    """``n`` rows near ``center`` (a point of the open simplex): multiplicative logit
    noise of log-uniform size in ``scales``, renormalised.  Near a fixed point the
    one-step ratios approach the local rate ``κ_loc``."""
    c = np.asarray(center, dtype=float)
    size = 10.0 ** rng.uniform(np.log10(scales[0]), np.log10(scales[1]), (n, 1))
    with np.errstate(all="ignore"):
        return _finish(np.exp(np.log(np.maximum(c, FLOOR)) + size * rng.standard_normal((n, c.size))))


def climb(objective: Callable[[np.ndarray], np.ndarray], start: np.ndarray, rng, *,
          steps: int = 24, width: int = 16, sigma=(0.5, 1e-4)) -> tuple[np.ndarray, np.ndarray]:
    """Adversarial local search: raise ``objective`` (rows ``(m, K)`` -> ``(m,)``, NaN
    counts as ``-inf``) from each row of ``start`` by ``steps`` rounds of ``width``
    Gaussian trials in centred-logit coordinates, the step shrinking geometrically
    from ``sigma[0]`` to ``sigma[1]``.  Returns ``(rows, values)``, each row at least as
    good as where it started.  Deterministic in ``rng``."""
    x = _finish(np.array(start, dtype=float, ndmin=2))
    m, k = x.shape

    def score(rows):
        v = np.asarray(objective(rows), dtype=float)
        return np.where(np.isnan(v), -np.inf, v)
    best = score(x)
    for step in range(steps):
        s = sigma[0] * (sigma[1] / sigma[0]) ** (step / max(1, steps - 1))
        z = np.log(np.repeat(x, width, axis=0))
        trial = _finish(np.exp(z + s * rng.standard_normal(z.shape)))
        v = score(trial).reshape(m, width)
        j = np.argmax(v, axis=1)
        top = v[np.arange(m), j]
        up = top > best
        x[up] = trial[np.flatnonzero(up) * width + j[up]]
        best[up] = top[up]
    return x, best
