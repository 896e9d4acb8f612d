"""Simulated recursions: ``q_t = Π_S(M(p̄, q_{t-1}, ..., q_{t-L}))``, generation by
generation, next to the bounds the contraction calculus proved.

:func:`simulate` runs the recursion of a meta-teacher family at ``K`` classes and a
parameter point (missing parameters are sampled from the domain exactly, as
:func:`~distillproof.proofs.fixed_point.parameter_values` does), from a start ``q0``
(default: ``q0_i ∝ K - i``) with the anchor the family fixes, else a deterministic
non-uniform one (``p̄_i ∝ i + 1``; teacher ``j`` of a pooled anchor is that vector
rotated by ``j - 1``).  A memory family starts from the history ``q0, ..., q0``.

Per generation it records, to the fixed point ``q*``: ``KL(q*‖q_t)``, ``KL(q_t‖q*)``,
``TV`` and Hilbert's ``d_H`` (:mod:`distillproof.axioms.divergences`), and
``KL(p̄‖q_t)`` to the anchor.  Every bound :func:`~distillproof.proofs.contraction.derive`
proves is turned into a trajectory bound and checked at every generation:

``kl_forward``   ``KL(p̄‖q_t) ≤ κ^⌈t/L⌉ KL(p̄‖q_0)`` (MT3; ``L`` students, history ``q0``)
``kl_reverse``   ``KL(q_t‖p̄) ≤ κ^⌈t/L⌉ KL(q_0‖p̄)``
``kl_pairwise``  ``KL(q_t‖q*)`` and ``KL(q*‖q_t) ≤ κ^⌈t/L⌉ ·`` their values at ``t = 0``
``tv``, ``hilbert``  ``d(q_t, q*) ≤ κ^⌈t/L⌉ d(q_0, q*)``
schedule         ``KL(p̄‖q_t) ≤ ∏_{s≤t}(1-α_s) KL(p̄‖q_0)`` (``α_s`` at step ``s = 1, 2, ..``)

(a one-step constant against the max over the ``L`` students gives the exponent
``⌈t/L⌉``).  A bound is checked only where its proof applies: at the anchor the proof
assumed, at the ``K`` it covers, and without a student projection (``Π_S`` is not
part of the derived map).  A violated bound would be a bug in distillproof: it is
recorded in ``violations`` and the CLI stops with an internal error.

Stage noise (``noise > 0``): ``replicates`` independent noisy runs where each new
student is perturbed — ``lognormal``: ``q ∝ q · exp(σ ξ)``, ``dirichlet``:
``q ~ Dir(q / σ²)`` — seeded.  Reported per generation: the mean of ``KL(q*‖q_t)``,
and the bias-variance split in centred log-ratio coordinates ``clr(q) = log q -
mean(log q)``: ``variance = E‖clr q_t - E clr q_t‖²`` and ``bias2 = ‖E clr q_t -
clr q*‖²``.  With ``α > 0`` the variance stays bounded; with ``α = 0`` (un-anchored
self-distillation) ``clr q_t`` is a random walk and its variance grows linearly.

The data (:meth:`Simulation.to_json`, schema ``distillproof.simulate/1``) is what the
report's plots read (``reports/_plots.py``: ``generations``, ``distance``, ``bound``,
``ratios``, ``kappa``); the layout is documented in the README.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import sympy as sp

from ..axioms import divergences as dv
from ..axioms.vector import MatVec, normalize, softmax, vsum

__all__ = ["Simulation", "simulate", "evaluator", "SCHEMA", "NOISE_KINDS", "BOUND_KINDS"]

SCHEMA = "distillproof.simulate/1"
NOISE_KINDS = ("lognormal", "dirichlet")
BOUND_KINDS = ("kl_forward", "kl_reverse", "kl_pairwise", "tv", "hilbert")
RTOL, ATOL = 1e-9, 1e-12            # float slack when comparing with a proved bound
FLOOR = 1e-300                      # noisy students stay in the open simplex


# --- the map in NumPy, for any K ------------------------------------------------------
def evaluator(expr: sp.Expr, vectors: tuple[str, ...], values: dict[str, float]):
    """A NumPy function of ``{vector name: (R, K) array}`` evaluating the vector
    expression ``expr`` row by row (parameters fixed to ``values``); no per-component
    SymPy, so ``K`` can be a vocabulary."""
    def ev(e, env):
        if isinstance(e, sp.Symbol):
            if e.name in env:
                return env[e.name]
            if e.name in values:
                return values[e.name]
            raise ValueError(f"simulate: no value for {e.name}")
        if e.is_Number:
            return float(e)
        if isinstance(e, sp.Add):
            out = ev(e.args[0], env)
            for a in e.args[1:]:
                out = out + ev(a, env)
            return out
        if isinstance(e, sp.Mul):
            out = ev(e.args[0], env)
            for a in e.args[1:]:
                out = out * ev(a, env)
            return out
        if isinstance(e, sp.Pow):
            return np.power(ev(e.base, env), ev(e.exp, env))
        if isinstance(e, sp.log):
            return np.log(ev(e.args[0], env))
        if isinstance(e, sp.exp):
            return np.exp(ev(e.args[0], env))
        if isinstance(e, normalize):
            v = ev(e.args[0], env)
            return v / v.sum(axis=-1, keepdims=True)
        if isinstance(e, vsum):
            return ev(e.args[0], env).sum(axis=-1, keepdims=True)
        if isinstance(e, softmax):
            v = ev(e.args[0], env)
            w = np.exp(v - v.max(axis=-1, keepdims=True))
            return w / w.sum(axis=-1, keepdims=True)
        if isinstance(e, MatVec):
            W = np.array(e.args[0].tolist(), dtype=float)
            return ev(e.args[1], env) @ W.T
        raise ValueError(f"simulate: cannot evaluate {e.func.__name__} numerically")

    def run(env):
        with np.errstate(all="ignore"):
            return np.asarray(ev(expr, env), dtype=float)
    return run


# --- the result ----------------------------------------------------------------------------
@dataclass
class Simulation:
    """One simulated recursion (see the module docstring); ``to_json`` is the data."""
    family: str
    classes: int
    at: dict[str, str]
    anchor: np.ndarray
    start: np.ndarray
    fixed_point: np.ndarray
    fixed_point_method: str
    generations: list[int]
    series: dict[str, list[float]]
    kappa: dict[str, dict]
    bounds: dict[str, list[float | None]]
    violations: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    noise: dict | None = None
    ratios: list[float] = field(default_factory=list)

    @property
    def bound(self) -> list[float | None]:
        """The ``kl_forward`` trajectory bound (``None`` where none is proved)."""
        return self.bounds.get("kl_forward") or [None] * len(self.generations)

    def to_json(self) -> dict:
        small = self.classes <= 64
        vec = (lambda v: [float(x) for x in v]) if small else (lambda v: None)
        fwd = self.kappa.get("kl_forward")
        out = {"schema": SCHEMA, "family": self.family, "classes": self.classes, "at": self.at,
               "anchor": vec(self.anchor), "start": vec(self.start),
               "fixed_point": {"point": vec(self.fixed_point), "method": self.fixed_point_method},
               "kappa": None if fwd is None else fwd["value"], "constants": self.kappa,
               "generations": self.generations}
        out.update({k: _clean(v) for k, v in self.series.items()})
        out["distance"] = {k: out[k] for k in ("kl_forward", "kl_reverse", "tv", "hilbert")}
        out["ratios"] = {"kl_forward": _clean(self.ratios)}
        out["bound"] = _clean(self.bound)
        out["bounds"] = {k: _clean(v) for k, v in self.bounds.items()}
        out["violations"] = self.violations
        out["notes"] = self.notes
        out["noise"] = None if self.noise is None else {
            k: (_clean(v) if isinstance(v, list) else v) for k, v in self.noise.items()}
        return out

    def rows(self) -> list[dict]:
        """One dict per generation (the CSV): distances, bounds, noise statistics."""
        out = []
        for i, t in enumerate(self.generations):
            row = {"generation": t}
            row.update({k: v[i] for k, v in self.series.items()})
            row["bound"] = self.bound[i]
            row.update({f"bound_{k}": v[i] for k, v in self.bounds.items()})
            if self.noise:
                row.update({k: self.noise[k][i] for k in ("mean_kl_forward", "variance", "bias2")})
            out.append(row)
        return out


def _clean(values):
    """JSON numbers: ``None`` for missing, and ``"inf"``/``"nan"`` spelled out."""
    out = []
    for v in values:
        if v is None:
            out.append(None)
        elif math.isfinite(v):
            out.append(float(v))
        else:
            out.append("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    return out


def to_csv(sim: Simulation) -> str:
    """The per-generation rows as CSV (``inf``/``nan`` spelled out, empty = no bound)."""
    rows = sim.rows()
    cols = list(rows[0]) if rows else ["generation"]
    lines = [",".join(cols)]
    for r in rows:
        lines.append(",".join("" if r[c] is None else (str(r[c]) if c == "generation"
                                                         else repr(float(r[c]))) for c in cols))
    return "\n".join(lines) + "\n"


# --- running it ------------------------------------------------------------------------------
def _ramp(k: int, reverse: bool = False, shift: int = 0) -> np.ndarray:
    v = (np.arange(k) + shift) % k + 1.0
    v = v[::-1] if reverse else v
    return v / v.sum()


def _setup_vectors(family, k: int, anchor):
    """Values of the fixed vectors and of the anchor's inputs, and the anchor ``p̄``."""
    env = {n: np.array([float(x) for x in v]) for n, v in family.fixed.items()}
    for n, v in env.items():
        if v.size != k:
            raise ValueError(f"family {family.name!r}: vector {n} has {v.size} classes, "
                             f"the simulation is at K={k}")
    inputs = [n for n in family.anchor_inputs if n not in env]
    given = anchor if anchor is not None else family.extra.get("anchor")
    for j, name in enumerate(inputs):
        if given is not None and name == "p":
            v = np.array([float(Fraction(str(x))) for x in given], dtype=float)
            if v.size != k or np.any(v <= 0):
                raise ValueError(f"the anchor must have {k} positive components")
            env[name] = v / v.sum()
        else:
            env[name] = _ramp(k, shift=j)
    return env


def _kappas(family, k, values, anchor, student) -> tuple[dict, dict, list[str]]:
    """``{kind: (κ, expr)}`` of the proved per-step bounds that apply here, the
    schedule factor (``{"expr", "t"}``) and notes on the bounds left out."""
    from ..proofs.contraction import derive, derive_schedule
    notes, out, sched = [], {}, {}
    if student is not None:
        return {}, {}, ["student projection: the derived bounds are for M alone, not Π_S∘M; "
                        "none is checked"]
    if family.schedule is not None:
        b = derive_schedule(family)
        if b is not None and b.generations is not None:
            sched = {"expr": b.expr, "t": b.generations}
        return {}, sched, notes
    for kind in BOUND_KINDS:
        b = derive(family, kind)
        if b is None:
            continue
        if b.classes is not None and b.classes != k:
            notes.append(f"{kind}: proved at K={b.classes} only")
            continue
        if b.anchor is not None and not np.allclose([float(x) for x in b.anchor], anchor,
                                                    rtol=0, atol=1e-15):
            notes.append(f"{kind}: proved for the anchor {b.anchor} only")
            continue
        value = float(sp.N(b.value({n: v for n, v in values.items()}), 30))
        out[kind] = (value, sp.sstr(b.expr))
    return out, sched, notes


def _fixed_point(family, exact, k, step, history, anchor, env, values, projected=False,
                 limit=100000):
    """``q*``: the anchor when ``M(p̄, p̄) = p̄`` numerically; else the closed form the
    contraction calculus finds (a vector expression, valid for every ``K``, or exact at
    this ``K``); else the limit of the noise-free iteration if it settles in the open
    simplex (a repelling fixed point is not found that way: ``None``)."""
    if np.max(np.abs(step([anchor[None, :]] * len(history))[0] - anchor)) <= 1e-14:
        return anchor.copy(), "the anchor (M(p̄, p̄) = p̄)"
    try:
        if projected:                   # the closed forms are for M, not for Π_S∘M
            raise ValueError("student projection")
        from ..proofs.fixed_point import fixed_point
        small = None if family.fixed else 3
        fp = fixed_point(family, small if k > 3 else k, exact)
        if fp.exact and isinstance(fp.point, sp.Basic) and not isinstance(fp.point, tuple):
            v = evaluator(fp.point, (), values)(env).reshape(-1)
            if v.size == k and np.all(v > 0):
                return v / v.sum(), f"closed form {fp.point}"
        if fp.numeric is not None and len(fp.numeric) == k and family.fixed:
            return np.array(fp.numeric), fp.method
    except (ValueError, TypeError, NotImplementedError, KeyError):
        pass
    hist = [h[:1].copy() for h in history]
    for i in range(limit):
        new = step(hist)
        if not np.all(np.isfinite(new)) or np.min(new) < 1e-250:
            break
        if np.max(np.abs(new - hist[0])) <= 1e-15:
            return new[0], f"numeric: iteration settled after {i + 1} steps"
        hist = [new] + hist[:-1]
    return None, "not located: the noise-free iteration did not settle in the open simplex"


def simulate(family, *, generations: int = 30, classes: int | None = None, at: dict | None = None,
             start=None, anchor=None, noise: float = 0.0, noise_kind: str = "lognormal",
             replicates: int = 64, seed: int = 0, student=None) -> Simulation:
    """Run the recursion of ``family`` (see the module docstring)."""
    from ..proofs._view import kernel_classes
    from ..proofs.fixed_point import parameter_values
    if family.kind != "meta-teacher":
        raise ValueError(f"family {family.name!r} is a {family.kind} map: simulate runs "
                         "meta-teacher recursions")
    if noise_kind not in NOISE_KINDS:
        raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {noise_kind!r}")
    if generations < 0 or noise < 0 or replicates < 2 and noise > 0:
        raise ValueError("generations and noise must be >= 0, replicates >= 2")
    fixed_k = kernel_classes(family.expr) or next((len(v) for v in family.fixed.values()), None)
    k = classes or fixed_k or (student.classes if student is not None else 3)
    if fixed_k and k != fixed_k:
        raise ValueError(f"family {family.name!r} works at K={fixed_k}, not K={k}")
    given = {n: sp.Rational(str(v)) for n, v in (at or {}).items()}
    exact, sampled = parameter_values(family.with_values(given) if given else family, None)
    exact.update(given)                 # with_values checked them against the domain
    values = {n: float(v) for n, v in exact.items()}
    env = _setup_vectors(family, k, anchor)
    evaluate = evaluator(family.expr, (), values)
    p_bar = evaluator(family.anchor.subs(family.fixed_values), (), values)(env).reshape(-1)
    students = family.students
    sched_param = None
    if family.schedule is not None:
        sched_param = family.extra.get("schedule_parameter") or (
            "alpha" if "alpha" in values else next(iter(values)))
        t_sym = next(s for s in family.schedule.free_symbols if s.name not in values)
        alpha_t = sp.lambdify(t_sym, family.schedule, "math")
    project = None
    if student is not None:
        from .capacity import project as _project
        project = lambda rows: np.array([_project(student, r) for r in rows])

    def step(hist):
        full = dict(env)
        full.update(zip(students, hist))
        m = evaluate(full)
        m = np.broadcast_to(m, hist[0].shape).copy()
        return project(m) if project else m

    q0 = (_ramp(k, reverse=True) if start is None else
          np.array([float(Fraction(str(x))) for x in start], dtype=float))
    if q0.size != k or np.any(q0 < 0) or q0.sum() <= 0:
        raise ValueError(f"--start must be {k} nonnegative numbers, not all zero")
    q0 = q0 / q0.sum()
    if sched_param:
        values[sched_param] = float(alpha_t(1))
    q_star, how = _fixed_point(family, exact, k, step, [q0[None, :]] * len(students), p_bar,
                               env, values, student is not None)
    kappas, sched, notes = _kappas(family, k, exact, p_bar, student)
    if sampled:
        notes.append("parameters sampled from the domain: "
                     + ", ".join(f"{n}={exact[n]}" for n in exact if at is None or n not in at))
    rng = np.random.default_rng(seed)
    reps = replicates if noise > 0 else 0
    hist = [np.repeat(q0[None, :], 1 + reps, axis=0)] * len(students)
    traj, clr_stats = [hist[0][0].copy()], [] if reps else None
    for t in range(1, generations + 1):
        if sched_param:
            values[sched_param] = float(alpha_t(t))
        new = step(hist)
        if reps:
            new[1:] = _perturb(rng, new[1:], noise, noise_kind)
            clr_stats.append(new[1:].copy())
        hist = [new] + hist[:-1]
        traj.append(new[0].copy())
    Q = np.array(traj)
    tiny = np.flatnonzero(np.min(Q, axis=1) < 1e-250)
    last = int(tiny[0]) if tiny.size else generations + 1   # float range ends here
    if tiny.size:
        notes.append(f"from generation {last} q_t has components below 1e-250 (float "
                     "underflow): bounds are not checked there")
    ref = q_star if q_star is not None else np.full(k, np.nan)
    series = {"kl_forward": dv.kl(ref, Q), "kl_reverse": dv.kl(Q, ref), "tv": dv.tv(Q, ref),
              "hilbert": dv.hilbert(Q, ref), "kl_anchor": dv.kl(p_bar, Q),
              "kl_anchor_reverse": dv.kl(Q, p_bar)}
    series = {n: [float(x) for x in np.atleast_1d(v)] for n, v in series.items()}
    gens = list(range(generations + 1))
    L = len(students)
    bounds, violations = {}, []
    measured = {"kl_forward": ["kl_anchor"], "kl_reverse": ["kl_anchor_reverse"],
                "kl_pairwise": ["kl_forward", "kl_reverse"], "tv": ["tv"], "hilbert": ["hilbert"]}
    factors = {kind: [kap ** math.ceil(t / L) for t in gens] for kind, (kap, _) in kappas.items()}
    if sched:
        f = sp.lambdify(sched["t"], sched["expr"], "math")
        for kind in ("kl_forward", "kl_reverse", "tv"):
            factors[kind] = [1.0] + [float(f(t)) for t in gens[1:]]
    for kind, fac in factors.items():
        if q_star is None and kind in ("kl_pairwise", "tv", "hilbert"):
            continue
        for name in measured[kind]:
            e0 = series[name][0]
            bound = [c * e0 for c in fac]
            key = kind if name == measured[kind][0] else f"{kind}:{name}"
            bounds[key] = bound
            for t, (v, b) in enumerate(zip(series[name][:last], bound)):
                if math.isfinite(b) and not v <= b * (1 + RTOL) + ATOL:
                    violations.append({"generation": t, "kind": kind, "distance": name,
                                       "value": v, "bound": b})
    kappa = {kind: {"expr": e, "value": v} for kind, (v, e) in kappas.items()}
    if sched:
        kappa["schedule"] = {"expr": sp.sstr(sched["expr"]), "value": None}
    sim = Simulation(family.name, k, {n: str(v) for n, v in exact.items()}, p_bar, q0,
                     ref, how, gens, series, kappa, bounds, violations, notes)
    if generations:                     # observed one-step ratios KL(p̄‖q_t) / KL(p̄‖q_{t-1})
        sim.ratios = [float(r) for r in np.atleast_1d(
            dv.contraction_ratios("kl_forward", p_bar, Q[:-1], Q[1:]))]
    if reps:
        sim.noise = _noise_stats(q0, clr_stats, ref, noise, noise_kind, reps, seed)
    return sim


def _perturb(rng, rows: np.ndarray, sigma: float, kind: str) -> np.ndarray:
    if kind == "lognormal":
        x = rows * np.exp(sigma * rng.standard_normal(rows.shape))
    else:
        x = rng.standard_gamma(np.maximum(rows / sigma ** 2, 1e-300))
    x = np.maximum(x, FLOOR)
    return x / x.sum(axis=1, keepdims=True)


def _clr(x: np.ndarray) -> np.ndarray:
    z = np.log(x)
    return z - z.mean(axis=-1, keepdims=True)


def _noise_stats(q0, per_gen, q_star, sigma, kind, reps, seed) -> dict:
    """Mean ``KL(q*‖q_t)`` over the replicates, and the clr variance and squared bias."""
    mean_kl, var, bias2 = [0.0], [0.0], [float(np.sum((_clr(q0) - _clr(q_star)) ** 2))]
    for rows in per_gen:
        mean_kl.append(float(np.mean(dv.kl(q_star, rows))))
        z = _clr(rows)
        mu = z.mean(axis=0)
        var.append(float(np.sum(z.var(axis=0))))
        bias2.append(float(np.sum((mu - _clr(q_star)) ** 2)))
    return {"sigma": sigma, "kind": kind, "replicates": reps, "seed": seed,
            "mean_kl_forward": mean_kl, "variance": var, "bias2": bias2}
