"""Divergences and metrics on the simplex, as batched NumPy kernels.

Every kernel takes rows of shape ``(..., K)`` (operands broadcast against each other
over the batch axes; ``K`` must agree) and returns one float64 per row, shape
``(...)`` (a NumPy scalar for single vectors).  The conventions are exact about zeros:

``kl(a, b)``          ``KL(a||b) = sum_i a_i log(a_i / b_i)``; ``0 log(0/b) = 0`` for every
                      ``b >= 0``; ``+inf`` when ``b_i = 0 < a_i`` for some ``i``.
``tv(a, b)``          ``TV(a, b) = 1/2 sum_i |a_i - b_i|``.
``chi2(a, b)``        ``chi2(a||b) = sum_i (a_i - b_i)^2 / b_i``; ``0/0 = 0``; ``+inf`` when
                      ``b_i = 0 < a_i``.
``hellinger2(a, b)``  squared Hellinger distance with the *one-half* normalisation
                      ``H^2(a, b) = 1/2 sum_i (sqrt a_i - sqrt b_i)^2``, which lies in
                      ``[0, 1]`` on the simplex and equals ``1 - sum_i sqrt(a_i b_i)`` there.
``hilbert(a, b)``     Hilbert's projective metric ``d_H(a, b) = max_i log(a_i/b_i) -
                      min_i log(a_i/b_i)``, over the common support; ``+inf`` when the
                      supports differ; ``0`` for identical rows; NaN for an empty support.
``entropy(a)``        ``H(a) = -sum_i a_i log a_i`` with ``0 log 0 = 0``.

:func:`contraction_ratios` evaluates the ratios of THEORY.md §4 (MT3, MT3r, MT3p) over
a batch of students.  With one anchor ``p`` (shape ``(K,)``) its logarithm and
``sum_i p_i log p_i`` are computed once, so each ratio costs one ``log`` per element of
each of its two arguments and two matrix-vector products:
``KL(p||b) = sum p log p - (log b) @ p`` and ``KL(b||p) = sum b log b - b @ log p``.

Streaming: the batch axes are flattened to ``N`` rows and processed ``chunk`` rows at a
time (default :func:`default_chunk`: about 32 MiB of float64 per operand), so the
temporaries are ``O(chunk * K)`` whatever ``N``.  Inputs should be nonnegative and
finite; they are not validated (that would cost a pass over the data).

Accuracy: float64 throughout; each kernel matches a plain scalar loop to about
``1e-12`` relative to the condition scale of its sum (``sum_i |term_i|``, which is the
value itself when all terms share a sign).  Near identical arguments KL is a
second-order quantity computed from first-order terms, so its *relative* error grows
like ``eps / KL``: below ``KL ~ 1e-10`` ratios are noise.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["kl", "tv", "chi2", "hellinger2", "hilbert", "entropy", "contraction_ratios",
           "default_chunk", "RATIO_KINDS", "CHUNK_BYTES"]

CHUNK_BYTES = 32 << 20
RATIO_KINDS = ("kl_forward", "kl_reverse", "kl_pairwise")


def default_chunk(classes: int) -> int:
    """Rows per chunk so that one float64 operand chunk is about ``CHUNK_BYTES``."""
    return max(1, CHUNK_BYTES // (8 * max(1, int(classes))))


# --- streaming ------------------------------------------------------------------
def _rows(arrays) -> tuple[tuple[int, ...], int, list[np.ndarray]]:
    """Operands as 2-D ``(N, K)`` arrays (or ``(1, K)`` to broadcast per chunk)."""
    xs = [np.asarray(x, dtype=np.float64) for x in arrays]
    if any(x.ndim == 0 for x in xs):
        raise ValueError("divergence operands must have a last axis of K classes")
    ks = {x.shape[-1] for x in xs}
    if len(ks) != 1:
        raise ValueError(f"operands disagree on the number of classes: {sorted(ks)}")
    k = ks.pop()
    batch = np.broadcast_shapes(*[x.shape[:-1] for x in xs])
    out = []
    for x in xs:
        if x.shape[:-1] == batch:
            out.append(x.reshape(-1, k))
        elif all(s == 1 for s in x.shape[:-1]):
            out.append(x.reshape(1, k))          # one vector: broadcast inside the chunk
        else:
            out.append(np.broadcast_to(x, batch + (k,)).reshape(-1, k))
    return batch, k, out


def _stream(fn: Callable[..., np.ndarray], arrays, chunk: int | None, n_out: int = 1):
    """Apply the row kernel ``fn`` chunk by chunk; ``fn`` returns ``n_out`` row arrays."""
    batch, k, xs = _rows(arrays)
    n = max((x.shape[0] for x in xs), default=1)
    step = int(chunk) if chunk else default_chunk(k)
    if step < 1:
        raise ValueError(f"chunk must be a positive number of rows, got {chunk}")
    outs = [np.empty(n) for _ in range(n_out)]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for start in range(0, n, step):
            sl = slice(start, min(n, start + step))
            res = fn(*[x if x.shape[0] == 1 else x[sl] for x in xs])
            res = res if n_out > 1 else (res,)
            for o, r in zip(outs, res):
                o[sl] = r
    shaped = tuple(o.reshape(batch)[()] for o in outs)
    return shaped if n_out > 1 else shaped[0]


def _fix(s: np.ndarray, terms: np.ndarray, zero: Callable[[np.ndarray], np.ndarray]):
    """Rows whose sum is NaN had ``0 * inf`` or ``0/0`` terms: resum them with the terms
    where ``zero(rows)`` holds (the convention's zeros) set to 0."""
    bad = np.isnan(s)
    if bad.any():
        t = terms[bad]
        s[bad] = np.where(zero(bad), 0.0, t).sum(axis=-1)
    return s


# --- row kernels (inside _stream: 2-D chunks, warnings off) ---------------------
def _kl_rows(a, b):
    r = np.log(a / b)
    a = np.broadcast_to(a, r.shape)
    s = np.einsum("ij,ij->i", a, r)           # sum a * r without a temporary
    bad = np.isnan(s)                         # a_i = 0 somewhere: 0 log(0/b) = 0
    if bad.any():
        ab = a[bad]
        s[bad] = np.where(ab == 0, 0.0, ab * r[bad]).sum(axis=-1)
    return s


def _tv_rows(a, b):
    return 0.5 * np.abs(a - b).sum(axis=-1)


def _chi2_rows(a, b):
    d = a - b
    t = d / b                  # (d / b) * d, not d * d / b: d * d underflows for tiny d
    t *= d
    s = t.sum(axis=-1)
    return _fix(s, t, lambda bad: (np.broadcast_to(a, t.shape)[bad] == 0)
                & (np.broadcast_to(b, t.shape)[bad] == 0))


def _hellinger2_rows(a, b):
    d = np.sqrt(a) - np.sqrt(b)
    return 0.5 * np.einsum("ij,ij->i", d, d)


def _hilbert_rows(a, b):
    r = np.log(a / b)                      # NaN exactly where a_i = b_i = 0
    return np.fmax.reduce(r, axis=-1) - np.fmin.reduce(r, axis=-1)


def _entropy_rows(a):
    t = a * np.log(a)
    s = t.sum(axis=-1)
    return 0.0 - _fix(s, t, lambda bad: a[bad] == 0)


# --- public kernels -----------------------------------------------------------------
def kl(a, b, *, chunk: int | None = None):
    """``KL(a||b) = sum_i a_i log(a_i/b_i)`` per row (``0 log 0 = 0``, ``+inf`` when
    ``b_i = 0 < a_i``)."""
    return _stream(_kl_rows, (a, b), chunk)


def tv(a, b, *, chunk: int | None = None):
    """Total variation ``1/2 sum_i |a_i - b_i|`` per row."""
    return _stream(_tv_rows, (a, b), chunk)


def chi2(a, b, *, chunk: int | None = None):
    """``chi2(a||b) = sum_i (a_i - b_i)^2 / b_i`` per row (``0/0 = 0``, ``+inf`` when
    ``b_i = 0 < a_i``)."""
    return _stream(_chi2_rows, (a, b), chunk)


def hellinger2(a, b, *, chunk: int | None = None):
    """Squared Hellinger ``1/2 sum_i (sqrt a_i - sqrt b_i)^2`` per row (in ``[0, 1]``)."""
    return _stream(_hellinger2_rows, (a, b), chunk)


def hilbert(a, b, *, chunk: int | None = None):
    """Hilbert projective metric ``max_i log(a_i/b_i) - min_i log(a_i/b_i)`` per row,
    over the common support; ``+inf`` when supports differ, ``0`` for identical rows."""
    return _stream(_hilbert_rows, (a, b), chunk)


def entropy(a, *, chunk: int | None = None):
    """Shannon entropy ``-sum_i a_i log a_i`` per row (``0 log 0 = 0``), in nats."""
    return _stream(_entropy_rows, (a,), chunk)


# --- contraction ratios -------------------------------------------------------------
class _Anchor:
    """What KL against one fixed vector ``p`` needs, computed once: its support,
    ``log p`` (``-inf`` off the support) and ``sum p log p``."""

    def __init__(self, p: np.ndarray):
        self.p = p
        support = p > 0
        self.idx = None if support.all() else np.flatnonzero(support)
        self.ps = p if self.idx is None else p[self.idx]
        with np.errstate(divide="ignore"):
            self.logp = np.log(p)
        self.plogp = float(self.ps @ np.log(self.ps))

    def forward(self, b):
        """``KL(p||b)`` per row: ``sum p log p - (log b) @ p`` over the support of ``p``."""
        bs = b if self.idx is None else b[:, self.idx]
        return self.plogp - np.log(bs) @ self.ps

    def reverse(self, a):
        """``KL(a||p)`` per row: ``sum a log a - a @ log p``."""
        la = np.log(a)
        s = np.einsum("ij,ij->i", a, la) - a @ self.logp
        bad = np.isnan(s)
        if bad.any():                   # a_i = 0 somewhere: 0 log 0 and 0 * log 0 are 0
            ab = a[bad]
            t = ab * (la[bad] - self.logp)
            s[bad] = np.where(ab == 0, 0.0, t).sum(axis=-1)
        return s


def contraction_ratios(kind: str, anchor, q, mq, q2=None, mq2=None, *,
                       chunk: int | None = None, parts: bool = False):
    """The one-step ratio of THEORY.md §4 for each row of a batch of students.

    ``kl_forward``:  ``KL(p||Mq) / KL(p||q)``     (MT3; ``anchor`` = ``p``)
    ``kl_reverse``:  ``KL(Mq||p) / KL(q||p)``     (MT3r)
    ``kl_pairwise``: ``KL(Mq||Mq2) / KL(q||q2)``  (MT3p; ``anchor`` is ignored, may be None)

    ``q``, ``mq`` (and ``q2``, ``mq2``) are ``(..., K)``; ``anchor`` is one vector
    ``(K,)`` — then ``log p`` is computed once — or a batch broadcasting with ``q``.
    The ratio follows IEEE division: NaN for ``0/0`` (``q = p``: undefined) and
    ``inf/inf``, ``+inf`` for ``x/0`` with ``x > 0``.  With ``parts=True`` returns
    ``(numerator, denominator)`` instead.
    """
    if kind not in RATIO_KINDS:
        raise ValueError(f"kind must be one of {RATIO_KINDS}, got {kind!r}")
    if kind == "kl_pairwise":
        if q2 is None or mq2 is None:
            raise ValueError("kl_pairwise needs q2 and mq2 (the second student and its image)")
        num, den = _stream(lambda a, b, c, d: (_kl_rows(b, d), _kl_rows(a, c)),
                           (q, mq, q2, mq2), chunk, n_out=2)
    else:
        p = np.asarray(anchor, dtype=np.float64)
        if p.ndim == 1:
            anc = _Anchor(p)
            if kind == "kl_forward":
                row = lambda a, b: (anc.forward(b), anc.forward(a))
            else:
                row = lambda a, b: (anc.reverse(b), anc.reverse(a))
            num, den = _stream(row, (q, mq), chunk, n_out=2)
        else:
            if kind == "kl_forward":
                row = lambda pp, a, b: (_kl_rows(pp, b), _kl_rows(pp, a))
            else:
                row = lambda pp, a, b: (_kl_rows(b, pp), _kl_rows(a, pp))
            num, den = _stream(row, (p, q, mq), chunk, n_out=2)
    if parts:
        return num, den
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(num, den)[()]
