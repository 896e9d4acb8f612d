"""The numeric stage: search for violations of a claim, then certify the best ones.

A :class:`~distillproof.axioms.claims.Claim` says: for all vectors in the open simplex
and parameters in ``domain``, every atom ``e rel 0`` holds.  An atom's *margin* is the
amount by which it fails — ``==``: ``|e|``; ``>=``, ``>``: ``-e`` — so ``==``/``>=`` fail
where it is ``> 0`` (beyond :data:`TOL`, rounding) and ``>`` where it is ``>= 0``.  A
NaN or infinite value (``e`` undefined, or at a singularity such as ``log 0``) makes the
margin ``-inf``: an undefined atom is never a violation (as in :mod:`._certify`).
Numeric search never proves (THEORY.md §7).

Compilation (:func:`compile_claim`): atoms and domain relations lambdified to NumPy;
equalities are *solved* (first solution of ``sympy.solve`` for the last parameter, else
the last vector component, of each): ``w1 + w2 == 1`` sets ``w2 = 1 - w1``; ``x_0 ==
x_1`` sets ``x_1 = x_0`` before renormalising (homogeneous equalities survive it).

Sampling (:func:`sample_points`, seeded): the samplers of :mod:`._sampling`
(Dirichlet at several concentrations, near vertices and faces, near earlier vectors or
a given fixed point); rows are filtered by the whole domain, vectorised (equalities to
``1e-9`` relative).

Search (:func:`search`): the best rows are climbed by rounds of Gaussian steps in
unconstrained coordinates (centred logits of vectors, so they stay in the simplex; a
parameter's logit in its interval, log-distance to a half-line's end, ``asinh`` on the
line), the step shrinking from 0.5 to 1e-4; a trial is kept only if it raises the margin.

Certification (:func:`refute_numeric`): a candidate is pulled toward the centre while
it keeps a robust margin (large margins sit near singularities; simple points certify
and shrink well), made exact for each bound ``D`` of :data:`LADDER` by
:func:`rationalize` and handed to :func:`._certify.certify`; the first certified witness
is shrunk by :func:`._shrink.shrink`.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np
import sympy as sp

from distillproof.axioms.claims import Claim
from distillproof.proofs.evidence import Evidence, Refuted, Unknown

from ._sampling import (CONCENTRATIONS, FLOOR, Batch, _admissible, _columns,  # noqa: F401
                        _complete, _draw, _finish, _sample_parameter, _sample_vector, _size,
                        _values, sample_points)

__all__ = ["Compiled", "Candidate", "compile_claim", "sample_points", "violation_margins",
           "search", "rationalize", "refute_numeric", "TOL", "FLOOR", "LADDER"]

TOL = 1e-12                                  # ==/>= margins up to this are rounding
LADDER = (100, 10**6, 10**9, 10**12, None)   # denominator bounds tried (None: exact float)
MAX_EXPONENT = 10**4                         # larger exact powers are not attempted


# --- compilation ------------------------------------------------------------------
@dataclass(frozen=True)
class Compiled:
    """A claim made numeric: vectorised atoms and domain checks, parameter intervals,
    and the domain's equations solved (``(symbol, exact expression, function)``)."""
    claim: Claim
    atoms: tuple[Callable, ...]
    domain: tuple[Callable, ...]
    intervals: dict[str, tuple[float, float]]
    free: tuple[str, ...]                    # parameters sampled (not solved for)
    solved: tuple[tuple[sp.Symbol, sp.Expr, Callable], ...]
    owner: dict[sp.Symbol, tuple[str, int]]  # vector component -> (vector, index)
    exponents: tuple[sp.Expr, ...]           # non-constant exponents (see _affordable)


_CACHE: dict = {}


def compile_claim(claim: Claim) -> Compiled:
    """Lambdify (NumPy) every atom and domain relation over ``claim.symbols``, cached
    per claim.  The expressions are SymPy trees from the project's own parser and
    catalogue, never raw text."""
    key = (tuple(claim.vectors.items()), claim.parameters, claim.domain,
           tuple((a.expr, a.rel) for a in claim.atoms))
    if key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = _compile(claim)
    return _CACHE[key]


def _compile(claim: Claim) -> Compiled:
    symbols = tuple(claim.symbols)
    fn = lambda e: sp.lambdify(symbols, e, modules="numpy")
    rels = _conjuncts(claim.domain)
    signs = {"positive": sp.Gt, "nonnegative": sp.Ge, "negative": sp.Lt, "nonpositive": sp.Le}
    assumed = [op(s, 0, evaluate=False) for s in claim.parameters
               for name, op in signs.items() if getattr(s, f"is_{name}") is True]
    solution = _solve_equalities(claim, rels)
    powers = {w.exp for x in [a.expr for a in claim.atoms] + rels if isinstance(x, sp.Basic)
              for w in x.atoms(sp.Pow) if w.exp.free_symbols}
    return Compiled(
        claim=claim, atoms=tuple(fn(a.expr) for a in claim.atoms),
        domain=tuple(_relation_fn(r, fn) for r in rels + assumed),
        intervals={s.name: _interval(s, rels) for s in claim.parameters},
        free=tuple(s.name for s in claim.parameters if s not in solution),
        solved=tuple((s, e, fn(e)) for s, e in solution.items()),
        owner={s: (name, i) for name, comps in claim.vectors.items() for i, s in enumerate(comps)},
        exponents=tuple(sorted(powers, key=sp.default_sort_key)))


def _conjuncts(rels) -> list:
    out = []
    for r in rels:
        out.extend(_conjuncts(r.args) if isinstance(r, sp.And) else [r])
    return out


def _relation_fn(rel, fn) -> Callable:
    """``(cols, n) -> bool[n]``: where ``rel`` holds; an undefined side never holds."""
    if rel in (sp.true, sp.false, True, False):
        return lambda cols, n, v=bool(rel): np.full(n, v)
    if isinstance(rel, (sp.And, sp.Or)):
        parts = [_relation_fn(a, fn) for a in rel.args]
        join = np.logical_and if isinstance(rel, sp.And) else np.logical_or
        return lambda cols, n: join.reduce([p(cols, n) for p in parts])
    if isinstance(rel, sp.Not) and not isinstance(sp.to_nnf(rel), sp.Not):
        return _relation_fn(sp.to_nnf(rel), fn)     # Not(x < 1) -> x >= 1: False on NaN
    if isinstance(rel, (sp.Eq, sp.Ne)):
        lhs, rhs, eq = fn(rel.lhs), fn(rel.rhs), isinstance(rel, sp.Eq)

        def check(cols, n):
            a, b = _values(lhs, cols, n), _values(rhs, cols, n)
            close = np.abs(a - b) <= 1e-9 * (1 + np.abs(a) + np.abs(b))
            return close if eq else np.isfinite(a - b) & ~close
        return check
    if isinstance(rel, sp.core.relational.Relational):
        diff = fn(rel.lhs - rel.rhs)
        test = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[rel.rel_op]
        return lambda cols, n: test(_values(diff, cols, n), 0.0)
    whole = fn(rel)
    return lambda cols, n: np.broadcast_to(np.asarray(whole(*cols), dtype=bool), (n,))


def _interval(s: sp.Symbol, rels) -> tuple[float, float]:
    """The hull allowed by ``s``'s sign assumptions and the domain's relations that are
    linear in ``s`` alone (other relations are left to the row filter)."""
    lo = 0.0 if (s.is_positive or s.is_nonnegative) else -np.inf
    hi = 0.0 if (s.is_negative or s.is_nonpositive) else np.inf
    for r in rels:
        if (not isinstance(r, sp.core.relational.Relational) or isinstance(r, (sp.Eq, sp.Ne))
                or r.free_symbols != {s}):
            continue
        try:
            poly = sp.Poly(sp.expand(r.lhs - r.rhs), s)      # poly rel 0
        except sp.PolynomialError:
            continue
        if poly.degree() == 1:
            a, b = (float(c) for c in poly.all_coeffs())
            if (r.rel_op in ("<", "<=")) == (a > 0):
                hi = min(hi, -b / a)
            else:
                lo = max(lo, -b / a)
    return lo, hi


def _solve_equalities(claim: Claim, rels) -> dict:
    """``{symbol: expression}`` solving the domain's equations, one symbol each (the last
    parameter in it, else its last vector component); the first solution if several."""
    eqs, targets = [r for r in rels if isinstance(r, sp.Eq)], []
    for eq in eqs:
        free = [s for s in claim.symbols if s in eq.free_symbols and s not in targets]
        params = [s for s in free if s in claim.parameters]
        if free:
            targets.append(params[-1] if params else free[-1])
    try:
        sols = sp.solve(eqs, targets, dict=True) if targets else []
    except (NotImplementedError, ValueError, TypeError):
        return {}
    sols = [s for s in sols if set(s) == set(targets)
            and not any(t in e.free_symbols for e in s.values() for t in targets)]
    return sols[0] if sols else {}


# --- margins and search ------------------------------------------------------------
def violation_margins(compiled: Compiled, batch: Batch) -> np.ndarray:
    """``(n, atoms)`` margins (module docstring); ``-inf`` where an atom is undefined."""
    n = _size(batch)
    cols = _columns(compiled, batch)
    out = np.empty((n, len(compiled.atoms)))
    for j, (f, atom) in enumerate(zip(compiled.atoms, compiled.claim.atoms)):
        v = _values(f, cols, n)
        out[:, j] = np.abs(v) if atom.rel == "==" else -v
    out[~np.isfinite(out)] = -np.inf
    return out


@dataclass(frozen=True)
class Candidate:
    """A float point (vector -> tuple, parameter -> float) and its worst atom."""
    values: dict[str, tuple[float, ...] | float]
    margin: float
    atom: str                                # the atom's label
    rel: str

    @property
    def violating(self) -> bool:
        return self.margin >= 0 if self.rel == ">" else self.margin > TOL


def _row_margins(c: Compiled, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Worst margin per row (``-inf`` outside the domain) and the atom attaining it."""
    n = _size(batch)
    if not c.atoms:
        return np.full(n, -np.inf), np.zeros(n, int)
    m = violation_margins(c, batch)
    best = m.max(axis=1)
    best[~_admissible(c, batch)] = -np.inf
    return best, m.argmax(axis=1)


def _warp(lo: float, hi: float):
    """``(to, back)``: a parameter's interval onto the line, its centre to 0 — logit of
    the place in a bounded interval, log-distance to a half-line's end, ``asinh``."""
    if np.isfinite(lo) and np.isfinite(hi):
        def to(x):
            t = np.clip((x - lo) / (hi - lo), 1e-15, 1 - 1e-15)
            return np.log(t / (1 - t))
        return to, lambda u: lo + (hi - lo) / (1 + np.exp(-u))
    if np.isfinite(lo):
        return lambda x: np.log(np.maximum(x - lo, 1e-300)), lambda u: lo + np.exp(u)
    if np.isfinite(hi):
        return lambda x: np.log(np.maximum(hi - x, 1e-300)), lambda u: hi - np.exp(u)
    return np.arcsinh, np.sinh


def _to_coords(c: Compiled, batch: Batch, params=None) -> Batch:
    """Unconstrained coordinates of the vectors (centred logits) and free parameters
    (:func:`_warp`), or of ``params`` only; the origin is the centre."""
    out = {}
    with np.errstate(all="ignore"):
        for name in c.claim.vectors if params is None else ():
            z = np.log(batch[name])
            out[name] = z - z.mean(axis=1, keepdims=True)
        for name in c.free if params is None else params:
            out[name] = _warp(*c.intervals[name])[0](batch[name])
    return out


def _from_coords(c: Compiled, coords: Batch) -> Batch:
    out, n = {}, _size(coords)
    with np.errstate(all="ignore"):
        for name in c.claim.vectors:
            z = coords[name]
            out[name] = _finish(np.exp(z - z.max(axis=1, keepdims=True)), 1e-12)
        for name in c.free:
            out[name] = _warp(*c.intervals[name])[1](coords[name])
    out.update({s.name: np.zeros(n) for s in c.claim.parameters if s.name not in c.free})
    return _complete(c, out)


def _refine(c: Compiled, batch: Batch, steps: int, width: int, rng):
    """Greedy hill-climbing of the row margins, all rows at once."""
    best, atom = _row_margins(c, batch)
    m = _size(batch)
    for step in range(steps):
        sigma = 0.5 * (2e-4) ** (step / max(1, steps - 1))
        coords = {k: np.repeat(v, width, axis=0) for k, v in _to_coords(c, batch).items()}
        trial = _from_coords(c, {k: v + sigma * rng.standard_normal(v.shape)
                                 for k, v in coords.items()})
        tb, ta = (x.reshape(m, width) for x in _row_margins(c, trial))
        j = np.argmax(tb, axis=1)
        top = tb[np.arange(m), j]
        up = np.flatnonzero(top > best)
        for k in batch:
            batch[k][up] = trial[k][up * width + j[up]]
        best[up], atom[up] = top[up], ta[up, j[up]]
    return batch, best, atom


def _candidates(c: Compiled, batch: Batch, best, atom) -> list[Candidate]:
    out = []
    for r in np.argsort(-best, kind="stable"):
        vals = {name: tuple(float(x) for x in batch[name][r]) for name in c.claim.vectors}
        vals.update({s.name: float(batch[s.name][r]) for s in c.claim.parameters})
        a = c.claim.atoms[int(atom[r])]
        out.append(Candidate(vals, float(best[r]), a.label, a.rel))
    return out


def search(claim: Claim, *, seed: int = 0, samples: int = 4000, refine_steps: int = 24,
           keep: int = 12, width: int = 16) -> list[Candidate]:
    """Float candidates, largest margin first: the ``keep`` best of ``samples`` sampled
    points, each climbed by ``refine_steps`` rounds of ``width`` trials.  Deterministic
    in ``seed``.  Candidates whose ``violating`` is False are near-misses."""
    c = compile_claim(claim)
    batch = sample_points(claim, samples, seed)
    best, atom = _row_margins(c, batch)
    order = [i for i in np.argsort(-best, kind="stable")[:keep] if best[i] > -np.inf]
    if not order:
        return []
    if not batch:                            # a claim without variables: one point
        return _candidates(c, {}, best[order], atom[order])
    start = {k: v[order].copy() for k, v in batch.items()}
    return _candidates(c, *_refine(c, start, refine_steps, width, np.random.default_rng([seed, 1])))


_GRID = np.array([0.0, 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0])


def _simplify(c: Compiled, cand: Candidate) -> Candidate:
    """Pull the point toward the centre, one variable at a time (parameters, vectors,
    parameters), scaling its coordinates by the smallest ``t`` in ``_GRID`` that keeps a
    margin of ``min(margin/2, 1e-3)`` and keeps solved parameters off their ends."""
    batch = {k: np.array([v], dtype=float) for k, v in cand.values.items()}
    target = min(0.5 * cand.margin, 1e-3)
    solved = [s.name for s in c.claim.parameters if s.name not in c.free]

    def spread(b):                           # distance of solved parameters from centre
        u = list(_to_coords(c, b, solved).values())
        return np.max(np.abs(np.stack(u)), axis=0) if u else np.zeros(_size(b))
    for name in c.free + tuple(c.claim.vectors) + c.free:
        limit = max(float(spread(batch)[0]), 3.0)
        coords = {k: np.repeat(v, len(_GRID), axis=0) for k, v in _to_coords(c, batch).items()}
        coords[name] = coords[name] * (_GRID[:, None] if coords[name].ndim == 2 else _GRID)
        trial = _from_coords(c, coords)
        ok = np.flatnonzero((_row_margins(c, trial)[0] >= target) & (spread(trial) <= limit))
        if ok.size:
            batch = {k: v[ok[:1]] for k, v in trial.items()}
    best, atom = _row_margins(c, batch)
    return _candidates(c, batch, best, atom)[0] if best[0] >= target else cand


# --- exact rationals and certification ------------------------------------------------
def _fraction(x: float, limit: int | None) -> Fraction:
    f = Fraction.from_float(float(x))
    return f.limit_denominator(limit) if limit else f


def _rational(f: Fraction) -> sp.Rational:
    return sp.Rational(f.numerator, f.denominator)


def rationalize(compiled: Compiled, values: dict, limit: int | None) -> dict | None:
    """Exact rationals for a float point: each component
    ``Fraction.from_float(x).limit_denominator(limit)`` (``None``: exact), the largest
    component of each vector reset so it sums to exactly 1 (the largest, so it stays
    positive); solved components and parameters recomputed exactly from their
    solutions (a vector with solved components is divided by its exact sum instead).
    ``None`` when a component is not positive or a solved value is not rational."""
    claim, c = compiled.claim, compiled
    out = {s.name: _fraction(values[s.name], limit) for s in claim.parameters if s.name in c.free}
    vecs = {name: [_fraction(x, limit) for x in values[name]] for name in claim.vectors}
    subs = {s: _rational(out[s.name]) for s in claim.parameters if s.name in out}

    def exact(expr):
        v = sp.sympify(expr, strict=True).xreplace(subs)
        return Fraction(int(v.p), int(v.q)) if v.is_Rational else None
    for vectors in (True, False):
        subs.update({s: _rational(x) for name, comps in claim.vectors.items()
                     for s, x in zip(comps, vecs[name])})
        for sym, expr, _ in c.solved:
            if (sym in c.owner) == vectors:
                if (v := exact(expr)) is None:
                    return None
                name, i = c.owner.get(sym, (sym.name, None))
                if i is None:
                    out[name] = v
                else:
                    vecs[name][i] = v
        for name in claim.vectors if vectors else ():
            vec = vecs[name]
            if any(s in c.owner and c.owner[s][0] == name for s, _, _ in c.solved):
                vec = [x / sum(vec) for x in vec] if sum(vec) > 0 else vec
            else:
                j = max(range(len(vec)), key=lambda i: vec[i])
                vec[j] = 1 - (sum(vec) - vec[j])
            if any(x <= 0 for x in vec):
                return None
            vecs[name] = vec
    out.update({name: tuple(vec) for name, vec in vecs.items()})
    return {name: out[name] for name in list(claim.vectors) + [s.name for s in claim.parameters]}


def _affordable(compiled: Compiled, values: dict) -> bool:
    """Whether exact evaluation at ``values`` stays small.  SymPy expands a rational to
    a rational power ``n + r`` by computing the ``n``-th power exactly (``1/T`` at
    ``T = 10^-7``: millions of digits), and Arb takes roots of order below ``2^63``."""
    subs = {s: _rational(x) for name, comps in compiled.claim.vectors.items()
            for s, x in zip(comps, values[name])}
    subs.update({s: _rational(values[s.name]) for s in compiled.claim.parameters})
    for e in compiled.exponents:
        v = e.xreplace(subs)
        if v.is_Rational and (abs(v) > MAX_EXPONENT or v.q >= 2**62):
            return False
    return True


def _estimate(claim: Claim, cands: list[Candidate], n: int) -> str:
    if not claim.atoms:
        return "the claim has no atoms"
    if not cands:
        return f"no admissible point with a defined atom among {n} samples"
    return f"max margin {cands[0].margin:.6g} on atom '{cands[0].atom}' ({cands[0].rel} 0)"


def refute_numeric(claim: Claim, *, seed: int = 0, samples: int = 4000,
                   attempts: int = 6) -> Evidence:
    """``Refuted`` with a certified, shrunk witness, or ``Unknown`` — never ``Proved``.

    The ``attempts`` best violating candidates of :func:`search`, each simplified and
    as found, are rationalised at every bound of :data:`LADDER` and handed to
    :func:`._certify.certify`; the first certified witness is shrunk."""
    from ._certify import certify
    from ._shrink import shrink
    compiled = compile_claim(claim)
    cands = search(claim, seed=seed, samples=samples)
    violating = [c for c in cands if c.violating]
    estimate = _estimate(claim, cands, samples)
    if not violating:
        return Unknown(reason=f"no violation found in {samples} samples", method="numeric",
                       classes=claim.classes, estimate=estimate)
    tried = set()
    for cand in violating[:attempts]:
        for point in (_simplify(compiled, cand), cand):
            for limit in LADDER:
                values = rationalize(compiled, point.values, limit)
                if values is None or not _affordable(compiled, values):
                    continue
                key = tuple(sorted(values.items()))
                if key in tried:
                    continue
                tried.add(key)
                try:
                    witness = certify(claim, values)
                except OverflowError:        # a size Arb cannot take: not certified here
                    continue
                if witness is not None:
                    witness = shrink(claim, witness)
                    how = "exact" if witness.certified_by == "exact" else "interval"
                    return Refuted(method=f"numeric search + {how} certification", witness=witness)
    top = violating[0].margin
    return Unknown(reason=f"candidate violation not certified (largest margin {top:.3g}"
                          + (", at rounding level)" if top < 1e-9 else ")"),
                   method="numeric", classes=claim.classes, estimate=estimate)
