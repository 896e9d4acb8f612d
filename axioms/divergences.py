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
                      ``H^2(a, b) = 1/2 sum_i (sqrt a_i - sqrt b_i)^2``, in ``[0, 1]``.
``hilbert(a, b)``     Hilbert's projective metric ``d_H(a, b) = max_i log(a_i/b_i) -
                      min_i log(a_i/b_i)`` over the common support; ``+inf`` when the
                      supports differ; ``0`` for identical rows; NaN for an empty support.
``entropy(a)``        ``H(a) = -sum_i a_i log a_i`` with ``0 log 0 = 0``.

:func:`contraction_ratios` evaluates the ratios of THEORY.md §4 (MT3, MT3r, MT3p) over a
batch of students, and :func:`contraction_check_stream` over batches that arrive one
at a time (a generator), so ``N x K`` is never held in memory.  With one anchor ``p``
its logarithm is computed once; then each anchored divergence costs one ``log`` per
element: ``KL(p||b) = S(p) - S(b)`` with ``S(b) = sum p log b`` (``S(p)`` summed the same
way once, so ``KL(p||p) = 0`` exactly) and ``KL(b||p) = sum b log b - sum b log p``.
Without an anchor (``kl``, MT3p) each element costs a division, then a ``log`` and a dot
on the cached ratio.

How the work is cut (the speed comes from here, measured in ``bench/kernels.py``):

* Blocks of about 256 KiB of float64 (``chunk`` whole rows, or one contiguous
  segment of 32768 columns of a longer row) are processed one at a time into a small
  scratch buffer that stays in the L2 cache, so every pass after the unavoidable one
  over the input (``log``, or a division) reads cached data, and temporaries are
  ``O(block)`` whatever ``N x K``.
* Row sums are ``np.vecdot`` of pieces at most 8192 long: OpenBLAS's ``ddot`` stays
  single-threaded below 10^4 elements.  Longer dots wake its thread pool on every
  call, which on a loaded 2-core machine costs milliseconds per call.
* The scratch buffer starts on a 64-byte line 129..192 bytes (mod 4096) past the
  block it is written from (``_blocks._skew``): at an offset of 0 the loads of the
  input and the stores of ``np.log`` alias in the 4 KiB store-forwarding check, and at
  some other offsets and alignments the pass from memory runs up to 1.9x slower.  The
  anchor's ``p`` and ``log p`` are copied to 64-byte aligned vectors once.
* Row sums never depend on the blocking: each row's dots of pieces ``[0, 8192),
  [8192, 16384), ...`` are kept, then added in order, whatever ``chunk``, so batched,
  chunked, streamed and row-by-row results agree bit for bit.
* The KL kernels share one loop (``_blocks._Sweep``) that does per block only what
  depends on the row: the loop runs thousands of times per check, and Python work in
  it shows in the timings.  Rows whose sum comes out NaN or infinite met a convention
  (``0 log 0``, ``b_i = 0``) or an overflow and are recomputed term by term.

``chunk`` is the number of rows per block when rows are at most 32768 long (default
:func:`default_chunk`).  Inputs should be nonnegative and finite; they are not
validated (that would cost a pass).  The blocking lives in :mod:`._blocks`.

Accuracy: float64 throughout; each kernel matches a plain scalar loop to about
``1e-12`` relative to the condition scale of its sum (``sum_i |term_i|``, which is the
value itself when all terms share a sign).  Near identical arguments KL is a
second-order quantity computed from first-order terms, so its *relative* error grows
like ``eps / KL``: below ``KL ~ 1e-10`` ratios are noise.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ._blocks import (CHUNK_BYTES, WIDTH, _aligned, _dot, _finite_or, _rowdot, _rows, _sel,
                      _shape_of, _stream, _Sweep, default_chunk)

__all__ = ["kl", "tv", "chi2", "hellinger2", "hilbert", "entropy", "contraction_ratios",
           "contraction_check_stream", "default_chunk", "RATIO_KINDS", "CHUNK_BYTES", "WIDTH"]

RATIO_KINDS = ("kl_forward", "kl_reverse", "kl_pairwise")

# --- block kernels (inside _drive: 2-D blocks, warnings off) ------------------------------
def _tv_block(blocks, cols, scratch):
    a, b = blocks
    d = scratch.view(0, 0, _shape_of(a, b))
    np.subtract(a, b, out=d)
    np.abs(d, out=d)
    return d.sum(axis=-1)


def _chi2_block(blocks, cols, scratch):
    a, b = blocks
    shape = _shape_of(a, b)
    d, t = scratch.view(0, 0, shape), scratch.view(1, 1, shape)
    np.subtract(a, b, out=d)
    np.divide(d, b, out=t)         # (d / b) * d, not d * d / b: d * d underflows for tiny d
    part = _dot(t, d)

    def redo(bad):                 # 0/0 = 0
        zero = (np.broadcast_to(a, shape)[bad] == 0) & (np.broadcast_to(b, shape)[bad] == 0)
        return np.where(zero, 0.0, t[bad] * d[bad]).sum(axis=-1)
    return _finite_or(part, redo, nan_only=True)


def _hellinger2_block(blocks, cols, scratch):
    a, b = blocks
    ra, rb = scratch.view(0, 0, a.shape), scratch.view(1, 1, b.shape)
    np.sqrt(a, out=ra)
    np.sqrt(b, out=rb)
    d = np.subtract(ra, rb, out=ra) if ra.shape == rb.shape else ra - rb
    return 0.5 * _dot(d, d)


def _hilbert_block(blocks, cols, scratch):
    """Partial ``max`` and ``min`` of ``log(a/b)``, from the ratio: ``log`` is monotone,
    so only two logarithms per row and block are taken."""
    a, b = blocks
    r = scratch.view(0, 1, _shape_of(a, b))
    np.divide(a, b, out=r)                        # NaN exactly where a_i = b_i = 0
    hi, lo = np.fmax.reduce(r, axis=-1), np.fmin.reduce(r, axis=-1)
    over = np.isinf(hi)
    if over.any():                                # genuine (b_i = 0 < a_i) or overflow
        ab, bb = _sel(a, over), _sel(b, over)
        hi = np.log(hi)
        hi[over] = np.fmax.reduce(np.log(ab) - np.log(bb), axis=-1)
        return hi, np.log(lo)
    return np.log(hi), np.log(lo)


def _entropy_block(blocks, cols, scratch):
    (a,) = blocks
    r = scratch.view(0, 0, a.shape)
    np.log(a, out=r)
    part = _dot(a, r)
    return _finite_or(part, lambda bad: np.where(a[bad] == 0, 0.0, a[bad] * r[bad]).sum(axis=-1),
                      nan_only=True)


# --- public kernels -------------------------------------------------------------------------
def kl(a, b, *, chunk: int | None = None):
    """``KL(a||b) = sum_i a_i log(a_i/b_i)`` per row (``0 log 0 = 0``, ``+inf`` when
    ``b_i = 0 < a_i``)."""
    batch, _, (a, b) = _rows((a, b))
    return _kl_rows(a, b, chunk).reshape(batch)[()]


def tv(a, b, *, chunk: int | None = None):
    """Total variation ``1/2 sum_i |a_i - b_i|`` per row."""
    return 0.5 * _stream(_tv_block, (a, b), chunk)


def chi2(a, b, *, chunk: int | None = None):
    """``chi2(a||b) = sum_i (a_i - b_i)^2 / b_i`` per row (``0/0 = 0``, ``+inf`` when
    ``b_i = 0 < a_i``)."""
    return _stream(_chi2_block, (a, b), chunk)


def hellinger2(a, b, *, chunk: int | None = None):
    """Squared Hellinger ``1/2 sum_i (sqrt a_i - sqrt b_i)^2`` per row (in ``[0, 1]``)."""
    return _stream(_hellinger2_block, (a, b), chunk)


def hilbert(a, b, *, chunk: int | None = None):
    """Hilbert projective metric ``max_i log(a_i/b_i) - min_i log(a_i/b_i)`` per row,
    over the common support; ``+inf`` when supports differ, ``0`` for identical rows."""
    hi, lo = _stream(_hilbert_block, (a, b), chunk, n_out=2, init=(-np.inf, np.inf),
                     combine=(np.fmax, np.fmin))
    with np.errstate(invalid="ignore"):
        d = np.subtract(hi, lo)                   # an empty support leaves -inf - inf
        return np.where(np.isneginf(hi) & np.isposinf(lo), np.nan, d)[()]


def entropy(a, *, chunk: int | None = None):
    """Shannon entropy ``-sum_i a_i log a_i`` per row (``0 log 0 = 0``), in nats."""
    return 0.0 - _stream(_entropy_block, (a,), chunk)


# --- KL on the sweep: the contraction checks' hot loops --------------------------------------
def _kl_row(a: np.ndarray, b: np.ndarray) -> float:
    """``KL(a||b)`` of one pair of rows by the conventions, term by term (for the rows whose
    fast sum is not finite): ``0 log(0/b) = 0``, ``+inf`` where ``b_i = 0 < a_i``, and
    ``log a - log b`` where ``a / b`` overflows or underflows."""
    t = a * np.log(a / b)
    bad = ~np.isfinite(t)
    if bad.any():
        ab, bb = a[bad], b[bad]
        t[bad] = np.where(ab == 0, 0.0, np.where(bb == 0, np.inf, ab * (np.log(ab) - np.log(bb))))
    return t.sum()


def _kl_rows(a: np.ndarray, b: np.ndarray, chunk) -> np.ndarray:
    """``KL(a||b)`` per row of ``(n, K)`` (or ``(1, K)``) operands: per element one division
    from memory, then a ``log`` and a dot on the cached ratio."""
    sweep = _Sweep([a, b], a.shape[1], chunk)
    divide, log, dot = np.divide, np.log, _rowdot
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for steps in sweep.steps():
            for x, y, r, acc in steps:
                divide(x, y, out=r)
                log(r, out=r)
                dot(x, r, out=acc)
        out = sweep.totals()
        for i in np.flatnonzero(~np.isfinite(out)):
            out[i] = _kl_row(a[min(i, a.shape[0] - 1)], b[min(i, b.shape[0] - 1)])
    return out


class _Anchor:
    """KL against one fixed vector ``p``, with what depends only on ``p`` computed once:
    ``log p`` (``-inf`` off the support) and ``S(p) = sum p log p``, summed exactly as
    :meth:`divergences` sums ``S(b) = sum p log b``, so ``KL(p||b) = S(p) - S(b)`` is
    exactly 0 at ``b = p``.  Per element one ``log`` pass from memory into cached scratch,
    then one dot (forward) or two (reverse: ``sum a log a - sum a log p``) on cached data.
    """

    def __init__(self, p: np.ndarray, chunk=None):
        if p.ndim != 1:
            raise ValueError("the anchor must be one vector (K,)")
        self.chunk, self.k = chunk, p.shape[0]
        self.p = _aligned(self.k)
        self.p[:] = p
        with np.errstate(divide="ignore"):
            self.logp = np.log(p, out=_aligned(self.k))
        self.splogp = float(self.divergences(p.reshape(1, -1), forward=True, raw=True)[0])

    def divergences(self, x: np.ndarray, *, forward: bool, raw: bool = False) -> np.ndarray:
        """Per row of ``x`` ``(n, K)``: ``KL(p||x)`` (``forward``; ``S(x)`` when ``raw``)
        or ``KL(x||p)``."""
        if x.shape[1] != self.k:
            raise ValueError(f"operands disagree on the number of classes: "
                             f"{sorted({x.shape[1], self.k})}")
        sweep = _Sweep([x], self.k, self.chunk, 1 if forward else 2)
        log, dot = np.log, _rowdot
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for steps in sweep.steps((self.p if forward else self.logp,)):
                if forward:
                    for a, r, acc, p in steps:               # S(a) = sum p log a
                        log(a, out=r)
                        dot(r, p, out=acc)
                else:
                    for a, r, acc, minus, logp in steps:     # sum a log a, sum a log p
                        log(a, out=r)
                        dot(a, r, out=acc)
                        dot(a, logp, out=minus)
            out = sweep.totals(None if forward else sweep.acc[0] - sweep.acc[1])
            for i in np.flatnonzero(np.isnan(out)):  # 0 log b = 0 (forward), 0 log 0 = 0
                a = x[i]
                out[i] = (np.where(self.p == 0, 0.0, self.p * np.log(a)) if forward else
                          np.where(a == 0, 0.0, a * (np.log(a) - self.logp))).sum()
        return out if raw or not forward else self.splogp - out   # S(x) = -inf: +inf


def _ratio(num, den, parts: bool):
    if parts:
        return num, den
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(num, den)[()]


def _parts(kind: str, anc: "_Anchor | None", operands, chunk):
    """(numerator, denominator) of ``kind`` for one batch of operands."""
    if kind == "kl_pairwise":
        batch, _, (q, mq, q2, mq2) = _rows(operands)
        num, den = np.broadcast_arrays(_kl_rows(mq, mq2, chunk), _kl_rows(q, q2, chunk))
        return num.reshape(batch)[()], den.reshape(batch)[()]
    if anc is None:                               # a batch of anchors: one per row
        q, mq, p = operands
        if kind == "kl_forward":
            return kl(p, mq, chunk=chunk), kl(p, q, chunk=chunk)
        return kl(mq, p, chunk=chunk), kl(q, p, chunk=chunk)
    batch, k, (q, mq) = _rows(operands[:2])
    num = anc.divergences(mq, forward=kind == "kl_forward")
    den = anc.divergences(q, forward=kind == "kl_forward")
    num, den = np.broadcast_arrays(num, den)
    return num.reshape(batch)[()], den.reshape(batch)[()]


def _check_kind(kind: str):
    if kind not in RATIO_KINDS:
        raise ValueError(f"kind must be one of {RATIO_KINDS}, got {kind!r}")


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
    _check_kind(kind)
    if kind == "kl_pairwise":
        if q2 is None or mq2 is None:
            raise ValueError("kl_pairwise needs q2 and mq2 (the second student and its image)")
        return _ratio(*_parts(kind, None, (q, mq, q2, mq2), chunk), parts)
    p = np.asarray(anchor, dtype=np.float64)
    if p.ndim == 1:
        return _ratio(*_parts(kind, _Anchor(p, chunk), (q, mq), chunk), parts)
    return _ratio(*_parts(kind, None, (q, mq, p), chunk), parts)


def contraction_check_stream(kind: str, anchor, batches: Iterable, *, chunk: int | None = None,
                             parts: bool = False):
    """:func:`contraction_ratios` over batches that arrive one at a time.

    ``batches`` yields ``(q, mq)`` (``(q, mq, q2, mq2)`` for ``kl_pairwise``) of
    ``(n_i, K)`` rows each; ``log p`` of the single ``anchor`` vector is computed once
    for all of them.  Returns the ``sum n_i`` ratios (or ``(numerator, denominator)``)
    in order.  Memory: one batch plus a block of scratch, never ``N x K``.
    """
    _check_kind(kind)
    anc = None
    if kind != "kl_pairwise":
        p = np.asarray(anchor, dtype=np.float64)
        if p.ndim != 1:
            raise ValueError("contraction_check_stream takes one anchor vector (K,)")
        anc = _Anchor(p, chunk)
    size = 4 if kind == "kl_pairwise" else 2
    nums, dens = [], []
    for batch in batches:
        batch = tuple(batch)
        if len(batch) != size:
            raise ValueError(f"{kind}: each batch must be "
                             + ("(q, mq, q2, mq2)" if size == 4 else "(q, mq)"))
        num, den = _parts(kind, anc, batch, chunk)
        nums.append(np.atleast_1d(num).reshape(-1))
        dens.append(np.atleast_1d(den).reshape(-1))
    num = np.concatenate(nums) if nums else np.empty(0)
    den = np.concatenate(dens) if dens else np.empty(0)
    return _ratio(num, den, parts)
