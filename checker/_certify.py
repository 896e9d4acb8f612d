"""Certification: re-check a violation at exact rational inputs.

A witness counts only after this module has checked it (THEORY.md §7, DESIGN.md
"Evidence").  Given a :class:`~distillproof.axioms.claims.Claim` and exact rationals for
every vector component and parameter, :func:`certify` checks, in this order,

1. every vector lies in the *open* simplex: all components ``> 0``, sum exactly ``1``;
2. every parameter satisfies the sign assumptions of its SymPy symbol (``positive``,
   ``nonnegative``, ...), which are part of its domain;
3. every domain relation holds;
4. some atom ``expr rel 0`` *fails*, i.e. ``expr`` is a defined real number and
   ``expr != 0`` (for ``==``), ``expr < 0`` (for ``>=``) or ``expr <= 0`` (for ``>``).

Each check substitutes the rationals into the SymPy expression, which leaves a *closed*
expression (rational, radical, or with ``log``/``exp``/``pi``/``E``), and asks
:func:`sign` for its sign.  :func:`sign` is sound: it answers ``-1``, ``0``, ``+1`` only
when that is proved, and ``None`` otherwise:

* a SymPy ``Rational`` has its sign exactly (``certified_by="exact"``);
* otherwise the expression is evaluated in Arb ball arithmetic (python-flint) at 53,
  128, 256 and 1024 bits; a ball that excludes 0 proves the sign (``"interval"``).
  Every Arb operation returns a ball containing the true value, so the enclosure
  contains the real number the expression denotes;
* a ball that contains 0 proves nothing; for an *algebraic* expression (rationals and
  rational powers only) exact zero is decided by its minimal polynomial being ``x``.

The module also finds exact rational points of a parameter domain
(:func:`rational_points`, :func:`in_domain`) and instantiates claims there
(:func:`instantiate_claim`), for refuting claims with symbolic exponents.

An expression that is not a real number at the point (division by zero, a fractional
power of a negative number, ``log`` of a non-positive number) is *undefined*: an undefined
domain relation does not hold, and an undefined atom is not a violation.  This matches
the Z3 encoding (:mod:`._z3`), which searches only points where the failing atom is
defined.
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from itertools import product
from typing import Union

import flint
import sympy as sp

from distillproof.axioms.claims import Claim
from distillproof.proofs.evidence import Witness, rational_str

from . import _compiled

__all__ = ["certify", "sign", "enclosure", "PRECISIONS", "evaluate_relation",
           "values_to_subs", "assumptions_hold", "in_domain", "rational_points",
           "instantiate_claim"]

PRECISIONS = (53, 128, 256, 1024)

#: Called (no arguments) each time :func:`certify` returns a witness; empty in normal
#: use (``bench/counterexamples.py`` times the first certified witness of a search).
OBSERVERS: list = []
Values = dict[str, Union[Fraction, tuple[Fraction, ...]]]


_Undefined = _compiled.Undefined    # not a real number (or an operation Arb cannot bound)


# --- Arb evaluation ---------------------------------------------------------------
def _q(x) -> flint.fmpq:
    r = sp.Rational(x)
    return flint.fmpq(int(r.p), int(r.q))


def _arb(e: sp.Basic) -> flint.arb:
    """A ball containing the value of the closed expression ``e`` at ``flint.ctx.prec``."""
    if e.is_Rational:
        return flint.arb(_q(e))
    if e.is_Float:
        return flint.arb(_q(sp.Rational(e)))    # the Float's exact binary value
    if e is sp.pi:
        return flint.arb.pi()
    if e is sp.E:
        return flint.arb.const_e()
    if e is sp.EulerGamma:
        return flint.arb.const_euler()
    if isinstance(e, sp.Add):
        out = flint.arb(0)
        for a in e.args:
            out += _arb(a)
        return out
    if isinstance(e, sp.Mul):
        out = flint.arb(1)
        for a in e.args:
            out *= _arb(a)
        return out
    if isinstance(e, sp.Pow):
        base, ex = _arb(e.base), e.exp
        if ex.is_Integer:
            return base ** int(ex)
        if ex.is_Rational:
            if base < 0:
                raise _Undefined(f"fractional power of a negative number: {e}")
            if not base > 0:
                return flint.arb.nan()
            return base.root(int(ex.q)) ** int(ex.p)
        if not base > 0:
            return flint.arb.nan()
        return (_arb(ex) * base.log()).exp()
    if isinstance(e, sp.exp):
        return _arb(e.args[0]).exp()
    if isinstance(e, sp.log):
        arg = _arb(e.args[0])
        if not arg > 0:
            if arg <= 0:
                raise _Undefined(f"log of a non-positive number: {e}")
            return flint.arb.nan()
        return arg.log()
    if isinstance(e, sp.Abs):
        return abs(_arb(e.args[0]))
    if isinstance(e, (sp.Max, sp.Min)):
        vals = [_arb(a) for a in e.args]
        out = vals[0]
        for v in vals[1:]:
            out = out.max(v) if isinstance(e, sp.Max) else out.min(v)
        return out
    if e in (sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I) or e.has(sp.I, sp.zoo, sp.nan):
        raise _Undefined(f"not a real number: {e}")
    raise _Undefined(f"no interval evaluation for {type(e).__name__}")


def _at(prec: int, evaluate, *args) -> flint.arb:
    """``evaluate(*args)`` with ``flint.ctx.prec = prec`` (restored after)."""
    old = flint.ctx.prec
    flint.ctx.prec = prec
    try:
        return evaluate(*args)
    finally:
        flint.ctx.prec = old


def _ball(expr: sp.Basic, prec: int) -> flint.arb:
    """Like :func:`_arb` at ``prec`` bits; NaN when too coarse to evaluate (e.g. ``log``
    of a ball straddling 0), :class:`_Undefined` when not a real number."""
    return _at(prec, _arb, expr)


def _ladder(ball_at, zero=None) -> tuple[int | None, str, str]:
    """``(sign, certified_by, text)`` from balls ``ball_at(prec)`` at each precision of
    :data:`PRECISIONS` until one excludes 0; ``zero()`` is asked once, at the first ball
    that contains 0, for a decision (or ``None`` to go on)."""
    last = "undecided"
    for prec in PRECISIONS:
        try:
            ball = ball_at(prec)
        except _Undefined:
            return (None, "", "undefined")
        if ball.is_nan():
            continue
        last = str(ball)
        if ball > 0:
            return (1, "interval", last)
        if ball < 0:
            return (-1, "interval", last)
        if zero is not None:
            decided, zero = zero(), None
            if decided is not None:
                return decided
    return (None, "", last)


def enclosure(expr: sp.Basic, prec: int = 53) -> flint.arb | None:
    """An Arb ball containing the closed expression ``expr`` at ``prec`` bits, or
    ``None`` when it is undefined, unsupported, or not evaluable at this precision."""
    try:
        out = _ball(sp.sympify(expr, strict=True), prec)
    except _Undefined:
        return None
    return None if out.is_nan() else out


def _is_algebraic(e: sp.Basic) -> bool:
    if e.is_Rational:
        return True
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(_is_algebraic(a) for a in e.args)
    if isinstance(e, sp.Pow):
        return e.exp.is_Rational and _is_algebraic(e.base)
    return False


def _is_zero_algebraic(e: sp.Basic) -> bool:
    """True only when the algebraic number ``e`` is proved to be exactly zero."""
    x = sp.Dummy("x")
    try:
        return sp.minimal_polynomial(e, x) == x
    except (NotImplementedError, sp.polys.polyerrors.BasePolynomialError, ValueError):
        return False


def _sign_detail(expr: sp.Basic) -> tuple[int | None, str, str]:
    """``(sign, certified_by, value text)``; sign ``None`` when undecided or undefined."""
    e = sp.sympify(expr, strict=True)
    if e.free_symbols:
        raise ValueError(f"sign() needs a closed expression, got free symbols "
                         f"{sorted(s.name for s in e.free_symbols)} in {e}")
    if e.is_Rational:
        return (int(sp.sign(e)), "exact", rational_str(Fraction(int(e.p), int(e.q))))
    if e.has(sp.zoo, sp.nan, sp.oo, sp.I):
        return (None, "", "undefined")
    zero = (lambda: (0, "exact", "0") if _is_zero_algebraic(e) else None) \
        if _is_algebraic(e) else None              # exact zero, tried once
    return _ladder(lambda prec: _ball(e, prec), zero)


def sign(expr: sp.Basic) -> int | None:
    """The sign (-1, 0, +1) of a closed real expression, or ``None`` when it is not
    proved (undecided at 1024 bits, or the expression is not a real number).

    Exact for rationals; Arb intervals for anything with radicals, ``log``, ``exp``,
    ``pi``, ``E`` or real powers; exact zero only for algebraic expressions.
    """
    return _sign_detail(expr)[0]


def substitute(expr: sp.Basic, subs: dict) -> sp.Basic:
    """``expr`` at the rational point ``subs``.  Rational functions are evaluated
    exactly; anything with roots, real powers, ``log`` or ``exp`` is left unevaluated
    for the interval evaluator (SymPy would otherwise simplify ``(p/q)**(1/3)`` by
    factoring ``p`` and ``q``, which takes forever for large denominators)."""
    expr = sp.sympify(expr, strict=True)
    if not any(not pw.exp.is_Integer for pw in expr.atoms(sp.Pow)) and not expr.has(sp.log, sp.exp):
        return expr.xreplace(subs)
    with sp.evaluate(False):
        return expr.xreplace(subs)


# --- relations and claims ---------------------------------------------------------
_RELS = {sp.Eq: lambda s: s == 0, sp.Ne: lambda s: s != 0, sp.Lt: lambda s: s < 0,
         sp.Le: lambda s: s <= 0, sp.Gt: lambda s: s > 0, sp.Ge: lambda s: s >= 0}


def evaluate_relation(rel: sp.Basic, subs: dict) -> bool | None:
    """Three-valued truth of a relation (``Eq Ne Lt Le Gt Ge And Or Not``) at ``subs``.

    Each side is substituted separately and the sign of ``lhs - rhs`` decided by
    :func:`sign`; ``None`` when that sign is undecided or undefined.
    """
    if rel is sp.true or rel is True:
        return True
    if rel is sp.false or rel is False:
        return False
    if isinstance(rel, sp.And):
        vals = [evaluate_relation(a, subs) for a in rel.args]
        return False if False in vals else (None if None in vals else True)
    if isinstance(rel, sp.Or):
        vals = [evaluate_relation(a, subs) for a in rel.args]
        return True if True in vals else (None if None in vals else False)
    if isinstance(rel, sp.Not):
        v = evaluate_relation(rel.args[0], subs)
        return None if v is None else not v
    for cls, test in _RELS.items():
        if isinstance(rel, cls):
            s = sign(substitute(rel.lhs - rel.rhs, subs))
            return None if s is None else test(s)
    raise ValueError(f"cannot evaluate relation {rel!r} ({type(rel).__name__})")


def assumptions_hold(symbol: sp.Symbol, value) -> bool:
    """Whether the rational ``value`` meets ``symbol``'s SymPy sign/integer assumptions."""
    value = value if isinstance(value, Fraction) else Fraction(str(value))
    checks = (("positive", lambda: value > 0), ("nonnegative", lambda: value >= 0),
              ("negative", lambda: value < 0), ("nonpositive", lambda: value <= 0),
              ("nonzero", lambda: value != 0), ("zero", lambda: value == 0),
              ("integer", lambda: value.denominator == 1))
    return all(ok() for name, ok in checks if getattr(symbol, f"is_{name}") is True)


def _exact_values(claim: Claim, values: Values) -> list[Fraction]:
    """The values of ``claim.symbols``, in order, as fractions; ``ValueError`` when a
    value is missing or a vector has the wrong length."""
    out = []
    for name, comps in claim.vectors.items():
        if name not in values:
            raise ValueError(f"no value for vector {name!r}")
        vec = values[name]
        if not isinstance(vec, tuple) or len(vec) != len(comps):
            raise ValueError(f"vector {name!r} needs {len(comps)} components, got {vec!r}")
        out.extend(Fraction(v) for v in vec)
    for s in claim.parameters:
        if s.name not in values:
            raise ValueError(f"no value for parameter {s.name!r}")
        out.append(Fraction(values[s.name]))
    return out


def values_to_subs(claim: Claim, values: Values) -> dict:
    """``{symbol: Rational}`` for the claim's symbols; ``ValueError`` when a value is
    missing or a vector has the wrong length."""
    return {s: sp.Rational(v.numerator, v.denominator)
            for s, v in zip(claim.symbols, _exact_values(claim, values))}


def certify(claim: Claim, values: Values) -> Witness | None:
    """A :class:`Witness` when ``values`` is a certified violation of ``claim``, else
    ``None`` (not a domain point, or no atom's failure could be proved).

    ``values`` maps each vector name to a tuple of exact rationals and each parameter
    name to an exact rational (see the module docstring for what is checked).  The
    claim's relations and atoms are compiled once (:mod:`._compiled`: the same tree
    walked by the same rules, without building SymPy objects); an expression the
    compiler does not take, and an algebraic value whose ball straddles 0, take the
    SymPy route above.
    """
    plan = _plan(claim)
    exact = _exact_values(claim, values)
    vals = [flint.fmpq(v.numerator, v.denominator) for v in exact]
    clean, at = {}, 0
    for name, comps in claim.vectors.items():
        clean[name], at = tuple(exact[at:at + len(comps)]), at + len(comps)
    clean.update({s.name: v for s, v in zip(claim.parameters, exact[at:])})
    if any(any(v <= 0 for v in clean[n]) or sum(clean[n]) != 1 for n in claim.vectors):
        return None
    if not all(assumptions_hold(s, clean[s.name]) for s in claim.parameters):
        return None
    cache: dict = {}

    def subs():
        if "subs" not in cache:
            cache["subs"] = values_to_subs(claim, values)
        return cache["subs"]
    for rel in plan.domain:
        if rel(vals, subs) is not True:
            return None
    for atom, sign_of in zip(claim.atoms, plan.atoms):
        s, how, text = sign_of(vals, subs)
        if s is None:
            continue
        if {"==": s != 0, ">=": s < 0, ">": s <= 0}[atom.rel]:
            kept = {k: clean[k] if k in clean else
                    (tuple(Fraction(x) for x in v) if isinstance(v, tuple) else Fraction(v))
                    for k, v in values.items()}
            for observe in OBSERVERS:
                observe()
            return Witness(values=kept, atom=atom.label, value=text, certified_by=how,
                           classes=claim.classes)
    return None


# --- the compiled plan of a claim ---------------------------------------------------
class _Plan:
    """A claim's domain relations and atoms as evaluators over ``fmpq`` values in
    ``claim.symbols`` order: relations ``(vals, subs) -> True/False/None`` and atoms
    ``(vals, subs) -> (sign, certified_by, text)`` (``subs()`` builds the SymPy
    substitution for the fallback route), on the claim's shared
    :func:`._compiled.structure_of`."""

    def __init__(self, claim: Claim):
        structure = _compiled.structure_of(claim)
        self.domain = [_relation_fn(r, structure) for r in claim.domain]
        self.atoms = [_lazy(_sign_fn, sp.sympify(a.expr, strict=True), structure)
                      for a in claim.atoms]


def _lazy(make, *args):
    """``make(*args)`` compiled on the first call (certification stops at the first
    failing atom, so later atoms are often never evaluated)."""
    made = []

    def call(*a):
        if not made:
            made.append(make(*args))
        return made[0](*a)
    return call


_PLANS: dict = {}


def _plan(claim: Claim) -> _Plan:
    key = _compiled.claim_key(claim)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 256:
            _PLANS.clear()
        plan = _PLANS[key] = _Plan(claim)
    return plan


def _sign_fn(expr: sp.Basic, structure):
    """The compiled :func:`_sign_detail` of ``expr`` at a point (see :mod:`._compiled`)."""
    fallback = lambda vals, subs: _sign_detail(substitute(expr, subs()))
    try:
        root = [structure.add(expr)]
        needed = structure.needed(root)
        kinds = {structure.steps[j][0] for j in needed}      # see _compiled.RATIONAL
        if kinds <= _compiled.RATIONAL:
            f = structure.program(root, "exact", needed)

            def rational(vals, subs):
                try:
                    (r,) = f(vals)
                except _compiled.Undefined:
                    return (None, "", "undefined")
                return ((r > 0) - (r < 0), "exact", rational_str(Fraction(int(r.p), int(r.q))))
            return rational
        f, alg = structure.program(root, "ball", needed), kinds <= _compiled.ALGEBRAIC
    except _compiled.Unsupported:
        return fallback

    def interval(vals, subs):
        zero = (lambda: fallback(vals, subs)) if alg else None   # exact zero: SymPy route
        return _ladder(lambda prec: _at(prec, lambda: f(_compiled.point(vals))[0]), zero)
    return interval


_TESTS = {"==": lambda s: s == 0, "!=": lambda s: s != 0, "<": lambda s: s < 0,
          "<=": lambda s: s <= 0, ">": lambda s: s > 0, ">=": lambda s: s >= 0}


def _relation_fn(rel, structure):
    """The compiled :func:`evaluate_relation` of ``rel``."""
    if rel is sp.true or rel is True or rel is sp.false or rel is False:
        value = rel is sp.true or rel is True
        return lambda vals, subs: value
    if isinstance(rel, (sp.And, sp.Or, sp.Not)):
        parts = [_relation_fn(a, structure) for a in rel.args]
        if isinstance(rel, sp.Not):
            return lambda vals, subs: (lambda v: None if v is None else not v)(parts[0](vals, subs))
        stop = False if isinstance(rel, sp.And) else True

        def junction(vals, subs):
            got = [p(vals, subs) for p in parts]
            return stop if stop in got else (None if None in got else not stop)
        return junction
    if isinstance(rel, tuple(_RELS)):
        sign_of = _sign_fn(_compiled.difference(rel), structure)
        test = _TESTS[rel.rel_op]

        def relation(vals, subs):
            s = sign_of(vals, subs)[0]
            return None if s is None else test(s)
        return relation
    return lambda vals, subs: evaluate_relation(rel, subs())


# --- exact rational points of a parameter domain (used to instantiate claims) -----
_CANDIDATES = tuple(sp.Rational(a) for a in (
    "1/2", "1/3", "2/3", "1/4", "3/4", "2", "3", "1/5", "2/5", "3/5", "4/5", "3/2",
    "1", "0", "-1/2", "-1", "-2", "5", "1/10", "9/10"))


def _exponent_parameters(claim: Claim) -> list[sp.Symbol]:
    used = {s for e in [a.expr for a in claim.atoms] + list(claim.domain)
            for p in sp.sympify(e, strict=True).atoms(sp.Pow) if not p.exp.is_Rational
            for s in p.exp.free_symbols}
    return [s for s in claim.parameters if s in used]


def rational_points(claim: Claim, n: int = 4, symbols=None, limit: int = 5000) -> list[dict]:
    """Up to ``n`` points ``{symbol: Rational}`` with simple rationals (1/2, 1/3, 2/3,
    1/4, 3/4, 2, 3, 1/5, ...) for ``symbols`` (default: the parameters occurring in
    non-rational exponents, else all parameters) at which every domain relation that
    involves only those symbols provably holds (exact/interval check), and their sign
    assumptions hold.  Deterministic: lexicographic order over the candidate list,
    at most ``limit`` combinations tried."""
    syms = list(symbols) if symbols is not None else (
        _exponent_parameters(claim) or list(claim.parameters))
    out: list[dict] = []
    for i, combo in enumerate(product(_CANDIDATES, repeat=len(syms)) if syms else ()):
        if i >= limit or len(out) >= n:
            break
        if in_domain(claim, dict(zip(syms, combo))):
            out.append(dict(zip(syms, combo)))
    return out


def in_domain(claim: Claim, point: dict) -> bool:
    """Sign assumptions and the domain relations involving only ``point``'s symbols
    provably hold at ``point``."""
    return all(assumptions_hold(s, v) for s, v in point.items()) and all(
        evaluate_relation(r, point) is True for r in claim.domain
        if sp.sympify(r, strict=True).free_symbols <= set(point))


def instantiate_claim(claim: Claim, point: dict) -> Claim:
    """``claim`` with the parameters of ``point`` replaced by their rational values."""
    subs = {s: sp.Rational(v) for s, v in point.items()}
    domain = tuple(d for d in (sp.sympify(r, strict=True).xreplace(subs) for r in claim.domain)
                   if d is not sp.true)
    atoms = tuple(replace(a, expr=sp.sympify(a.expr, strict=True).xreplace(subs)) for a in claim.atoms)
    text = ", ".join(f"{s}={v}" for s, v in subs.items())
    return replace(claim, parameters=tuple(p for p in claim.parameters if p not in subs),
                   domain=domain, atoms=atoms,
                   notes=claim.notes + (f"parameters instantiated at {text}",))
