"""Contraction constants of a family: derivations, local rates, fixed points, regions.

The entry points the engine calls (pure functions of a :class:`Family`):

* :func:`derive` / :func:`derive_all` - the certified upper bound on each constant
  kind of THEORY §4 (``kl_forward``, ``kl_reverse``, ``kl_pairwise``, ``local``,
  ``tv``, ``hilbert``) as a :class:`~._bound.Bound` with its proof, or ``None``;
  :func:`attempt` also says why no rule applied.  The structure of the map is read
  by :mod:`.recognise`, so a user's spec gets a derivation whatever its name.
* :func:`local_rate` - the asymptotic one-step KL ratio at the fixed point: the
  squared spectral radius of ``DΦ(q*)`` on the tangent space ``Σ v = 0`` (the
  spectral radius does not depend on the inner product, so the Fisher metric
  ``diag(1/q*)`` of THEORY §4 gives the same number), in closed form where SymPy
  gets one, else numerically at given parameter values.
* :func:`fixed_point` (from :mod:`.fixed_point`) - exact or certified.
* :func:`hilbert_region` - the parameter region where the recursion contracts in
  Hilbert's metric, as a SymPy relation.

For a map of several students ``q1..qL`` the KL, TV and Hilbert constants are
one-step constants against ``max_j`` over the students, and ``local`` is the squared
spectral radius of the block companion matrix of the linearised ``L``-step
recursion.  For a family with a ``schedule`` ``α_t`` no per-step constant is derived
(:func:`derive` gives None); :func:`derive_schedule` gives the ``t``-generation factor
of the schedule rule and whether it tends to zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..axioms.vector import components, instantiate
from . import rules
from ._bound import CONSTANT_KINDS, Bound, refuse, refusals
from ._closed_forms import (affine_form, closed_spectral_radius2, componentwise_fixed_point,
                            componentwise_multipliers, scalar_form, tangent_block,
                            tidy_point)
from ._discharge import holds_on_domain
from ._view import kernel_classes, map_view
from .evidence import Step
from .fixed_point import FixedPoint, default_anchor, definedness, fixed_point
from .recognise import Attempt, Const, Mix, Student, derive_structure, structure

__all__ = ["derive", "derive_all", "attempt", "derive_schedule", "local_rate", "LocalRate",
           "fixed_point", "FixedPoint", "hilbert_region", "HilbertRegion", "default_anchor",
           "CONSTANT_KINDS", "Bound"]


def attempt(family, kind: str, *, anchor=None) -> Attempt:
    """A derivation attempt for ``kind``: the bound (or None) and the reasons rules
    refused.  ``anchor``: exact components of a concrete anchor (default: the anchor
    the family fixes, e.g. a kernel's stationary law, else
    ``family.extra.get("anchor")``); ``None`` proves the bound for every anchor."""
    if kind not in CONSTANT_KINDS:
        raise ValueError(f"kind must be one of {CONSTANT_KINDS}, got {kind!r}")
    view = map_view(family)
    if anchor is None:
        anchor = view.anchor_values or family.extra.get("anchor")
    if not view.students:
        return Attempt(kind, None, (f"no contraction constants for a {family.kind} map",),
                       None)
    op = structure(view.expr, view.students, view.anchor, view.points)
    if family.schedule is not None:
        return Attempt(kind, None, ("time-varying parameters: no per-step constant below 1 "
                                    "is derived; see derive_schedule",), op)
    if kind == "local":
        with refusals() as reasons:
            bound = _local_closed(family, view, op)
        return Attempt(kind, bound, tuple(reasons), op)
    return derive_structure(op, kind, family.domain, view.anchor, anchor)


def derive(family, kind: str, *, anchor=None) -> Bound | None:
    """The certified upper bound on the constant ``kind`` of ``family`` (a
    :class:`Bound`: SymPy expression in the parameters plus proof steps), or None
    when no rule applies.  See :func:`attempt` for ``anchor``."""
    return attempt(family, kind, anchor=anchor).bound


def derive_all(family, *, anchor=None) -> dict[str, Bound | None]:
    """:func:`derive` for every kind, in the order of ``CONSTANT_KINDS``."""
    return {k: derive(family, k, anchor=anchor) for k in CONSTANT_KINDS}


def derive_schedule(family, kind: str = "kl_forward", *, anchor=None) -> Bound | None:
    """For a family with a ``schedule`` ``α_t``: the ``t``-generation factor
    ``∏_{s≤t} (1 − α_s)`` of the schedule rule (``Bound.generations`` is ``t``, and
    ``Bound.converges`` whether ``Σ α_t = ∞``), when the per-step bound of the map is
    ``1 − α``; None otherwise.  Not a per-step constant: do not compare it with 1."""
    if family.schedule is None:
        return None
    view = map_view(family)
    if anchor is None:
        anchor = view.anchor_values or family.extra.get("anchor")
    op = structure(view.expr, view.students, view.anchor, view.points)
    return _scheduled(family, op, kind, view.anchor, anchor).bound


def _scheduled(family, op, kind, anchor_name, anchor) -> Attempt:
    sched = family.schedule
    params = {p.symbol for p in family.free_parameters}
    alpha = next((s for s in params if s.name == "alpha"), None) or (
        next(iter(params)) if len(params) == 1 else None)
    t_syms = [s for s in sched.free_symbols if s.name not in {p.name for p in family.parameters}]
    with refusals() as reasons:
        bound = None
        if alpha is None or len(t_syms) != 1:
            refuse("schedule: cannot tell which parameter is scheduled, or over which index")
        else:
            step = derive_structure(op, kind, family.domain, anchor_name, anchor)
            reasons.extend(step.reasons)
            if step.bound is not None and sp.simplify(step.bound.expr - (1 - alpha)) == 0:
                rest = tuple(r for r in family.domain if alpha not in r.free_symbols)
                s = rules.schedule(sched, t_syms[0], kind, rest)
                if s is not None:
                    bound = Bound(kind, s.expr, step.bound.steps + s.steps, s.classes,
                                  anchor=step.bound.anchor, converges=s.converges,
                                  generations=s.generations)
            elif step.bound is not None:
                refuse(f"schedule rule: the per-step bound {step.bound.expr} is not 1 - {alpha}")
    return Attempt(kind, bound, tuple(reasons), op)


def _local_closed(family, view, op) -> Bound | None:
    """The local rate in closed form: memory rule, componentwise Jacobian (every K),
    or an affine map's Jacobian at the kernel's K."""
    students, anchor_name, expr = view.students, view.anchor, view.expr
    domain = family.domain
    if isinstance(op, Mix) and not op.normalized and len(students) > 1 and all(
            isinstance(x, Student) or (isinstance(x, Const) and str(x.vector) == anchor_name)
            for x in op.parts):
        alpha = sp.Add(*[w for w, x in zip(op.weights, op.parts) if isinstance(x, Const)])
        betas = [sp.Add(*[w for w, x in zip(op.weights, op.parts)
                          if isinstance(x, Student) and x.name == s]) for s in students]
        b = rules.memory(alpha, betas, domain)
        if b is not None:
            return b
    sf = scalar_form(expr, students, anchor_name) if not view.points else None
    if sf is not None:
        first = sp.Symbol(students[0], positive=True)
        single = scalar_form(expr.xreplace(
            {s: first for s in expr.free_symbols if s.name in students}),
            (students[0],), anchor_name)
        found = componentwise_fixed_point(single, domain)
        if found is not None:
            f, why, how = found
            tidied = tidy_point(f, domain)
            if tidied != f:
                why += f"; {f} = {tidied} on the domain"
                f = tidied
            mult = componentwise_multipliers(sf, f, domain)
            if mult is not None:
                return _componentwise_local(f, (why, how), mult, sf.normalized, domain,
                                            definedness(f, domain))
            refuse("the Jacobian at the fixed point is not a multiple of the identity")
        else:
            refuse("no closed-form fixed point")
    K = kernel_classes(expr)
    if K is not None and len(students) == 1:
        af = affine_form(expr, view.vectors, students, K)
        M = tangent_block(af.A[0]) if af is not None else None
        if M is not None:
            rho2 = closed_spectral_radius2(M, [p.symbol for p in family.free_parameters])
            if rho2 is not None:
                return Bound("local", rho2, (Step("Jacobian of an affine map",
                             f"DΦ = A = {af.A[0].tolist()} everywhere; on Σv = 0 it is "
                             f"{M.tolist()} with ρ² = {rho2}", ()),), classes=K, exact=True)
    refuse("no closed form for the local rate (numeric at given values: local_rate)")
    return None


def _componentwise_local(f, verified, mult, normalized, domain, defined) -> Bound | None:
    why, how = verified
    lams, lam_how = mult
    fp = Step("fixed point (closed form)", f"q*_i ∝ {f} (P = p̄_i) for every K",
              ((f"Φ(q*) = q* for every K ({why})", how),) + defined)
    form = "diag(d) − q* dᵀ with d_i" if normalized else "diag(d) with d_i"
    jac = Step("Jacobian at the fixed point",
               f"∂Φ/∂q_j = {form} = λ_j independent of p̄_i, so on Σv = 0 it is λ_j·id: "
               f"λ = {list(lams)}", (("d_i does not depend on p̄_i", lam_how),))
    if len(lams) == 1:
        return Bound("local", lams[0] ** 2, (fp, jac, Step(
            "local rate", f"ρ(DΦ(q*)|Σv=0)² = ({lams[0]})²", ())), exact=True)
    b = rules.memory(None, lams, domain)
    if b is None:
        return None
    return Bound("local", b.expr, (fp, jac) + b.steps, exact=b.exact)


@dataclass(frozen=True)
class LocalRate:
    """The local rate ``κ_loc = ρ(DΦ(q*)|_{Σv=0})²``.

    ``expr``: closed form in the parameters (None when only numeric); ``value``: at
    ``values`` (float, None if not computable); ``classes``: ``None`` when the closed
    form holds for every ``K``; ``exact``: closed form; ``fixed_point`` the point used
    by the numeric route; ``steps`` the derivation.
    """
    expr: sp.Expr | None
    value: float | None
    classes: int | None
    exact: bool
    method: str
    values: dict
    steps: tuple = ()
    fixed_point: FixedPoint | None = None


def local_rate(family, at: dict | None = None, *, classes: int | None = None,
               anchor=None) -> LocalRate:
    """The local rate of ``family``: closed form when available (valued at ``at``
    when ``at`` fixes its parameters), else the numeric spectral radius of the
    Jacobian at the (certified) fixed point for ``at`` (missing parameters sampled
    from the domain), ``classes`` and ``anchor`` (default :func:`default_anchor`)."""
    view = map_view(family)
    students, anchor_name = view.students, view.anchor
    if not students:
        raise ValueError(f"family {family.name!r}: no local rate for a {family.kind} map")
    if family.schedule is not None:
        return LocalRate(None, None, None, False, "time-varying parameters: no single local "
                         "rate", {}, ())
    bound = derive(family, "local")
    if bound is not None:
        value = None
        if at is not None and {s.name for s in bound.expr.free_symbols} <= set(at):
            value = float(sp.N(bound.value(at), 30))
        return LocalRate(bound.expr, value, bound.classes, True, "closed form",
                         {k: sp.Rational(str(v)) for k, v in (at or {}).items()}, bound.steps)
    fp = fixed_point(family, classes, at, anchor=anchor)
    if fp.numeric is None:
        return LocalRate(None, None, fp.classes, False, "fixed point not located",
                         fp.values, fp.steps, fp)
    K = fp.classes
    subs = {s: fp.values[s.name] for s in view.expr.free_symbols if s.name in fp.values}
    if anchor_name:
        subs.update(dict(zip(components(anchor_name, K), fp.anchor)))
    comps = [c.xreplace(subs) for c in instantiate(view.expr, view.vectors, K)]
    point = {}
    for s in students:
        point.update(dict(zip(components(s, K), fp.numeric)))
    B = np.vstack([np.eye(K - 1), -np.ones((1, K - 1))])
    Bp = np.linalg.pinv(B)
    blocks = []
    for s in students:
        Jm = sp.Matrix(comps).jacobian(list(components(s, K)))
        J = np.array(sp.lambdify([list(point)], Jm, "numpy")(list(point.values())), dtype=float)
        blocks.append(Bp @ J @ B)
    L, n = len(blocks), K - 1
    C = np.zeros((L * n, L * n))
    C[:n, :] = np.hstack(blocks)
    if L > 1:
        C[n:, :-n] = np.eye((L - 1) * n)
    rho = float(np.max(np.abs(np.linalg.eigvals(C)))) if C.size else 0.0
    step = Step("local rate (numeric)", f"ρ(DΦ(q*)|Σv=0)² ≈ {rho**2:.12g} at K = {K}, "
                f"q* ≈ {tuple(round(v, 10) for v in fp.numeric)}", ())
    return LocalRate(None, rho**2, K, False, "numeric Jacobian at the fixed point",
                     fp.values, fp.steps + (step,), fp)


@dataclass(frozen=True)
class HilbertRegion:
    """Where the recursion contracts in Hilbert's metric: ``relation`` (a SymPy
    relation in the parameters: ``bound < 1``, solved for a denominator of known
    sign); ``exact``: the bound is the constant itself, so outside the relation the
    map does not contract; ``on_domain``: whether the relation holds on the whole
    domain (``discharged`` / ``violated`` / ``unknown``); ``bound``: its derivation."""
    relation: sp.Basic
    exact: bool
    on_domain: str
    bound: Bound


def hilbert_region(family, *, anchor=None) -> HilbertRegion | None:
    """The parameter region where ``κ_H < 1`` (e.g. ``1 - alpha < T`` for
    ``normalize((p**alpha q**(1-alpha))**(1/T))``), or None without a Hilbert bound."""
    bound = derive(family, "hilbert", anchor=anchor)
    if bound is None:
        return None
    domain = family.domain
    expr = bound.expr
    num, den = sp.fraction(sp.together(expr))
    rel = sp.Lt(expr, 1)
    if den != 1 and not den.is_number:
        if holds_on_domain(sp.Gt(den, 0), domain).discharged:
            rel = sp.Lt(num, den)
        elif holds_on_domain(sp.Lt(den, 0), domain).discharged:
            rel = sp.Gt(num, den)
    status = holds_on_domain(rel, domain).status
    return HilbertRegion(rel, bound.exact, status, bound)
