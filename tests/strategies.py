"""Hypothesis strategies over the simplex, shared by the property tests.

``simplex(k)`` draws a point of ``Delta_K`` as a float64 NumPy array in one of four
shapes, so that properties are exercised where kernels usually break:

* ``interior``  - every component positive, of ordinary size;
* ``near_zero`` - some components scaled down to ``1e-300 .. 1e-6``;
* ``zeros``     - some components exactly zero (never all of them);
* ``one_hot``   - a vertex ``e_j``.

Components never go below ``1e-300`` (no subnormals), so a ratio of two components is
always finite.  The sum is 1 up to float rounding.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

__all__ = ["SHAPES", "simplex", "simplex_pair", "classes"]

SHAPES = ("interior", "near_zero", "zeros", "one_hot")


def classes(min_classes: int = 2, max_classes: int = 12) -> st.SearchStrategy[int]:
    return st.integers(min_value=min_classes, max_value=max_classes)


@st.composite
def simplex(draw, k: int | st.SearchStrategy[int] | None = None, *,
            shapes: tuple[str, ...] = SHAPES) -> np.ndarray:
    """A point of ``Delta_K`` (``k`` an int, a strategy for it, or 2..12)."""
    if k is None:
        k = classes()
    if not isinstance(k, int):
        k = draw(k)
    shape = draw(st.sampled_from(shapes))
    if shape == "one_hot":
        x = np.zeros(k)
        x[draw(st.integers(0, k - 1))] = 1.0
        return x
    w = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=k, max_size=k)))
    if shape != "interior":
        hit = draw(st.lists(st.booleans(), min_size=k, max_size=k))
        if all(hit):
            hit[draw(st.integers(0, k - 1))] = False
        for i, h in enumerate(hit):
            if not h:
                continue
            if shape == "zeros":
                w[i] = 0.0
            else:
                w[i] *= 10.0 ** -draw(st.integers(6, 297))
    return w / w.sum()


@st.composite
def simplex_pair(draw, k: int | st.SearchStrategy[int] | None = None, *,
                 shapes: tuple[str, ...] = SHAPES) -> tuple[np.ndarray, np.ndarray]:
    """Two points of the same ``Delta_K``; sometimes equal, sometimes close."""
    if k is None:
        k = classes()
    if not isinstance(k, int):
        k = draw(k)
    a = draw(simplex(k, shapes=shapes))
    how = draw(st.sampled_from(("independent", "equal", "close")))
    if how == "equal":
        return a, a.copy()
    b = draw(simplex(k, shapes=shapes))
    if how == "close":
        eps = 10.0 ** -draw(st.integers(1, 8))
        b = (1 - eps) * a + eps * b
        b = b / b.sum()
    return a, b
