"""Closed forms of fixed points and Jacobians, where SymPy gets them (THEORY §5.8).

Two shapes of map have them:

* **componentwise** maps ``Φ(q)_i = g(p_i, q_i) / Σ_j g(p_j, q_j)`` (or without the
  normalisation): the fixed point is sought as ``q*_i ∝ f(p_i)`` - one scalar
  equation ``g(P, Q) = c·Q`` - and verified for every ``K`` at once by showing that
  ``g(P, f(P)/S) / (f(P)/S)`` does not depend on ``P``.  At the fixed point the
  Jacobian is ``J = diag(d) − q* dᵀ`` with ``d_i = g_Q(p_i, q*_i) q*_i / g(p_i, q*_i)``
  (normalised case) or ``J = diag(g_Q)`` (plain case); when ``d_i = λ`` does not depend
  on ``p_i``, ``J = λ·id`` on the tangent space ``Σ v = 0``, for every ``K``.
* **affine** maps at a fixed ``K`` (kernels ``MatVec``): ``Φ(q) = b + Σ_j A_j q_j``;
  the fixed point solves a linear system exactly, and the Jacobian is ``A_j``.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..axioms.vector import components, instantiate, is_componentwise, normalize
from ._bound import tidy
from ._discharge import holds_on_domain

__all__ = ["ScalarForm", "scalar_form", "componentwise_fixed_point",
           "componentwise_multipliers", "AffineForm", "affine_form", "affine_fixed_point",
           "tangent_block", "closed_spectral_radius2", "tidy_point"]

_P = sp.Symbol("P", positive=True)
_S = sp.Symbol("S", positive=True)


@dataclass(frozen=True)
class ScalarForm:
    """One component of a componentwise map: ``g`` in ``P`` (the anchor's component,
    or None) and ``Qs`` (the students' components); ``normalized`` when the map
    divides by ``Σ_j g_j``."""
    g: sp.Expr
    P: sp.Symbol | None
    Qs: tuple[sp.Symbol, ...]
    normalized: bool


def scalar_form(expr: sp.Expr, students, anchor: str | None) -> ScalarForm | None:
    if not is_componentwise(expr):
        return None
    normalized = isinstance(expr, normalize)
    body = expr.args[0] if normalized else expr
    Qs = tuple(sp.Symbol(f"Q{j + 1}", positive=True) for j in range(len(students)))
    subs = {}
    for s in body.free_symbols:
        if s.name == anchor:
            subs[s] = _P
        elif s.name in students:
            subs[s] = Qs[list(students).index(s.name)]
    g = body.xreplace(subs)
    return ScalarForm(g, _P if anchor else None, Qs, normalized)


def _free_of(e: sp.Expr, *syms, domain=()) -> str | None:
    """How ``e`` was shown not to depend on ``syms`` (SymPy, else Z3 over the
    parameter domain: ``∂e/∂s = 0``), or None."""
    e = sp.simplify(sp.powsimp(sp.expand_power_base(e, force=False)))
    syms = [s for s in syms if e.has(s)]
    if not syms or all(sp.simplify(sp.diff(e, s)) == 0 for s in syms):
        return "sympy: identity"
    if domain and all(holds_on_domain(sp.Eq(sp.diff(e, s), 0), tuple(domain)).discharged
                      for s in syms):
        return "z3: unsat over the domain"
    return None


def _zero(e: sp.Expr, domain=()) -> str | None:
    if sp.simplify(e) == 0:
        return "sympy: identity"
    if domain and holds_on_domain(sp.Eq(e, 0), tuple(domain)).discharged:
        return "z3: unsat over the domain"
    return None


def componentwise_fixed_point(sf: ScalarForm, domain=()) -> tuple[sp.Expr, str, str] | None:
    """``(f, why, how)`` with the fixed point ``q*_i = f(p_i) / Σ_j f(p_j)`` (``f`` in
    ``P``; ``f = 1``: the uniform point), verified for every ``K`` (``how``: SymPy
    identity, or Z3 using the parameter domain's relations); or None."""
    Q = sp.Symbol("Q", positive=True)
    G = sp.expand_power_base(sf.g.xreplace({q: Q for q in sf.Qs}), force=False)
    P = sf.P
    if not sf.normalized:
        how = _zero(G.xreplace({Q: P}) - P, domain) if P is not None else None
        if how:
            return P, "g(P, P) = P: the anchor is fixed", how
        return None
    if P is None:
        return (sp.Integer(1), "every component is the same function of q_i: the uniform "
                "point", "sympy: identity")
    how = _free_of(G.xreplace({Q: P}) / P, P, domain=domain)
    if how:
        return P, "g(P, P)/P does not depend on P: the anchor is fixed", how
    candidates = []
    factors = sp.Mul.make_args(G)
    powers = {}
    for f in factors:          # monomial  c · P^A · Q^B  =>  f(P) = P^(A/(1-B))
        base, e = f.as_base_exp()
        if base in (P, Q) and not e.has(P, Q):
            powers[base] = powers.get(base, 0) + e
        elif f.has(P, Q):
            powers = None
            break
    if powers is not None and Q in powers:
        B = powers[Q]
        A = powers.get(P, 0)
        if sp.simplify(1 - B) != 0:
            candidates.append(P ** sp.simplify(A / (1 - B)))
    c = sp.Symbol("c", positive=True)
    try:
        for u in sp.solve(sp.Eq(G, c * Q), Q):
            candidates.append(sp.simplify(u.subs(c, 1)))
    except (NotImplementedError, ValueError, TypeError):
        pass
    for f in candidates:
        if f == 0 or not f.has(P):
            continue
        ratio = G.xreplace({Q: f / _S}) / (f / _S)
        how = _free_of(ratio, P, domain=domain)
        if how:
            return f, "g(P, f(P)/S) / (f(P)/S) does not depend on P, so Φ(q*) ∝ q*", how
    return None


def tidy_point(f: sp.Expr, domain) -> sp.Expr:
    """``f`` with its parameter-dependent exponents simplified by the domain's
    equations (``p**(-alpha/(beta1 + beta2 - 1))`` is ``p`` when ``alpha + beta1 +
    beta2 == 1``)."""
    return f.replace(lambda e: isinstance(e, sp.Pow) and not e.exp.is_number,
                     lambda e: e.base ** tidy(e.exp, domain))


def componentwise_multipliers(sf: ScalarForm, f: sp.Expr,
                              domain=()) -> tuple[tuple[sp.Expr, ...], str] | None:
    """``(λ, how)``: the scalars ``λ_j`` with ``∂Φ/∂q_j = λ_j·id`` on the tangent space
    at the fixed point ``q*_i ∝ f(p_i)``, when they do not depend on ``p_i`` (``how``
    that was shown); else None."""
    point = f / _S if sf.normalized else f
    out, hows = [], set()
    for Qj in sf.Qs:
        d = sp.diff(sf.g, Qj)
        at = {q: point for q in sf.Qs}
        lam = d.xreplace(at) * point / sf.g.xreplace(at) if sf.normalized else d.xreplace(at)
        lam = sp.simplify(sp.powsimp(sp.expand_power_base(lam, force=False)))
        syms = [s for s in (sf.P, _S) if s is not None]
        how = _free_of(lam, *syms, domain=domain)
        if how is None:
            return None
        hows.add(how)
        lam = sp.simplify(lam.subs({s: 1 for s in syms}))
        out.append(sp.factor_terms(lam))
    return tuple(out), "; ".join(sorted(hows))


@dataclass(frozen=True)
class AffineForm:
    """``Φ(q1..qL) = b + Σ_j A_j q_j`` at ``K`` classes (entries in the parameters and
    the anchor's components)."""
    b: sp.Matrix
    A: tuple[sp.Matrix, ...]
    classes: int


def affine_form(expr: sp.Expr, vectors, students, classes: int,
                subs: dict | None = None) -> AffineForm | None:
    """The affine form of ``expr`` at ``classes`` classes (after substituting
    ``subs`` into its components), or None when it is not affine in the students."""
    try:
        comps = instantiate(expr, tuple(vectors), classes)
    except ValueError:
        return None
    if subs:
        comps = [c.xreplace(subs) for c in comps]
    qs = [components(s, classes) for s in students]
    gens = [x for block in qs for x in block]
    for c in comps:
        try:
            if sp.Poly(c, *gens).total_degree() > 1:
                return None
        except (sp.PolynomialError, sp.GeneratorsNeeded):
            if any(c.has(x) for x in gens):
                return None
    F = sp.Matrix(comps)
    zero = {x: 0 for x in gens}
    A = tuple(F.jacobian(list(block)) for block in qs)
    return AffineForm(sp.simplify(F.xreplace(zero)), A, classes)


def affine_fixed_point(af: AffineForm) -> tuple[sp.Expr, ...] | None:
    """The exact solution of ``q = b + (Σ_j A_j) q``, or None when singular."""
    M = sp.eye(af.classes) - sum(af.A, sp.zeros(af.classes, af.classes))
    if sp.simplify(M.det()) == 0:
        return None
    x = M.LUsolve(af.b)
    return tuple(sp.factor_terms(sp.simplify(v)) for v in x)


def tangent_block(A: sp.Matrix) -> sp.Matrix | None:
    """``A`` restricted to the tangent space ``Σ v = 0`` in the basis ``e_i − e_K``, or
    None when ``A`` does not map the tangent space into itself."""
    K = A.shape[0]
    B = sp.Matrix(K, K - 1, lambda i, j: 1 if i == j else (-1 if i == K - 1 else 0))
    AB = A * B
    if any(sp.simplify(v) != 0 for v in sp.ones(1, K) * AB):
        return None
    return AB[:K - 1, :]


def closed_spectral_radius2(M: sp.Matrix, params) -> sp.Expr | None:
    """``ρ(M)²`` in closed form when every eigenvalue is a number times one common
    parameter-dependent factor (e.g. ``(1 − α)·eig(W)``); else None.  Only tried up
    to ``3×3`` (larger characteristic polynomials rarely have usable radicals)."""
    if M.shape[0] > 3:
        return None
    try:
        eigs = M.eigenvals(multiple=True)
    except (NotImplementedError, sp.MatrixError):
        return None
    params = tuple(params)
    coeffs, factor = [], None
    for e in eigs:
        e = sp.factor(sp.simplify(e))
        if e == 0:
            continue
        num, dep = e.as_independent(*params, as_Add=False) if params else (e, sp.Integer(1))
        if not num.is_number:
            return None
        dep2 = sp.expand(dep**2)
        if factor is None:
            factor = dep2
        elif sp.simplify(dep2 - factor) != 0:
            return None
        coeffs.append(sp.Abs(num) ** 2)
    if factor is None:
        return sp.Integer(0)
    top = max(coeffs, key=lambda v: float(sp.N(v, 30)))
    return sp.factor(sp.radsimp(top) * factor)
