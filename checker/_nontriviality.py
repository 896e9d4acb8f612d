"""Non-triviality (NT) of componentwise power maps, for every number of classes.

``M(p, q) = normalize(c · q^γ)`` (or ``normalize(c · (A + b q)^γ)`` with an anchor term
``A``), ``c > 0`` free of the student ``q``: the lemmas :data:`_NT_LEMMA` and
:data:`_NT_AFFINE_LEMMA` reduce "``q -> M(p, q)`` is neither constant nor the identity"
to conditions on the exponent and the weights, which Z3 decides over the parameter
domain (:func:`prove`).  Where ``γ = 0``, or ``γ = 1`` with every input uniform, the map
is constant, or the identity: :func:`refute` finds such a point with Z3 and
:func:`check` certifies it exactly (and replays it).
"""
from __future__ import annotations

from fractions import Fraction

import sympy as sp

from ..axioms.claims import Atom, Claim
from ..proofs.evidence import Proved, Step
from ._symbolic import _body, _scalar, parameter_conditions

__all__ = ["prove", "refute", "check"]


def _moving_factor(family):
    """``(q, f, c, inputs)``: the map ``normalize(c · f)`` componentwise, ``f`` the one
    factor that depends on the one student ``q``; else None."""
    body = _body(family)
    if family.kind != "meta-teacher" or body is None or not body[1] or len(family.students) != 1:
        return None
    q = _scalar(family.students[0])
    inputs = {_scalar(v) for v in family.vectors}
    g = sp.powsimp(sp.expand_power_base(body[0], force=True), force=True)
    moving = [f for f in sp.Mul.make_args(g) if f.has(q)]
    fixed = [f for f in sp.Mul.make_args(g) if not f.has(q)]
    positive = lambda f: f.is_positive is True or (        # an input to a parameter power
        isinstance(f, sp.Pow) and f.base in inputs and not f.exp.free_symbols & inputs)
    if len(moving) != 1 or not all(positive(f) for f in fixed):   # the lemmas need c > 0
        return None
    return q, moving[0], sp.Mul(*fixed), inputs


def _power_form(family):
    """``(q, γ, c)`` when the map is ``normalize(c · q^γ)`` componentwise in its one
    student ``q``, with ``γ`` free of the inputs and ``c`` free of ``q``; else None."""
    found = _moving_factor(family)
    if found is None:
        return None
    q, f, c, inputs = found
    if f == q:
        return q, sp.Integer(1), c
    if isinstance(f, sp.Pow) and f.base == q and not f.exp.free_symbols & inputs:
        return q, f.exp, c
    return None


def _affine_power_form(family):
    """``(γ, {input: a}, b, c)`` when the map is ``normalize(c · (sum_v a_v v + b q)^γ)``
    componentwise with some ``a_v`` nonzero and ``γ, a, b`` free of the inputs; else None."""
    found = _moving_factor(family)
    if found is None:
        return None
    q, f, c, inputs = found
    base, gamma = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.Integer(1))
    if gamma.free_symbols & inputs:
        return None
    base = sp.expand(base)
    coeffs = {v: base.coeff(v) for v in sorted(inputs - {q}, key=lambda s: s.name)}
    b = base.coeff(q)
    rest = sp.expand(base - b * q - sp.Add(*[a * v for v, a in coeffs.items()]))
    if rest != 0 or any(e.free_symbols & inputs for e in [b, *coeffs.values()]):
        return None
    coeffs = {v: a for v, a in coeffs.items() if a != 0}
    return (gamma, coeffs, b, c) if coeffs else None


_NT_LEMMA = ("for c > 0 and K >= 2, q -> normalize(c q^γ) is one-to-one when γ != 0 "
             "(c q^γ ∝ c r^γ forces q ∝ r), and it is the identity only when γ = 1 and c is "
             "the same in every class (at q uniform it gives normalize(c); then "
             "q_i^(γ-1) = sum_j q_j^γ for all i forces γ = 1)")
_NT_AFFINE_LEMMA = ("for c > 0, A = sum_v a_v v > 0, b > 0 and K >= 2, "
                    "q -> normalize(c (A + b q)^γ) is one-to-one when γ != 0 ((A + b q) ∝ "
                    "(A + b r) with sum A + b > 0 forces q = r), and it is never the identity: "
                    "as q tends to a vertex e_1 it tends to normalize(c (A + b e_1)^γ), whose "
                    "components are all positive, not to e_1")


def prove(family):
    """NT for ``M = normalize(c · q^γ)`` (see :data:`_NT_LEMMA`): proved, for every K,
    when ``γ != 0`` and ``γ != 1`` on the whole domain; for ``M = normalize(c · (A +
    b q)^γ)`` with an anchor term ``A`` (:data:`_NT_AFFINE_LEMMA`) when ``γ != 0``,
    ``b > 0`` and the anchor weights are nonnegative with a positive sum."""
    form = _power_form(family)
    if form is not None:
        _, gamma, c = form
        shape, lemma = f"M(p, q)_i ∝ c_i · q_i^γ with c = {c}, γ = {gamma}", _NT_LEMMA
        atoms = [Atom(gamma ** 2, ">", f"γ = {gamma} is never 0 (q -> M is not constant)"),
                 Atom((gamma - 1) ** 2, ">", f"γ = {gamma} is never 1 (q -> M is not the identity)")]
    else:
        form = _affine_power_form(family)
        if form is None:
            return None
        gamma, a, b, c = form
        anchor = " + ".join(f"({w})*{v}" for v, w in a.items())
        shape = f"M(p, q)_i ∝ c_i · (A_i + b q_i)^γ with A = {anchor}, b = {b}, γ = {gamma}, c = {c}"
        lemma = _NT_AFFINE_LEMMA
        atoms = [Atom(gamma ** 2, ">", f"γ = {gamma} is never 0"),
                 Atom(b, ">", f"b = {b} is positive"),
                 *[Atom(w, ">=", f"the weight {w} of {v} is nonnegative") for v, w in a.items()],
                 Atom(sp.Add(*a.values()), ">", "the anchor weights have a positive sum")]
    steps, _ = parameter_conditions(family, atoms)
    if steps is None:
        return None
    return Proved("sympy + z3 (componentwise power form, every K)", (
        Step("power form", shape), Step("lemma", lemma), *steps,
        Step("conclusion", "q -> M(p, q) is neither constant nor the identity, for every "
                           "parameter point, anchor and K")))


def refute(family, classes: int, timeout_ms: int = 4000):
    """NT refuted for a power form (:data:`_NT_LEMMA`) at a parameter point where
    ``γ = 0`` (M is constant in q) or ``γ = 1`` with every input uniform (then ``c`` is
    the same in every class and M is the identity): the point from Z3, checked exactly.
    ``None`` when there is no such point (or the map is not a power form)."""
    from . import _z3
    from ..proofs.evidence import Refuted
    form = _power_form(family)
    if form is None or not family.free_parameters:
        return None
    _, gamma, _ = form
    params = tuple(p.symbol for p in family.free_parameters)
    for target, what in ((0, "constant"), (1, "the identity")):
        side = Claim(axiom="side-condition", family=family.name, classes=0, vectors={},
                     parameters=params, domain=family.domain,
                     atoms=(Atom((gamma - target) ** 2, ">", f"γ != {target}"),))
        ev = _z3.decide(side, timeout_ms=timeout_ms)
        if ev.status != "refuted":
            continue
        point = {s.name: ev.witness.values[s.name] for s in params}
        w = check(family, classes, {**{v: (Fraction(1, classes),) * classes
                                           for v in family.vectors if v not in family.students},
                                        **point})
        if w is not None:
            return Refuted(method="sympy + z3 (componentwise power form)", witness=w)
    return None


def check(family, classes: int, values: dict):
    """The exact check behind :func:`refute` (and its replay): ``values`` fix
    every parameter and every non-student input; a :class:`Witness` when ``γ`` is 0 there,
    or 1 with every input uniform, else None."""
    from ..proofs.evidence import Witness
    from ._certify import evaluate_relation
    form = _power_form(family)
    params = {p.symbol: p.name for p in family.free_parameters}
    if form is None or set(params.values()) - set(values):
        return None
    _, gamma, _ = form
    at = {s: sp.Rational(Fraction(values[n]).numerator, Fraction(values[n]).denominator)
          for s, n in params.items()}
    if not all(evaluate_relation(r, at) is True for r in family.domain):
        return None
    g = sp.sympify(gamma, strict=True).xreplace(at)
    inputs = [v for v in family.vectors if v not in family.students]
    uniform = all(tuple(values.get(v, ())) == (Fraction(1, classes),) * classes for v in inputs)
    if g == 0:
        atom, value = "q -> M(p,q) is not constant", "γ = 0 exactly: M(p, q) = normalize(c) for every q"
    elif g == 1 and uniform:
        atom, value = ("q -> M(p,q) is not the identity",
                       "γ = 1 exactly and every input uniform (c the same in every class): "
                       "M(p, q) = q for every q")
    else:
        return None
    kept = {v: tuple(Fraction(x) for x in values[v]) for v in inputs if v in values}
    kept.update({n: Fraction(values[n]) for n in params.values()})
    return Witness(values=kept, atom=atom, value=value, certified_by="exact", classes=classes)
