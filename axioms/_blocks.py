"""The blocking machinery of :mod:`distillproof.axioms.divergences` (see its docstring
for why blocks, widths and the scratch skew are what they are).

Operands are flattened to ``(N, K)`` rows (or ``(1, K)`` broadcast per block); a
kernel sees 2-D blocks of ``rows x width`` elements, returns partial row results,
and :func:`_drive` combines them over the column segments of each row, in order, so
a row's result never depends on how many rows share its block.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

CHUNK_BYTES = 256 << 10      # one block of one operand: stays in L2 with its scratch
WIDTH = 8192                 # longest dot: ddot below OpenBLAS's threading threshold
SKEW = 192                   # bytes between a block and its scratch, mod 4096

_rowdot = getattr(np, "vecdot", None) or (lambda a, b: np.einsum("...i,...i->...", a, b))


def default_chunk(classes: int) -> int:
    """Rows per block so that one float64 operand block is about ``CHUNK_BYTES``
    (longer rows are cut into segments of ``CHUNK_BYTES``, one row at a time)."""
    return max(1, CHUNK_BYTES // (8 * max(1, int(classes))))


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
    """Reusable block buffers, each placed ``SKEW`` bytes past its source (mod 4096)
    with the source's row stride (mod 4096), so the skew holds on every row."""

    def __init__(self, rows: int, width: int, slots: int):
        self.raw = [np.empty(rows * (width + 512) + 1024) for _ in range(slots)]
        self.base = [r.__array_interface__["data"][0] for r in self.raw]
        self.src: list[tuple[int, int]] = []

    def view(self, slot: int, src: int, shape: tuple[int, int]) -> np.ndarray:
        addr, stride = self.src[src]
        rows, width = shape
        start = ((addr + SKEW - self.base[slot]) % 4096) // 8
        if rows == 1:
            return self.raw[slot][start:start + width].reshape(1, width)
        step = width + ((stride // 8 - width) % 512)
        return self.raw[slot][start:start + rows * step].reshape(rows, step)[:, :width]


def _drive(kernel: Callable, xs: list[np.ndarray], n: int, k: int, chunk, n_out: int,
           init=(0.0,), combine=(np.add,)):
    """Run ``kernel(blocks, cols, scratch) -> n_out partial row arrays`` over every block,
    combining partials across column segments with ``combine`` (per output)."""
    segment = CHUNK_BYTES // 8
    width = min(k, segment)
    rows = int(chunk) if chunk else default_chunk(k)
    if rows < 1:
        raise ValueError(f"chunk must be a positive number of rows, got {chunk}")
    rows = 1 if k > segment else rows
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
