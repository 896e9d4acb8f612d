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
element: ``KL(p||b) = sum p (log p - log b)`` and ``KL(b||p) = sum b (log b - log p)``.

How the work is cut (the speed comes from here, measured in ``bench/kernels.py``):

* Blocks of ``rows x width`` elements (``width = min(K, 8192)``, about 512 KiB of
  float64) are processed one at a time into a small scratch buffer that stays in the
  L2 cache, so every pass after the unavoidable one over the input (``log``, or a
  division) reads cached data, and temporaries are ``O(block)`` whatever ``N x K``.
* Row sums are ``np.vecdot`` of rows at most 8192 long: OpenBLAS's ``ddot`` stays
  single-threaded below 10^4 elements.  Longer dots wake its thread pool on every
  call, which on a loaded 2-core machine costs milliseconds per call.
* The scratch buffer is placed 192 bytes (mod 4096) past the block it is written
  from: at an offset of 0 the loads of the input and the stores of ``np.log`` alias
  in the 4 KiB store-forwarding check and the pass runs at half speed.
* Row sums never depend on the blocking (each row is summed over the same column
  segments whatever ``chunk``), so batched, chunked and row-by-row results agree
  bit for bit.

``chunk`` is the number of rows per block (default :func:`default_chunk`).  Inputs
should be nonnegative and finite; they are not validated (that would cost a pass).

Accuracy: float64 throughout; each kernel matches a plain scalar loop to about
``1e-12`` relative to the condition scale of its sum (``sum_i |term_i|``, which is the
value itself when all terms share a sign).  Near identical arguments KL is a
second-order quantity computed from first-order terms, so its *relative* error grows
like ``eps / KL``: below ``KL ~ 1e-10`` ratios are noise.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

__all__ = ["kl", "tv", "chi2", "hellinger2", "hilbert", "entropy", "contraction_ratios",
           "contraction_check_stream", "default_chunk", "RATIO_KINDS", "CHUNK_BYTES", "WIDTH"]

CHUNK_BYTES = 512 << 10      # one block of one operand: fits L2 with its scratch
WIDTH = 8192                 # columns per block: ddot below OpenBLAS's threading threshold
_SKEW = 192                  # bytes between a block and its scratch, mod 4096
RATIO_KINDS = ("kl_forward", "kl_reverse", "kl_pairwise")

_rowdot = getattr(np, "vecdot", None) or (lambda a, b: np.einsum("...i,...i->...", a, b))


def default_chunk(classes: int) -> int:
    """Rows per block so that one float64 operand block is about ``CHUNK_BYTES``."""
    return max(1, CHUNK_BYTES // (8 * min(WIDTH, max(1, int(classes)))))


# --- blocking ---------------------------------------------------------------------------
def _rows(arrays) -> tuple[tuple[int, ...], int, list[np.ndarray]]:
    """Operands as 2-D ``(N, K)`` arrays (or ``(1, K)`` to broadcast per block)."""
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
            x = x.reshape(-1, k)
        elif all(s == 1 for s in x.shape[:-1]):
            x = x.reshape(1, k)                   # one vector: broadcast inside the block
        else:
            x = np.broadcast_to(x, batch + (k,)).reshape(-1, k)
        out.append(x if x.strides[-1] == 8 else np.ascontiguousarray(x))
    return batch, k, out


class _Scratch:
    """Reusable block buffers, each placed ``_SKEW`` bytes past its source (mod 4096)
    with the source's row stride (mod 4096), so the skew holds on every row."""

    def __init__(self, rows: int, width: int, slots: int):
        self.raw = [np.empty(rows * (width + 512) + 1024) for _ in range(slots)]
        self.base = [r.__array_interface__["data"][0] for r in self.raw]
        self.src: list[tuple[int, int]] = []

    def view(self, slot: int, src: int, shape: tuple[int, int]) -> np.ndarray:
        addr, stride = self.src[src]
        rows, width = shape
        start = ((addr + _SKEW - self.base[slot]) % 4096) // 8
        if rows == 1:
            return self.raw[slot][start:start + width].reshape(1, width)
        step = width + ((stride // 8 - width) % 512)
        return self.raw[slot][start:start + rows * step].reshape(rows, step)[:, :width]


def _drive(kernel: Callable, xs: list[np.ndarray], n: int, k: int, chunk, n_out: int,
           init=(0.0,), combine=(np.add,)):
    """Run ``kernel(blocks, cols, scratch) -> n_out partial row arrays`` over every block,
    combining partials across column segments with ``combine`` (per output)."""
    width = min(k, WIDTH)
    rows = int(chunk) if chunk else default_chunk(k)
    if rows < 1:
        raise ValueError(f"chunk must be a positive number of rows, got {chunk}")
    init = tuple(init) * n_out if len(init) == 1 else tuple(init)
    combine = tuple(combine) * n_out if len(combine) == 1 else tuple(combine)
    outs = [np.full(n, v) for v in init]
    scratch = _Scratch(min(rows, n), width, 2)
    addrs = [x.__array_interface__["data"][0] for x in xs]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for r0 in range(0, n, rows):
            r1 = min(n, r0 + rows)
            for c0 in range(0, k, width):
                c1 = min(k, c0 + width)
                blocks, scratch.src = [], []
                for x, a in zip(xs, addrs):
                    whole = x.shape[0] == 1
                    blocks.append(x[:, c0:c1] if whole else x[r0:r1, c0:c1])
                    scratch.src.append((a + (0 if whole else r0 * x.strides[0]) + 8 * c0,
                                        x.strides[0]))
                parts = kernel(blocks, slice(c0, c1), scratch)
                for o, part, op in zip(outs, parts if n_out > 1 else (parts,), combine):
                    seg = o[r0:r1]
                    op(seg, part, out=seg)
    return outs


def _shape(batch, outs, n_out):
    shaped = tuple(o.reshape(batch)[()] for o in outs)
    return shaped if n_out > 1 else shaped[0]


def _stream(kernel, arrays, chunk, n_out=1, **kw):
    batch, k, xs = _rows(arrays)
    n = max((x.shape[0] for x in xs), default=1)
    return _shape(batch, _drive(kernel, xs, n, k, chunk, n_out, **kw), n_out)


def _shape_of(*blocks) -> tuple[int, int]:
    return max(b.shape[0] for b in blocks), blocks[0].shape[1]


def _finite_or(part: np.ndarray, redo: Callable[[np.ndarray], np.ndarray],
               nan_only: bool = False) -> np.ndarray:
    """Rows whose partial is NaN (or, unless ``nan_only``, infinite) met a convention
    (``0 log 0``, ``0/0``) or an overflow: recompute them with ``redo(rows)``."""
    bad = np.isnan(part) if nan_only else ~np.isfinite(part)
    if bad.any():
        part = part.copy()
        part[bad] = redo(bad)
    return part


def _sel(x: np.ndarray, bad: np.ndarray) -> np.ndarray:
    return x if x.shape[0] == 1 else x[bad]


# --- block kernels (inside _drive: 2-D blocks, warnings off) ------------------------------
def _kl_block(blocks, cols, scratch):
    a, b = blocks
    r = scratch.view(0, 1, _shape_of(a, b))
    np.divide(a, b, out=r)
    np.log(r, out=r)
    part = _rowdot(np.broadcast_to(a, r.shape), r)

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
    part = _rowdot(t, d)

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
    return 0.5 * _rowdot(d, d)


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
    part = _rowdot(a, r)
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
    """What KL against one fixed vector ``p`` needs, computed once: ``log p`` (``-inf``
    off the support) and the same with 0 off the support (those terms carry ``p_i = 0``)."""

    def __init__(self, p: np.ndarray):
        self.p = p
        with np.errstate(divide="ignore"):
            self.logp = np.log(p)
        self.logp_safe = np.where(p > 0, self.logp, 0.0)

    def forward_block(self, blocks, cols, scratch):
        """``KL(p||mq)``, ``KL(p||q)`` partials: ``sum p (log p - log b)``."""
        ps, lps = self.p[cols], self.logp_safe[cols]
        out = []
        for j in (1, 0):
            b = blocks[j]
            r = scratch.view(0, j, b.shape)
            np.log(b, out=r)
            np.subtract(lps, r, out=r)
            part = _rowdot(r, ps)

            def redo(bad, b=b):                   # p_i = b_i = 0: the term is 0
                t = ps * (lps - np.log(_sel(b, bad)))
                return np.where(ps == 0, 0.0, t).sum(axis=-1)
            out.append(_finite_or(part, redo, nan_only=True))
        return tuple(out)

    def reverse_block(self, blocks, cols, scratch):
        """``KL(mq||p)``, ``KL(q||p)`` partials: ``sum a (log a - log p)``."""
        lp = self.logp[cols]
        out = []
        for j in (1, 0):
            a = blocks[j]
            r = scratch.view(0, j, a.shape)
            np.log(a, out=r)
            np.subtract(r, lp, out=r)
            part = _rowdot(a, r)

            def redo(bad, a=a, r=r):              # a_i = 0: the term is 0
                ab = _sel(a, bad)
                return np.where(ab == 0, 0.0, ab * _sel(r, bad)).sum(axis=-1)
            out.append(_finite_or(part, redo, nan_only=True))
        return tuple(out)


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


def _ratio_kernel(kind: str, anchor):
    """``(kernel, n_operands, extra)``: the block kernel giving (numerator, denominator)
    partials, and whether the anchor is an operand (a batched anchor)."""
    if kind not in RATIO_KINDS:
        raise ValueError(f"kind must be one of {RATIO_KINDS}, got {kind!r}")
    if kind == "kl_pairwise":
        return _pairwise_block, ()
    p = np.asarray(anchor, dtype=np.float64)
    if p.ndim == 1:
        anc = _Anchor(p)
        return (anc.forward_block if kind == "kl_forward" else anc.reverse_block), ()
    if kind == "kl_forward":                      # operands (q, mq, p): KL(p||mq), KL(p||q)
        kernel = lambda bl, c, s: (_kl_block((bl[2], bl[1]), c, _Pick(s, (2, 1))),
                                   _kl_block((bl[2], bl[0]), c, _Pick(s, (2, 0))))
    else:                                         # KL(mq||p), KL(q||p)
        kernel = lambda bl, c, s: (_kl_block((bl[1], bl[2]), c, _Pick(s, (1, 2))),
                                   _kl_block((bl[0], bl[2]), c, _Pick(s, (0, 2))))
    return kernel, (p,)


def _ratio(num, den, parts: bool):
    if parts:
        return num, den
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(num, den)[()]


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
    if kind == "kl_pairwise" and (q2 is None or mq2 is None):
        raise ValueError("kl_pairwise needs q2 and mq2 (the second student and its image)")
    kernel, extra = _ratio_kernel(kind, anchor)
    operands = (q, mq, q2, mq2) if kind == "kl_pairwise" else (q, mq) + extra
    num, den = _stream(kernel, operands, chunk, n_out=2)
    return _ratio(num, den, parts)


def contraction_check_stream(kind: str, anchor, batches: Iterable, *, chunk: int | None = None,
                             parts: bool = False):
    """:func:`contraction_ratios` over batches that arrive one at a time.

    ``batches`` yields ``(q, mq)`` (``(q, mq, q2, mq2)`` for ``kl_pairwise``) with
    ``(n_i, K)`` rows each; ``log p`` of the (single) ``anchor`` is computed once for
    all of them.  Returns the ``sum n_i`` ratios (or ``(numerator, denominator)``), in
    order.  Memory: one batch plus one block of scratch, never ``N x K``.
    """
    kernel, extra = _ratio_kernel(kind, anchor)
    if extra:
        raise ValueError("contraction_check_stream takes one anchor vector (K,)")
    nums, dens = [], []
    for batch in batches:
        batch = tuple(batch)
        if len(batch) != (4 if kind == "kl_pairwise" else 2):
            raise ValueError(f"{kind}: each batch must be "
                             + ("(q, mq, q2, mq2)" if kind == "kl_pairwise" else "(q, mq)"))
        _, k, xs = _rows(batch)
        n = max(x.shape[0] for x in xs)
        num, den = _drive(kernel, xs, n, k, chunk, 2)
        nums.append(num)
        dens.append(den)
    num = np.concatenate(nums) if nums else np.empty(0)
    den = np.concatenate(dens) if dens else np.empty(0)
    return _ratio(num, den, parts)
