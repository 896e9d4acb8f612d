"""Hilbert-metric rules of the contraction calculus (THEORY.md §5.5).

Hilbert's projective metric on the open simplex (or the open positive cone, where it
ignores scale): ``d_H(a, b) = max_i log(a_i/b_i) − min_i log(a_i/b_i)``.  The
``hilbert`` constant of a map is ``sup d_H(Φa, Φb) / d_H(a, b)``; being a metric
coefficient it is pairwise and needs no fixed anchor.  Reference for all three rules:
B. Lemmens & R. Nussbaum, *Nonlinear Perron–Frobenius Theory*, CUP 2012, ch. 2 and
appendix A.
"""
from __future__ import annotations

from itertools import permutations
from typing import Sequence

import sympy as sp

from ._bound import Bound, as_expr, check, check_all, merge
from ._discharge import holds_on_domain
from .evidence import Step

__all__ = ["hilbert_power", "hilbert_positive_matrix", "hilbert_shift",
           "birkhoff_cross_ratio"]


def hilbert_power(gamma, domain=()) -> Bound:
    """Power maps scale ``d_H`` by exactly ``|γ|``.

    Theorem.  For every fixed positive vector ``c`` and real ``γ``,
    ``d_H(c⊙x^γ, c⊙y^γ) = |γ| d_H(x, y)``: the log-ratios ``log(x_i/y_i)`` are
    multiplied by ``γ`` and shifted by nothing (``c`` cancels), and a normalisation
    ``/Z`` is invisible to ``d_H`` (immediate from the definition; Lemmens–Nussbaum
    §2.1).  The constant is attained for every pair, so the bound is exact.
    """
    g = as_expr(gamma)
    value, conds = sp.Abs(g), ()
    for rel, val, text in ((sp.Ge(g, 0), g, "γ ≥ 0 on the domain"),
                           (sp.Le(g, 0), -g, "γ ≤ 0 on the domain")):
        d = holds_on_domain(rel, tuple(domain))
        if d.discharged:
            value, conds = val, ((text, d.how),)
            break
    stmt = f"d_H(c⊙x^γ / Z, c⊙y^γ / Z') = |γ| d_H(x, y) with γ = {g}: κ_H = {sp.simplify(value)}"
    return Bound("hilbert", sp.simplify(value), (Step("Hilbert: power map", stmt, conds),),
                 exact=True)


def birkhoff_cross_ratio(W) -> sp.Expr:
    """``r = max_{i,j,k,l} W_ik W_jl / (W_jk W_il)``, so that the projective diameter
    of a positive matrix is ``Δ(W) = log r``.  Exact for exact entries."""
    W = sp.ImmutableMatrix(W)
    n, m = W.shape
    tidy = (lambda e: e) if all(x.is_Rational for x in W) else sp.simplify
    ratios = {tidy(W[i, k] * W[j, l] / (W[j, k] * W[i, l]))
              for i, j in permutations(range(n), 2) for k, l in permutations(range(m), 2)}
    if not ratios:
        return sp.Integer(1)
    if all(r.is_number for r in ratios):
        return max(ratios)
    return sp.Max(*ratios)


def hilbert_positive_matrix(W, domain=()) -> Bound | None:
    """A positive matrix contracts ``d_H`` by Birkhoff's ``tanh(Δ(W)/4)``.

    Theorem (Birkhoff–Hopf; G. Birkhoff, *Extensions of Jentzsch's theorem*, Trans.
    AMS 85, 1957; P. J. Bushell, *Hilbert's metric and positive contraction mappings
    in a Banach space*, Arch. Rational Mech. Anal. 52, 1973).  For ``W`` with all
    entries ``> 0``, ``sup d_H(Wx, Wy)/d_H(x, y) = tanh(Δ(W)/4)`` where
    ``Δ(W) = sup d_H(Wx, Wy) = log r``, ``r = max W_ik W_jl/(W_jk W_il)``.  Since
    ``tanh(log r / 4) = (√r − 1)/(√r + 1)`` the coefficient is an exact algebraic
    number for a rational ``W`` (a SymPy expression for a symbolic one), and it is
    the constant itself (exact), not only a bound.
    """
    W = sp.ImmutableMatrix(W)
    conds = check_all([(sp.Gt(W[i, j], 0), f"W[{i},{j}] > 0")
                       for i in range(W.shape[0]) for j in range(W.shape[1])], domain)
    if conds is None:
        return None
    r = birkhoff_cross_ratio(W)
    tau = (sp.sqrt(r) - 1) / (sp.sqrt(r) + 1)
    tau = sp.radsimp(tau) if r.is_number else tau
    stmt = (f"d_H(Wx, Wy) ≤ tanh(Δ(W)/4) d_H(x, y), Δ(W) = log max W_ik W_jl/(W_jk W_il)"
            f" = log({r}); tanh(Δ/4) = (√r − 1)/(√r + 1) = {tau}")
    return Bound("hilbert", tau, (Step("Hilbert: positive matrix (Birkhoff)", stmt,
                                       merge(conds, "W is entrywise positive")),),
                 classes=W.shape[0], exact=True)


def hilbert_shift(inner: Bound, weight, offsets: Sequence = (), domain=()) -> Bound | None:
    """Adding a fixed nonnegative vector does not expand ``d_H``.

    Theorem.  For ``a, b`` of equal mass (points of the simplex), ``c ≥ 0`` fixed and
    ``λ > 0``: ``d_H(c + λa, c + λb) ≤ d_H(a, b)``.  Proof: equal mass gives
    ``max a_i/b_i ≥ 1 ≥ min a_i/b_i``, and each ``(c_i + λa_i)/(c_i + λb_i)`` lies
    between ``1`` and ``a_i/b_i`` (mediant inequality); Lemmens–Nussbaum §2.1.  So for
    ``Φq = Σ_k μ_k c_k + λ A(q)`` with fixed ``c_k ∈ Δ``, ``μ_k ≥ 0`` and ``A`` mapping
    the simplex into itself, ``κ_H(Φ) ≤ κ_H(A)``.  ``inner`` bounds ``A``; ``weight``
    is ``λ``; ``offsets`` the ``μ_k``.
    """
    if inner.kind != "hilbert":
        return None
    lam = as_expr(weight)
    pos = check(sp.Gt(lam, 0), f"λ = {lam} > 0 on the domain", domain)
    if pos is None:
        return None
    offs = check_all([(sp.Ge(as_expr(m), 0), f"μ_{k + 1} = {m} ≥ 0 on the domain")
                      for k, m in enumerate(offsets)], domain)
    if offs is None:
        return None
    stmt = f"d_H(c + λ A(q), c + λ A(q')) ≤ d_H(A(q), A(q')) (c ≥ 0, λ > 0): κ_H ≤ {inner.expr}"
    return Bound("hilbert", inner.expr, inner.steps + (Step("Hilbert: positive shift", stmt,
                                                            (pos,) + offs),),
                 inner.classes, anchor=inner.anchor)
