"""Reference answers, computed by the engine for one variant of an exercise (cached).

Nothing here reads a student's answer.  For each kind of exercise
(:data:`distillproof.proofs.exercise.KINDS`):

``constant``        :func:`~distillproof.proofs.contraction.derive` -- the certified bound
``ratio``           a simple exact point whose ratio is certified above/below the
                    threshold (interval arithmetic), searched over near-vertex,
                    near-anchor and grid points, then the witnessed lower bound search
``counterexample``  the engine's certified witness: :func:`~..checker.engine.decide_axiom`,
                    :func:`~..checker.realizability.realizability`, or a pair of simple
                    members of ``S`` whose midpoint leaves ``S`` (convexity)
``axioms``          :func:`~..checker.engine.verify_family` on the axioms asked about
``fixed-point``     :func:`~distillproof.proofs.fixed_point.fixed_point`, made exact at the anchor
``generations``     the first ``t`` with ``KL(p̄‖q_t) <= ε``, on the trajectory in Arb
                    balls (``method = "trajectory"``) or from ``κ^t KL(p̄‖q_0) <= ε``
                    with the certified ``κ`` (``"bound"``); each comparison certified
``rule``            the rules of the derivation of ``constant``, and its key rule

A file may state a fixed reference (``[answer] reference``); it is read with the same
parsers as a student's answer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations, product

import sympy as sp

from ..axioms.vector import components, instantiate
from ..checker._certify import certify, enclosure, sign, substitute
from .contraction import attempt, derive
from .evidence import rational_str
from .exercise import student_family

__all__ = ["Reference", "reference", "RULES", "rule_of", "ratio_parts",
           "threshold_value", "show", "point_text", "kl_expr", "trajectory", "ratio_holds"]

#: canonical rule names (THEORY §5) and the derivation steps each stands for
RULES = {
    "mixture": ("mixture",),
    "data-processing": ("data processing",),
    "composition": ("composition",),
    "geometric-anchoring": ("geometric anchoring (Hölder)",),
    "hilbert": ("Hilbert: power map", "Hilbert: positive matrix (Birkhoff)",
                "Hilbert: positive shift"),
    "memory": ("memory (companion matrix)",),
    "schedule": ("schedule (product)",),
    "fixed-point": ("fixed point (closed form)", "fixed point (linear solve)",
                    "Jacobian at the fixed point", "Jacobian of an affine map"),
}
_PRIORITY = ("data-processing", "geometric-anchoring", "memory", "schedule", "hilbert",
             "fixed-point", "mixture", "composition")
_REFS: dict = {}


def _engine():
    from ..checker.engine import Settings
    return Settings(timeout_ms=3000, samples=600, axiom_seconds=30.0)


@dataclass(frozen=True)
class Reference:
    """``answer``: the reference in answer syntax (``None`` when the engine found none,
    with ``reason``); ``value``: what the checker compares with; ``detail``: more."""
    answer: str | None
    value: object = None
    detail: dict = field(default_factory=dict)
    reason: str = ""


def rule_of(step_rule: str) -> str | None:
    for name, steps in RULES.items():
        if step_rule in steps:
            return name
    return None


def show(expr) -> str:
    """A number for feedback: a small exact rational as ``3/10``; anything else as
    ``≈ 0.291925`` (the midpoint of a certified Arb ball), or ``0`` when proved zero."""
    e = sp.sympify(expr, strict=True)
    if isinstance(e, sp.Rational) and max(abs(int(e.p)), int(e.q)) < 10**7:
        return rational_str(Fraction(int(e.p), int(e.q)))
    try:
        ball = enclosure(e, 128)
    except Exception:        # noqa: BLE001 -- display only
        ball = None
    if ball is None or not ball.is_finite():
        return sp.sstr(e)[:60]
    if ball.contains(0) and not isinstance(e, sp.Rational) and sign(e) == 0:
        return "0"
    mid = float(ball.mid())
    if not math.isfinite(mid) or abs(mid) >= 1e15:
        return "≈ " + ball.mid().str(6, radius=False)
    return f"≈ {mid:.6g}"


def point_text(values: dict) -> str:
    """``p = 1/2, 1/2; alpha = 1/3``: a point in answer syntax."""
    parts = []
    for k, v in values.items():
        if isinstance(v, (tuple, list)):
            parts.append(f"{k} = " + ", ".join(rational_str(Fraction(str(x))) for x in v))
        else:
            parts.append(f"{k} = {rational_str(Fraction(str(v)))}")
    return "; ".join(parts)


def reference(variant) -> Reference:
    """The reference answer of ``variant`` (cached per exercise and variant)."""
    key = variant.key
    if key not in _REFS:
        _REFS[key] = _compute(variant)
    return _REFS[key]


def _compute(variant) -> Reference:
    kind = variant.exercise.kind
    fixed = variant.settings.get("reference")
    if fixed is not None:
        return _fixed(variant, str(fixed))
    return {"constant": _constant, "ratio": _ratio, "counterexample": _counterexample,
            "axioms": _axioms, "fixed-point": _fixed_point, "generations": _generations,
            "rule": _rule}[kind](variant)


def _fixed(variant, text: str) -> Reference:
    """A reference stated in the file, read like a student's answer."""
    from . import _grading_answers as ans
    kind = variant.exercise.kind
    if kind == "constant":
        from ._bound import Bound
        params = {p.name for p in variant.family.free_parameters}
        expr = ans.expression(text, params, "[answer] reference")
        return Reference(text, Bound(variant.settings["constant"], expr, ()))
    if kind == "generations":
        return Reference(text, ans.integer(text, "[answer] reference"))
    if kind == "fixed-point":
        return Reference(text, ans.vector(text, "[answer] reference", exact=False))
    if kind == "axioms":
        from types import SimpleNamespace
        named = set(ans.names(text))
        asked = variant.settings.get("axioms") or sorted(named)
        how = "the exercise's stated reference"
        return Reference(text, {a: SimpleNamespace(status="proved" if a in named else "refuted",
                                                   steps=(), method=how, witness=None)
                                for a in set(asked) | named})
    if kind == "rule":
        return Reference(text, {"key": text.strip(), "used": {text.strip()}})
    return Reference(text, None)


# --- constants and rules ------------------------------------------------------------
def _constant(variant) -> Reference:
    att = attempt(variant.family, variant.settings["constant"])
    if att.bound is None:
        return Reference(None, reason="no rule applies: " + "; ".join(att.reasons[:3]))
    return Reference(sp.sstr(att.bound.expr), att.bound)


def _rule(variant) -> Reference:
    att = attempt(variant.family, variant.settings["constant"])
    if att.bound is None:
        return Reference(None, reason="no rule applies: " + "; ".join(att.reasons[:3]))
    used = {rule_of(s.rule) for s in att.bound.steps} - {None}
    key = next((r for r in _PRIORITY if r in used), None)
    if key is None:
        return Reference(None, reason="the derivation uses no rule of the list")
    return Reference(key, {"key": key, "used": used, "bound": att.bound})


# --- ratios -------------------------------------------------------------------------
def kl_expr(a, b) -> sp.Expr:
    return sp.Add(*[x * sp.log(x / y) for x, y in zip(a, b)])


def ratio_parts(variant, values: dict) -> tuple[sp.Expr, sp.Expr]:
    """``(numerator, denominator)`` of the ratio of ``constant`` at the exact point
    ``values`` (``q``, and ``r`` for ``kl_pairwise``), as closed expressions."""
    fam, K, kind = variant.family, variant.classes, variant.settings["constant"]
    m = fam.at(K)
    q = components("q", K)
    sub_q = {s: sp.Rational(x.numerator, x.denominator) for s, x in zip(q, values["q"])}
    mq = [substitute(c, sub_q) for c in m]
    qv = [sub_q[s] for s in q]
    if kind == "kl_pairwise":
        sub_r = {s: sp.Rational(x.numerator, x.denominator) for s, x in zip(q, values["r"])}
        mr = [substitute(c, sub_r) for c in m]
        rv = [sub_r[s] for s in q]
        return kl_expr(mq, mr), kl_expr(qv, rv)
    if variant.anchor is None:
        raise ValueError("a ratio exercise on an anchored constant needs a fixed anchor "
                         "([variants] anchor = [[...], ...])")
    a = list(variant.anchor)
    if kind == "kl_forward":
        return kl_expr(a, mq), kl_expr(a, qv)
    return kl_expr(mq, a), kl_expr(qv, a)


def threshold_value(variant) -> sp.Expr:
    """The threshold of a ratio exercise (``local``, ``bound`` or a number) times
    ``factor``, as an exact closed number."""
    s = variant.settings
    t = str(s.get("threshold", "bound"))
    if t in ("local", "bound"):
        b = derive(variant.family, "local" if t == "local" else s["constant"])
        if b is None:
            raise ValueError(f"no {t} constant is derived for this family")
        value = b.expr
    else:
        from . import _grading_answers as ans
        value = ans.number(t, "[answer] threshold")
    value = value * sp.Rational(str(s.get("factor", "1")))
    if value.free_symbols:
        raise ValueError(f"the threshold {value} depends on free parameters; fix them in "
                         "[variants]")
    return value


def ratio_holds(variant, values, c) -> tuple[int | None, sp.Expr, sp.Expr]:
    """Sign of ``num - c*den`` (``+1`` above, ``-1`` below), and the parts."""
    num, den = ratio_parts(variant, values)
    return sign(num - c * den), num, den


def _ratio_candidates(K: int, anchor: tuple):
    """Near-vertex points, then a grid of small denominators, then points near the
    anchor: simplest first."""
    F = Fraction
    for d in (F(1, 10), F(1, 100), F(1, 1000), F(1, 10**6)):
        for i in range(K):
            yield tuple(1 - (K - 1) * d if j == i else d for j in range(K))
    for den in range(2, 9):
        for parts in product(range(1, den), repeat=K - 1):
            if sum(parts) < den:
                yield tuple(F(x, den) for x in parts) + (F(den - sum(parts), den),)
    a = [F(int(x.p), int(x.q)) for x in anchor]
    for e in (F(1, 100), F(1, 1000), F(1, 10**4)):
        for i, j in combinations(range(K), 2):
            for sgn in (1, -1):
                v = list(a)
                v[i] += sgn * e
                v[j] -= sgn * e
                if min(v) > 0:
                    yield tuple(v)


def _ratio(variant) -> Reference:
    kind = variant.settings["constant"]
    above = variant.settings.get("direction", "above") == "above"
    c = threshold_value(variant)
    K = variant.classes
    want = 1 if above else -1
    cands = list(_ratio_candidates(K, variant.anchor or (sp.Rational(1, K),) * K))
    for v in cands[:400]:
        if tuple(sp.Rational(x.numerator, x.denominator) for x in v) == tuple(variant.anchor or ()):
            continue
        values = {"q": v} if kind != "kl_pairwise" else {"q": v, "r": cands[-1]}
        if kind == "kl_pairwise" and v == cands[-1]:
            continue
        s, _, _ = ratio_holds(variant, values, c)
        if s == want:
            return Reference(point_text(values), values, {"threshold": c})
    if above and kind != "kl_pairwise":
        from ..checker._witness import witnessed_lower
        low = witnessed_lower(variant.family, kind, {})
        if low is not None and ratio_holds(variant, low.witness, c)[0] == 1:
            return Reference(point_text(low.witness), low.witness, {"threshold": c})
    return Reference(None, reason="no certified point found", detail={"threshold": c})


# --- counterexamples ----------------------------------------------------------------
def _counterexample(variant) -> Reference:
    axiom = variant.settings["axiom"]
    if axiom == "convexity":
        S = student_family(variant)
        pts = S.simple_points(24)
        for x, y in combinations(pts, 2):
            z = tuple((a + b) / 2 for a, b in zip(x, y))
            if S.violated(z):
                values = {"x": x, "y": y, "lam": Fraction(1, 2)}
                return Reference(point_text(values), values)
        return Reference(None, reason=f"no pair of simple members of {S.name} found")
    if axiom == "R":
        from ..checker.realizability import realizability
        ev = realizability(variant.family, student_family(variant), _settings()).evidence
    else:
        from ..axioms.registry import get_axiom
        from ..checker.engine import decide_axiom
        values = _simple_witness(get_axiom(axiom).build(variant.family, variant.classes),
                                 variant.classes)
        if values is not None:
            return Reference(point_text(values), values)
        ev = decide_axiom(get_axiom(axiom), variant.family,
                          _settings(classes=(variant.classes,)))
    if ev.status != "refuted":
        return Reference(None, reason=f"the engine does not refute {axiom} here "
                         f"({ev.status}: {getattr(ev, 'reason', '')})")
    return Reference(point_text(ev.witness.values), ev.witness.values, {"evidence": ev})


def _simple_witness(claims, K: int, budget: int = 400) -> dict | None:
    """A certified violation among simple points (denominators up to 6) when the claims
    have no free parameters: cheaper than the engine's search, and as simple as a
    student would write."""
    if any(c.parameters for c in claims):
        return None
    grid = []
    for den in range(2, 7):
        for parts in product(range(1, den), repeat=K - 1):
            if sum(parts) < den:
                v = tuple(Fraction(x, den) for x in parts) + (Fraction(den - sum(parts), den),)
                if v not in grid:
                    grid.append(v)
    for c in claims:
        names = list(c.vectors)
        for i, combo in enumerate(product(grid, repeat=len(names))):
            if i >= budget:
                break
            w = certify(c, dict(zip(names, combo)))
            if w is not None:
                return dict(w.values)
    return None


def _settings(**kw):
    import dataclasses
    return dataclasses.replace(_engine(), **kw)


# --- axioms -------------------------------------------------------------------------
def _axioms(variant) -> Reference:
    from ..axioms.registry import axioms_for
    from ..checker.engine import verify_family
    fam = variant.family
    asked = variant.settings.get("axioms") or [a.id for a in axioms_for(fam.kind)]
    result = verify_family(fam, _settings(), axioms=asked)
    verdicts = {r.axiom.id: r.evidence for r in result.results}
    for a, why in result.not_applicable.items():
        verdicts.setdefault(a, None)
    proved = sorted(a for a, ev in verdicts.items() if ev is not None and ev.status == "proved")
    return Reference(", ".join(proved) or "none", verdicts,
                     {"not_applicable": result.not_applicable})


# --- fixed points -------------------------------------------------------------------
def _fixed_point(variant) -> Reference:
    from .fixed_point import fixed_point
    fam, K = variant.family, variant.classes
    if fam.free_parameters:
        raise ValueError("a fixed-point exercise must fix every parameter in [variants]")
    fp = fixed_point(fam, K, anchor=variant.anchor)
    if not fp.exact:
        return Reference(None, reason=f"no exact fixed point ({fp.method})")
    point = fp.point
    comps = list(point) if isinstance(point, tuple) else instantiate(point, ("p",), K)
    subs = {s: v for s, v in zip(components("p", K), fp.anchor or ())}
    subs.update({sp.Symbol(k, real=True): sp.Rational(str(v)) for k, v in fp.values.items()})
    exact = tuple(sp.radsimp(sp.nsimplify(substitute(c, subs).doit())) for c in comps)
    exact = tuple(sp.simplify(x) for x in exact)
    return Reference(", ".join(sp.sstr(x) for x in exact), exact, {"fixed_point": fp})


# --- generations --------------------------------------------------------------------
def trajectory(variant, steps: int, prec: int = 256):
    """Arb balls of ``KL(p̄‖q_t)`` for ``t = 0..steps`` (``q_0`` from the settings)."""
    import flint
    from ._interval import arb_eval, precision, to_arb
    fam, K = variant.family, variant.classes
    comps = fam.at(K)
    names = [s.name for s in components("q", K)]
    out = []
    with precision(prec):
        a = [to_arb(x) for x in variant.anchor]
        q = [to_arb(sp.Rational(str(x))) for x in variant.settings["q0"]]
        for t in range(steps + 1):
            kl = flint.arb(0)
            for ai, qi in zip(a, q):
                kl += ai * (ai / qi).log()
            out.append(kl)
            if t < steps:
                env = dict(zip(names, q))
                q = [arb_eval(c, env) for c in comps]
    return out


def _first_below(balls, eps) -> int | None:
    """The first index whose ball is certified ``<= eps`` with every earlier one
    certified ``> eps``; None when undecided or never."""
    for t, b in enumerate(balls):
        if b <= eps:
            return t
        if not b > eps:
            return None
    return None


def _generations(variant) -> Reference:
    import flint
    from ._interval import precision, to_arb
    s = variant.settings
    eps = sp.Rational(str(s["epsilon"]))
    limit = int(s.get("limit", 1000))
    if s.get("method", "trajectory") == "trajectory":
        for prec in (256, 1024):
            with precision(prec):
                balls = trajectory(variant, limit, prec)
                t = _first_below(balls, to_arb(eps))
            if t is not None:
                return Reference(str(t), t, {"balls": balls, "method": "trajectory"})
        return Reference(None, reason=f"KL(p̄‖q_t) <= {eps} not certified for t <= {limit}")
    b = derive(variant.family, "kl_forward")
    if b is None or b.expr.free_symbols:
        return Reference(None, reason="no numeric certified kl_forward bound")
    for prec in (256, 1024):
        with precision(prec):
            kl0 = trajectory(variant, 0, prec)[0]
            e = to_arb(eps)
            if kl0 <= e:
                return Reference("0", 0, {"kappa": b.expr, "kl0": kl0, "method": "bound"})
            x = (e / kl0).log() / to_arb(b.expr).log()
            lo, hi = math.floor(float(x.lower())), math.floor(float(x.upper()))
            if lo == hi and not x.contains(flint.arb(lo)):
                return Reference(str(lo + 1), lo + 1, {"kappa": b.expr, "kl0": kl0,
                                                       "method": "bound"})
    return Reference(None, reason="the count from the bound is not certified")
