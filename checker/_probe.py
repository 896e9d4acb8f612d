"""The probe: the engine's first and cheapest stage, a quick seeded search for a
certified violation before any symbolic or solver work.

A claim is compiled to NumPy closures (:func:`._compiled.numeric`, no code
generation), one batch of :data:`ROWS` points is drawn (vectors by :func:`_vectors`,
a lean vectorised form of the numeric stage's mixture; parameters by
:func:`._sampling._sample_parameter` on the interval the domain's simple bounds give),
rows outside the domain are dropped, and the rows where an atom fails by the most are
made exact (:data:`LIMITS`: simple rationals first) and handed to
:func:`._certify.certify`.  The first certified point is shrunk (:mod:`._shrink`) and
returned as a refutation; otherwise the probe passes (``None``) and the engine goes on.

The probe never proves and never reports *unknown*: it only saves time on claims whose
violations are common.  It passes without searching on claims it does not take: a
domain with equations (solved by the numeric stage), node types the compiler does
not take, and exponents that would make exact evaluation large.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

from distillproof.axioms.claims import Claim
from distillproof.proofs.evidence import Refuted

from . import _compiled
from ._sampling import CONCENTRATIONS, FLOOR, _sample_parameter

__all__ = ["probe", "ROWS", "TRIES", "LIMITS"]

ROWS = 256                       # points drawn
TRIES = 4                        # violating rows made exact, largest margin first
LIMITS = (100, 10**6, None)      # denominator bounds tried (None: the float exactly)
MAX_EXPONENT = 10**4             # larger exact powers are not attempted
TOL = 1e-12                      # margins up to this are rounding


class _Plan:
    def __init__(self, claim: Claim):
        index = {s: i for i, s in enumerate(claim.symbols)}
        self.atoms = [(_compiled.numeric(a.expr, index), a.rel) for a in claim.atoms]
        self.domain = [_relation(r, index) for r in claim.domain]
        self.exponents = [_compiled.exact(x, index) for a in claim.atoms
                          for x in _compiled.symbolic_exponents(a.expr)]
        self.intervals = [_interval(s, claim.domain) for s in claim.parameters]


def _relation(rel, index):
    if isinstance(rel, sp.And):
        parts = [_relation(a, index) for a in rel.args]
        return lambda cols: np.logical_and.reduce([p(cols) for p in parts])
    ops = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}
    if not isinstance(rel, sp.core.relational.Relational) or rel.rel_op not in ops:
        raise _compiled.Unsupported(f"domain relation {type(rel).__name__}")
    diff, op = _compiled.numeric(rel.lhs - rel.rhs, index), ops[rel.rel_op]
    return lambda cols: op(diff(cols), 0.0)


def _interval(s: sp.Symbol, domain) -> tuple[float, float]:
    """Bounds from the sign assumptions and the relations ``s op number``."""
    lo = 0.0 if (s.is_positive or s.is_nonnegative) else -np.inf
    hi = 0.0 if (s.is_negative or s.is_nonpositive) else np.inf
    for r in domain:
        if not isinstance(r, sp.core.relational.Relational) or r.rel_op not in ("<", "<=", ">", ">="):
            continue
        if r.lhs == s and r.rhs.is_Rational:
            bound, upper = float(r.rhs), r.rel_op in ("<", "<=")
        elif r.rhs == s and r.lhs.is_Rational:
            bound, upper = float(r.lhs), r.rel_op in (">", ">=")
        else:
            continue
        hi, lo = (min(hi, bound), lo) if upper else (hi, max(lo, bound))
    return lo, hi


def _vectors(rng, n: int, k: int, earlier: np.ndarray | None) -> np.ndarray:
    """``n`` points of the open simplex, vectorised: Dirichlet at the concentrations of
    :data:`._sampling.CONCENTRATIONS` (spiky, uniform, central) row by row; a quarter of
    the rows pushed toward a face (components scaled by ``1e-7..1e-2``); with an earlier
    vector, a quarter mixed close to it (ratios near 1, where contraction is local)."""
    x = rng.standard_gamma(np.asarray(CONCENTRATIONS)[rng.integers(0, 3, (n, 1))], (n, k))
    u = rng.random((n, 3))
    face = (u[:, :1] < 0.25) & (rng.random((n, k)) < 0.5)
    x = np.where(face, x * 10.0 ** rng.uniform(-7, -2, (n, k)), x)
    x = np.maximum(x / x.sum(axis=1, keepdims=True), FLOOR)
    if earlier is not None:
        eps = 10.0 ** (-5 * u[:, 2:])
        x = np.where(u[:, 1:2] < 0.25, (1 - eps) * earlier + eps * x, x)
    return x / x.sum(axis=1, keepdims=True)


def _margins(plan: _Plan, cols, n: int) -> np.ndarray:
    """Per row, the largest amount by which an atom fails (``-inf``: none fails or
    the row is outside the domain)."""
    with np.errstate(all="ignore"):
        ok = np.ones(n, bool)
        for rel in plan.domain:
            ok &= np.broadcast_to(rel(cols), (n,))
        worst = np.full(n, -np.inf)
        for f, rel in plan.atoms:
            v = np.broadcast_to(np.asarray(f(cols), dtype=float), (n,))
            m = {"==": np.abs(v) - TOL, ">=": -v - TOL, ">": -v}[rel]
            if rel == ">":
                m = np.where(m >= 0, np.maximum(m, np.finfo(float).tiny), -np.inf)
            worst = np.maximum(worst, np.where(np.isfinite(v) & (m > 0), m, -np.inf))
    return np.where(ok, worst, -np.inf)


def _exact(claim: Claim, batch: dict, row: int, limit: int | None) -> dict | None:
    out = {}
    for name in claim.vectors:
        f = [_fraction(x, limit) for x in batch[name][row]]
        j = max(range(len(f)), key=lambda i: f[i])
        f[j] = 1 - (sum(f) - f[j])
        if any(x <= 0 for x in f):
            return None
        out[name] = tuple(f)
    for s in claim.parameters:
        out[s.name] = _fraction(batch[s.name][row], limit)
    return out


def _fraction(x: float, limit: int | None) -> Fraction:
    f = Fraction(float(x))
    return f if limit is None else f.limit_denominator(limit)


def _affordable(plan: _Plan, claim: Claim, values: dict) -> bool:
    import flint
    vals = [flint.fmpq(v.numerator, v.denominator) for name in claim.vectors for v in values[name]]
    vals += [flint.fmpq(values[s.name].numerator, values[s.name].denominator)
             for s in claim.parameters]
    for f in plan.exponents:
        try:
            v = f(vals)
        except _compiled.Undefined:
            return False
        if abs(v) > MAX_EXPONENT or v.q >= 2**62:
            return False
    return True


_PLANS: dict = {}


def _plan(claim: Claim) -> _Plan | None:
    key = (tuple(claim.vectors.items()), claim.parameters, claim.domain,
           tuple((a.expr, a.rel) for a in claim.atoms))
    if key not in _PLANS:
        if len(_PLANS) > 256:
            _PLANS.clear()
        try:
            if any(isinstance(r, (sp.Eq, sp.Ne)) for r in claim.domain):
                raise _compiled.Unsupported("equations in the domain")
            _PLANS[key] = _Plan(claim)
        except _compiled.Unsupported:
            _PLANS[key] = None
    return _PLANS[key]


def probe(claim: Claim, *, seed: int = 0, shrink: bool = True) -> Refuted | None:
    """A refutation with a certified (and, with ``shrink``, shrunk) witness, or
    ``None`` when the probe found nothing it could certify (see the module docstring)."""
    from ._certify import certify
    from ._shrink import shrink as shrunk
    plan = _plan(claim)
    if plan is None or not claim.atoms:
        return None
    rng = np.random.default_rng(seed)
    batch, cols, earlier = {}, [], None
    for name, comps in claim.vectors.items():
        x = earlier = _vectors(rng, ROWS, len(comps), earlier)
        batch[name] = x
        cols.extend(x.T)
    for s, (lo, hi) in zip(claim.parameters, plan.intervals):
        if not lo < hi:
            return None
        batch[s.name] = _sample_parameter(rng, ROWS, lo, hi)
        cols.append(batch[s.name])
    margins = _margins(plan, cols, ROWS)
    rows = [int(i) for i in np.argsort(-margins, kind="stable")[:TRIES] if margins[i] > -np.inf]
    for row in rows:
        for limit in LIMITS:
            values = _exact(claim, batch, row, limit)
            if values is None or not _affordable(plan, claim, values):
                continue
            witness = certify(claim, values)
            if witness is not None:
                if shrink:
                    witness = shrunk(claim, witness)
                how = "exact" if witness.certified_by == "exact" else "interval"
                return Refuted(method=f"numeric search + {how} certification", witness=witness)
    return None
