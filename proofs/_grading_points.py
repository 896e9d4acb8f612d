"""Checking counterexample answers: a point is replayed, never trusted.

* an axiom of the registry: the point is read (vectors and the free parameters of the
  axiom's claims, exact rationals), checked to be in the open simplex and the domain,
  then re-checked by :func:`~distillproof.checker.engine.replay` (exact or interval
  arithmetic); when it is no violation, the feedback says what holds there (the
  ratio, for MT3/MT3r/MT3p);
* realizability ``R``: ``p, q`` must be members of ``S`` (exactly), then the closure
  claim is certified at the point (:func:`~distillproof.checker._certify.certify`);
* convexity of ``S``: ``x, y`` in ``S`` and ``λ x + (1 − λ) y`` outside it, exactly.
"""
from __future__ import annotations

from fractions import Fraction

import sympy as sp

from ..axioms.registry import axioms_for, get_axiom
from ..checker._certify import certify, evaluate_relation, substitute, values_to_subs
from ..checker.engine import replay
from ..checker.realizability import closure_claim

from . import _grading_answers as ans
from ._grading_checks import _comp, _simplex, _vec
from ._grading_reference import kl_expr, show
from .exercise import student_family

__all__ = ["check_counterexample"]

axioms_for()      # load the registry now, not within an answer's time budget


def _axiom_point(variant, text):
    """``(values, claims, K)`` of a counterexample to a registry axiom."""
    fam, axiom = variant.family, get_axiom(variant.settings["axiom"])
    probe = axiom.build(fam, variant.classes)
    vec_names = sorted({n for c in probe for n in c.vectors})
    scalars = sorted({s.name for c in probe for s in c.parameters})
    fixed = {p.name: p.value for p in fam.parameters if p.value is not None}
    values = ans.point(text, {n: None for n in vec_names}, set(scalars) | set(fixed))
    for name in list(values):
        if name in fixed:
            if values[name] != Fraction(int(fixed[name].p), int(fixed[name].q)):
                raise ans.AnswerError(f"{name} is fixed to {fixed[name]} in your variant; "
                                      "leave it out")
            del values[name]
    lengths = {len(values[n]) for n in vec_names if n in values}
    if len(lengths) > 1:
        raise ans.AnswerError("your vectors have different numbers of components")
    K = lengths.pop() if lengths else variant.classes
    if "classes" in variant.settings and K != int(variant.settings["classes"]):
        raise ans.AnswerError(f"this question is about K = {variant.settings['classes']} "
                              f"classes; your vectors have {K} components")
    if not 2 <= K <= 8:
        raise ans.AnswerError("use between 2 and 8 classes")
    claims = axiom.build(fam, K)
    missing = sorted(({n for c in claims for n in c.vectors}
                      | {s.name for c in claims for s in c.parameters}) - set(values))
    if missing:
        raise ans.AnswerError(f"your point must also give {', '.join(missing)} "
                              "(exact rationals)")
    return values, claims, K


def check_counterexample(variant, ref, text):
    axiom = variant.settings["axiom"]
    if axiom == "convexity":
        return _check_convexity(variant, text)
    if axiom == "R":
        return _check_realizability(variant, text)
    values, claims, K = _axiom_point(variant, text)
    bad = _simplex(values, [n for n, v in values.items() if isinstance(v, tuple)])
    if bad:
        return 0.0, bad
    for c in claims:
        subs = values_to_subs(c, {k: v for k, v in values.items()
                                  if k in c.vectors or k in {s.name for s in c.parameters}})
        for rel in c.domain:
            if evaluate_relation(rel, subs) is False:
                why = ("your vectors must differ (both sides are 0 when they are equal)"
                       if isinstance(rel, sp.Or) else f"{sp.sstr(rel)} fails")
                return 0.0, [f"your point is outside the domain of {axiom}: {why}"]
    w = replay(variant.family, axiom, values, K)
    if w is not None:
        return 1.0, [f"correct: {axiom} fails at your point — {w.atom}; value {w.value} "
                     f"(certified by {w.certified_by} arithmetic)"]
    return 0.0, [f"your witness satisfies {axiom}: " + _why_holds(variant, axiom, values,
                                                                   claims, K)]


def _why_holds(variant, axiom, values, claims, K) -> str:
    fam = variant.family
    if axiom in ("MT3", "MT3r", "MT3p"):
        c = claims[0]
        subs = values_to_subs(c, {k: v for k, v in values.items()
                                  if k in c.vectors or k in {s.name for s in c.parameters}})
        a = [substitute(x, subs) for x in fam.anchor_at(K)]
        m = fam.at(K)
        mq = [substitute(x, subs) for x in m]
        q = [subs[s] for s in _comp("q", K)]
        if axiom == "MT3":
            num, den, name = kl_expr(a, mq), kl_expr(a, q), "KL(p̄‖M(p̄,q)) / KL(p̄‖q)"
        elif axiom == "MT3r":
            num, den, name = kl_expr(mq, a), kl_expr(q, a), "KL(M(p̄,q)‖p̄) / KL(q‖p̄)"
        else:
            r = [subs[s] for s in _comp("r", K)]
            to_r = dict(zip(_comp("q", K), _comp("r", K)))
            mr = [substitute(x.xreplace(to_r), subs) for x in m]
            num, den, name = kl_expr(mq, mr), kl_expr(q, r), "KL(M(q)‖M(r)) / KL(q‖r)"
        return f"the ratio {name} there is {show(num / den)} < 1"
    parts = []
    if fam.kind != "softening" and len(claims) == 1:
        c = claims[0]
        subs = values_to_subs(c, {k: v for k, v in values.items()
                                  if k in c.vectors or k in {s.name for s in c.parameters}})
        if all(s in subs for e in fam.at(K) for s in e.free_symbols):
            m = [substitute(x, subs) for x in fam.at(K)]
            parts.append(f"there M = {_vec(m)}")
    for c in claims:
        subs = values_to_subs(c, {k: v for k, v in values.items()
                                  if k in c.vectors or k in {s.name for s in c.parameters}})
        for atom in c.atoms[:2]:
            parts.append(f"{atom.label} (value {show(substitute(atom.expr, subs))} "
                         f"{atom.rel} 0)")
    head = parts.pop(0) + ", and " if parts and parts[0].startswith("there M") else ""
    return head + "every condition holds there, e.g. " + "; ".join(parts[:2])


def _members(S, values, names) -> list[str]:
    out = []
    for n in names:
        v = values[n]
        if len(v) != S.classes:
            raise ans.AnswerError(f"{n} needs {S.classes} components (S lives in K = "
                                  f"{S.classes})")
        if any(x < 0 for x in v) or sum(v) != 1:
            out.append(f"{n} is not a distribution (nonnegative, summing to exactly 1)")
            continue
        broken = S.violated(v)
        if broken:
            out.append(f"your {n} is not in {S.name}: it violates {broken[0]}")
    return out


def _check_convexity(variant, text):
    S = student_family(variant)
    values = ans.point(text, {"x": S.classes, "y": S.classes}, {"lam"})
    if not {"x", "y"} <= set(values):
        raise ans.AnswerError("give x and y (members of S) and lam (0 < lam < 1)")
    lam = values.get("lam", Fraction(1, 2))
    if not 0 < lam < 1:
        return 0.0, ["lam must lie strictly between 0 and 1"]
    bad = _members(S, values, ["x", "y"])
    if bad:
        return 0.0, bad
    z = tuple(lam * a + (1 - lam) * b for a, b in zip(values["x"], values["y"]))
    broken = S.violated(z)
    if broken:
        return 1.0, [f"correct: z = lam x + (1 - lam) y = {_vec(z)} violates {broken[0]}, "
                     f"so {S.name} is not convex (exact arithmetic)"]
    return 0.0, [f"z = lam x + (1 - lam) y = {_vec(z)} is in {S.name}: every relation holds "
                 "there, so this pair does not show non-convexity"]


def _check_realizability(variant, text):
    S, fam = student_family(variant), variant.family
    claim = closure_claim(fam, S)
    names = list(claim.vectors)
    scalars = {s.name for s in claim.parameters}
    values = ans.point(text, {n: S.classes for n in names}, scalars)
    missing = sorted((set(names) | scalars) - set(values))
    if missing:
        raise ans.AnswerError(f"your point must give {', '.join(missing)}")
    bad = _members(S, values, names)
    if bad:
        return 0.0, bad
    face = S.face
    inner = {n: tuple(values[n][i] for i in face) for n in names}
    if any(x <= 0 for n in names for x in inner[n]):
        return 0.0, ["use points with every allowed class positive (the relative interior "
                     "of S's face)"]
    w = certify(claim, {**inner, **{k: values[k] for k in scalars}})
    subs = {s: sp.Rational(str(x)) for n in names for s, x in zip(_comp(n, S.classes),
                                                                   values[n])}
    subs.update({sp.Symbol(k, real=True): sp.Rational(str(values[k])) for k in scalars})
    m = [substitute(c, subs) for c in fam.at(S.classes)]
    if w is not None:
        return 1.0, [f"correct: M(p̄, q) = {_vec(m)} leaves {S.name} — {w.atom} fails "
                     f"(certified by {w.certified_by} arithmetic)"]
    return 0.0, [f"M(p̄, q) = {_vec(m)} is in {S.name} at your point: every relation of "
                 "S holds there"]
