"""Axioms for softening operators ``F_T`` (THEORY.md §3.1, Sparse-KD), as claims at ``K``.

For a family in ``x`` (open simplex) and a temperature parameter ``T`` (its domain).
S3 (entropy monotonicity) is a statement about ``dH/dT``; its claim is transcendental.
S5 (limits) is decided by the symbolic stage only.
"""
from __future__ import annotations

import sympy as sp

from ._build import claim, defined_atoms
from .claims import Atom
from .registry import Axiom, register
from .vector import components

KIND = "softening"


def _temperature(family):
    try:
        return family.parameter("T")
    except KeyError:
        return None


def _needs_t(family):
    t = _temperature(family)
    if t is None or t.value is not None:
        return "softening axioms need a free temperature parameter T"
    return None


def s1(family, k):
    x = list(components("x", k))
    f = family.at(k)
    claims = []
    for i in range(k):
        for j in range(i + 1, k):
            order = Atom((x[i] - x[j]) * (f[i] - f[j]), ">",
                         f"x_{i} > x_{j} <=> F_{i} > F_{j} (distinct inputs)")
            ties = Atom(f[i] - f[j], "==", f"x_{i} = x_{j} => F_{i} = F_{j}")
            claims.append(claim("S1", family, k, ("x",), [order], extra_domain=[sp.Ne(x[i], x[j])]))
            claims.append(claim("S1", family, k, ("x",), [ties], extra_domain=[sp.Eq(x[i], x[j])]))
    return claims


def s2(family, k):
    return [claim("S2", family, k, ("x",), defined_atoms(family.at(k), "F is continuous"),
                  statement="every operation of F is continuous in (T, x)")]


def s3(family, k):
    t = _temperature(family).symbol
    f = family.at(k)
    entropy = -sp.Add(*[fi * sp.log(fi) for fi in f])
    atom = Atom(sp.diff(entropy, t), ">=", "T -> H(F_T x) is non-decreasing")
    return [claim("S3", family, k, ("x",), [atom], statement="T -> H(F_T x) non-decreasing")]


def s4(family, k):
    t = _temperature(family).symbol
    x = list(components("x", k))
    atoms = [Atom(fi.subs(t, 1) - xi, "==", f"component {i} of F_1 x equals x_{i}")
             for i, (fi, xi) in enumerate(zip(family.at(k), x))]
    # T = 1 may lie outside the family's domain; the identity is checked there anyway.
    c = claim("S4", family, k, ("x",), atoms, statement="F_1 = id")
    return [c.__class__(**{**c.__dict__, "domain": tuple(r for r in c.domain if t not in r.free_symbols),
                           "parameters": tuple(s for s in c.parameters if s != t)})]


def _power_exponent(family):
    """``e(T)`` when the map is ``normalize(x**e(T))``, else ``None``."""
    from .vector import normalize
    expr = family.expr
    if not isinstance(expr, normalize):
        return None
    g = sp.powsimp(expr.args[0], force=True)
    x = sp.Symbol("x", positive=True)
    if isinstance(g, sp.Pow) and g.base == x and not g.exp.has(x):
        return g.exp
    return None


def s5(family, k):
    """At ``T -> oo`` with ``normalize(x**e(T))`` and ``e -> c`` finite, the limit is
    ``normalize(x**c)``: it must be uniform for every ``x`` (an algebraic claim when ``c``
    is rational).  The full statement is proved by the symbolic stage."""
    e = _power_exponent(family)
    if e is None:
        return []
    t = _temperature(family).symbol
    tp = sp.Symbol("Tp", positive=True)
    c = sp.limit(e.subs(t, tp), tp, sp.oo)
    if not (c.is_Rational and c != 0):
        return []
    x = list(components("x", k))
    powered = [xi ** c for xi in x]
    total = sp.Add(*powered)
    atoms = [Atom(pi / total - sp.Rational(1, k), "==", f"component {i} of lim_(T->oo) F_T x is 1/K")
             for i, pi in enumerate(powered)]
    c_ = claim("S5", family, k, ("x",), atoms, sufficient=False,
               statement=f"lim_(T->oo) F_T x = normalize(x**{c}) is uniform")
    return [c_.__class__(**{**c_.__dict__, "domain": (), "parameters": ()})]


_A = dict(applies_to=KIND, source="Flouro & Chadwick, Sparse-KD, §3", applicable=_needs_t)
register(Axiom("S1", "ranking preservation", statement="for all T, x: x_i > x_j <=> F_T(x)_i > F_T(x)_j", nature="algebraic", build=s1, **_A))
register(Axiom("S2", "joint continuity", statement="F_T(x) is jointly continuous in (T, x)", nature="algebraic", build=s2, **_A))
register(Axiom("S3", "entropy monotonicity", statement="for all x: T -> H(F_T x) is non-decreasing", nature="transcendental", build=s3, **_A))
register(Axiom("S4", "identity", statement="F_1 = id", nature="algebraic", build=s4, **_A))
register(Axiom("S5", "boundary behaviour", statement="T -> infinity: uniform on the support; T -> 0+: uniform on the argmax", nature="transcendental", build=s5, **_A))
