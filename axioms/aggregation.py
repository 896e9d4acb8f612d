"""Axioms for aggregation operators ``A_w(p_1..p_M)`` (THEORY.md §3.2), as claims at ``K``.

Checked with the family's own number of teachers ``M`` and weights ``w_1..w_M``
(parameters whose domain includes ``sum w = 1``); teachers range over the open simplex.
Weak and strong forms are separate axioms (``A1w``/``A1s``, ``A5w``/``A5s``): the
canonical pools split on them.
"""
from __future__ import annotations

import sympy as sp

from ._build import check_temperature, claim, defined_atoms, kl, segment_atoms, soften, substitute
from .claims import Atom
from .registry import Axiom, register
from .vector import components

KIND = "aggregation"


def _teachers(family, k):
    return [list(components(v, k)) for v in family.vectors]


def a1w(family, k):
    a = family.at(k)
    atoms = [Atom(sp.Add(*a) - 1, "==", "A sums to 1")]
    atoms += [Atom(ai, ">=", f"component {i} of A is nonnegative") for i, ai in enumerate(a)]
    p = list(components("p", k))
    same = substitute(a, k, **{v: p for v in family.vectors})
    unanimity = [Atom(x - y, "==", f"unanimity: component {i} of A(p,..,p) equals p_{i}")
                 for i, (x, y) in enumerate(zip(same, p))]
    return [claim("A1w", family, k, family.vectors, atoms, statement="A_w(p) in the simplex"),
            claim("A1w", family, k, ("p",), unanimity, statement="A_w(p,..,p) = p")]


def a1s(family, k):
    if family.teachers != 2:
        return []   # conv of more than two teachers: not encoded as atoms
    t1, t2 = _teachers(family, k)
    return [claim("A1s", family, k, family.vectors,
                  segment_atoms(family.at(k), t1, t2, "A in conv{p1,p2}"),
                  statement="A_w(p1, p2) lies in conv{p1, p2}")]


def a2(family, k):
    atoms = [Atom(ai, ">", f"component {i} of A is positive") for i, ai in enumerate(family.at(k))]
    return [claim("A2", family, k, family.vectors, atoms,
                  statement="teachers in the open simplex give A in the open simplex")]


def _weights(family):
    return [family.parameter(f"w{j}").symbol for j in range(1, family.teachers + 1)]


def _a3_applicable(family):
    try:
        ws = _weights(family)
    except KeyError:
        return "A3 needs weight parameters w1..wM"
    if any(family.parameter(w.name).value is not None for w in ws):
        return "A3 needs free weights"
    return None


def a3(family, k):
    """Raising ``w1`` (the others rescaled proportionally) does not increase
    ``KL(p1 || A_w)``: ``d/ds KL(p1 || A_{w(s)}) <= 0`` along ``w1 = s``,
    ``w_j = w_j (1-s)/(1-w1)``; at ``s = w1`` the direction is ``(1, -w_j/(1-w1))``."""
    ws = _weights(family)
    a = family.at(k)
    p1 = list(components("p1", k))
    rest = ws[1:]
    one_minus = 1 - ws[0]
    deriv = [sp.diff(ai, ws[0]) - sp.Add(*[w / one_minus * sp.diff(ai, w) for w in rest]) for ai in a]
    slope = sp.Add(*[pi * di / ai for pi, di, ai in zip(p1, deriv, a)])
    atom = Atom(slope, ">=", "raising w1 does not increase KL(p1 || A_w)")
    return [claim("A3", family, k, family.vectors, [atom],
                  statement="raising w_j (others rescaled) does not increase KL(p_j || A_w)")]


def a4(family, k):
    return [claim("A4", family, k, family.vectors, defined_atoms(family.at(k), "A is continuous"),
                  statement="every operation of A is continuous in (p, w) on the open simplex")]


def _a5(axiom, identical):
    def build(family, k):
        t = check_temperature(family)
        a = family.at(k)
        if identical:
            p = list(components("p", k))
            a = substitute(a, k, **{v: p for v in family.vectors})
            vecs, soft = ("p",), {"p": soften(p, t)}
        else:
            vecs = family.vectors
            soft = {v: soften(list(components(v, k)), t) for v in vecs}
        lhs = substitute(a, k, **soft)
        rhs = soften(a, t)
        atoms = [Atom(x - y, "==", f"component {i}: A(F_T p..) = F_T A(p..)")
                 for i, (x, y) in enumerate(zip(lhs, rhs))]
        return [claim(axiom, family, k, vecs, atoms, extra_domain=[t > 0], extra_parameters=[t],
                      statement="A_w(F_T p_1..F_T p_M) = F_T A_w(p_1..p_M)"
                      + (" for identical teachers" if identical else ""))]
    return build


_A = dict(applies_to=KIND, source="Flouro & Chadwick, Multi-Teacher Ensemble Distillation, §3")
register(Axiom("A1w", "convexity preservation (weak)", statement="for all w, p_k: A_w(p) in the simplex, and A_w(p,..,p) = p", nature="algebraic", build=a1w, form="weak", **_A))
register(Axiom("A1s", "convexity preservation (strong)", statement="for all w, p_k: A_w(p_1..p_M) in conv{p_k}", nature="algebraic", build=a1s, form="strong", **_A))
register(Axiom("A2", "positivity inheritance", statement="for all w, p_k in the open simplex: A_w(p) in the open simplex", nature="algebraic", build=a2, **_A))
register(Axiom("A3", "weight monotonicity", statement="for all w, p_k: raising w_j (others rescaled) does not increase KL(p_j || A_w)", nature="transcendental", build=a3, applicable=_a3_applicable, **_A))
register(Axiom("A4", "continuity", statement="A is jointly continuous in (p, w)", nature="algebraic", build=a4, **_A))
register(Axiom("A5w", "temperature coherence (weak)", statement="for all w, p, T > 0: A_w(F_T p, .., F_T p) = F_T A_w(p, .., p)", nature="algebraic", build=_a5("A5w", True), form="weak", **_A))
register(Axiom("A5s", "temperature coherence (strong)", statement="for all w, p_k, T > 0: A_w(F_T p_1..F_T p_M) = F_T A_w(p_1..p_M)", nature="algebraic", build=_a5("A5s", False), form="strong", **_A))
