"""Side conditions of the proof rules, discharged over a whole parameter domain.

A rule of the contraction calculus applies only when its side conditions (weights
nonnegative, weights summing to one, a matrix entrywise positive, ...) hold for
*every* parameter point of the family's domain.  :func:`holds_on_domain` decides
such a for-all statement, cheapest method first (STYLE.md 6):

1. SymPy: the condition is an identity (``alpha + (1 - alpha) == 1``) or its truth
   value follows from the symbols' assumptions alone (``alpha**2 >= 0``);
2. Z3: assert ``domain ∧ ¬condition``; ``unsat`` discharges the condition for every
   point of the domain.  Only polynomial and rational relations are encoded (with
   auxiliary variables for ``1/x``, ``x**(m/n)``, ``Abs``, ``Max``, ``Min``); a term
   outside that fragment leaves the condition undischarged, never weakened.

Three values come back, never collapsed (STYLE.md 5): ``discharged``, ``violated``
(with a point of the domain where the condition fails), ``unknown`` (with the reason).
Definedness is part of the statement: a condition with a denominator that vanishes,
or an even root of a negative number, somewhere on the domain is not discharged.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

__all__ = ["Discharge", "holds_on_domain", "nonnegative", "positive", "equal",
           "DISCHARGED", "VIOLATED", "UNKNOWN", "SYMPY", "Z3"]

DISCHARGED, VIOLATED, UNKNOWN = "discharged", "violated", "unknown"
SYMPY = "sympy: identity"
Z3 = "z3: unsat over the domain"


@dataclass(frozen=True)
class Discharge:
    """The outcome of one for-all check: ``status``, and ``how`` it was decided (for
    ``unknown``: why not).  ``witness`` is a domain point violating the condition."""
    status: str
    how: str
    witness: dict[str, str] | None = None
    smt: str | None = None

    @property
    def discharged(self) -> bool:
        return self.status == DISCHARGED


class _NotEncodable(Exception):
    pass


class _Encoder:
    """SymPy -> Z3 over the reals, with auxiliary variables whose defining
    constraints hold *whenever the term is defined*; ``defined`` collects the
    conditions under which every partial operation is defined."""

    def __init__(self, z3):
        self.z3 = z3
        self.vars: dict[str, object] = {}
        self.aux_defs: list = []
        self.defined: list = []
        self._n = 0
        self._cache: dict = {}

    def _fresh(self, tag: str):
        self._n += 1
        return self.z3.Real(f"_{tag}{self._n}")

    def term(self, e: sp.Expr):
        if e in self._cache:
            return self._cache[e]
        out = self._term(e)
        self._cache[e] = out
        return out

    def _term(self, e):
        z3 = self.z3
        if isinstance(e, sp.Symbol):
            if e.is_integer:
                raise _NotEncodable(f"integer symbol {e}")
            v = self.vars.setdefault(e.name, z3.Real(e.name))
            if e.is_positive:
                self.aux_defs.append(v > 0)
            elif e.is_nonnegative:
                self.aux_defs.append(v >= 0)
            return v
        if e.is_Rational:
            return z3.RealVal(f"{e.p}/{e.q}")
        if isinstance(e, sp.Add):
            return z3.Sum([self.term(a) for a in e.args])
        if isinstance(e, sp.Mul):
            out = None
            for a in e.args:
                t = self.term(a)
                out = t if out is None else out * t
            return out
        if isinstance(e, sp.Pow):
            b, x = e.args
            if not x.is_Rational:
                raise _NotEncodable(f"power with exponent {x}")
            base = self.term(b)
            num, den = int(x.p), int(x.q)
            if den != 1:
                r = self._fresh("root")
                # r = b**(1/den), the nonnegative root; defined when b >= 0 (even den).
                rdef = z3.And(r >= 0, self._ipow(r, den) == base) if den % 2 == 0 else \
                    self._ipow(r, den) == base
                if den % 2 == 0:
                    self.aux_defs.append(z3.Or(base < 0, rdef))
                    self.defined.append(base >= 0)
                else:
                    self.aux_defs.append(rdef)
                base = r
            if num >= 0:
                return self._ipow(base, num)
            inv = self._fresh("inv")
            self.aux_defs.append(z3.Or(base == 0, inv * base == 1))
            self.defined.append(base != 0)
            return self._ipow(inv, -num)
        if isinstance(e, sp.Abs):
            t = self.term(e.args[0])
            a = self._fresh("abs")
            self.aux_defs.append(z3.And(a >= 0, z3.Or(a == t, a == -t)))
            return a
        if isinstance(e, (sp.Max, sp.Min)):
            ts = [self.term(a) for a in e.args]
            m = self._fresh("max" if isinstance(e, sp.Max) else "min")
            cmp = (lambda u, v: u >= v) if isinstance(e, sp.Max) else (lambda u, v: u <= v)
            self.aux_defs.append(z3.And(*[cmp(m, t) for t in ts]))
            self.aux_defs.append(z3.Or(*[m == t for t in ts]))
            return m
        raise _NotEncodable(f"{type(e).__name__}: {e}")

    def _ipow(self, t, n: int):
        out = self.z3.RealVal(1)
        for _ in range(n):
            out = out * t
        return out

    def formula(self, r):
        z3 = self.z3
        if r is sp.true or r is True:
            return z3.BoolVal(True)
        if r is sp.false or r is False:
            return z3.BoolVal(False)
        if isinstance(r, sp.And):
            return z3.And(*[self.formula(a) for a in r.args])
        if isinstance(r, sp.Or):
            return z3.Or(*[self.formula(a) for a in r.args])
        if isinstance(r, sp.Not):
            return z3.Not(self.formula(r.args[0]))
        if isinstance(r, sp.Implies):
            return z3.Implies(self.formula(r.args[0]), self.formula(r.args[1]))
        ops = {sp.Eq: lambda a, b: a == b, sp.Ne: lambda a, b: a != b,
               sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
               sp.StrictGreaterThan: lambda a, b: a > b,
               sp.GreaterThan: lambda a, b: a >= b}
        for cls, op in ops.items():
            if isinstance(r, cls):
                return op(self.term(r.lhs), self.term(r.rhs))
        raise _NotEncodable(f"relation {r}")


def _sympy_decides(condition) -> Discharge | None:
    """True/False from SymPy alone (identities and assumption-level facts), or None."""
    if isinstance(condition, sp.And):
        parts = [_sympy_decides(a) for a in condition.args]
        if all(p is not None and p.discharged for p in parts):
            return Discharge(DISCHARGED, SYMPY)
        return next((p for p in parts if p is not None and p.status == VIOLATED), None)
    if not isinstance(condition, sp.core.relational.Relational):
        if condition is sp.true or condition is True:
            return Discharge(DISCHARGED, SYMPY)
        if condition is sp.false or condition is False:
            return Discharge(VIOLATED, "sympy: identically false")
        return None
    diff = sp.simplify(condition.lhs - condition.rhs)
    if diff.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    truth = {sp.Eq: lambda d: d.is_zero, sp.Ne: lambda d: d.is_nonzero,
             sp.StrictLessThan: lambda d: d.is_negative,
             sp.LessThan: lambda d: d.is_nonpositive,
             sp.StrictGreaterThan: lambda d: d.is_positive,
             sp.GreaterThan: lambda d: d.is_nonnegative}
    for cls, test in truth.items():
        if isinstance(condition, cls):
            val = test(diff)
            break
    else:
        return None
    # an identity only counts when every term of it is defined everywhere
    if val is True and not diff.free_symbols:
        return Discharge(DISCHARGED, SYMPY)
    if val is True and not _has_partial(condition):
        return Discharge(DISCHARGED, SYMPY)
    if val is False and not diff.free_symbols:
        return Discharge(VIOLATED, "sympy: identically false")
    return None


def _has_partial(r) -> bool:
    """Whether a relation contains a possibly undefined term (a division, a root)."""
    return any(not (pw.exp.is_Integer and pw.exp >= 0) for pw in r.atoms(sp.Pow)
               if not pw.base.is_positive)


def holds_on_domain(condition, domain=(), *, timeout_ms: int = 10000) -> Discharge:
    """Decide ``∀ parameters: domain ⇒ condition`` (see the module docstring).

    ``condition`` is a SymPy relation (or ``And`` of relations); ``domain`` an iterable
    of relations.  Symbols are quantified over the reals, with their positivity
    assumptions; symbols not mentioned by the domain are free.
    """
    decided = _sympy_decides(condition)
    if decided is not None:
        return decided
    try:
        import z3
    except ImportError:                                   # pragma: no cover
        return Discharge(UNKNOWN, "z3 not installed")
    enc = _Encoder(z3)
    try:
        dom = [enc.formula(r) for r in domain]
        dom_defined = list(enc.defined)
        enc.defined.clear()
        goal = enc.formula(condition)
    except _NotEncodable as exc:
        return Discharge(UNKNOWN, f"not encodable: {exc}")
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*dom, *dom_defined, *enc.aux_defs)
    # violated somewhere on the domain, or undefined somewhere on it
    solver.add(z3.Or(z3.Not(goal), *[z3.Not(d) for d in enc.defined]))
    smt = solver.to_smt2()
    answer = solver.check()
    if answer == z3.unsat:
        return Discharge(DISCHARGED, Z3, smt=smt)
    if answer == z3.sat:
        model = solver.model()
        witness = {}
        for name, var in enc.vars.items():
            val = model.eval(var, model_completion=True)
            if z3.is_rational_value(val):
                witness[name] = str(Fraction(val.numerator_as_long(), val.denominator_as_long()))
            else:
                witness[name] = val.approx(20).as_decimal(20)
        return Discharge(VIOLATED, "z3: sat (a domain point violates it)", witness, smt)
    return Discharge(UNKNOWN, f"z3: {solver.reason_unknown() or 'unknown'}", smt=smt)


def nonnegative(expr, domain=()) -> Discharge:
    """``expr >= 0`` on the whole domain."""
    return holds_on_domain(sp.Ge(expr, 0), domain)


def positive(expr, domain=()) -> Discharge:
    """``expr > 0`` on the whole domain."""
    return holds_on_domain(sp.Gt(expr, 0), domain)


def equal(a, b, domain=()) -> Discharge:
    """``a == b`` on the whole domain."""
    return holds_on_domain(sp.Eq(a, b, evaluate=False), domain)
