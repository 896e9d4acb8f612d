"""Vector expressions: the small language operator families are written in.

A family's map is one SymPy expression read *componentwise*: the vector variables
(``p`` the anchor, ``q`` the previous student, ``q1..qL``, teachers ``p1..pM``, the
softening input ``x``) stand for their ``i``-th component, parameters are scalars,
and four vector operations reach across components:

``normalize(v)``  ``v_i / sum_j v_j``
``vsum(v)``       ``sum_j v_j`` (a scalar)
``softmax(v)``    ``exp(v_i) / sum_j exp(v_j)``
``MatVec(W, v)``  ``sum_j W[i, j] v_j`` (``W @ v`` in a spec)

:func:`instantiate` turns such an expression into ``K`` ordinary SymPy expressions
in component symbols ``p_0 .. p_{K-1}``; everything the engine decides at a fixed
number of classes starts there.  Expressions without vector operations are
*componentwise*, and some axioms are proved for every ``K`` from that form alone.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

__all__ = [
    "normalize", "vsum", "softmax", "MatVec", "components", "instantiate",
    "is_componentwise", "vector_symbols", "VECTOR_OPS",
]


class normalize(sp.Function):
    """``normalize(v)_i = v_i / sum_j v_j``."""
    nargs = 1


class vsum(sp.Function):
    """``vsum(v) = sum_j v_j``, a scalar."""
    nargs = 1


class softmax(sp.Function):
    """``softmax(v)_i = exp(v_i) / sum_j exp(v_j)``."""
    nargs = 1


class MatVec(sp.Function):
    """``MatVec(W, v)_i = sum_j W[i, j] v_j`` for a constant matrix ``W``."""
    nargs = 2


VECTOR_OPS = (normalize, vsum, softmax, MatVec)


@lru_cache(maxsize=None)
def components(name: str, classes: int) -> tuple[sp.Symbol, ...]:
    """The component symbols ``name_0 .. name_{K-1}`` (positive: the open simplex)."""
    return tuple(sp.Symbol(f"{name}_{i}", positive=True) for i in range(classes))


def vector_symbols(expr: sp.Expr, vectors: tuple[str, ...]) -> set[str]:
    """The vector variables among ``vectors`` that ``expr`` uses."""
    return {s.name for s in expr.free_symbols if s.name in vectors}


def is_componentwise(expr: sp.Expr) -> bool:
    """True when the map uses no operation across components (``normalize`` allowed
    only at the root)."""
    body = expr.args[0] if isinstance(expr, normalize) else expr
    return not any(body.has(op) for op in VECTOR_OPS)


def instantiate(expr: sp.Expr, vectors: tuple[str, ...], classes: int) -> list[sp.Expr]:
    """The ``classes`` components of the vector expression ``expr``.

    ``vectors`` names the symbols of ``expr`` that are vectors; every other symbol
    is a scalar and stays as it is.
    """
    cache: dict = {}

    def comp(e: sp.Expr, i: int) -> sp.Expr:
        key = (e, i)
        if key in cache:
            return cache[key]
        if isinstance(e, sp.Symbol):
            out = components(e.name, classes)[i] if e.name in vectors else e
        elif e.is_Atom:
            out = e
        elif isinstance(e, normalize):
            total = sp.Add(*[comp(e.args[0], j) for j in range(classes)])
            out = comp(e.args[0], i) / total
        elif isinstance(e, vsum):
            out = sp.Add(*[comp(e.args[0], j) for j in range(classes)])
        elif isinstance(e, softmax):
            exps = [sp.exp(comp(e.args[0], j)) for j in range(classes)]
            out = exps[i] / sp.Add(*exps)
        elif isinstance(e, MatVec):
            matrix, v = e.args
            if matrix.shape != (classes, classes):
                raise ValueError(
                    f"matrix is {matrix.shape[0]}x{matrix.shape[1]} but the check is at "
                    f"K={classes} classes")
            out = sp.Add(*[matrix[i, j] * comp(v, j) for j in range(classes)])
        else:
            out = e.func(*[comp(a, i) for a in e.args])
        cache[key] = out
        return out

    return [comp(expr, i) for i in range(classes)]
