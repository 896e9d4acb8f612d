"""Witnessed lower bounds on contraction constants (THEORY §4): a concrete exact
point whose ratio is certified with interval arithmetic.

At a parameter point, the ratio of the constant ``kind`` - ``KL(p̄‖Φq)/KL(p̄‖q)``
(``kl_forward``), ``KL(Φq‖p̄)/KL(q‖p̄)`` (``kl_reverse``), ``KL(Φq‖Φr)/KL(q‖r)``
(``kl_pairwise``), the same with ``TV`` and Hilbert's ``d_H``; for a map of several
students the denominator is the max over the students - is maximised numerically:
a batch from the samplers of :mod:`._numeric` (Dirichlet, near a vertex or a face,
near the anchor and near the fixed point), the NumPy kernels of
:mod:`distillproof.axioms.divergences`, then vectorised hill-climbing of the best
dozen rows in centred-logit coordinates.  Float ratios whose denominator is below
``1e-7`` (KL) or ``1e-6`` are ignored as rounding noise.

The best point is made exact (4, then 8, then 17 significant digits, the largest
component absorbing the rest so that the sum is exactly 1); components below
``1e-4`` are then also pushed further toward the boundary (``×10^-6``, ``×10^-20``),
where many suprema live and floats cannot follow.  The ratio is rebuilt in SymPy,
evaluated at those rationals (:func:`._certify.substitute`, never a plain
``xreplace``) and enclosed with Arb balls (:func:`._certify.enclosure`); the lower
end of the enclosure, rounded down, is the reported bound.  Exact rational ratios
(``TV`` of a rational map) are reported exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import sympy as sp

from ..axioms import divergences as dv
from ..axioms.vector import components, instantiate
from ..proofs.evidence import rational_str
from ._certify import enclosure, substitute
from ._numeric import _sample_vector

__all__ = ["Lower", "witnessed_lower", "kinds_for", "problem", "default_classes", "local_estimate",
           "ALL_KINDS", "PAIRWISE", "DIVERGENCES"]

ALL_KINDS = ("kl_forward", "kl_reverse", "kl_pairwise", "local", "tv", "hilbert")
PAIRWISE = ("kl_pairwise", "tv", "hilbert")
DIVERGENCES = {"kl_forward": dv.kl, "kl_reverse": dv.kl, "kl_pairwise": dv.kl,
               "tv": dv.tv, "hilbert": dv.hilbert}
_DEN_MIN = {"kl_forward": 1e-7, "kl_reverse": 1e-7, "kl_pairwise": 1e-7, "tv": 1e-6,
            "hilbert": 1e-6}


def kinds_for(family) -> tuple[str, ...]:
    """The constant kinds that mean something for ``family``'s kind."""
    return {"meta-teacher": ALL_KINDS, "softening": ("kl_pairwise", "local", "tv", "hilbert")
            }.get(family.kind, ())


# --- the map at K classes, numeric and symbolic ------------------------------------
class _Problem:
    """``Φ`` at ``K`` classes: its inputs (anchor and teachers when they vary, then the
    students), components in their symbols, and a NumPy function of them."""

    def __init__(self, family, K: int):
        from ..proofs._view import map_view
        view = map_view(family)
        self.K, self.students = K, tuple(view.students)
        self.anchor = view.anchor
        fixed = dict(family.fixed)
        self.anchor_values = view.anchor_values or fixed.get(view.anchor or "")
        self.inputs = tuple(v for v in ((view.anchor,) if view.anchor else ()) + view.points
                            if v not in fixed and not (v == view.anchor and self.anchor_values))
        subs = {c: x for n, vals in fixed.items() if len(vals) == K
                for c, x in zip(components(n, K), vals)}
        if self.anchor_values:
            subs.update(zip(components(view.anchor, K), self.anchor_values))
        self.comps = [c.xreplace(subs) for c in instantiate(view.expr, view.vectors, K)]
        self.params = tuple(p.symbol for p in family.free_parameters)
        args = [s for v in self.inputs + self.students for s in components(v, K)]
        self.fn = sp.lambdify(args + list(self.params), self.comps, "numpy")
        self.primes = {s: _prime(s) for s in self.students}
        self._symbolic: dict = {}

    def anchored(self) -> bool:
        return self.anchor is not None

    def anchor_rows(self, batch, n):
        if self.anchor in self.inputs:
            return batch[self.anchor]
        return np.broadcast_to(np.array([float(a) for a in self.anchor_values]), (n, self.K))

    def phi(self, batch, pv, students=None):
        n = len(next(iter(batch.values())))
        cols = [batch[v][:, i] for v in self.inputs + tuple(students or self.students)
                for i in range(self.K)]
        with np.errstate(all="ignore"):
            out = self.fn(*cols, *[pv[s.name] for s in self.params])
        return np.stack([np.broadcast_to(np.asarray(o, dtype=float), (n,)) for o in out],
                        axis=1)

    def ratios(self, kind, batch, pv):
        n = len(next(iter(batch.values())))
        m, f = self.phi(batch, pv), DIVERGENCES[kind]
        if kind in ("kl_forward", "kl_reverse"):
            a = self.anchor_rows(batch, n)
            pair = (lambda x: (a, x)) if kind == "kl_forward" else (lambda x: (x, a))
            num = f(*pair(m))
            den = np.max([f(*pair(batch[s])) for s in self.students], axis=0)
        else:
            m2 = self.phi(batch, pv, [self.primes[s] for s in self.students])
            num = f(m, m2)
            den = np.max([f(batch[s], batch[self.primes[s]]) for s in self.students], axis=0)
        with np.errstate(all="ignore"):
            r = num / den
        return np.where((den > _DEN_MIN[kind]) & np.isfinite(r), r, -np.inf)

    def symbolic(self, kind):
        """``(numerator, denominator)`` of the ratio as SymPy in the input components."""
        if kind not in self._symbolic:
            K, m = self.K, self.comps
            q = {s: list(components(s, K)) for s in self.students}
            if kind in ("kl_forward", "kl_reverse"):
                a = list(components(self.anchor, K)) if self.anchor in self.inputs else \
                    list(self.anchor_values)
                pair = (lambda x: (a, x)) if kind == "kl_forward" else (lambda x: (x, a))
                num, dens = _kl_s(*pair(m)), [_kl_s(*pair(q[s])) for s in self.students]
            else:
                f = {"kl_pairwise": _kl_s, "tv": _tv_s, "hilbert": _dh_s}[kind]
                r = {s: list(components(self.primes[s], K)) for s in self.students}
                m2 = [c.xreplace({x: y for s in self.students for x, y in zip(q[s], r[s])})
                      for c in m]
                num, dens = f(m, m2), [f(q[s], r[s]) for s in self.students]
            den = dens[0] if len(dens) == 1 else sp.Max(*dens, evaluate=False)
            self._symbolic[kind] = (num, den)
        return self._symbolic[kind]


def _prime(name: str) -> str:
    return {"q": "r", "x": "y"}.get(name, "r" + name[1:])


def _kl_s(a, b):
    return sp.Add(*[x * sp.log(x / y) for x, y in zip(a, b)])


def _tv_s(a, b):
    return sp.Rational(1, 2) * sp.Add(*[sp.Abs(x - y) for x, y in zip(a, b)])


def _dh_s(a, b):
    logs = [sp.log(x / y) for x, y in zip(a, b)]
    return sp.Max(*logs, evaluate=False) - sp.Min(*logs, evaluate=False)


_PROBLEMS: dict = {}
_LOWERS: dict = {}


def _key(family):
    try:
        hash(family)
        return family
    except TypeError:
        return id(family)


def problem(family, K) -> _Problem:
    key = (_key(family), K)
    if key not in _PROBLEMS:
        if len(_PROBLEMS) > 64:
            _PROBLEMS.clear()
        _PROBLEMS[key] = _Problem(family, K)
    return _PROBLEMS[key]


# --- the witnessed lower bound ------------------------------------------------------
@dataclass(frozen=True)
class Lower:
    """A certified lower bound on the constant ``kind``: the ratio at the exact point
    ``witness`` lies in ``enclosure``, whose lower end is ``low`` (``value`` is ``low``
    as text).  ``estimate``: the float optimum of the search."""
    kind: str
    low: Fraction
    value: str
    enclosure: str
    witness: dict
    certified_by: str
    classes: int
    estimate: float

    def to_json(self) -> dict:
        w = {k: [rational_str(x) for x in v] if isinstance(v, tuple) else rational_str(v)
             for k, v in self.witness.items()}
        return {"value": self.value, "witness": w, "certified_by": self.certified_by,
                "enclosure": self.enclosure, "classes": self.classes,
                "estimate": f"{self.estimate:.12g}"}


def default_classes(family, settings=None) -> int:
    from ..proofs._view import kernel_classes, map_view
    kc = kernel_classes(map_view(family).expr)
    if kc:
        return kc
    ks = (getattr(settings, "classes", None) or family.classes)
    return min(max(ks), 4)


def witnessed_lower(family, kind, point, *, classes=None, seed=0, samples=2000,
                    near=()) -> Lower | None:
    """The certified lower bound of the module docstring at the parameter ``point``
    (all parameters, exact), or None when the ratio is not defined for the family or
    no candidate certifies.  ``near``: extra float points to start near (a fixed
    point).  Deterministic in ``seed``; cached."""
    K = classes or default_classes(family)
    key = (_key(family), kind, tuple(sorted(point.items())), K, seed, samples,
           tuple(tuple(x) for x in near))
    if key not in _LOWERS:
        if len(_LOWERS) > 512:
            _LOWERS.clear()
        try:
            _LOWERS[key] = _search(family, kind, point, K, seed, samples, near)
        except (ArithmeticError, ValueError, TypeError, NotImplementedError):
            _LOWERS[key] = None           # a map NumPy or Arb cannot evaluate: no witness
    return _LOWERS[key]


def _search(family, kind, point, K, seed, samples, near):
    if kind not in kinds_for(family) or kind == "local" or family.kind == "aggregation":
        return None
    prob = problem(family, K)
    if kind in ("kl_forward", "kl_reverse") and not prob.anchored():
        return None
    pv = {s.name: float(point[s.name]) for s in prob.params}
    rng = np.random.default_rng([seed, K, ALL_KINDS.index(kind)])
    n = int(min(max(samples, 400), 4000))
    batch, earlier = {}, []
    for v in prob.inputs:
        batch[v] = _sample_vector(rng, n, K, [])
        earlier.append(batch[v])
    if prob.anchor_values:
        earlier.append(prob.anchor_rows(batch, n).copy())
    earlier += [np.tile(np.asarray(x, float), (n, 1)) for x in near]
    for s in prob.students:
        batch[s] = _sample_vector(rng, n, K, list(earlier))
        earlier.append(batch[s])
    if kind in PAIRWISE:
        for s in prob.students:
            batch[prob.primes[s]] = _sample_vector(rng, n, K, [batch[s]])
    r = prob.ratios(kind, batch, pv)
    top = [i for i in np.argsort(-r, kind="stable")[:12] if np.isfinite(r[i])]
    if not top:
        return None
    start = {k: v[top].copy() for k, v in batch.items()}
    start, best = _climb(prob, kind, start, pv, rng)
    order = np.argsort(-best, kind="stable")
    for i in order[:3]:
        found = _certify_row(prob, kind, {k: v[i] for k, v in start.items()}, point, pv,
                             float(best[i]))
        if found is not None:
            return found
    return None


def _climb(prob, kind, batch, pv, rng, steps=30, width=12):
    """Greedy hill-climbing of the ratio, all rows at once, in centred logits."""
    best = prob.ratios(kind, batch, pv)
    m = len(best)
    for step in range(steps):
        sigma = 0.7 * (1e-4 / 0.7) ** (step / (steps - 1))
        trial = {}
        for k, v in batch.items():
            z = np.log(np.repeat(v, width, axis=0))
            z = z + sigma * rng.standard_normal(z.shape) * (rng.random((len(z), 1)) < 0.8)
            e = np.maximum(np.exp(z - z.max(axis=1, keepdims=True)), 1e-15)
            trial[k] = e / e.sum(axis=1, keepdims=True)
        r = prob.ratios(kind, trial, pv).reshape(m, width)
        j = r.argmax(axis=1)
        top = r[np.arange(m), j]
        up = np.flatnonzero(top > best)
        for k in batch:
            batch[k][up] = trial[k][up * width + j[up]]
        best[up] = top[up]
    return batch, best


def _exact_vector(x, digits) -> tuple[Fraction, ...] | None:
    fr = [Fraction(f"{float(v):.{digits - 1}e}") for v in x]
    i = int(np.argmax(x))
    fr[i] = 1 - (sum(fr) - fr[i])
    return tuple(fr) if all(f > 0 for f in fr) else None


def _pushed(vec: tuple, power: int) -> tuple | None:
    """Components below ``1e-4`` scaled by ``10**-power`` (the largest absorbs the rest)."""
    small = [f < Fraction(1, 10**4) for f in vec]
    if not any(small):
        return None
    out = [f / 10**power if s else f for f, s in zip(vec, small)]
    i = max(range(len(vec)), key=lambda j: vec[j])
    out[i] = 1 - (sum(out) - out[i])
    return tuple(out) if all(f > 0 for f in out) else None


def _certify_row(prob, kind, row, point, pv, estimate) -> Lower | None:
    names = list(row)
    options = []
    for digits in (4, 8, 17):
        exact = {k: _exact_vector(row[k], digits) for k in names}
        if all(v is not None for v in exact.values()):
            options.append(exact)
    if not options:
        return None
    vals = prob.ratios(kind, {k: np.array([[float(x) for x in o[k]] for o in options])
                              for k in names}, pv)
    good = [o for o, v in zip(options, vals) if v >= estimate - 1e-7 * max(1, abs(estimate))]
    chosen = good[0] if good else options[int(np.argmax(vals))]
    best = _certify_exact(prob, kind, chosen, point, estimate)
    for power in (6, 20):
        pushed = {k: _pushed(v, power) or v for k, v in chosen.items()}
        if pushed != chosen:
            cand = _certify_exact(prob, kind, pushed, point, estimate)
            if cand is not None and (best is None or cand.low > best.low * (1 + Fraction(1, 10**9))
                                     + Fraction(1, 10**30)):
                best = cand
    return best


def _certify_exact(prob, kind, exact, point, estimate) -> Lower | None:
    """Arb enclosure of the ratio at the exact point (``exact`` vectors, ``point``)."""
    num, den = prob.symbolic(kind)
    subs = {s: sp.Rational(point[s.name]) for s in prob.params}
    for name, vec in exact.items():
        subs.update({c: sp.Rational(x.numerator, x.denominator)
                     for c, x in zip(components(name, prob.K), vec)})
    n, d = substitute(num, subs), substitute(den, subs)
    witness = dict(exact, **{s.name: Fraction(str(point[s.name])) for s in prob.params})
    if n.is_Rational and d.is_Rational:
        if d <= 0:
            return None
        r = Fraction(int(n.p), int(n.q)) / Fraction(int(d.p), int(d.q))
        return Lower(kind, r, rational_str(r), rational_str(r), witness, "exact", prob.K,
                     estimate)
    for prec in (128, 256, 1024):
        bn, bd = enclosure(n, prec), enclosure(d, prec)
        if bn is None or bd is None or not bd > 0:
            continue
        ball = bn / bd
        if ball.is_finite() and float(ball.rad()) <= 1e-15 * abs(float(ball.mid())) + 1e-40:
            low = _fraction(ball.lower())
            return Lower(kind, low, _down(low), str(ball), witness, "interval", prob.K,
                         estimate)
    return None


def _fraction(x) -> Fraction:
    m, e = x.mid().man_exp()
    return Fraction(int(m)) * (Fraction(2) ** int(e))


def _down(x: Fraction, digits: int = 15) -> str:
    """``x`` rounded down to ``digits`` significant digits, as decimal text."""
    if x == 0:
        return "0"
    e = math.floor(math.log10(abs(float(x)))) if float(x) != 0 else -300
    shift = digits - 1 - e
    n = math.floor(x * Fraction(10) ** shift)
    d = Decimal(n).scaleb(-shift)
    return format(d, "f") if -5 <= e < 7 else format(d, "e")




def local_estimate(family, fixed, point, K) -> float | None:
    """``ρ(DΦ(q*)|_{Σv=0})²`` from a central-difference Jacobian at the float fixed point
    ``fixed`` (one student; the anchor at its default): a numeric estimate only."""
    from ..proofs.fixed_point import default_anchor
    prob = problem(family, K)
    if len(prob.students) != 1:
        return None
    pv = {s.name: float(point[s.name]) for s in prob.params}
    anchor = [float(a) for a in (prob.anchor_values or default_anchor(K))]
    x, h = np.asarray(fixed, float), 1e-6
    batch = {v: np.tile(anchor, (2 * K, 1)) for v in prob.inputs}
    steps = np.vstack([x + h * e for e in np.eye(K)] + [x - h * e for e in np.eye(K)])
    batch[prob.students[0]] = steps
    out = prob.phi(batch, pv)
    J = ((out[:K] - out[K:]) / (2 * h)).T
    B = np.vstack([np.eye(K - 1), -np.ones((1, K - 1))])
    M = np.linalg.pinv(B) @ J @ B
    return float(np.max(np.abs(np.linalg.eigvals(M))) ** 2) if np.all(np.isfinite(M)) else None
