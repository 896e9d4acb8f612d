"""The probe: the engine's first and cheapest stage, a quick seeded search for a
certified violation before any symbolic or solver work.

A claim is compiled to NumPy steps (:mod:`._compiled`, shared with certification; no
code generation) and a small batch of points is drawn (:data:`ROWS`; :func:`_draw`, a
lean vectorised form of the numeric stage's samplers, parameters on the interval the
domain's simple bounds give).  Rows outside the domain are dropped, and the rows
where an atom fails by the most are made exact (:data:`LIMITS`: three significant
digits first, see :func:`_exact`) and handed to :func:`._certify.certify`; if none
certifies, a larger batch follows.  The first certified point is shrunk
(:mod:`._shrink`) and returned as a refutation; otherwise the probe passes (``None``)
and the engine goes on.

The probe never proves and never reports *unknown*: it only saves time on claims whose
violations are common.  It passes without searching on claims it does not take: a
domain with equations (solved by the numeric stage), node types the compiler does
not take, and exponents that would make exact evaluation large.
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import reduce

import numpy as np
import sympy as sp

from distillproof.axioms.claims import Claim
from distillproof.proofs.evidence import Refuted

from . import _compiled
from ._sampling import FLOOR, _sample_parameter

__all__ = ["probe", "ROWS", "TRIES", "LIMITS"]

ROWS = (64, 448)                 # points drawn: a small batch, then (if needed) a larger one
TRIES = 4                        # violating rows made exact, largest margin first
LIMITS = (3, 6, None)            # significant digits tried (None: the float exactly)
MAX_EXPONENT = 10**4             # larger exact powers are not attempted
TOL = 1e-12                      # margins up to this are rounding


class _Plan:
    def __init__(self, claim: Claim):
        structure = _compiled.structure_of(claim)
        exprs: list = []
        self.domain = [_relation(r, exprs) for r in claim.domain]
        self.sides = len(exprs)
        self.rels = [a.rel for a in claim.atoms]
        exprs += [a.expr for a in claim.atoms]
        roots = [structure.add(e) for e in exprs]
        self.run = structure.program(roots, "numeric")
        exponents = sorted({structure.steps[j][2][1] for j in structure.needed(roots)
                            if structure.steps[j][0] in ("pow_sym", "pow_real")})
        self.exponents = structure.program(exponents, "exact")
        self.intervals = [_interval(s, claim.domain) for s in claim.parameters]


_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
        "!=": lambda v, z: np.isfinite(v) & np.not_equal(v, z)}     # NaN != 0 is not "holds"


def _relation(rel, exprs: list):
    """``values -> bool`` rows where ``rel`` holds (inequalities, ``!=``, ``And``,
    ``Or``, ``true``; an undefined side never holds), its sides appended to ``exprs``.
    Equations are not taken (the numeric stage solves them)."""
    if rel is sp.true or rel is True:
        return lambda values: True
    if isinstance(rel, (sp.And, sp.Or)):
        parts = [_relation(a, exprs) for a in rel.args]
        join = np.logical_and if isinstance(rel, sp.And) else np.logical_or
        return lambda values: reduce(join, [p(values) for p in parts])
    if not isinstance(rel, sp.core.relational.Relational) or rel.rel_op not in _OPS:
        raise _compiled.Unsupported(f"domain relation {type(rel).__name__}")
    at, test = len(exprs), _OPS[rel.rel_op]
    exprs.append(_compiled.difference(rel))
    return lambda values: test(values[at], 0.0)


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


def _draw(rng, claim: Claim, intervals, n: int) -> dict:
    """``n`` rows of every vector and parameter, vectorised with two draws in all.

    Vectors: normalised powers ``E^s`` of exponential draws, ``s`` = 5, 1, 0.2 row by row
    (spiky; uniform, i.e. Dirichlet(1); central); a quarter of the rows pushed toward a
    face (components scaled by ``1e-7..1e-2``); after the first vector of the same
    size, a quarter of the rows mixed close to the previous one (ratios near 1, where
    contraction is local).  Parameters on a bounded interval: uniform (45%), within
    ``1e-7..1e-1`` (relative) of either end (15% each), a simple rational ``lo + (hi -
    lo) m/d``, ``d <= 12`` (25%); on an unbounded one, :func:`._sampling._sample_parameter`.
    """
    sizes = [len(c) for c in claim.vectors.values()]
    total = sum(sizes)
    e = rng.standard_exponential((n, total))
    u = rng.random((n, total + 4 * len(sizes) + 3 * len(intervals)))
    out, at, extra, earlier = {}, 0, total, None
    for name, k in zip(claim.vectors, sizes):
        c, (pick, face, near, eps) = u[:, at:at + k], u[:, extra:extra + 4].T
        x = e[:, at:at + k] ** _SPREAD[(3 * pick).astype(np.intp)][:, None]
        hit = (face < 0.25)[:, None] & (c < 0.5)              # then 10 c - 7 is in [-7, -2)
        x = np.where(hit, x * 10.0 ** (10 * c - 7), x)
        x = np.maximum(x / x.sum(axis=1, keepdims=True), FLOOR)
        if earlier is not None and earlier.shape[1] == k:
            w = 10.0 ** (-5 * eps)[:, None]
            x = np.where((near < 0.25)[:, None], (1 - w) * earlier + w * x, x)
        out[name] = earlier = x / x.sum(axis=1, keepdims=True)
        at, extra = at + k, extra + 4
    for s, (lo, hi) in zip(claim.parameters, intervals):
        kind, pos, den = u[:, extra:extra + 3].T
        extra += 3
        if not (np.isfinite(lo) and np.isfinite(hi)):
            out[s.name] = _sample_parameter(rng, n, lo, hi)
            continue
        width, d = hi - lo, np.floor(12 * den) + 1
        near = width * 10.0 ** (6 * pos - 7)
        simple = lo + width * np.floor(pos * (d + 1)) / d
        out[s.name] = np.where(kind < 0.45, lo + width * pos, np.where(
            kind < 0.6, lo + near, np.where(kind < 0.75, hi - near, simple)))
    return out


_SPREAD = np.array([5.0, 1.0, 0.2])


def _margins(plan: _Plan, cols, n: int) -> np.ndarray:
    """Per row, the largest amount by which an atom fails (``-inf``: none fails or
    the row is outside the domain)."""
    with np.errstate(all="ignore"):
        values = plan.run(cols)
        ok = np.ones(n, bool)
        for holds in plan.domain:
            ok &= np.broadcast_to(holds(values), (n,))
        worst = np.full(n, -np.inf)
        for v, rel in zip(values[plan.sides:], plan.rels):
            v = np.broadcast_to(np.asarray(v, dtype=float), (n,))
            m = {"==": np.abs(v) - TOL, ">=": -v - TOL, ">": -v}[rel]
            if rel == ">":
                m = np.where(m >= 0, np.maximum(m, np.finfo(float).tiny), -np.inf)
            worst = np.maximum(worst, np.where(np.isfinite(v) & (m > 0), m, -np.inf))
    return np.where(ok, worst, -np.inf)


def _exact(claim: Claim, batch: dict, row: int, digits: int | None) -> dict | None:
    """The row made exact: vector components rounded to ``digits`` significant decimal
    digits (the largest fixed up so the sum is exactly 1), parameters to the nearest
    fraction with denominator at most 100 when the float is one (first level: the
    samplers draw simple rationals), else to ``digits`` digits;
    ``None`` (the float exactly) at the last level."""
    out = {}
    for name in claim.vectors:
        f = [_decimal(x, digits) for x in batch[name][row].tolist()]
        j = max(range(len(f)), key=lambda i: f[i])
        f[j] = 1 - (sum(f) - f[j])
        if any(x <= 0 for x in f):
            return None
        out[name] = tuple(f)
    for s in claim.parameters:
        x = float(batch[s.name][row])
        simple = Fraction(x).limit_denominator(100) if digits == LIMITS[0] else None
        out[s.name] = (simple if simple is not None and abs(simple - x) <= 1e-12 * abs(x)
                       else _decimal(x, digits))
    return out


def _decimal(x: float, digits: int | None) -> Fraction:
    if digits is None or x == 0 or not math.isfinite(x):
        return Fraction(x)
    e = math.floor(math.log10(abs(x))) - digits + 1
    m = round(x / 10.0 ** e)
    return Fraction(m, 10 ** -e) if e < 0 else Fraction(m * 10 ** e)


def _affordable(plan: _Plan, claim: Claim, values: dict) -> bool:
    import flint
    vals = [flint.fmpq(v.numerator, v.denominator) for name in claim.vectors for v in values[name]]
    vals += [flint.fmpq(values[s.name].numerator, values[s.name].denominator)
             for s in claim.parameters]
    try:
        exponents = plan.exponents(vals)
    except _compiled.Undefined:
        return False
    return all(abs(v) <= MAX_EXPONENT and v.q < 2**62 for v in exponents)


_PLANS: dict = {}


def _plan(claim: Claim) -> _Plan | None:
    key = _compiled.claim_key(claim)
    if key not in _PLANS:
        if len(_PLANS) > 256:
            _PLANS.clear()
        try:
            if any(isinstance(r, sp.Basic) and r.has(sp.Eq) for r in claim.domain):
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
    if any(not lo < hi for lo, hi in plan.intervals):
        return None
    rng = np.random.default_rng(seed)
    for n in ROWS:
        witness = _search(plan, claim, _draw(rng, claim, plan.intervals, n), n, certify)
        if witness is not None:
            if shrink:
                witness = shrunk(claim, witness)
            how = "exact" if witness.certified_by == "exact" else "interval"
            return Refuted(method=f"numeric search + {how} certification", witness=witness)
    return None


def _search(plan: _Plan, claim: Claim, batch: dict, n: int, certify):
    """The first certified witness among the :data:`TRIES` rows of ``batch`` where an
    atom fails by the most, each made exact at every level of :data:`LIMITS`."""
    cols = [c for name in claim.vectors for c in batch[name].T]
    cols += [batch[s.name] for s in claim.parameters]
    margins = _margins(plan, cols, n)
    for row in np.argsort(-margins, kind="stable")[:TRIES].tolist():
        if margins[row] == -np.inf:
            break
        for limit in LIMITS:
            values = _exact(claim, batch, row, limit)
            if values is not None and _affordable(plan, claim, values):
                witness = certify(claim, values)
                if witness is not None:
                    return witness
    return None
