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


def _bounds(r, params):
    """``(symbol, lower, upper, strict)`` for a relation bounding one parameter by a number."""
    if isinstance(r, (sp.StrictGreaterThan, sp.GreaterThan)):
        r = (sp.StrictLessThan if isinstance(r, sp.StrictGreaterThan) else sp.LessThan)(r.rhs, r.lhs)
    if isinstance(r, (sp.StrictLessThan, sp.LessThan)):
        strict = isinstance(r, sp.StrictLessThan)
        if r.rhs in params and r.lhs.is_number:
            return r.rhs, r.lhs, None, strict
        if r.lhs in params and r.rhs.is_number:
            return r.lhs, None, r.rhs, strict
    return None


def _domain_facts(claim: Claim) -> tuple[dict, list[str]]:
    """Substitutions the domain justifies, for SymPy's sign rules, and what they say.

    * a parameter with ``0 < a < 1`` becomes ``1/(1+u)`` with ``u > 0`` (a bijection of
      the open unit interval onto the positive reals; then ``a`` and ``1 - a`` are
      visibly positive);
    * a parameter bounded below by ``0`` (strictly) becomes a positive symbol;
    * a linear equality among parameters is solved for its last parameter (``w2 = 1 - w1``).
    """
    params = set(claim.parameters)
    low, high = {}, {}
    for r in claim.domain:
        b = _bounds(r, params)
        if b is None:
            continue
        sym, lo, hi, strict = b
        if lo is not None and (lo > 0 or (lo == 0 and strict)):
            low[sym] = True
        if hi is not None and hi <= 1 and strict:
            high[sym] = hi == 1
    subs, notes = {}, []
    for sym in sorted(low, key=lambda s: s.name):
        if high.get(sym):
            u = sp.Symbol(f"u_{sym.name}", positive=True)
            subs[sym] = 1 / (1 + u)
            notes.append(f"{sym} = 1/(1+{u}) with {u} > 0 (0 < {sym} < 1)")
        else:
            subs[sym] = sp.Symbol(sym.name, positive=True)
            notes.append(f"{sym} > 0")
    for r in claim.domain:
        if isinstance(r, sp.Eq) and r.free_symbols <= params:
            expr = r.lhs - r.rhs
            syms = sorted(expr.free_symbols, key=lambda x: x.name)
            if sp.Poly(expr, *syms).total_degree() == 1:
                solved = sp.solve(expr, syms[-1])
                if len(solved) == 1:
                    subs[syms[-1]] = solved[0].xreplace(subs)
                    notes.append(f"{syms[-1]} = {solved[0]}")
    return subs, notes


def prove_identity(claim: Claim) -> Proved | None:
    """Every atom holds by SymPy alone: ``== 0`` atoms simplify to 0 (after eliminating
    the last component of each vector by ``sum = 1`` and solving linear parameter
    equalities), ``>``/``>=`` atoms are positive (nonnegative) by SymPy's sign rules
    (vector components are positive symbols; parameters bounded below by 0 too)."""
    if not claim.atoms or not claim.sufficient:
        return None
    vector_syms = {c for comps in claim.vectors.values() for c in comps}
    if any(isinstance(r, sp.Eq) and r.free_symbols & vector_syms for r in claim.domain):
        return None
    facts, notes = _domain_facts(claim)
    elim = {}
    for comps in claim.vectors.values():
        elim[comps[-1]] = 1 - sp.Add(*comps[:-1])
    if any(_surely_fails(a.expr.xreplace(facts), a.rel, elim) for a in claim.atoms):
        return None
    steps = []
    for a in claim.atoms:
        e = a.expr.xreplace(facts)
        if a.rel == "==" and (_is_zero(e) or _is_zero(e.xreplace(elim))):
            steps.append(Step("identity", f"{a.label}", (("expression simplifies to 0", "sympy"),)))
        elif a.rel == ">" and (e.is_positive or _together(e).is_positive):
            steps.append(Step("sign", a.label, (("positive by sign rules", "sympy: " + "; ".join(["inputs > 0"] + notes)),)))
        elif a.rel == ">=" and (e.is_nonnegative or _together(e).is_nonnegative):
            steps.append(Step("sign", a.label, (("nonnegative by sign rules", "sympy: " + "; ".join(["inputs > 0"] + notes)),)))
        else:
            return None
    return Proved(method="sympy", steps=tuple(steps), classes=claim.classes)


def _together(e):
    try:
        return sp.together(e)
    except (TypeError, ValueError, RecursionError):
        return e


def _surely_nonzero(e) -> bool:
    """A float evaluation at a fixed generic point is clearly nonzero: ``e`` is not an
    identity, so there is no point asking ``simplify`` (only a filter, never a proof)."""
    import random
    rng = random.Random(1)
    point = {s: sp.Float(rng.uniform(0.15, 0.45)) for s in e.free_symbols}
    try:
        v = complex(e.xreplace(point).evalf(30))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return False
    return abs(v) > 1e-8


def _generic_value(e):
    import random
    rng = random.Random(1)
    point = {s: sp.Float(rng.uniform(0.15, 0.45)) for s in e.free_symbols}
    try:
        return complex(e.xreplace(point).evalf(30))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _surely_fails(e, rel, elim) -> bool:
    """A sign rule proves an inequality for *every* positive value of the symbols, so
    a clear failure at one generic positive point means no SymPy proof exists (a
    filter that saves the symbolic work on false claims, never a proof)."""
    if rel == "==":
        return _surely_nonzero(e) and _surely_nonzero(e.xreplace(elim))
    v = _generic_value(e)
    return v is not None and abs(v.imag) < 1e-12 and v.real < -1e-8


def _is_zero(e) -> bool:
    if _surely_nonzero(e):
        return False
    try:
        e = sp.powsimp(sp.together(e), force=False)
        return sp.simplify(e) == 0
    except (TypeError, ValueError, RecursionError, NotImplementedError):
        return False


# -- all-K proofs by axiom --------------------------------------------------------------

def _diagonal(family, names, what: str):
    """Steps proving ``M(p, .., p) = p`` for every ``K`` when the inputs ``names`` are all
    set to ``p``, or ``None``: componentwise, ``g(p,..,p) = c p`` with ``c`` free of
    ``p``; after normalisation any ``c > 0`` cancels, without it ``c = 1`` is needed
    (both decided over the parameter domain)."""
    body = _body(family)
    if body is None:
        return None
    g, normalized = body
    p = _scalar("p")
    ratio = sp.simplify(sp.powsimp(g.subs({_scalar(v): p for v in names}) / p, force=True))
    if ratio.free_symbols & {p} or ratio == 0:
        return None
    condition = (Atom(ratio, ">", f"{what} ∝ ({ratio}) p, {ratio} > 0") if normalized
                 else Atom(ratio - 1, "==", f"{what} = ({ratio}) p with {ratio} = 1"))
    steps, why = parameter_conditions(family, [condition])
    if steps is None:
        return None
    form = "g_i / sum_j g_j" if normalized else "g_i"
    return (Step("componentwise form", f"the map is {form} with g = {g}"),
            Step("identity", f"{what}: g(p,..,p) = ({ratio}) p, a factor free of p",
                 (("g(p,..,p)/p free of p", "sympy"),)),
            *steps)


def _mt2(family):
    steps = _diagonal(family, family.students, "M(p,p)")
    return None if steps is None else Proved("sympy (componentwise, every K)", steps + (
        Step("conclusion", "M(p,p) = p for every K"),))


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


def _convex_descent(g, normalized, s, target, start):
    """Steps proving ``s -> KL(target || M_s)`` non-increasing on ``[0, 1]``, where
    ``M_s = g`` (or ``normalize(g)``) componentwise, or ``None``.

    Convexity argument: ``f(s) = KL(target || M_s)`` is convex when ``M`` is affine in
    ``s`` (KL is convex in its second argument) or ``M ∝ exp(affine in s)`` (``f`` =
    affine + log-sum-exp of affine functions); ``f >= 0`` and ``f(1) = 0`` (``M_1 =
    target``), so a convex ``f`` is non-increasing on ``[0, 1]``."""
    if normalized:
        ends = [sp.simplify(sp.powsimp(g.subs(s, 1) / target, force=True))]
        if start is not None:
            ends.append(sp.simplify(sp.powsimp(g.subs(s, 0) / start, force=True)))
        vecs = (target.free_symbols | (start.free_symbols if start is not None else set())) \
            & {sym for sym in g.free_symbols if sym.is_positive}
        ok_ends = all(not e.free_symbols & vecs and e != 0 for e in ends)
        shape = sp.simplify(sp.diff(sp.expand_log(sp.log(g), force=True), s, 2)) == 0
        form = f"M ∝ exp(affine in {s}): f = affine + log-sum-exp of affine, convex"
    else:
        ok_ends = sp.simplify(g.subs(s, 1) - target) == 0 and (
            start is None or sp.simplify(g.subs(s, 0) - start) == 0)
        shape = sp.simplify(sp.diff(g, s, 2)) == 0
        form = f"M affine in {s}; KL(target||.) convex, so f convex"
    if not (ok_ends and shape):
        return None
    return (
        Step("endpoints", f"M at {s} = 1 is {target}" + (f", at {s} = 0 it is {start}" if start is not None else ""),
             (("substitution", "sympy"),)),
        Step("convexity", f"f({s}) = KL({target}||M) is convex: {form}",
             (("second derivative in the parameter of the form vanishes", "sympy"),)),
        Step("conclusion", f"f >= 0 = f(1), so the convex f is non-increasing in {s} on [0, 1]"),
    )


def _mt5(family):
    body = _body(family)
    if body is None or len(family.students) != 1 or any(
            family.anchor.has(op) for op in (normalize, vsum, softmax, MatVec)):
        return None
    steps = _convex_descent(*body, sp.Symbol("alpha", real=True), family.anchor,
                            _scalar(family.students[0]))
    return Proved("sympy (convexity in alpha, every K)", steps) if steps else None


def _a3(family):
    """For each teacher ``j``: along ``w_j = s``, ``w_k = c_k (1 - s)`` (the others
    rescaled, ``c_k`` fixed), the pool at ``s = 1`` is ``p_j``; the convexity argument
    of :func:`_convex_descent` applies."""
    body = _body(family)
    if body is None:
        return None
    g, normalized = body
    m = family.teachers
    weights = [sp.Symbol(f"w{k}", real=True) for k in range(1, m + 1)]
    s = sp.Symbol("s", positive=True)
    steps = []
    for j in range(m):
        cs = {w: sp.Symbol(f"c{k + 1}", positive=True) for k, w in enumerate(weights) if k != j}
        path = {weights[j]: s, **{w: c * (1 - s) for w, c in cs.items()}}
        gj = g.subs(path, simultaneous=True)
        if normalized is False:
            # at s = 1 the pool must be p_j itself; the c_k sum to 1 along the path
            gj = gj.subs({list(cs.values())[-1]: 1 - sp.Add(*list(cs.values())[:-1])}) if cs else gj
        found = _convex_descent(gj, normalized, s, _scalar(f"p{j + 1}"), None)
        if found is None:
            return None
        steps.append(Step(f"teacher {j + 1}", f"path w{j + 1} = s, others c_k (1 - s)"))
        steps.extend(found)
    return Proved("sympy (convexity along the weight path, every K)", tuple(steps))


def _s1(family):
    """``normalize(x**e)`` with ``e > 0`` on the domain: ``x -> x^e`` is strictly
    increasing on ``x > 0`` and normalisation divides by one positive number, so the
    ranking is preserved exactly (ties included)."""
    from ..axioms.softening import _power_exponent
    e = _power_exponent(family)
    if e is None:
        return None
    steps, why = parameter_conditions(family, [Atom(e, ">", f"e(T) = {e} > 0")])
    if steps is None:
        return None
    return Proved("sympy + z3 (monotone power, every K)", (
        Step("power form", f"F_T(x) = normalize(x**e), e = {e}"),
        *steps,
        Step("conclusion", "x -> x^e is strictly increasing for e > 0; normalisation keeps order and ties"),
    ))


def _unanimity(family):
    """Weak temperature coherence from unanimity: ``A(p,..,p) = p`` for every ``p`` gives
    ``A(F_T p,..,F_T p) = F_T p = F_T A(p,..,p)``."""
    steps = _diagonal(family, family.vectors, "A(p,..,p)")
    return None if steps is None else Proved("sympy (unanimity, every K, every T)", steps + (
        Step("conclusion", "A(p,..,p) = p, so A(F_T p,..,F_T p) = F_T p = F_T A(p,..,p)"),))


def _nt(family):
    """NT for componentwise power maps (:mod:`._nontriviality`)."""
    from ._nontriviality import prove
    return prove(family)


_ALL_K = {
    "MT5": _mt5,
    "A3": _a3,
    "S1": _s1,
    "MT2": _mt2,
    "MT6": _mt6,
    "MT7": lambda f: _homogeneous(f, f.vectors, same=False),
    "A5s": lambda f: _homogeneous(f, f.vectors, same=False),
    "A5w": lambda f: _homogeneous(f, f.vectors, same=True) or _unanimity(f),
    "S4": _s4,
    "S5": _s5,
    "S3": _s3,
    "NT": _nt,
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
