"""The checkers, one per kind of exercise: ``(variant, reference, text) -> (fraction, feedback)``.

Each reads the answer with :mod:`._grading_answers` (raising
:class:`~._grading_answers.AnswerError` for what cannot be read) and decides it with the
engine: expressions by :mod:`._grading_compare`, points by exact or interval
re-evaluation (counterexamples in :mod:`._grading_points`), sets as sets.  Feedback
speaks of the student's answer: what holds at their point, where their constant
differs, why an axiom they missed holds.
"""
from __future__ import annotations

from fractions import Fraction
from itertools import islice, product as cartesian

import sympy as sp

from ..axioms.registry import axioms_for
from ..axioms.vector import components
from ..checker._certify import sign, substitute
from ._interval import to_arb

from . import _grading_answers as ans
from ._grading_compare import at_least, compare, point_label
from ._grading_reference import RULES, kl_expr, point_text, ratio_holds, show, threshold_value
from .evidence import rational_str

__all__ = ["CHECKERS", "RULE_NEEDS", "SYNONYMS"]


def _comp(name, K):
    return components(name, K)


def _vec(v) -> str:
    return "(" + ", ".join(rational_str(x) if isinstance(x, Fraction) else show(x).lstrip("≈ ")
                           for x in v) + ")"


# --- constant -----------------------------------------------------------------------
def check_constant(variant, ref, text):
    fam, bound = variant.family, ref.value
    names = {p.name for p in fam.free_parameters}
    student = ans.expression(text, names)
    what = variant.settings["constant"]
    same = compare(fam, student, bound.expr)
    if same.holds:
        tail = " (the rule is exact: this is the constant itself)" if bound.exact else ""
        return 1.0, [f"correct: {sp.sstr(student)} equals the certified bound on {what}"
                     f"{tail}; checked by {same.how}"]
    if same.holds is None:
        if same.how.startswith("undefined"):
            return 0.0, [f"your expression is {same.how[len('undefined: '):]} (a square "
                         "root or log of a negative number, or a division by zero)"]
        return 0.0, [f"your expression could not be compared with the reference ({same.how})"]
    pt = same.point or {}
    here = _values_at(student, bound.expr, pt)
    above = at_least(fam, student, bound.expr)
    if above.holds and "not a proof" in above.how:
        return 0.5, [f"your constant differs from the certified bound (at {point_label(pt)} "
                     f"yours is {here[0]}, the calculus proves {here[1]}); it is at least "
                     f"as large at every point checked ({above.how})"]
    if above.holds:
        if bound.exact:
            return 0.5, [f"your constant is a valid upper bound but not tight — at "
                         f"{point_label(pt)} yours is {here[0]}, while the constant itself "
                         f"is {here[1]} (the rule is exact)"]
        return 0.5, [f"your constant is a valid upper bound, but weaker than the certified "
                     f"one: at {point_label(pt)} yours is {here[0]} and the calculus "
                     f"proves {here[1]}"]
    if above.holds is None:
        return 0.0, [f"your constant differs from the certified bound: at {point_label(pt)} "
                     f"yours is {here[0]} and the calculus proves {here[1]}; whether yours "
                     f"bounds it on the whole domain could not be decided ({above.how})"]
    low_pt = above.point if above.point is not None else pt
    low = _values_at(student, bound.expr, low_pt)
    try:
        witness = _ratio_witness(variant, student, low_pt, what)
    except (ValueError, TypeError, ArithmeticError):     # feedback only
        witness = None
    if witness:
        return 0.0, [f"your constant is not an upper bound: {witness}"]
    if bound.exact:
        return 0.0, [f"your constant is too small: at {point_label(low_pt)} yours is {low[0]} "
                     f"but the constant is {low[1]}, so some ratio exceeds yours"]
    return 0.0, [f"your expression is below the certified bound at {point_label(low_pt)} "
                 f"({low[0]} < {low[1]}); the question asks for the bound the contraction "
                 f"calculus proves"]


def _values_at(student, ref, point):
    subs = {sp.Symbol(k, real=True): sp.Rational(str(v)) for k, v in point.items()}
    return show(substitute(student, subs)), show(substitute(ref, subs))


def _ratio_witness(variant, student, point, kind) -> str | None:
    """A simple exact point whose ratio of ``kind`` is certified above the student's
    constant (at the parameter ``point``), in words; None when none is found among a
    few hundred near-vertex and grid points.  Exact/interval arithmetic only."""
    if kind not in ("kl_forward", "kl_reverse", "kl_pairwise", "tv"):
        return None
    values = {k: sp.Rational(str(v)) for k, v in point.items()}
    subs0 = {sp.Symbol(k, real=True): v for k, v in values.items()}
    bound = substitute(student, subs0)
    if bound.free_symbols or sign(bound) is None:
        return None
    fam = variant.family
    K = fam.classes[0]
    m = [substitute(c, subs0) for c in fam.at(K)]
    anchor = [substitute(c, subs0) for c in fam.anchor_at(K)]
    if fam.kind != "meta-teacher" or fam.students != ("q",):
        return None
    used = {s.name.rsplit("_", 1)[0] for e in m + anchor for s in e.free_symbols}
    names = sorted(used - {"q"}) + ["q"] + (["r"] if kind in ("kl_pairwise", "tv") else [])
    F = sp.Rational
    pts = [tuple(1 - (K - 1) * d if j == i else d for j in range(K))
           for d in (F(1, 10), F(1, 1000)) for i in range(K)]
    pts.append(tuple(F(1, K) for _ in range(K)))
    div = kl_expr if kind.startswith("kl") else (
        lambda a, b: sp.Rational(1, 2) * sp.Add(*[sp.Abs(x - y) for x, y in zip(a, b)]))
    for combo in islice(cartesian(pts, repeat=len(names)), 300):
        vec = dict(zip(names, combo))
        if vec.get("q") == vec.get("r"):
            continue
        sub = {c: x for n, v in vec.items() for c, x in zip(_comp(n, K), v)}
        mq = [substitute(c, sub) for c in m]
        a = [substitute(c, sub) for c in anchor]
        if kind == "kl_forward":
            num, den = div(a, mq), div(a, vec["q"])
        elif kind == "kl_reverse":
            num, den = div(mq, a), div(vec["q"], a)
        else:
            to_r = {c: x for c, x in zip(_comp("q", K), vec["r"])}
            mr = [substitute(c.xreplace(to_r), sub) for c in m]
            num, den = div(mq, mr), div(vec["q"], vec["r"])
        if sign(den) == 1 and sign(num - bound * den) == 1:
            at = f"at {point_label(point)}, " if point else ""
            return (f"{at}the ratio at {point_text(vec)} is {show(num / den)} > your "
                    f"{show(bound)} (certified by exact/interval arithmetic)")
    return None


# --- points -------------------------------------------------------------------------
def _simplex(values: dict, vectors) -> list[str]:
    out = []
    for name in vectors:
        v = values.get(name)
        if v is None:
            continue
        if any(x <= 0 for x in v):
            out.append(f"{name} is not in the open simplex: every component must be positive")
        elif sum(v) != 1:
            out.append(f"{name} is not a distribution: its components sum to "
                       f"{rational_str(sum(v))}, not exactly 1")
    return out


def check_ratio(variant, ref, text):
    kind = variant.settings["constant"]
    K = variant.classes
    vectors = {"q": K, "r": K} if kind == "kl_pairwise" else {"q": K}
    values = ans.point(text, vectors, set())
    missing = sorted(set(vectors) - set(values))
    if missing:
        raise ans.AnswerError(f"give {' and '.join(missing)} (e.g. q = 1/2, 1/4, 1/4)")
    bad = _simplex(values, vectors)
    if bad:
        return 0.0, bad
    anchor = tuple(Fraction(int(x.p), int(x.q)) for x in variant.anchor or ())
    if kind == "kl_pairwise" and values["q"] == values["r"]:
        return 0.0, ["q = r: both divergences are 0 and the ratio is undefined"]
    if kind != "kl_pairwise" and values["q"] == anchor:
        return 0.0, ["q is the anchor p̄: both divergences are 0 and the ratio is undefined"]
    c = threshold_value(variant)
    above = variant.settings.get("direction", "above") == "above"
    s, num, den = ratio_holds(variant, values, c)
    ratio = show(num / den)
    word, sym = ("above", ">") if above else ("below", "<")
    if s == (1 if above else -1):
        return 1.0, [f"correct: at your point the ratio is {ratio} {sym} {show(c)} "
                     "(certified by exact/interval arithmetic)"]
    if s is None:
        return 0.0, [f"at your point the ratio is {ratio}, too close to {show(c)} to certify "
                     "either way; try a point farther from the threshold"]
    return 0.0, [f"at your point the ratio is {ratio}, which is not {word} {show(c)}"]


# --- sets, vectors, integers, rules -------------------------------------------------
def check_axioms(variant, ref, text):
    verdicts = ref.value
    known = {a.id.lower(): a.id for a in axioms_for()}
    feedback, named, wrong = [], set(), 0
    for item in ans.names(text):
        aid = known.get(item.lower())
        if aid is None:
            feedback.append(f"{item!r} is not an axiom id; ids look like MT1, MT3r, A5s, S2")
            wrong += 1
        elif aid not in verdicts:
            feedback.append(f"{aid} is not among the axioms asked about "
                            f"({', '.join(sorted(verdicts))})")
            wrong += 1
        else:
            named.add(aid)
    proved = {a for a, ev in verdicts.items() if ev is not None and ev.status == "proved"}
    refuted = {a for a, ev in verdicts.items() if ev is not None and ev.status == "refuted"}
    undecided = set(verdicts) - proved - refuted
    for a in sorted(named & undecided):
        feedback.append(f"{a} is not graded: the engine does not decide it for this family")
    hit, extra, missing = named & proved, named & refuted, proved - named
    for a in sorted(missing):
        feedback.append(f"missing: {a} holds for this family; here is why: "
                        f"{_why_proved(verdicts[a])}")
    for a in sorted(extra):
        w = verdicts[a].witness
        feedback.append(f"extra: {a} does not hold for this family" + (
            f" — at {w.assignment_text()} (K = {w.classes}): {w.atom} fails (certified "
            f"by {w.certified_by})" if w is not None else f" ({verdicts[a].method})"))
    wrong += len(extra)
    denominator = 2 * len(hit) + wrong + len(missing)
    score = 1.0 if denominator == 0 else 2 * len(hit) / denominator
    if score == 1.0:
        feedback.insert(0, "correct: exactly the axioms that hold: "
                        + (", ".join(sorted(hit)) or "none"))
    else:
        feedback.insert(0, f"{len(hit)} right, {wrong} wrong, "
                        f"{len(missing)} missing")
    return score, feedback


def _why_proved(ev) -> str:
    """The most telling step of a proof: the key rule of a derivation, else the last
    step that is not bookkeeping."""
    from ._grading_reference import rule_of
    steps = [s for s in ev.steps if s.rule != "side condition" and not s.rule.startswith("K =")]
    if not steps:
        return f"proved by {ev.method}"
    order = ("data-processing", "geometric-anchoring", "memory", "schedule", "hilbert",
             "mixture")
    ranked = sorted(steps, key=lambda s: order.index(rule_of(s.rule))
                    if rule_of(s.rule) in order else len(order))
    s = ranked[0] if rule_of(ranked[0].rule) in order else steps[-1]
    return f"{s.rule}: {s.statement}"[:300] + f" (proved by {ev.method})"


def check_fixed_point(variant, ref, text):
    K = variant.classes
    v = ans.vector(text, "your fixed point", exact=False, length=K)
    total = sp.Add(*v)
    if sign(total - 1) != 0:
        return 0.0, [f"your vector sums to {show(total)}, not 1: a fixed point is a "
                     "distribution"]
    if any(sign(x) != 1 for x in v):
        return 0.0, ["every component of the fixed point is positive"]
    right = [sign(x - r) == 0 for x, r in zip(v, ref.value)]
    if all(right):
        return 1.0, ["correct: Φ(q*) = q* at your vector (exact arithmetic)"]
    qs = _comp("q", K)
    image = [substitute(c, dict(zip(qs, v))) for c in variant.family.at(K)]
    wrong = [str(i) for i, ok in enumerate(right) if not ok]
    msg = [f"component{'s' if len(wrong) > 1 else ''} {', '.join(wrong)} "
           f"{'are' if len(wrong) > 1 else 'is'} wrong: Φ(your q) = {_vec(image)} ≠ q"]
    if variant.anchor is not None and all(sign(x - a) == 0 for x, a in zip(v, variant.anchor)):
        msg.append("that is the anchor p̄, but this map moves it")
    return 0.5 * (K - len(wrong)) / K, msg


def check_generations(variant, ref, text):
    t = ans.integer(text, "your number of generations")
    if t < 0:
        return 0.0, ["a number of generations is 0 or more"]
    best, detail = ref.value, ref.detail
    eps = show(sp.Rational(str(variant.settings.get("epsilon", 0))))
    if "method" not in detail:                 # a reference stated in the exercise file
        if t == best:
            return 1.0, ["correct"]
        return 0.0, [f"{t} is {'too few' if t < best else 'more than needed'}"]
    if detail.get("method") == "bound":
        import flint
        kappa = detail["kappa"]
        if t == best:
            return 1.0, [f"correct: κ^t KL(p̄‖q0) ≤ ε = {eps} first at t = {t} (κ = {kappa})"]
        value = float((detail["kl0"] * flint.arb(str(sp.N(kappa, 40))) ** t).mid())
        if t < best:
            return 0.0, [f"too few: the bound κ^{t} KL(p̄‖q0) ≈ {value:.6g} is still above "
                         f"ε = {eps}"]
        return 0.5, [f"{t} generations are enough (κ^{t} KL(p̄‖q0) ≈ {value:.6g} ≤ ε), but "
                     "the bound guarantees ε after fewer"]
    balls = detail["balls"]
    if t == best:
        return 1.0, [f"correct: KL(p̄‖q_t) ≈ {float(balls[t].mid()):.6g} ≤ ε = {eps} first "
                     f"at t = {t} (certified with interval arithmetic)"]
    if t < best:
        return 0.0, [f"too few: after {t} generations KL(p̄‖q_{t}) ≈ "
                     f"{float(balls[t].mid()):.6g} is still above ε = {eps}"]
    if t < len(balls) and balls[t] <= ans_eps(variant):
        return 0.5, [f"{t} generations are enough (KL(p̄‖q_{t}) ≈ {float(balls[t].mid()):.6g}"
                     f" ≤ ε), but fewer already reach ε"]
    return 0.0, [f"{t} is not the smallest number of generations reaching ε = {eps}"]


def ans_eps(variant):
    return to_arb(sp.Rational(str(variant.settings["epsilon"])))


SYNONYMS = {
    "holder": "geometric-anchoring", "hölder": "geometric-anchoring",
    "geometric": "geometric-anchoring", "geometric-anchoring-(hölder)": "geometric-anchoring",
    "dobrushin": "data-processing", "data-processing-inequality": "data-processing",
    "dpi": "data-processing", "birkhoff": "hilbert", "hilbert-metric": "hilbert",
    "convexity": "mixture", "joint-convexity": "mixture", "mixture-rule": "mixture",
    "companion-matrix": "memory", "fixed-points": "fixed-point", "jacobian": "fixed-point",
    "schedules": "schedule",
}
RULE_NEEDS = {
    "mixture": "the mixture rule needs Φq = Σ λ_i A_i(q), a convex combination of pieces "
               "that each fix p̄",
    "data-processing": "data processing needs a Markov kernel applied to the student (W @ q)",
    "composition": "composition only multiplies the constants of two pieces; some other "
                   "rule must bound the pieces",
    "geometric-anchoring": "Hölder's rule needs Φq ∝ p̄^α q^(1−α), and bounds κ_fwd only",
    "hilbert": "the Hilbert-metric rules bound the d_H coefficient (power maps, positive "
               "matrices, shifts), not a KL constant",
    "memory": "the memory rule needs several past students q1..qL mixed with the anchor",
    "schedule": "the schedule rule needs a time-varying α_t",
    "fixed-point": "the fixed-point/Jacobian route gives the local rate only",
}


def check_rule(variant, ref, text):
    raw = ans.clean(text).lower().strip().strip(".")
    name = "-".join(raw.replace("_", " ").split())
    name = SYNONYMS.get(name, name)
    if name not in RULES:
        raise ans.AnswerError(f"{raw[:40]!r} is not one of the rules: {', '.join(RULES)}")
    key, used = ref.value["key"], ref.value["used"]
    if name == key:
        return 1.0, [f"correct: {name} gives this constant"]
    if name in used:
        return 0.5, [f"partly right: {name} is one step of the derivation, but not the one "
                     "that gives the constant its value"]
    return 0.0, [f"{name} does not give this constant here: {RULE_NEEDS[name]}"]


def check_counterexample(variant, ref, text):
    """A witness to refute an axiom, realizability or convexity: see :mod:`._grading_points`."""
    from ._grading_points import check_counterexample as run
    return run(variant, ref, text)


CHECKERS = {"constant": check_constant, "ratio": check_ratio,
            "counterexample": check_counterexample, "axioms": check_axioms,
            "fixed-point": check_fixed_point, "generations": check_generations,
            "rule": check_rule}
