"""The blocking machinery of :mod:`distillproof.axioms.divergences` (see its docstring
for why blocks, widths and the scratch skew are what they are).

Operands are flattened to ``(N, K)`` rows (or ``(1, K)`` broadcast per block).  Two
loops: in :func:`_drive` (TV, chi^2, Hellinger, Hilbert, entropy) a kernel sees 2-D
blocks of ``rows x width`` elements, returns partial row results, and they are combined
over the column segments of each row, in order; :class:`_Sweep` (KL and the contraction
checks, the hot path) hands out blocks cut on the dot pieces and keeps one sum per row
and piece.  Either way a row's result never depends on how many rows share its block.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

CHUNK_BYTES = 256 << 10      # one block of one operand: stays in L2 with its scratch
SEGMENT = CHUNK_BYTES // 8   # columns per block of a longer row
WIDTH = 8192                 # longest dot: ddot below OpenBLAS's threading threshold
SKEW = 192                   # bytes between a block and its scratch, mod 4096 (see _skew)

_rowdot = getattr(np, "vecdot", None) or (
    lambda a, b, out=None: np.einsum("...i,...i->...", a, b, out=out))


def default_chunk(classes: int) -> int:
    """Rows per block so that one float64 operand block is about ``CHUNK_BYTES``
    (longer rows are cut into segments of ``CHUNK_BYTES``, one row at a time)."""
    return max(1, CHUNK_BYTES // (8 * max(1, int(classes))))


def _skew(addr: int) -> int:
    """Bytes (mod 4096) from a block at ``addr`` to the scratch written from it: the
    scratch 64-byte aligned, ``SKEW`` or up to 63 bytes less past an unaligned block
    (``304`` past an aligned one).  Measured for ``np.log`` from memory (256 MiB) into
    the scratch, for every alignment of the source: fast when the scratch starts 128..312
    bytes past the block and at most as far into its 64-byte line as the source does;
    about 2x slower otherwise, e.g. at 0 or >= 320 bytes (false store-to-load aliasing
    in the 4 KiB check) or with the scratch 32 bytes into a line and the source 16 (large
    NumPy arrays start 16 bytes into a line).  A line-aligned source is ~1.5x slower at
    any offset, least so around 304."""
    return SKEW - addr % 64 if addr % 64 else 304


def _aligned(size: int) -> np.ndarray:
    """An empty float64 vector starting on a 64-byte line (for the constant operand of
    the dots: with an aligned scratch, MT3r runs ~7% faster than with both 16 bytes in)."""
    raw = np.empty(size + 8)
    start = (-raw.__array_interface__["data"][0] % 64) // 8
    return raw[start:start + size]


def _block_rows(k: int, chunk) -> int:
    rows = int(chunk) if chunk else default_chunk(k)
    if rows < 1:
        raise ValueError(f"chunk must be a positive number of rows, got {chunk}")
    return 1 if k > SEGMENT else rows


def _dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row sums of ``x * y`` for a block ``(R, C)`` (``y`` may be one row or ``(C,)``),
    as dots of at most ``WIDTH``: columns ``[0, W), [W, 2W), ...`` summed in order."""
    c = x.shape[-1]
    if c <= WIDTH:
        return _rowdot(x, y)
    m, rest = divmod(c, WIDTH)
    full = m * WIDTH
    xs = x[..., :full].reshape(x.shape[:-1] + (m, WIDTH))
    ys = y[..., :full].reshape(y.shape[:-1] + (m, WIDTH))
    if ys.ndim == xs.ndim and xs.shape[0] != ys.shape[0]:
        xs = np.broadcast_to(xs, (max(xs.shape[0], ys.shape[0]),) + xs.shape[1:])
    s = _rowdot(xs, ys).sum(axis=-1)
    if rest:
        s += _rowdot(x[..., full:], y[..., full:])
    return s


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
    """Reusable block buffers, each placed ``_skew`` bytes past its source (mod 4096)
    with the source's row stride (mod 4096), so the skew holds on every row."""

    def __init__(self, rows: int, width: int, slots: int):
        self.raw = [np.empty(rows * (width + 512) + 1024) for _ in range(slots)]
        self.base = [r.__array_interface__["data"][0] for r in self.raw]
        self.src: list[tuple[int, int]] = []

    def view(self, slot: int, src: int, shape: tuple[int, int]) -> np.ndarray:
        return self.at(slot, *self.src[src], *shape)

    def at(self, slot: int, addr: int, stride: int, rows: int, width: int) -> np.ndarray:
        """``(rows, width)`` placed against a source at ``addr`` with row ``stride``."""
        start = ((addr + _skew(addr) - self.base[slot]) % 4096) // 8
        if rows == 1:
            return self.raw[slot][start:start + width].reshape(1, width)
        step = width + ((stride // 8 - width) % 512)
        return self.raw[slot][start:start + rows * step].reshape(rows, step)[:, :width]


def _drive(kernel: Callable, xs: list[np.ndarray], n: int, k: int, chunk, n_out: int,
           init=(0.0,), combine=(np.add,)):
    """Run ``kernel(blocks, cols, scratch) -> n_out partial row arrays`` over every block,
    combining partials across column segments with ``combine`` (per output)."""
    width = min(k, SEGMENT)
    rows = _block_rows(k, chunk)
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


# --- the KL sweep ------------------------------------------------------------------------
class _Sweep:
    """The loop of the KL kernels (anchored and pairwise): blocks of rows that fit the L2
    cache, handed out as *parts* made of whole dot pieces.

    Operands are ``(n, K)`` rows (or ``(1, K)``, broadcast).  :meth:`steps` yields lists
    of steps ``(*blocks, r, *acc, *const)``: the operands' blocks of one part, shaped
    ``(rows, q, w)`` — ``q`` pieces of ``WIDTH`` columns, or ``q = 1`` piece of the last
    ``K mod WIDTH`` —, a scratch ``r`` of that shape placed :func:`_skew` bytes past the
    first block, the ``(rows, q)`` per-piece row sums (one per accumulator) that the step
    must write, and the same columns of each constant vector ``(K,)`` (the anchor's).
    Rows longer than ``SEGMENT`` go one at a time, ``SEGMENT`` columns per part, each
    column segment down all the rows before the next, so that the constant's piece stays
    in L2 rather than cycling through all ``K`` columns per row (that alone makes MT3
    ~20% faster).  Shorter rows go ``chunk`` rows at a time, whole.  Blocks of one row
    (long rows, ``chunk=1``) come without the ``rows`` axis.  :meth:`totals` adds each
    row's pieces in order, so a row's sum never depends on the blocking (nor on ``n``).

    Steps are prepared ``BATCH`` at a time, so that the caller's loop body is its NumPy
    calls alone: at ``256 x 131072`` it runs 1024 times per divergence, and Python work
    interleaved with the passes (views, indexing) runs on caches those passes have just
    flushed and costs ~5%.
    """
    BATCH = 128

    def __init__(self, xs: list[np.ndarray], k: int, chunk, n_acc: int = 1):
        self.xs, self.k, self.n = xs, k, max(x.shape[0] for x in xs)
        self.m, self.rest = m, rest = divmod(k, WIDTH)
        self.rows = _block_rows(k, chunk)
        per = SEGMENT // WIDTH if k > SEGMENT else max(m, 1)
        self.spans = [(a, min(m, a + per)) for a in range(0, m, per)] + [(m, m + 1)] * (rest > 0)
        self.acc = np.zeros((n_acc, self.n, m + (rest > 0)))

    def _cut(self, x: np.ndarray) -> list[np.ndarray]:
        """``(n, K)`` rows as the parts' ``(n, q, w)`` views."""
        full = self.m * WIDTH
        pieces = x[:, :full].reshape(x.shape[0], self.m, WIDTH)
        tail = x[:, full:].reshape(x.shape[0], 1, self.rest)
        return [tail if a == self.m else pieces[:, a:b] for a, b in self.spans]

    def steps(self, consts: tuple[np.ndarray, ...] = ()):
        n, rows, one = self.n, min(self.rows, max(self.n, 1)), self.rows == 1
        x0 = self.xs[0]
        addr, stride = x0.__array_interface__["data"][0], x0.strides[0] if len(x0) > 1 else 0
        scratch = _Scratch(rows, min(self.k, SEGMENT), 1)
        const = [[c[0] for c in self._cut(v.reshape(1, -1))] for v in consts]
        spans = []                                 # all that does not depend on the row, once
        for t, ((a, b), *views) in enumerate(zip(self.spans, *map(self._cut, self.xs))):
            views = [v if len(v) == n else np.broadcast_to(v, (n,) + v.shape[1:]) for v in views]
            spans.append((views, [acc[:, a:b] for acc in self.acc], tuple(c[t] for c in const),
                          addr + 8 * WIDTH * a, views[0].shape[1:], {}))
        starts = range(0, n, rows)               # long rows: each segment down all rows
        order = (((r0, span) for span in spans for r0 in starts) if one else
                 ((r0, span) for r0 in starts for span in spans))
        batch = []
        for r0, (views, accs, cs, at, piece, placed) in order:
            sel, phase = r0 if one else slice(r0, r0 + rows), r0 * stride % 4096
            r = placed.get(phase)
            if r is None:                          # _skew past this block, on every row
                r = scratch.at(0, at + r0 * stride, stride, rows, piece[0] * piece[1])
                r = placed[phase] = r.reshape(piece if one else (rows,) + piece)
            batch.append((*[v[sel] for v in views], r[:n - r0] if r0 + rows > n else r,
                          *[acc[sel] for acc in accs], *cs))
            if len(batch) == self.BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def totals(self, acc: np.ndarray | None = None) -> np.ndarray:
        """Row sums ``(n,)`` of per-piece sums ``(n, pieces)`` (default: ``acc[0]``)."""
        return np.add.reduce(self.acc[0] if acc is None else acc, axis=-1)
