"""Comparing a student's expression with a reference over the parameter domain.

Cheapest decisive method first, and the method is reported:

0. exact evaluation at a few rational points of the domain: a point where they differ
   decides at once (and is what the feedback shows);
1. SymPy: the difference is zero structurally, after ``cancel``, or after ``simplify``
   (small expressions only);
2. Z3 (exact, nonlinear real arithmetic) on a parameter-only
   :class:`~distillproof.axioms.claims.Claim` whose atom is ``student - reference == 0``
   (or ``>= 0``) over the family's domain: ``unsat`` proves it on the whole domain,
   ``sat`` gives an exact rational point where it fails;
3. agreement at :data:`MIN_POINTS` or more of the points (rationals exactly, anything
   else in Arb balls) is reported as agreement *at those points* (the method says so).
   No float tolerance is ever used.

Three values come back: ``True`` (proved), ``False`` (with a point), ``None``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import product

import sympy as sp

from ..axioms.claims import Atom, Claim
from ..checker import _z3
from ..checker._certify import _sign_detail, assumptions_hold, evaluate_relation, substitute
from .evidence import rational_str

__all__ = ["Verdict", "compare", "at_least", "domain_points", "MIN_POINTS", "point_label"]

MIN_POINTS = 5
_GRID = tuple(sp.Rational(a) for a in (
    "1/2", "1/3", "2/3", "1/4", "3/4", "1/5", "2/5", "3/5", "4/5", "1/10", "3/10", "7/10",
    "9/10", "1/6", "5/6", "1/7", "2", "3", "3/2", "5/2", "5", "1", "0", "-1/2", "-1", "-2"))


@dataclass(frozen=True)
class Verdict:
    """``holds``: True/False/None; ``point``: parameter values where it fails (False);
    ``how``: which method decided."""
    holds: bool | None
    how: str
    point: dict | None = None


def point_label(point: dict) -> str:
    return ", ".join(f"{k} = {rational_str(Fraction(str(v)))}" for k, v in point.items()) \
        or "every parameter value"


def _params(family):
    return [p.symbol for p in family.free_parameters] if family is not None else []


def domain_points(family, n: int = 8) -> list[dict]:
    """Up to ``n`` rational points ``{name: Rational}`` of the family's parameter domain
    (sign assumptions and every relation checked exactly).  One linear equation among
    the parameters (``alpha + beta1 + beta2 == 1``) is solved for one of them."""
    params = _params(family)
    if not params:
        return [{}]
    domain = list(family.domain)
    solved, rest = None, params
    for rel in domain:
        if isinstance(rel, sp.Eq):
            eq = rel.lhs - rel.rhs
            for s in params:
                if sp.Poly(eq, *params).is_linear and eq.coeff(s) != 0:
                    solved = (s, sp.solve(eq, s)[0])
                    rest = [x for x in params if x != s]
                    break
            if solved:
                break
    out = []
    for i, combo in enumerate(product(_GRID, repeat=len(rest))):
        if i > 20000 or len(out) >= n:
            break
        subs = dict(zip(rest, combo))
        if solved:
            subs[solved[0]] = solved[1].xreplace(subs)
            if not subs[solved[0]].is_Rational:
                continue
        if all(assumptions_hold(s, v) for s, v in subs.items()) and all(
                evaluate_relation(r, subs) is True for r in domain):
            out.append({s.name: subs[s] for s in params})
    return out


def _by_z3(family, diff, rel: str):
    claim = Claim(axiom="answer", family=family.name, classes=0, vectors={},
                  parameters=tuple(_params(family)), domain=tuple(family.domain),
                  atoms=(Atom(diff, rel, f"student {rel} reference"),))
    try:
        ev = _z3.decide(claim, timeout_ms=3000)
    except (ValueError, TypeError, NotImplementedError, ArithmeticError):
        return None
    if ev.status == "proved":
        return Verdict(True, "z3: unsat over the parameter domain")
    if ev.status == "refuted":
        point = {k: v for k, v in ev.witness.values.items()}
        return Verdict(False, "z3: an exact point of the domain", point)
    return None


def _sign_at(expr, point: dict):
    """``(sign, undefined)`` of the closed ``expr`` at the parameter ``point``."""
    subs = {sp.Symbol(k, real=True): sp.Rational(str(v)) for k, v in point.items()}
    s, _, text = _sign_detail(substitute(expr, subs))
    return s, text == "undefined"


def _by_points(family, diff, ok, points) -> Verdict | None:
    """A point where ``ok(sign)`` fails (decisive), agreement at enough points, or an
    undefined expression; ``None`` when undecided."""
    agreed, undefined = 0, []
    for pt in points:
        s, bad = _sign_at(diff, pt)
        if bad:
            undefined.append(pt)
        if s is None:
            continue
        if not ok(s):
            return Verdict(False, "exact evaluation at a rational point", pt)
        agreed += 1
    if points and len(undefined) == len(points):
        return Verdict(None, f"undefined: not a real number at {point_label(points[0])}",
                       points[0])
    if agreed >= MIN_POINTS:
        return Verdict(True, f"exact evaluation at {agreed} rational points of the domain "
                             "(agreement there, not a proof)")
    return None


def _small(e) -> bool:
    return sp.count_ops(e) <= 80


def _closed(diff, ok) -> Verdict:
    """A difference without parameters: its sign decides, exactly or by intervals."""
    s, _, text = _sign_detail(diff)
    if s is None:
        return Verdict(None, "undefined: not a real number at every parameter value"
                       if text == "undefined" else "undecided (too close to call)", {})
    return Verdict(ok(s), "exact/interval arithmetic", None if ok(s) else {})


def compare(family, student: sp.Expr, ref: sp.Expr) -> Verdict:
    """Whether ``student == ref`` on the family's parameter domain: a rational point
    where they differ first (cheap and decisive), then SymPy, Z3, and agreement at the
    points as the last resort."""
    diff = student - ref
    if diff == 0:
        return Verdict(True, "sympy: identical")
    if not diff.free_symbols:
        return _closed(diff, lambda s: s == 0)
    points = domain_points(family, 8)
    found = _by_points(family, diff, lambda s: s == 0, points)
    if found is not None and found.holds is not True:
        return found
    if _small(diff) and (sp.cancel(sp.together(diff)) == 0 or sp.simplify(diff) == 0):
        return Verdict(True, "sympy: simplify")
    if diff.free_symbols:
        proved = _by_z3(family, diff, "==")
        if proved is not None:
            return proved
    return found or Verdict(None, f"undecided (checked at {len(points)} points)")


def at_least(family, student: sp.Expr, ref: sp.Expr) -> Verdict:
    """Whether ``student >= ref`` on the whole domain."""
    diff = student - ref
    if not diff.free_symbols:
        return _closed(diff, lambda s: s >= 0)
    found = _by_points(family, diff, lambda s: s >= 0, domain_points(family, 8))
    if found is not None and found.holds is not True:
        return found
    if diff.free_symbols:
        proved = _by_z3(family, diff, ">=")
        if proved is not None:
            return proved
    return found or Verdict(None, "undecided")
