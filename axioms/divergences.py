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

How the work is cut (the speed comes from here, measured in ``bench/kernels.py``):

* Blocks of about 256 KiB of float64 (``chunk`` whole rows, or one contiguous
  segment of 32768 columns of a longer row) are processed one at a time into a small
  scratch buffer that stays in the L2 cache, so every pass after the unavoidable one
  over the input (``log``, or a division) reads cached data, and temporaries are
  ``O(block)`` whatever ``N x K``.
* Row sums are ``np.vecdot`` of pieces at most 8192 long: OpenBLAS's ``ddot`` stays
  single-threaded below 10^4 elements.  Longer dots wake its thread pool on every
  call, which on a loaded 2-core machine costs milliseconds per call.
* The scratch buffer is placed 192 bytes (mod 4096) past the block it is written
  from: at an offset of 0 the loads of the input and the stores of ``np.log`` alias
  in the 4 KiB store-forwarding check and the pass runs at half speed.
* Row sums never depend on the blocking (each row is summed over the same column
  segments whatever ``chunk``), so batched, chunked and row-by-row results agree
  bit for bit.

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

from ._blocks import (CHUNK_BYTES, SKEW, WIDTH, _dot, _finite_or, _rowdot, _rows,
                      _Scratch, _sel, _shape_of, _stream, default_chunk)

__all__ = ["kl", "tv", "chi2", "hellinger2", "hilbert", "entropy", "contraction_ratios",
           "contraction_check_stream", "default_chunk", "RATIO_KINDS", "CHUNK_BYTES", "WIDTH"]

RATIO_KINDS = ("kl_forward", "kl_reverse", "kl_pairwise")

# --- block kernels (inside _drive: 2-D blocks, warnings off) ------------------------------
def _kl_block(blocks, cols, scratch):
    a, b = blocks
    r = scratch.view(0, 1, _shape_of(a, b))
    np.divide(a, b, out=r)
    np.log(r, out=r)
    part = _dot(np.broadcast_to(a, r.shape), r)

    def redo(bad):                 # 0 log 0 = 0; a/b overflowed where b > 0: log a - log b
        ab, bb, rb = _sel(a, bad), _sel(b, bad), r[bad]
        over = np.isposinf(rb) & (bb > 0)
        if over.any():
            rb = np.where(over, np.log(ab) - np.log(bb), rb)
        return np.where(ab == 0, 0.0, ab * rb).sum(axis=-1)
    return _finite_or(part, redo)


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
    return _stream(_kl_block, (a, b), chunk)


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


# --- contraction ratios ---------------------------------------------------------------------
class _Anchor:
    """KL against one fixed vector ``p``, with what depends only on ``p`` computed once:
    ``log p`` (``-inf`` off the support), its pieces cut as the blocks are, and
    ``S(p) = sum p log p`` summed exactly as :meth:`divergences` sums
    ``S(b) = sum p log b``, so that ``KL(p||b) = S(p) - S(b)`` is exactly 0 at ``b = p``.

    The loop is the hot path of every contraction check, so it is written out rather
    than run through ``_drive``: one ``log`` pass into skewed scratch and one dot
    (forward) or two (reverse, ``sum a log a - sum a log p``) per block, on cached data.
    """

    def __init__(self, p: np.ndarray, chunk=None):
        if p.ndim != 1:
            raise ValueError("the anchor must be one vector (K,)")
        self.p, self.chunk, self.k = p, chunk, p.shape[0]
        with np.errstate(divide="ignore"):
            self.logp = np.log(p)
        segment = CHUNK_BYTES // 8
        self.width = min(self.k, segment)
        self.pieces = [(c0, min(self.k, c0 + self.width)) for c0 in range(0, self.k, self.width)]
        self.splogp = float(self.divergences(p.reshape(1, -1), forward=True, raw=True)[0])

    def divergences(self, x: np.ndarray, *, forward: bool, raw: bool = False) -> np.ndarray:
        """Per row of ``x`` ``(n, K)``: ``KL(p||x)`` (``forward``; ``S(x)`` when ``raw``)
        or ``KL(x||p)``."""
        n, k = x.shape
        if k != self.k:
            raise ValueError(f"operands disagree on the number of classes: {sorted({k, self.k})}")
        rows = 1 if k > CHUNK_BYTES // 8 else (int(self.chunk) if self.chunk else default_chunk(k))
        if rows < 1:
            raise ValueError(f"chunk must be a positive number of rows, got {self.chunk}")
        out = np.zeros(n)
        scratch = _Scratch(min(rows, n), self.width, 1)
        addr, stride = x.__array_interface__["data"][0], x.strides[0]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if rows == 1 and self.long:
                self._long_rows(x, out, scratch, addr, stride, forward)
            else:
                self._blocks(x, out, scratch, addr, stride, forward, rows)
            bad = np.flatnonzero(np.isnan(out))
            for i in bad:                          # the conventions: 0 log b = 0, 0 log 0 = 0
                a = x[i]
                if forward:
                    out[i] = np.where(self.p == 0, 0.0, self.p * np.log(a)).sum()
                else:
                    out[i] = np.where(a == 0, 0.0, a * (np.log(a) - self.logp)).sum()
        if forward and not raw:
            out = self.splogp - out               # S(x) = -inf where x_i = 0 < p_i: +inf
        return out


    @property
    def long(self) -> bool:
        """Rows cut into whole multiples of ``WIDTH`` (the fast path of long rows)."""
        return all(c1 - c0 > WIDTH and (c1 - c0) % WIDTH == 0 for c0, c1 in self.pieces[:-1]) \
            and self.k > CHUNK_BYTES // 8

    def _long_rows(self, x, out, scratch, addr, stride, forward):
        """One row at a time, one contiguous segment per step (the hot loop)."""
        raw, base = scratch.raw[0], scratch.base[0]
        pieces = []
        for c0, c1 in self.pieces:
            m, rest = divmod(c1 - c0, WIDTH)
            cut = (c0, c1, m, rest, self.p[c0:c1 - rest].reshape(m, WIDTH),
                   self.logp[c0:c1 - rest].reshape(m, WIDTH), self.p[c1 - rest:c1],
                   self.logp[c1 - rest:c1])
            pieces.append(cut)
        for i in range(x.shape[0]):
            row, total = x[i], 0.0
            at = addr + i * stride + SKEW - base
            for c0, c1, m, rest, p2, lp2, pt, lpt in pieces:
                start = ((at + 8 * c0) % 4096) >> 3
                r = raw[start:start + c1 - c0]
                seg = row[c0:c1]
                np.log(seg, out=r)
                full = c1 - c0 - rest
                if forward:
                    total += _rowdot(r[:full].reshape(m, WIDTH), p2).sum()
                    if rest:
                        total += _rowdot(r[full:], pt)
                else:
                    s2 = seg[:full].reshape(m, WIDTH)
                    total += (_rowdot(s2, r[:full].reshape(m, WIDTH)) - _rowdot(s2, lp2)).sum()
                    if rest:
                        total += _rowdot(seg[full:], r[full:]) - _rowdot(seg[full:], lpt)
            out[i] = total

    def _blocks(self, x, out, scratch, addr, stride, forward, rows):
        """Blocks of ``rows`` whole rows (or of row pieces), general shapes."""
        n = x.shape[0]
        for r0 in range(0, n, rows):
            r1 = min(n, r0 + rows)
            acc = out[r0:r1]
            for c0, c1 in self.pieces:
                blk = x[r0:r1, c0:c1]
                scratch.src = [(addr + r0 * stride + 8 * c0, stride)]
                r = scratch.view(0, 0, blk.shape)
                np.log(blk, out=r)
                if forward:
                    acc += _dot(r, self.p[c0:c1])
                else:
                    acc += _dot(blk, r)
                    acc -= _dot(blk, self.logp[c0:c1])


class _Pick:
    """The scratch seen by a kernel reused on other operands (``order`` maps its
    operand indices to the block's)."""

    def __init__(self, scratch: _Scratch, order: tuple[int, ...]):
        self.scratch, self.order = scratch, order

    def view(self, slot, src, shape):
        return self.scratch.view(slot, self.order[src], shape)


def _pairwise_block(blocks, cols, scratch):
    q, mq, q2, mq2 = blocks
    return (_kl_block((mq, mq2), cols, _Pick(scratch, (1, 3))),
            _kl_block((q, q2), cols, _Pick(scratch, (0, 2))))


def _ratio(num, den, parts: bool):
    if parts:
        return num, den
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(num, den)[()]


def _parts(kind: str, anc: "_Anchor | None", operands, chunk):
    """(numerator, denominator) of ``kind`` for one batch of operands."""
    if kind == "kl_pairwise":
        return _stream(_pairwise_block, operands, chunk, n_out=2)
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
