"""The SymPy stage: identities, proved for every ``K`` where the form allows it.

Componentwise maps (``g(p_i, q_i)``, or ``normalize(g)``) reduce statements about all
``K`` to statements about one scalar function ``g``; linear maps reduce them to their
coefficients.  Each attempt returns :class:`~distillproof.proofs.evidence.Proved` with
its steps, a refutation where the symbolic form itself is the counterexample (NT), or
``None`` to pass to the next stage.  Side conditions on parameters are discharged by
the Z3 stage over the parameter domain (never assumed).
"""
from __future__ import annotations

import sympy as sp

from ..axioms._build import claim as make_claim
from ..axioms.claims import Atom, Claim
from ..axioms.vector import normalize, vsum, softmax, MatVec
from ..proofs.evidence import Proved, Step

__all__ = ["prove_identity", "prove_all_classes", "parameter_conditions"]


def _scalar(name: str) -> sp.Symbol:
    return sp.Symbol(name, positive=True)


def _body(family):
    """``(g, normalized)`` for a componentwise map ``g`` or ``normalize(g)``; else None."""
    expr = family.expr
    normalized = isinstance(expr, normalize)
    g = expr.args[0] if normalized else expr
    if any(g.has(op) for op in (normalize, vsum, softmax, MatVec)) or family.fixed:
        return None
    return g, normalized


def parameter_conditions(family, atoms: list[Atom], *, timeout_ms: int = 5000):
    """Decide relations among the parameters over the whole domain, by Z3.

    Returns ``(steps, None)`` when every atom is proved, ``(None, reason)`` otherwise.
    """
    from . import _z3
    if not atoms:
        return (), None
    c = Claim(axiom="side-condition", family=family.name, classes=0, vectors={},
              parameters=tuple(p.symbol for p in family.free_parameters),
              domain=family.domain, atoms=tuple(atoms))
    evidence = _z3.decide(c, timeout_ms=timeout_ms)
    if evidence.status != "proved":
        return None, getattr(evidence, "reason", evidence.status)
    return tuple(Step("side condition", a.label, (("for all parameters in the domain",
                                                    "z3: unsat"),)) for a in atoms), None


def prove_identity(claim: Claim) -> Proved | None:
    """Every atom holds by SymPy alone: ``== 0`` atoms simplify to 0 (after eliminating
    the last component of each vector by ``sum = 1``), ``>``/``>=`` atoms are positive
    (nonnegative) by SymPy's assumptions (vector components are positive symbols)."""
    if not claim.atoms or not claim.sufficient:
        return None
    if any(isinstance(r, sp.Eq) for r in claim.domain):
        return None
    elim = {}
    for comps in claim.vectors.values():
        elim[comps[-1]] = 1 - sp.Add(*comps[:-1])
    steps = []
    for a in claim.atoms:
        e = a.expr
        if a.rel == "==" and (_is_zero(e) or _is_zero(e.xreplace(elim))):
            steps.append(Step("identity", f"{a.label}", (("expression simplifies to 0", "sympy"),)))
        elif a.rel == ">" and e.is_positive is True:
            steps.append(Step("sign", a.label, (("positive by sign rules on positive inputs", "sympy"),)))
        elif a.rel == ">=" and e.is_nonnegative is True:
            steps.append(Step("sign", a.label, (("nonnegative by sign rules on positive inputs", "sympy"),)))
        else:
            return None
    return Proved(method="sympy", steps=tuple(steps), classes=claim.classes)


def polynomial_form(claim: Claim) -> Claim:
    """The same claim with each rational atom ``N/D rel 0`` written ``N*D rel 0`` (same
    sign wherever ``D != 0``; ``D != 0`` joins the domain: the claim is about points
    where the map is defined).  Helps the nonlinear solver; atoms that are not rational
    are kept as they are."""
    atoms, extra = [], []
    syms = claim.symbols
    for a in claim.atoms:
        e = a.expr
        if e.is_rational_function(*syms) and not e.is_polynomial(*syms):
            num, den = sp.fraction(sp.cancel(sp.together(e)))
            if den.is_positive is not True:
                extra.append(sp.Ne(den, 0))
                num = sp.expand(num * den) if a.rel != "==" else num
            atoms.append(Atom(num, a.rel, a.label))
        else:
            atoms.append(a)
    return Claim(**{**claim.__dict__, "atoms": tuple(atoms), "domain": claim.domain + tuple(extra)})


def _is_zero(e) -> bool:
    try:
        e = sp.powsimp(sp.together(e), force=False)
        return sp.simplify(e) == 0
    except (TypeError, ValueError, RecursionError, NotImplementedError):
        return False


# -- all-K proofs by axiom --------------------------------------------------------------

def _mt2(family):
    body = _body(family)
    if body is None:
        return None
    g, normalized = body
    p = _scalar("p")
    at = g.subs({_scalar(s): p for s in family.students})
    if normalized:
        ratio = sp.simplify(sp.powsimp(at / p, force=True))
        if not ratio.free_symbols & {p} and ratio != 0:
            pos, why = parameter_conditions(family, [Atom(ratio, ">", f"g(p,p)/p = {ratio} > 0")])
            if pos is None:
                return None
            return Proved("sympy (componentwise, every K)", (
                Step("componentwise form", f"M(p,q)_i = g(p_i,q_i)/sum_j g(p_j,q_j), g = {g}"),
                Step("identity", f"g(p,p) = ({ratio}) * p, a factor free of p",
                     (("g(p,p)/p free of p", "sympy"),)),
                *pos,
                Step("conclusion", "M(p,p) = p / sum_j p_j = p for every K"),
            ))
    elif sp.simplify(at - p) == 0:
        return Proved("sympy (componentwise, every K)", (
            Step("componentwise form", f"M(p,q)_i = g(p_i,q_i), g = {g}"),
            Step("identity", "g(p,p) = p", (("g(p,p) - p simplifies to 0", "sympy"),)),
        ))
    return None


def _linear(family):
    """``M = sum_v c_v v`` with coefficients free of vectors, as ``{v: c_v}``; else None."""
    if not (family.kind == "meta-teacher" and family.anchor == _scalar("p")):
        return None
    body = _body(family)
    if body is None or body[1]:
        return None
    g = sp.expand(body[0])
    names = ("p",) + family.students
    syms = [_scalar(n) for n in names]
    poly = sp.Poly(g, *syms) if g.is_polynomial(*syms) else None
    if poly is None or poly.total_degree() > 1 or poly.coeff_monomial(1) != 0:
        return None
    return {n: poly.coeff_monomial(s) for n, s in zip(names, syms)}


def _mt6(family):
    coeffs = _linear(family)
    if coeffs is None:
        return None
    atoms = [Atom(c, ">=", f"coefficient of {v} ({c}) is nonnegative") for v, c in coeffs.items()]
    atoms.append(Atom(sp.Add(*coeffs.values()) - 1, "==", "coefficients sum to 1"))
    steps, why = parameter_conditions(family, atoms)
    if steps is None:
        return None
    return Proved("sympy + z3 (linear form, every K)", (
        Step("linear form", "M = " + " + ".join(f"({c})*{v}" for v, c in coeffs.items())),
        *steps,
        Step("conclusion", "M is a convex combination of p and the students: in their hull for every K"),
    ))


def _homogeneous(family, vectors, same: bool):
    """``F_T`` commutes with ``normalize(g)`` when ``g(c_v v^t) = C g(v)^t`` with ``C`` free
    of the vectors: substitute and simplify (every K, every T > 0)."""
    body = _body(family)
    if body is None or not body[1]:
        return None
    g = body[0]
    tau = sp.Symbol("tau", positive=True)
    syms = [_scalar(v) for v in vectors]
    if same:
        g = g.subs({s: _scalar("p") for s in syms})
        syms = [_scalar("p")]
    consts = {s: sp.Symbol(f"c_{s.name}", positive=True) for s in syms}
    moved = g.subs({s: consts[s] * s ** tau for s in syms}, simultaneous=True)
    ratio = sp.simplify(sp.powsimp(sp.expand_power_base(moved / g ** tau, force=True), force=True))
    if ratio.free_symbols & set(syms) or ratio == 0:
        return None
    return Proved("sympy (componentwise, every K, every T)", (
        Step("componentwise form", f"M_i = g_i / sum_j g_j with g = {g}"),
        Step("homogeneity", f"g(c v^tau) / g(v)^tau = {ratio}, free of the inputs",
             (("(F_T v)_i = c_v v_i^tau with tau = 1/T and c_v > 0", "definition of F_T"),
              ("ratio free of the inputs", "sympy"))),
        Step("conclusion", "M(F_T inputs) = F_T M(inputs) after normalisation, for every K and T > 0"),
    ))


def _s4(family):
    body = _body(family)
    t = sp.Symbol("T", real=True)
    if body is None or not body[1]:
        return None
    x = _scalar("x")
    ratio = sp.simplify(body[0].subs(t, 1) / x)
    if ratio.free_symbols & {x} or ratio == 0:
        return None
    return Proved("sympy (componentwise, every K)", (
        Step("identity", f"g(x) at T = 1 equals ({ratio}) * x", (("ratio free of x", "sympy"),)),
        Step("conclusion", "F_1(x) = x / sum_j x_j = x for every K"),
    ))


def _s5(family):
    from ..axioms.softening import _power_exponent
    e = _power_exponent(family)
    t = sp.Symbol("T", real=True)
    if e is None:
        return None
    tp = sp.Symbol("Tp", positive=True)
    at_inf = sp.limit(e.subs(t, tp), tp, sp.oo)
    at_zero = sp.limit(e.subs(t, tp), tp, 0, "+")
    if at_inf != 0 or at_zero != sp.oo:
        return None
    return Proved("sympy (power normalisation, every K)", (
        Step("power form", f"F_T(x)_i = x_i^e / sum_j x_j^e with e = {e}"),
        Step("limits", "e -> 0 as T -> oo and e -> +oo as T -> 0+", (("limits", "sympy"),)),
        Step("lemma", "x^e/sum x^e tends to the uniform distribution on the support as e -> 0 "
             "and to the uniform distribution on the argmax as e -> +oo"),
    ))


def _s3(family):
    """``F = normalize(x**e)``: ``dH/de = -e Var_F(log x)``, so ``dH/dT = -e e'(T) Var_F(log x)
    >= 0`` wherever ``e > 0`` and ``e' <= 0`` on the domain (Jaynes; the Gibbs family)."""
    from ..axioms.softening import _power_exponent
    e = _power_exponent(family)
    if e is None:
        return None
    t = sp.Symbol("T", real=True)
    de = sp.diff(e, t)
    steps, why = parameter_conditions(family, [Atom(e, ">", f"e(T) = {e} > 0"),
                                               Atom(-de, ">=", f"e'(T) = {de} <= 0")])
    if steps is None:
        return None
    return Proved("sympy + z3 (Gibbs family, every K)", (
        Step("power form", f"F_T(x) = normalize(x**e), e = {e}"),
        Step("entropy derivative", "dH/de = -e Var_F(log x) for the Gibbs family F ∝ exp(e log x)"),
        *steps,
        Step("conclusion", "dH/dT = (dH/de) e'(T) = -e e'(T) Var_F(log x) >= 0"),
    ))


def _mt5(family):
    """Convexity argument: ``f(alpha) = KL(p || M_alpha)`` is convex when ``M`` is affine
    in ``alpha`` (KL is convex in its second argument) or ``M ∝ exp(affine in alpha)``
    (``f`` = affine + log-sum-exp of affine functions); ``f >= 0`` and ``f(1) = 0``, so a
    convex ``f`` is non-increasing on ``[0, 1]``."""
    body = _body(family)
    if body is None or family.anchor != _scalar("p") or len(family.students) != 1:
        return None
    g, normalized = body
    a = sp.Symbol("alpha", real=True)
    p, q = _scalar("p"), _scalar(family.students[0])
    if normalized:
        ends = (sp.simplify(sp.powsimp(g.subs(a, 1) / p, force=True)),
                sp.simplify(sp.powsimp(g.subs(a, 0) / q, force=True)))
        ok_ends = all(not e.free_symbols & {p, q} and e != 0 for e in ends)
        shape = sp.simplify(sp.diff(sp.expand_log(sp.log(g), force=True), a, 2)) == 0
        form = "M_alpha ∝ exp(affine in alpha): f = affine + log-sum-exp of affine, convex"
    else:
        ok_ends = sp.simplify(g.subs(a, 1) - p) == 0 and sp.simplify(g.subs(a, 0) - q) == 0
        shape = sp.simplify(sp.diff(g, a, 2)) == 0
        form = "M_alpha affine in alpha; KL(p||.) convex, so f convex"
    if not (ok_ends and shape):
        return None
    return Proved("sympy (convexity in alpha, every K)", (
        Step("endpoints", "M_1 = p and M_0 = q", (("substitution", "sympy"),)),
        Step("convexity", f"f(alpha) = KL(p||M_alpha) is convex: {form}",
             (("second derivative in alpha of the form vanishes", "sympy"),)),
        Step("conclusion", "f >= 0 = f(1), so the convex f is non-increasing on [0, 1]"),
    ))


_ALL_K = {
    "MT5": _mt5,
    "MT2": _mt2,
    "MT6": _mt6,
    "MT7": lambda f: _homogeneous(f, f.vectors, same=False),
    "A5s": lambda f: _homogeneous(f, f.vectors, same=False),
    "A5w": lambda f: _homogeneous(f, f.vectors, same=True),
    "S4": _s4,
    "S5": _s5,
    "S3": _s3,
}


def prove_all_classes(axiom_id: str, family) -> Proved | None:
    """A proof of ``axiom_id`` for every number of classes, or ``None``."""
    attempt = _ALL_K.get(axiom_id)
    if attempt is None:
        return None
    try:
        return attempt(family)
    except (TypeError, ValueError, NotImplementedError, RecursionError, sp.PolynomialError):
        return None
