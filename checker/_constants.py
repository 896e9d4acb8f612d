"""Contraction constants of a family as data: certified upper bounds, witnessed lower
bounds, the fixed point, and the main theorem of THEORY §2 instantiated.

For each constant kind of THEORY §4 (``kl_forward kl_reverse kl_pairwise local tv
hilbert``) :func:`constants_data` reports

* ``upper``: the derivation of :mod:`distillproof.proofs.contraction` (a SymPy
  expression in the free parameters, its value at the parameter point, the steps);
* ``lower``: a witnessed lower bound - a concrete exact point whose ratio is certified
  by interval arithmetic (:mod:`._witness`); for ``local``, the closed form itself
  when the rule is exact (an equality), else only a numeric ``estimate``;
* ``tight``: the bounds meet - the certified lower equals the upper exactly, or to
  ``1e-9`` relative and the rule says the upper bound is the constant itself.  A
  lower bound above the upper bound would be a bug: tests check it never happens.

The parameter point: the family's fixed values, then ``at``, then for each free
parameter the first simple rational in its domain (``1/2, 1/3, 3/10, ...``; ``2`` first
for temperatures ``T``).  :func:`check_claimed_constant` decides a user's claim
``κ ≤ value``: proved when the certified upper bound is ``≤ value`` on the whole
domain, refuted when a certified witness exceeds it, else unknown.
"""
from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
from fractions import Fraction

import numpy as np
import sympy as sp

from ..axioms.vector import components, instantiate
from ..proofs.evidence import Proved, Refuted, Step, Unknown, Witness, rational_str
from ._certify import assumptions_hold, enclosure, evaluate_relation, sign
from ._witness import (ALL_KINDS, DIVERGENCES, Lower, _down, _fraction, default_classes,
                       kinds_for, local_estimate, problem, witnessed_lower)

__all__ = ["constants_data", "check_claimed_constant", "parameter_point", "witnessed_lower",
           "Lower", "claims_context", "kinds_for", "EPSILON"]

EPSILON = Fraction(1, 1000)
_ORDER = tuple(sp.Rational(v) for v in ("1/2", "1/3", "3/10", "2/3", "1/4", "3/4", "1/5",
                                          "2", "3", "1/10", "1", "0", "-1/2", "-1"))
_HOT = tuple(sp.Rational(v) for v in ("2", "3", "3/2", "5")) + _ORDER
_EXTREMES = tuple(sp.Rational(v) for v in ("1/100", "99/100", "1/10", "9/10", "1/2", "100",
                                             "10", "2", "1/1000", "999/1000"))


def _in_domain(family, subs) -> bool:
    return all(assumptions_hold(s, v) for s, v in subs.items()) and all(
        evaluate_relation(r, subs) is True for r in family.domain)


def parameter_point(family, at=None) -> dict[str, sp.Rational]:
    """Exact values for every parameter (module docstring); ``at`` must be inside the
    domain (the CLI checks it with ``Family.with_values``)."""
    point = {p.name: p.value for p in family.parameters if p.value is not None}
    point.update({k: sp.Rational(str(v)) for k, v in (at or {}).items()})
    given = {p.symbol: point[p.name] for p in family.free_parameters if p.name in point}
    free = [p for p in family.free_parameters if p.name not in point]
    if not free:
        return point
    choices = [_HOT if p.name.startswith("T") else _ORDER for p in free]
    for combo in itertools.islice(itertools.product(*choices), 3000):
        if _in_domain(family, {**given, **{p.symbol: v for p, v in zip(free, combo)}}):
            point.update({p.name: v for p, v in zip(free, combo)})
            return point
    from ..proofs.fixed_point import parameter_values
    values, _ = parameter_values(family, {k: v for k, v in point.items()
                                          if k in {p.name for p in family.free_parameters}})
    return {**point, **values}



# --- the data: constants, fixed point, theorem ---------------------------------------
def _text(v) -> str:
    v = sp.nsimplify(v) if isinstance(v, float) else v
    if isinstance(v, sp.Rational) or getattr(v, "is_Rational", False):
        return rational_str(Fraction(int(v.p), int(v.q)))
    s = sp.sstr(v)
    return s if len(s) <= 60 else f"{float(sp.N(v, 20)):.15g}"


def _decimal(v, down=False) -> str | None:
    """A closed number as decimal text (rounded down, from a certified enclosure, when
    ``down``)."""
    if v.is_Rational:
        return repr(float(Fraction(int(v.p), int(v.q)))) if not down else _down(
            Fraction(int(v.p), int(v.q)))
    ball = enclosure(v, 256)
    if ball is None:
        return None
    return _down(_fraction(ball.lower())) if down else f"{float(ball.mid()):.17g}"


def _float(v) -> float | None:
    try:
        return float(sp.N(v, 30))
    except (TypeError, ValueError):
        return None


def _entry(family, kind, att, low, point, local=None) -> dict:
    bound, upper, tight = att.bound, None, False
    uval = None
    if bound is not None and bound.generations is None:
        uval = bound.value({k: v for k, v in point.items()})
        upper = {"expr": sp.sstr(bound.expr), "value": _text(uval), "float": _decimal(uval),
                 "steps":
                 [s.to_json() for s in bound.steps], "exact": bool(bound.exact),
                 "classes": bound.classes}
        if bound.anchor is not None:
            upper["anchor"] = [sp.sstr(a) for a in bound.anchor]
    lower = low.to_json() if isinstance(low, Lower) else low
    if upper is not None and low is not None:
        uf = _float(uval)
        if isinstance(low, Lower):
            same = low.certified_by == "exact" and uval.is_Rational and low.low == Fraction(
                int(uval.p), int(uval.q))
            close = uf is not None and abs(uf - float(low.low)) <= 1e-9 * max(abs(uf), 1e-300)
            tight = bool(same or (bound.exact and close))
        else:
            tight = bool(bound.exact)
    out = {"kind": kind, "upper": upper, "lower": lower, "tight": tight,
           "at": {k: _text(v) for k, v in point.items()}}
    if upper is None:
        out["reasons"] = list(att.reasons)
    if local is not None:
        out["estimate"] = local
    return out


def _local_lower(att, point):
    """The local rate's lower bound: the closed form itself when the rule is exact."""
    b = att.bound
    if b is None or not b.exact:
        return None
    v = b.value(point)
    if not v.is_number:
        return None
    exact = _text(v)
    return {"value": exact if v.is_Rational else _decimal(v, down=True), "expr": exact,
            "witness": {k: rational_str(Fraction(str(x)))
                                           for k, x in point.items()},
            "certified_by": "exact", "note": "the closed form is the local rate itself"}


def _fixed_point_data(family, K, point):
    from ..proofs.contraction import fixed_point
    free = {p.name: point[p.name] for p in family.free_parameters}
    try:
        fp = fixed_point(family, K, free)
    except (ArithmeticError, ValueError, TypeError, NotImplementedError) as exc:
        return None, {"classes": K, "point": None, "exact": False, "certified": False,
                      "distance_from_anchor": None, "method": f"not located: {exc}"}
    pts = None
    if fp.exact:
        comps = list(fp.point) if isinstance(fp.point, tuple) else instantiate(
            fp.point, ("p",), K)
        subs = {s: v for c in comps for s in c.free_symbols for n, v in fp.values.items()
                if s.name == n}
        if fp.anchor is not None:
            subs.update(zip(components("p", K), fp.anchor))
        pts = [_text(sp.nsimplify(sp.simplify(c.xreplace(subs)))) for c in comps]
    elif fp.numeric is not None:
        pts = [repr(float(x)) for x in fp.numeric]
    dist = fp.distance_from_anchor
    data = {"classes": K, "point": pts, "exact": fp.exact, "certified": fp.certified,
            "distance_from_anchor": None if dist is None else ("0" if fp.anchor_fixed and
                                                               dist == 0 else repr(dist)),
            "method": fp.method, "anchor": None if fp.anchor is None else
            [_text(a) for a in fp.anchor], "steps": [s.to_json() for s in fp.steps]}
    if fp.exact and not isinstance(fp.point, tuple):
        data["expr"] = sp.sstr(fp.point)
    if fp.numeric is not None:
        data["numeric"] = [repr(float(x)) for x in fp.numeric]
    return fp, data


def _reference(K):
    return tuple([Fraction(9, 10)] + [Fraction(1, 10 * (K - 1))] * (K - 1))


def _theorem(family, entries, fp, K, point, results, settings) -> dict:
    from ..axioms.registry import get_axiom
    from ..proofs.fixed_point import default_anchor
    status = {}
    for a in ("MT1", "MT2", "MT3"):
        s = (results or {}).get(a)
        if s is None:
            from .engine import Settings, decide_axiom
            s = decide_axiom(get_axiom(a), family, settings or Settings()).status
        status[a] = s
    given = (results or {}).get("R")
    realizable = family.student is None or given == "proved"
    status["R"] = "assumed (no student family)" if family.student is None else given or \
        "unknown (student family: realizability is not checked here)"
    out = {"hypotheses": status, "rate": None, "generations_to": None, "a_priori_bounds": [],
           "holds": realizable and all(status[a] == "proved" for a in ("MT1", "MT2", "MT3"))}
    if family.schedule is not None:
        from ..proofs.contraction import derive_schedule
        b = derive_schedule(family)
        out["schedule"] = None if b is None else {"factor": sp.sstr(b.expr),
                                                  "generations": b.generations.name,
                                                  "converges": b.converges}
    prob = problem(family, K)
    anchor = tuple(Fraction(str(a)) for a in (prob.anchor_values or default_anchor(K)))
    q0 = _reference(K)
    L = len(prob.students)
    up = entries.get("kl_forward", {}).get("upper")
    if up is not None:
        kappa = float(up["float"])
        kl0 = sum(float(a) * math.log(float(a) / float(b)) for a, b in zip(anchor, q0))
        out["rate"] = {"expr": up["expr"], "value": up["value"]}
        eq = "" if up["expr"] == up["value"] else f" = {up['value']}"
        gens = 0 if kl0 <= EPSILON else (1 if kappa <= 0 else None if kappa >= 1 else
                                          math.ceil(math.log(EPSILON / kl0) / math.log(kappa)))
        out["generations_to"] = {
            "epsilon": rational_str(EPSILON), "initial_kl": f"{kl0:.12g}",
            "q0": [rational_str(x) for x in q0], "anchor": [rational_str(x) for x in anchor],
            "generations": None if gens is None else gens * L,
            "statement": f"KL(p̄‖q_t) ≤ κ^{'⌈t/' + str(L) + '⌉' if L > 1 else 't'} "
                         f"KL(p̄‖q_0) with κ = {up['expr']}{eq}: KL ≤ ε after "
                         f"t ≥ {L if L > 1 else ''}{'·' if L > 1 else ''}log(ε/KL0)/log κ"}
    pv = {s.name: float(point[s.name]) for s in prob.params}
    batch = {v: np.array([[float(x) for x in anchor]]) for v in prob.inputs}
    batch.update({s: np.array([[float(x) for x in q0]]) for s in prob.students})
    q1 = prob.phi(batch, pv)[0] if prob.anchored() or not prob.inputs else None
    for kind in ("tv", "hilbert"):
        up = entries.get(kind, {}).get("upper")
        k = None if up is None or up["float"] is None else float(up["float"])
        if k is None or not 0 <= k < 1 or q1 is None:
            continue
        d = float(DIVERGENCES[kind](q1, np.array([float(x) for x in q0])))
        t = 0 if d <= 0 else 1 if k == 0 else max(0, math.ceil(
            math.log(float(EPSILON) * (1 - k) / d) / math.log(k)))
        name = "d_TV" if kind == "tv" else "d_H"
        out["a_priori_bounds"].append({
            "metric": kind, "kappa": up["expr"], "kappa_value": up["value"],
            "statement": f"{name}(q_t, q*) ≤ κ^t/(1−κ) · {name}(q_1, q_0), κ = {up['expr']}",
            "a_posteriori": f"{name}(q_t, q*) ≤ κ/(1−κ) · {name}(q_t, q_(t−1))",
            "d_q1_q0": f"{d:.12g}", "generations_to_epsilon": t})
    return out


def constants_data(family, settings=None, *, at=None, results=None, kinds=None,
                   objects: dict | None = None) -> dict:
    """``{"constants": [...], "fixed_point": {...} | None, "theorem": {...} | None}`` for a
    meta-teacher or softening family (``{}`` for aggregation; see the module
    docstring).  ``at``: parameter values (default point otherwise); ``results``:
    axiom id -> status already decided (the theorem's hypotheses; missing ones are
    decided here); ``kinds``: restrict the constants; ``objects``: a dict to receive
    the SymPy-level results (``attempts``, ``fixed_point``, ``point``, ``region``) for
    renderers.  With :func:`claims_context` active, the claimed constants are decided
    too (``"claims"``)."""
    from ..proofs.contraction import attempt, hilbert_region
    if family.kind not in ("meta-teacher", "softening"):
        return {}
    seed = getattr(settings, "seed", 0)
    samples = getattr(settings, "samples", 2000)
    point = parameter_point(family, at)
    K = default_classes(family, settings)
    fp, fp_data = _fixed_point_data(family, K, point)
    near = [fp.numeric] if fp is not None and fp.numeric is not None and len(
        fp.numeric) == K else []
    entries, attempts = {}, {}
    for kind in kinds or kinds_for(family):
        att = attempts[kind] = attempt(family, kind)
        estimate = None
        if kind == "local":
            low = _local_lower(att, point)
            if att.bound is None and family.schedule is None and near:
                value = local_estimate(family, near[0], point, K)
                estimate = None if value is None else f"{value:.12g}"
        else:
            low = None if family.schedule is not None else witnessed_lower(
                family, kind, point, classes=K, seed=seed, samples=samples, near=near)
        entries[kind] = _entry(family, kind, att, low, point, estimate)
        if kind == "hilbert" and att.bound is not None and family.schedule is None:
            reg = hilbert_region(family)
            if objects is not None:
                objects["region"] = reg
            entries[kind]["region"] = {"relation": sp.sstr(reg.relation), "exact": reg.exact,
                                       "on_domain": reg.on_domain}
    out = {"constants": list(entries.values()), "fixed_point": fp_data,
           "theorem": _theorem(family, entries, fp, K, point, results, settings)
           if family.kind == "meta-teacher" else None}
    if objects is not None:
        objects.update(attempts=attempts, fixed_point=fp, point=point, classes=K)
    active = _CLAIMS.get()
    if active is not None:
        claims, collected = active
        out["claims"] = []
        for kind, value in claims:
            ev = check_claimed_constant(family, kind, value, settings, at=at)
            out["claims"].append({"kind": kind, "value": rational_str(Fraction(str(value))),
                                  **ev.to_json()})
            collected.append((family.name, kind, value, ev))
    return out


# --- claimed constants ---------------------------------------------------------------
_CLAIMS: contextvars.ContextVar = contextvars.ContextVar("distillproof_claims", default=None)


@contextlib.contextmanager
def claims_context(claims):
    """Within the block :func:`constants_data` also decides the claimed constants
    (``(kind, value)`` pairs); yields the list of ``(family, kind, value, evidence)``."""
    collected: list = []
    token = _CLAIMS.set((tuple(claims), collected))
    try:
        yield collected
    finally:
        _CLAIMS.reset(token)


def _candidate_points(family, bound, at, n=3):
    """Parameter points where the constant is likely largest: simple extreme values,
    ranked by the upper bound when there is one."""
    base = parameter_point(family, at)
    free = [p for p in family.free_parameters if p.name not in (at or {})]
    pts = []
    for combo in itertools.islice(itertools.product(_EXTREMES, repeat=len(free)), 400):
        subs = {p.symbol: v for p, v in zip(free, combo)}
        if free and _in_domain(family, subs):
            pts.append({**base, **{p.name: v for p, v in zip(free, combo)}})
    if bound is not None:
        pts.sort(key=lambda pt: -(_float(bound.value(pt)) or 0.0))
    return [base] + pts[:n]


def check_claimed_constant(family, kind, value, settings=None, *, at=None):
    """The verdict on the claim "the constant ``kind`` of ``family`` is at most
    ``value``" (an exact number): proved when the certified upper bound is ``≤ value``
    on the whole domain, refuted by a certified witness whose ratio exceeds ``value``
    (searched at the parameter point and a few extreme ones), else unknown."""
    from ..axioms.claims import Atom
    from ..proofs.contraction import attempt
    from ._symbolic import parameter_conditions
    if kind not in ALL_KINDS:
        raise ValueError(f"kind must be one of {ALL_KINDS}, got {kind!r}")
    v = sp.Rational(str(Fraction(str(value))))
    if kind not in kinds_for(family):
        return Unknown(reason=f"no {kind} constant for a {family.kind} family",
                       method="contraction calculus")
    bound = attempt(family, kind).bound
    if bound is not None and bound.generations is None:
        label = f"{kind} <= {bound.expr} <= {v}"
        gap = v - bound.expr
        if not gap.free_symbols:
            ok = sign(gap) in (0, 1)
            steps = (() if ok else None)
        else:
            steps, _ = parameter_conditions(family, [Atom(gap, ">=", label)],
                                            timeout_ms=getattr(settings, "timeout_ms", 4000))
        if steps is not None:
            return Proved(method="contraction calculus", classes=bound.classes,
                          steps=tuple(bound.steps) + tuple(steps) + (
                              Step("claimed constant", label, ((f"{bound.expr} <= {v}",
                                   "z3: unsat" if steps else "exact arithmetic"),)),))
    best = None
    for pt in _candidate_points(family, bound, at):
        if kind == "local":
            low = None
            if bound is not None and bound.exact:
                val = bound.value(pt)
                if val.is_number and sign(val - v) == 1:
                    w = Witness({k: Fraction(str(x)) for k, x in pt.items()},
                                f"local rate {bound.expr} > claimed {v}", _text(val), "exact", 0)
                    return Refuted(method="closed form of the local rate", witness=w)
            continue
        low = witnessed_lower(family, kind, pt, classes=default_classes(family, settings),
                              seed=getattr(settings, "seed", 0),
                              samples=getattr(settings, "samples", 2000))
        if low is None:
            continue
        if low.low > Fraction(int(v.p), int(v.q)):
            w = Witness(dict(low.witness), f"{kind} ratio > claimed {v}", low.enclosure,
                        low.certified_by, low.classes)
            return Refuted(method="certified witness (interval arithmetic)"
                           if low.certified_by == "interval" else "certified witness (exact)",
                           witness=w)
        if best is None or low.low > best.low:
            best = low
    why = "no certified upper bound ≤ the claim on the whole domain" if bound is None or \
        bound.generations is not None else f"the upper bound {bound.expr} is not ≤ {v} on " \
        "the whole domain"
    return Unknown(reason=why + "; no certified witness exceeds it",
                   method="contraction calculus + certified witness", classes=default_classes(family),
                   estimate=None if best is None else f"{kind} ≥ {best.value} (certified)")

