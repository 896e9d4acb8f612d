"""Axioms for valid meta-teacher construction (THEORY.md §2), as claims at ``K``.

For a family ``M_theta(p, q)`` (memory families: ``M(p, q1, .., qL)``), every
admissible ``theta`` and ``p, q, q'`` in the open simplex.  The contraction axioms
(MT3, MT3r, MT3p) are proved only by the contraction calculus (``proofs``); their
claims here say "strictly decreasing", a necessary condition, and serve refutation.
"""
from __future__ import annotations

import sympy as sp

from ._build import (check_temperature, claim, defined_atoms, kl, segment_atoms, soften,
                     substitute)
from .claims import Atom
from .registry import Axiom, register
from .vector import components

KIND = "meta-teacher"


def _m(family, k):
    return family.at(k)


def _anchor(family, k):
    return family.anchor_at(k)


def _inputs(family, *extra):
    """Claim variables: the anchor's free inputs, then ``extra`` vectors."""
    return tuple(v for v in family.anchor_inputs if v in family.vectors) + extra


def _students(family):
    return family.students


def mt1(family, k):
    m = _m(family, k)
    atoms = [Atom(sp.Add(*m) - 1, "==", "M sums to 1")]
    atoms += [Atom(mi, ">", f"component {i} of M is positive") for i, mi in enumerate(m)]
    return [claim("MT1", family, k, family.vectors, atoms,
                  statement="M(p,q) lies in the open simplex for p, q in it")]


def mt2(family, k):
    p = _anchor(family, k)
    m = substitute(_m(family, k), k, **{s: p for s in _students(family)})
    atoms = [Atom(mi - pi, "==", f"component {i} of M(p,p) equals p_{i}")
             for i, (mi, pi) in enumerate(zip(m, p))]
    return [claim("MT2", family, k, _inputs(family), atoms, statement="M(p,p) = p")]


def _not_equal(a, b):
    return sp.Or(*[sp.Ne(x, y) for x, y in zip(a, b)])


def _strict_decrease(axiom, family, k, divergence, label, statement):
    """The necessary condition "strictly decreasing" of a contraction axiom: at every
    ``q != r`` (``r`` the anchor, or a second student for MT3p) ``divergence(q, r, M(q),
    M(r)) > 0``.  A violation refutes the axiom; a proof of it proves nothing."""
    p, q = _anchor(family, k), list(components("q", k))
    pairwise = axiom == "MT3p"
    r = list(components("r", k)) if pairwise else p
    m = _m(family, k)
    mq = substitute(m, k, **{s: q for s in _students(family)})
    mr = substitute(m, k, **{s: r for s in _students(family)}) if pairwise else p
    atom = Atom(divergence(q, r, mq, mr), ">", label)
    vectors = _inputs(family, "q", "r") if pairwise else _inputs(family, "q")
    return [claim(axiom, family, k, vectors, [atom], extra_domain=[_not_equal(q, r)],
                  sufficient=False, statement=statement)]


def mt3(family, k):
    return _strict_decrease("MT3", family, k, lambda q, p, mq, _: kl(p, q) - kl(p, mq),
                            "KL(p||M(p,q)) < KL(p||q)", "KL(p||M(p,q)) <= kappa KL(p||q), kappa < 1")


def mt3r(family, k):
    return _strict_decrease("MT3r", family, k, lambda q, p, mq, _: kl(q, p) - kl(mq, p),
                            "KL(M(p,q)||p) < KL(q||p)", "KL(M(p,q)||p) <= kappa KL(q||p), kappa < 1")


def mt3p(family, k):
    return _strict_decrease("MT3p", family, k, lambda q, r, mq, mr: kl(q, r) - kl(mq, mr),
                            "KL(M(p,q)||M(p,r)) < KL(q||r)",
                            "KL(M(p,q)||M(p,q')) <= kappa KL(q||q'), kappa < 1")


def mt4(family, k):
    atoms = defined_atoms(_m(family, k), "M is continuous")
    return [claim("MT4", family, k, family.vectors, atoms,
                  statement="every operation of M is continuous (hence locally Lipschitz) "
                            "on the open simplex and the parameter domain")]


def _anchoring_parameter(family):
    try:
        return family.parameter("alpha")
    except KeyError:
        return None


def _mt5_applicable(family):
    a = _anchoring_parameter(family)
    if a is None or a.value is not None:
        return "MT5 needs a free anchoring weight named alpha"
    if any(a.symbol in c.free_symbols for c in family.constraints):
        return "alpha is coupled to other parameters by a constraint"
    return None


def mt5(family, k):
    a = _anchoring_parameter(family).symbol
    p = _anchor(family, k)
    m = _m(family, k)
    at1 = [e.subs(a, 1) for e in m]
    at0 = [e.subs(a, 0) for e in m]
    qs = {s: list(components(s, k)) for s in _students(family)}
    latest = qs[_students(family)[0]]
    atoms = [Atom(x - y, "==", f"component {i} of M_1 equals p_{i}") for i, (x, y) in enumerate(zip(at1, p))]
    atoms += [Atom(x - y, "==", f"component {i} of M_0 equals the student") for i, (x, y) in enumerate(zip(at0, latest))]
    # d/d alpha KL(p||M_alpha) = -sum p_i dM_i/M_i <= 0: rational when M is.
    slope = sp.Add(*[pi * sp.diff(mi, a) / mi for pi, mi in zip(p, m)])
    atoms.append(Atom(slope, ">=", "alpha -> KL(p||M_alpha) is non-increasing"))
    return [claim("MT5", family, k, family.vectors, atoms,
                  statement="alpha -> KL(p||M_alpha(p,q)) non-increasing; M_1 = p, M_0 = q")]


def mt6(family, k):
    if len(family.students) > 1:
        return []   # conv of more than two points: decided symbolically or not at all
    p, q = _anchor(family, k), list(components("q", k))
    return [claim("MT6", family, k, _inputs(family, "q"), segment_atoms(_m(family, k), p, q, "M(p,q) in conv{p,q}"),
                  statement="M(p,q) lies on the segment [q, p]")]


def mt7(family, k):
    t = check_temperature(family)
    m = _m(family, k)
    if family.fixed:
        return []   # a fixed anchor is not moved by F_T: MT7 is about variable inputs
    vectors = {v: soften(list(components(v, k)), t) for v in family.vectors}
    lhs = substitute(m, k, **vectors)
    rhs = soften(m, t)
    atoms = [Atom(x - y, "==", f"component {i}: M(F_T p, F_T q) = F_T M(p,q)")
             for i, (x, y) in enumerate(zip(lhs, rhs))]
    return [claim("MT7", family, k, family.vectors, atoms, extra_domain=[t > 0],
                  extra_parameters=[t], statement="M(F_T p, F_T q) = F_T M(p, q) for every T > 0")]


def _sum_of_squared_coefficients(exprs, q, others):
    """``sum c^2`` over the coefficients ``c`` (in ``others``) of the numerators of
    ``exprs`` as polynomials in ``q``: zero exactly where every ``expr`` vanishes
    identically in ``q``.  ``None`` when some ``expr`` is not rational."""
    total = sp.Integer(0)
    for e in exprs:
        e = sp.cancel(sp.together(e))
        if e == 0:
            continue
        if not e.is_rational_function(*q, *others):
            return None
        num, _ = sp.fraction(e)
        total += sp.Add(*[c ** 2 for c in sp.Poly(num, *q).coeffs()])
    return total


def nt(family, k):
    """NT as two algebraic claims on ``(theta, p)``: after eliminating the last
    component of each vector, ``M(p,.) - id`` and ``dM/dq`` are rational in ``q``, and
    each vanishes identically exactly when all its coefficients do."""
    q = list(components("q", k))
    p_vars = [s for v in _inputs(family) for s in components(v, k)]
    m = substitute(_m(family, k), k, **{s: q for s in _students(family)})
    elim = {q[-1]: 1 - sp.Add(*q[:-1])}
    for v in _inputs(family):
        c = components(v, k)
        elim[c[-1]] = 1 - sp.Add(*c[:-1])
    m = [e.xreplace(elim) for e in m[:-1]]
    free_q = q[:-1]
    params = [p.symbol for p in family.free_parameters]
    others = [s for s in p_vars if s not in elim] + params
    identity = _sum_of_squared_coefficients([mi - qi for mi, qi in zip(m, free_q)], free_q, others)
    constant = _sum_of_squared_coefficients([sp.diff(mi, qj) for mi in m for qj in free_q], free_q, others)
    if identity is None or constant is None:
        # not rational: only the plain extremes are decided (M is q, or M has no q)
        identity = sp.Integer(0) if all(sp.expand(mi - qi) == 0 for mi, qi in zip(m, free_q)) else None
        constant = sp.Integer(0) if not any(set(free_q) & mi.free_symbols for mi in m) else None
        atoms = [Atom(e, ">", lbl) for e, lbl in ((identity, "q -> M(p,q) is not the identity"),
                                                    (constant, "q -> M(p,q) is not constant")) if e is not None]
        return [claim("NT", family, k, _inputs(family), atoms, sufficient=False)] if atoms else []
    return [claim("NT", family, k, _inputs(family), [
        Atom(identity, ">", "q -> M(p,q) is not the identity (some coefficient of M - q is nonzero)"),
        Atom(constant, ">", "q -> M(p,q) is not constant (some coefficient of dM/dq is nonzero)")],
        statement="for all theta, p: M(p,.) is neither the identity nor constant")]


_A = dict(applies_to=KIND, source="Flouro & Chadwick, Recursive Meta-Distillation, §3")
register(Axiom("MT1", "simplex validity", statement="for all theta, p, q in the open simplex: M(p,q) in the open simplex (positivity inheritance)", nature="algebraic", build=mt1, **_A))
register(Axiom("MT2", "anchor fixed point", statement="for all theta, p: M(p,p) = p", nature="algebraic", build=mt2, **_A))
register(Axiom("MT3", "anchored contraction", statement="exists kappa < 1, for all p, q: KL(p||M(p,q)) <= kappa KL(p||q)", nature="transcendental", build=mt3, **_A))
register(Axiom("MT3r", "anchored contraction, reverse direction", statement="exists kappa < 1, for all p, q: KL(M(p,q)||p) <= kappa KL(q||p)", nature="transcendental", build=mt3r, **_A))
register(Axiom("MT3p", "pairwise contraction", statement="exists kappa < 1, for all p, q, q': KL(M(p,q)||M(p,q')) <= kappa KL(q||q')", nature="transcendental", build=mt3p, **_A))
register(Axiom("MT4", "continuity", statement="M is jointly continuous in (theta, p, q), Lipschitz on compact subsets of the interior", nature="algebraic", build=mt4, **_A))
register(Axiom("MT5", "anchoring monotonicity", statement="for all p, q: alpha -> KL(p||M_alpha(p,q)) is non-increasing on the domain; M_1 = p, M_0 = q", nature="transcendental", build=mt5, applicable=_mt5_applicable, **_A))
register(Axiom("MT6", "mixture closure", statement="for all theta, p, q: M(p,q) in conv{p, q}", nature="algebraic", build=mt6, **_A))
register(Axiom("MT7", "temperature compatibility", statement="for all theta, p, q, T > 0: M(F_T p, F_T q) = F_T M(p,q)", nature="algebraic", build=mt7, **_A))
register(Axiom("NT", "non-triviality", statement="for all theta, p: q -> M(p,q) is neither constant nor the identity", nature="algebraic", build=nt, **_A))
