"""Fixed points of the recursion ``q ↦ Φ(q)`` (THEORY §5.8).

Cheapest decisive method first: a closed form for every ``K`` (componentwise maps,
e.g. ``normalize((p**a q**(1-a))**(1/T))`` has ``q* ∝ p**(a/(T-1+a))``), an exact
linear solve at ``K`` (affine maps such as kernels), else numeric iteration and
Newton's method at the given parameters and anchor, certified by Krawczyk's
interval test (a box provably containing exactly one fixed point).  For a map of
several students the fixed point is the stationary history ``q1 = ... = qL = q*``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..axioms.vector import components, instantiate, normalize, vsum
from ._closed_forms import (affine_fixed_point, affine_form, componentwise_fixed_point,
                            scalar_form, tidy_point)
from ._interval import arb_eval, arb_interval, krawczyk, precision, to_arb
from ._view import kernel_classes, map_view
from .evidence import Step

__all__ = ["FixedPoint", "fixed_point", "default_anchor", "sample_parameters",
           "parameter_values", "definedness"]


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point ``q* = Φ(q*)`` and how it was obtained.

    ``point``: the exact fixed point - a vector expression in ``p`` and the
    parameters (valid for every ``K``) or a ``K``-tuple of SymPy expressions - or,
    when only located numerically, a ``K``-tuple of floats (``None``: not located).
    ``exact``: ``point`` is exact.  ``certified``: the fixed-point property is proved
    (SymPy identity, or Krawczyk's interval test on ``enclosure``).
    ``distance_from_anchor``: ``KL(p̄ ‖ q*)`` at ``anchor`` and ``values`` (a float;
    ``distance_enclosure`` bounds it rigorously), ``None`` without an anchor.
    ``numeric``: ``q*`` at ``anchor`` and ``values``.  ``anchor_fixed``: whether
    ``q* = p̄`` (MT2 at this point).  ``distance_expr``: ``KL(p̄‖q*)`` as a vector
    expression when the point is exact for every ``K``.
    """
    point: object
    exact: bool
    certified: bool
    distance_from_anchor: float | None
    classes: int
    anchor: tuple | None
    values: dict = field(default_factory=dict)
    numeric: tuple | None = None
    enclosure: tuple | None = None
    distance_enclosure: tuple | None = None
    distance_expr: sp.Expr | None = None
    anchor_fixed: bool | None = None
    method: str = ""
    steps: tuple = ()


def definedness(f: sp.Expr, domain) -> tuple[tuple[str, str], ...]:
    """Conditions under which a closed form ``f`` is defined: each denominator of a
    parameter-dependent exponent is nonzero.  Recorded with how far it holds: on the
    whole domain (discharged), or only off the zero set (the closed form is then
    stated where it is defined, e.g. ``T + alpha - 1 ≠ 0`` for temperature in the loop)."""
    from ._discharge import holds_on_domain
    out = []
    for pw in f.atoms(sp.Pow):
        if pw.exp.is_number:
            continue
        den = sp.fraction(sp.together(pw.exp))[1]
        if den.is_number:
            continue
        d = holds_on_domain(sp.Ne(den, 0), tuple(domain))
        how = d.how if d.discharged else (
            f"not on the whole domain ({d.status}): the closed form holds where {den} ≠ 0")
        out.append((f"{den} ≠ 0", how))
    return tuple(out)


def default_anchor(classes: int) -> tuple[sp.Rational, ...]:
    """The anchor used when none is given: ``p̄_i ∝ i + 1`` (distinct, interior)."""
    total = classes * (classes + 1) // 2
    return tuple(sp.Rational(i + 1, total) for i in range(classes))


_NICE = tuple(sp.Rational(v) for v in ("3/10", "2", "7/10", "3/2", "1/5", "3", "1/3",
                                          "1/10", "5", "1/2", "1", "0", "-1/2", "-2"))


def sample_parameters(family, fixed: dict | None = None) -> dict[str, sp.Rational]:
    """An exact, generic-looking point of the parameter domain, for evaluations when
    the caller gives no ``at``: each parameter in turn takes the first of a few
    simple values (``3/10, 2, 7/10, ...``; ``1/2`` late, as it sits on many singular
    sets such as ``T = 1 - alpha``) consistent with the domain, else a Z3 model.
    Parameters in ``fixed`` keep their values (the others are chosen with them, so
    ``alpha + beta1 + beta2 = 1`` holds when only ``alpha`` is given)."""
    import z3
    from ._discharge import _Encoder, _NotEncodable
    enc = _Encoder(z3)
    s = z3.Solver()
    s.set("timeout", 5000)
    try:
        s.add(*[enc.formula(r) for r in family.domain], *enc.aux_defs)
    except _NotEncodable as exc:
        raise ValueError(f"family {family.name!r}: cannot sample its domain ({exc})")
    out = {}
    for name, v in (fixed or {}).items():
        s.add(z3.Real(name) == z3.RealVal(f"{v.p}/{v.q}"))
        out[name] = v
    if fixed and s.check() != z3.sat:
        given = ", ".join(f"{k}={v}" for k, v in fixed.items())
        raise ValueError(f"family {family.name!r}: no point of its domain has {given}")
    for p in family.free_parameters:
        if p.name in out:
            continue
        var = z3.Real(p.name)
        for v in _NICE:
            s.push()
            s.add(var == z3.RealVal(f"{v.p}/{v.q}"))
            ok = s.check() == z3.sat
            s.pop()
            if ok:
                out[p.name] = v
                s.add(var == z3.RealVal(f"{v.p}/{v.q}"))
                break
        else:
            if s.check() != z3.sat:
                raise ValueError(f"family {family.name!r}: no parameter point in its domain")
            m = s.model().eval(var, model_completion=True)
            v = sp.Rational(m.numerator_as_long(), m.denominator_as_long()) \
                if z3.is_rational_value(m) else sp.Rational(m.approx(12).as_fraction())
            out[p.name] = v
            s.add(var == z3.RealVal(f"{v.p}/{v.q}"))
    return out


def parameter_values(family, at=None) -> tuple[dict[str, sp.Rational], bool]:
    """Values for every free parameter: those in ``at``, the rest sampled from the
    domain; and whether any had to be sampled."""
    at = {k: sp.Rational(str(v)) for k, v in (at or {}).items()}
    missing = [p.name for p in family.free_parameters if p.name not in at]
    if missing:
        given = {k: v for k, v in at.items() if k in {p.name for p in family.free_parameters}}
        sample = sample_parameters(family, given)
        at.update({k: sample[k] for k in missing})
    return at, bool(missing)


def fixed_point(family, classes: int | None = None, at: dict | None = None, *,
                anchor=None) -> FixedPoint:
    """The fixed point of ``family``'s recursion at ``classes`` classes.

    ``at``: parameter values (names to exact numbers); parameters left out are
    sampled from the domain (see ``values`` in the result).  ``anchor``: the anchor's
    exact components (default: the family's fixed anchor, else
    ``family.extra["anchor"]``, else :func:`default_anchor`).  The exact closed form,
    when found, is symbolic in the anchor and the parameters; the numeric fields are
    at ``anchor`` and ``values``.
    """
    view = map_view(family)
    students, anchor_name = view.students, view.anchor
    if not students:
        raise ValueError(f"family {family.name!r}: fixed points are defined for "
                         "meta-teacher and softening maps")
    expr = view.expr
    kc = kernel_classes(expr)
    if kc is not None and classes is not None and classes != kc:
        raise ValueError(f"family {family.name!r}: its matrices are {kc}x{kc}, "
                         f"but classes={classes}")
    given = anchor if anchor is not None else (view.anchor_values or family.extra.get("anchor"))
    K = kc or classes or (len(given) if given is not None else family.classes[0])
    values, sampled = parameter_values(family, at)
    anc = None
    if anchor_name:
        anc = tuple(sp.Rational(str(x)) for x in given) if given is not None else \
            default_anchor(K)
        if len(anc) != K:
            raise ValueError(f"family {family.name!r}: the anchor has {len(anc)} classes, "
                             f"the fixed point is sought at K={K}")
    elif view.points:
        return FixedPoint(None, False, False, None, K, None, dict(values),
                          method="not located: " + view.note)
    single = expr.xreplace({s: sp.Symbol(students[0], positive=True)
                            for s in expr.free_symbols if s.name in students[1:]})
    vectors = view.vectors
    subs = {s: values[s.name] for s in expr.free_symbols if s.name in values}
    if anc is not None:
        subs.update(dict(zip(components(anchor_name, K), anc)))
    note = (Step("parameter values", "sampled from the domain: " + ", ".join(
        f"{k}={v}" for k, v in values.items()), ()),) if sampled else ()

    sf = scalar_form(single, (students[0],), anchor_name)
    found = componentwise_fixed_point(sf, family.domain) if sf is not None else None
    if found is not None:
        f, why, how = found
        tidied = tidy_point(f, family.domain)
        if tidied != f:
            why += f"; {f} = {tidied} on the domain"
            f = tidied
        pvec = sp.Symbol(anchor_name, positive=True) if anchor_name else None
        if anchor_name and f == sp.Symbol("P", positive=True):
            point = pvec
        else:
            point = normalize(f.subs(sp.Symbol("P", positive=True), pvec) if pvec else f)
        comps = instantiate(point, (anchor_name,) if anchor_name else (), K)
        step = Step("fixed point (closed form)", f"q* = {point} for every K",
                    ((f"Φ(q*) = q* for every K ({why})", how),)
                    + definedness(f, family.domain))
        return _exact(point, comps, subs, anc, K, values, note + (step,),
                      "closed form for every K", anchor_name, certified=True)
    # symbolic in the anchor and parameters up to K = 4; beyond, exact at the values
    exact_subs = {} if K <= 4 else subs
    af = affine_form(single, vectors, (students[0],), K, exact_subs)
    if af is not None:
        sol = affine_fixed_point(af)
        if sol is not None:
            Phi = [c.xreplace(exact_subs) for c in instantiate(single, vectors, K)]
            qs = components(students[0], K)
            ok = all(sp.simplify(c.xreplace(dict(zip(qs, sol))) - x) == 0
                     for c, x in zip(Phi, sol))
            step = Step("fixed point (linear solve)", f"(I − A) q* = b at K = {K}: q* = {sol}",
                        (("Φ(q*) = q*", "sympy: identity" if ok else "not verified"),))
            return _exact(sol, list(sol), subs, anc, K, values, note + (step,),
                          f"exact linear solve at K={K}", anchor_name, certified=ok)
    return _numeric(single, vectors, students[0], subs, anc, K, values, note, anchor_name)


def _exact(point, comps, subs, anc, K, values, steps, method, anchor_name, *,
           certified: bool) -> FixedPoint:
    at = [sp.simplify(c.xreplace(subs)) for c in comps]
    numeric = enclosure = dist = dist_enc = None
    with precision(128):
        try:
            balls = [arb_eval(c, {}) for c in at]
            numeric = tuple(float(b.mid()) for b in balls)
            enclosure = tuple(arb_interval(b) for b in balls)
            if anc is not None:
                d = _kl_ball(anc, balls)
                dist, dist_enc = float(d.mid()), arb_interval(d)
        except (ValueError, KeyError):
            pass
    fixed = None
    if anc is not None and all(x.is_number for x in at):
        fixed = all(sp.simplify(x - a) == 0 for x, a in zip(at, anc))
    dexpr = None
    if anchor_name and isinstance(point, sp.Basic) and not isinstance(point, tuple):
        p = sp.Symbol(anchor_name, positive=True)
        dexpr = sp.Integer(0) if point == p else vsum(p * sp.log(p / point))
    return FixedPoint(point, True, certified, dist, K, anc, dict(values), numeric, enclosure,
                      dist_enc, dexpr, fixed, method, steps)


def _kl_ball(anc, balls):
    import flint
    out = flint.arb(0)
    for a, q in zip(anc, balls):
        pa = to_arb(a)
        out = out + pa * (pa / q).log()
    return out


def _numeric(single, vectors, student, subs, anc, K, values, note, anchor_name) -> FixedPoint:
    qs = components(student, K)
    Phi = [sp.simplify(c.xreplace(subs)) for c in instantiate(single, vectors, K)]
    F = [c - x for c, x in zip(Phi, qs)]
    starts = ([np.array([float(a) for a in anc])] if anc else []) + [np.full(K, 1.0 / K)]
    x = _solve(Phi, qs, starts)
    if x is None:
        return FixedPoint(None, False, False, None, K, anc, dict(values), method="not located",
                          steps=note + (Step("fixed point (numeric)",
                                             "iteration and Newton's method did not converge"),))
    box = krawczyk(F, qs, x, {})
    numeric = tuple(float(v) for v in x)
    dist = dist_enc = enclosure = fixed = None
    with precision(128):
        balls = box if box is not None else None
        if balls is not None:
            enclosure = tuple(arb_interval(b) for b in balls)
            if anc is not None:
                d = _kl_ball(anc, balls)
                dist, dist_enc = float(d.mid()), arb_interval(d)
                fixed = False if any(not b.contains(to_arb(a)) for a, b in zip(anc, balls)) \
                    else None
    if dist is None and anc is not None:
        dist = float(sum(float(a) * np.log(float(a) / v) for a, v in zip(anc, x)))
    how = "Krawczyk: K(X) ⊂ int X (Arb balls)" if box is not None else "not certified"
    step = Step("fixed point (numeric)", f"q* ≈ {tuple(round(v, 12) for v in numeric)} at "
                f"K = {K}", (("Φ(q*) = q*, unique in the box", how),))
    return FixedPoint(numeric, False, box is not None, dist, K, anc, dict(values), numeric,
                      enclosure, dist_enc, None, fixed,
                      "numeric, certified by interval Newton" if box is not None else "numeric",
                      note + (step,))


def _solve(Phi, qs, starts):
    """Fixed-point iteration, then damped Newton on ``Φ(q) − q``; None if neither
    converges to a positive point."""
    f = sp.lambdify([list(qs)], Phi, "numpy")
    jac = sp.lambdify([list(qs)], sp.Matrix(Phi).jacobian(list(qs)), "numpy")
    K = len(qs)
    with np.errstate(all="ignore"):
        for x0 in starts:
            x = x0.copy()
            for _ in range(2000):
                y = np.asarray(f(x), dtype=float)
                if not np.all(np.isfinite(y)) or np.any(y <= 0):
                    break
                done = np.max(np.abs(y - x)) < 1e-15
                x = y
                if done:
                    break
            for _ in range(100):
                r = np.asarray(f(x), dtype=float) - x
                if not np.all(np.isfinite(r)):
                    break
                if np.max(np.abs(r)) < 1e-14:
                    return x
                try:
                    dx = np.linalg.solve(np.asarray(jac(x), dtype=float) - np.eye(K), -r)
                except np.linalg.LinAlgError:
                    break
                t = 1.0
                while t > 1e-6 and np.any(x + t * dx <= 0):
                    t /= 2
                x = x + t * dx
            r = np.asarray(f(x), dtype=float) - x
            if np.all(np.isfinite(r)) and np.max(np.abs(r)) < 1e-12 and np.all(x > 0):
                return x
    return None
