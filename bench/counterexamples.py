"""Counterexample search: distillproof against Hypothesis and plain random sampling.

    python bench/counterexamples.py [--quick]

Twenty planted false claims (four with rare violations) (algebraic axioms, realizability, convexity, KL
contraction), each decided three ways in one run:

* distillproof: the engine's pipeline (``decide_claim``: SymPy, Z3, numeric search,
  exact/interval certification, shrinking; ``realizability``/``convexity`` for the
  student-family rows), seeded;
* Hypothesis: an idiomatic property, ``@given`` over simplex strategies (the
  project's ``tests/strategies.py``; members of a student family through its
  parametrisation, e.g. outer products for independence), ``assume`` for the rest of
  the domain, asserting every atom (``==`` to 1e-12); no database, fixed seed,
  ``max_examples`` below, the time to its first failing example, and to the example it reports
  after shrinking (what a user sees, as distillproof reports a shrunk witness);
  distillproof's time includes certifying and shrinking its witness; the others' do not;
* plain random sampling: NumPy Dirichlet(1) vectors (the same parametrisations) and
  uniform parameters, in batches of 10^4, up to 10^6 points or 10 s.

Per claim: whether a witness was found, the time to the first one (wall clock; each
search runs as ``timeit`` runs code: the garbage collector off during the run,
:data:`REPEAT` times interleaved with the others, the minimum kept), and
whether it survives exact/interval re-checking (Hypothesis: the reported one) (``checker._certify.certify`` at
exact rationals: the float point made exact, vectors summing to exactly 1, members of
``S`` rebuilt exactly from their parameters).  Printed last: the median over claims
both find of distillproof's time / Hypothesis' time.  Timings are reported, never
asserted.
"""
from __future__ import annotations

import gc
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, Phase, assume, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from strategies import simplex  # noqa: E402

from distillproof.axioms import students as S  # noqa: E402
from distillproof.axioms.catalogue import get_family  # noqa: E402
from distillproof.axioms.claims import Atom, Claim  # noqa: E402
from distillproof.axioms.registry import get_axiom  # noqa: E402
from distillproof.axioms.vector import components  # noqa: E402
from distillproof.checker._certify import certify  # noqa: E402
from distillproof.checker.engine import Settings, decide_claim  # noqa: E402
from distillproof.proofs.evidence import REFUTED  # noqa: E402

MAX_EXAMPLES = 2000
REPEAT = 3                   # each search is run this many times, interleaved; minimum kept
RANDOM_POINTS, RANDOM_SECONDS, BATCH = 10**6, 10.0, 10**4
TOL = 1e-12
ALPHA = sp.Symbol("alpha", real=True)


# --- the planted claims ------------------------------------------------------------------
def kl(a, b):
    return sp.Add(*[x * sp.log(x / y) for x, y in zip(a, b)])


def planted(k, vectors, atoms, parameters=(ALPHA,), domain=(0 < ALPHA, ALPHA < 1), name="planted"):
    return Claim(axiom=name, family="planted", classes=k,
                 vectors={v: components(v, k) for v in vectors}, parameters=tuple(parameters),
                 domain=tuple(domain), atoms=tuple(atoms))


def axiom_claim(axiom, family, k, index=0):
    return get_axiom(axiom).build(get_family(family), k)[index]


def contraction(family, k, kappa, direction="forward"):
    """``KL(p||M) <= kappa KL(p||q)`` (or reversed, or pairwise) for a catalogue map."""
    fam = get_family(family)
    p, q, r = components("p", k), components("q", k), components("r", k)
    from distillproof.axioms.vector import instantiate
    m = instantiate(fam.expr, ("p", "q"), k)
    params = tuple(x.symbol for x in fam.free_parameters)
    if direction == "forward":
        atom, names = kappa * kl(p, q) - kl(p, m), "pq"
    elif direction == "reverse":
        atom, names = kappa * kl(q, p) - kl(m, p), "pq"
    else:
        mr = [e.xreplace(dict(zip(q, r))) for e in m]
        atom, names = kappa * kl(q, r) - kl(m, mr), "pqr"
    return Claim(axiom=f"MT3-{direction}", family=family, classes=k,
                 vectors={v: components(v, k) for v in names}, parameters=params,
                 domain=tuple(fam.domain), atoms=(Atom(atom, ">=", f"{direction} kappa={kappa}"),))


def claims():
    """``(label, group, claim, how to sample each vector, decide)``."""
    p3, q3 = components("p", 3), components("q", 3)
    ind = S.get_student("independence-2x2")
    box = S.box(3, [0, 0, 0], [sp.Rational(1, 2), 1, 1], name="box x0<=1/2")
    cap = S.from_relations(3, [sp.Symbol("x_0", positive=True) * sp.Symbol("x_1", positive=True)
                               <= sp.Rational(1, 25)], name="x0*x1<=1/25")
    try:
        from distillproof.checker.convexity import convexity, set_claim
        from distillproof.checker.realizability import closure_claim, realizability
    except ImportError as exc:                    # the student checks are optional modules
        print(f"note: realizability/convexity rows skipped ({exc})")
        set_claim = closure_claim = None

    def students():
        return [
            ("R: arithmetic / independence", "realizability",
             closure_claim(get_family("arithmetic-anchoring"), ind), {"p": "indep", "q": "indep"},
             lambda s: realizability(get_family("arithmetic-anchoring"), ind, s).evidence),
            ("R: tempered arithmetic / box", "realizability",
             closure_claim(get_family("tempered-arithmetic"), box), {},
             lambda s: realizability(get_family("tempered-arithmetic"), box, s).evidence),
            ("C: independence 2x2", "convexity", set_claim(ind), {"s": "indep", "t": "indep"},
             lambda s: convexity(ind, s).evidence),
            ("C: toric x0*x2 = x1^2", "convexity", set_claim(S.get_student("toric-line-3")),
             {"s": "toric", "t": "toric"}, lambda s: convexity(S.get_student("toric-line-3"), s).evidence),
            ("C: x0*x1 <= 1/25", "convexity", set_claim(cap), {}, lambda s: convexity(cap, s).evidence),
        ]

    rows = [
        ("MT6 geometric anchoring", "algebraic", axiom_claim("MT6", "geometric-anchoring", 3), {}, None),
        ("MT2 tempered arithmetic", "algebraic", axiom_claim("MT2", "tempered-arithmetic", 3), {}, None),
        ("MT7 arithmetic anchoring", "algebraic", axiom_claim("MT7", "arithmetic-anchoring", 2), {}, None),
        ("M_0 >= p_0 (arithmetic)", "algebraic",
         planted(3, "pq", [Atom(ALPHA * p3[0] + (1 - ALPHA) * q3[0] - p3[0], ">=", "M_0 >= p_0")]), {}, None),
        ("alpha off a 1/50 window", "algebraic",
         planted(2, "p", [Atom((ALPHA - sp.Rational(3, 10)) ** 2 - sp.Rational(1, 10**4) + 0 * p3[0],
                               ">=", "|alpha - 3/10| >= 1/100")]), {}, None),
        ("q_0 >= 1/10^4 (near a face)", "algebraic",
         planted(3, "q", [Atom(q3[0] - sp.Rational(1, 10**4), ">=", "q_0 >= 1e-4")], (), ()), {}, None),
        *(students() if closure_claim else []),
        ("MT3 arithmetic, kappa=(1-a)/2", "KL contraction",
         contraction("arithmetic-anchoring", 3, (1 - ALPHA) / 2), {}, None),
        ("MT3r geometric, kappa=(1-a)/2", "KL contraction",
         contraction("geometric-anchoring", 3, (1 - ALPHA) / 2, "reverse"), {}, None),
        ("MT3 tempered geometric, 1-a", "KL contraction",
         contraction("tempered-geometric", 3, 1 - ALPHA), {}, None),
        ("MT3p geometric, kappa=(1-a)/2", "KL contraction",
         contraction("geometric-anchoring", 3, (1 - ALPHA) / 2, "pairwise"), {}, None),
        ("KL(p||q) <= 1/10", "KL contraction",
         planted(3, "pq", [Atom(sp.Rational(1, 10) - kl(p3, q3), ">=", "KL <= 1/10")], (), ()), {}, None),
        # rare violations: a thin parameter window, a small disc, two rare events at once,
        # and KL against TV where only tiny components break it
        ("alpha off a 1/5000 window", "algebraic",
         planted(2, "p", [Atom((ALPHA - sp.Rational(3, 10)) ** 2 - sp.Rational(1, 10**8) + 0 * p3[0],
                               ">=", "|alpha - 3/10| >= 1/10^4")]), {}, None),
        ("(alpha, q_0) off a 1e-3 disc", "algebraic",
         planted(3, "q", [Atom((ALPHA - sp.Rational(3, 10)) ** 2 + (q3[0] - sp.Rational(1, 5)) ** 2
                               - sp.Rational(1, 10**6), ">=", "off the disc")]), {}, None),
        ("q_0 + (1 - alpha) >= 1e-5", "algebraic",
         planted(3, "q", [Atom(q3[0] + (1 - ALPHA) - sp.Rational(1, 10**5), ">=", "joint")]), {}, None),
        ("KL(p||q) <= 8 TV(p,q)", "KL contraction",
         planted(3, "pq", [Atom(4 * sum(sp.Abs(x - y) for x, y in zip(p3, q3)) - kl(p3, q3), ">=",
                                "KL <= 8 TV")], (), ()), {}, None),
    ]
    return rows


# --- shared: the predicate, inputs and exact witnesses ---------------------------------------
class Problem:
    """The claim as a float predicate, and how to draw and make exact its inputs."""

    def __init__(self, claim, kinds):
        self.claim = claim
        self.kinds = {v: kinds.get(v, "simplex") for v in claim.vectors}
        syms = claim.symbols
        self.atoms = [(sp.lambdify(syms, a.expr, "numpy"), a.rel) for a in claim.atoms]
        self.domain = [sp.lambdify(syms, r, "numpy") for r in claim.domain
                       if not isinstance(r, sp.Eq)]
        self.intervals = {s.name: _interval(s, claim.domain) for s in claim.parameters}

    def violated(self, cols, n):
        """Rows (of ``n``) in the domain where some atom fails (``==`` beyond TOL)."""
        with np.errstate(all="ignore"):
            ok = np.ones(n, bool)
            for f in self.domain:
                ok &= np.broadcast_to(np.asarray(f(*cols), dtype=bool), (n,))
            bad = np.zeros(n, bool)
            for f, rel in self.atoms:
                v = np.broadcast_to(np.asarray(f(*cols), dtype=float), (n,))
                bad |= {"==": np.abs(v) > TOL, ">=": v < -TOL, ">": v <= 0}[rel] & np.isfinite(v)
        return ok & bad

    def columns(self, values):
        cols = [values[v][..., i] for v in self.claim.vectors for i in range(len(self.claim.vectors[v]))]
        return cols + [values[s.name] for s in self.claim.parameters]

    def exact(self, point):
        """Exact rationals for a float point: the parametrisation rebuilt exactly."""
        out = {}
        for v, kind in self.kinds.items():
            x = point[v]
            if kind == "indep":
                r, c = _frac(x[0] + x[1]), _frac(x[0] + x[2])
                out[v] = (r * c, r * (1 - c), (1 - r) * c, (1 - r) * (1 - c))
            elif kind == "toric":
                t = _frac(x[1] / x[0])
                z = 1 + t + t * t
                out[v] = (1 / z, t / z, t * t / z)
            else:
                f = [Fraction.from_float(float(a)) for a in x]
                j = max(range(len(f)), key=lambda i: f[i])
                f[j] = 1 - (sum(f) - f[j])
                out[v] = tuple(f)
        out.update({s.name: Fraction.from_float(float(point[s.name])) for s in self.claim.parameters})
        return out

    def certified(self, point) -> bool:
        try:
            return certify(self.claim, self.exact(point)) is not None
        except (OverflowError, ValueError, ZeroDivisionError):
            return False


def _frac(x):
    return Fraction.from_float(float(x)).limit_denominator(10**9)


def _interval(s, domain):
    lo = 0.0 if s.is_positive else -10.0
    hi = 10.0
    for r in domain:
        if isinstance(r, (sp.StrictLessThan, sp.LessThan)) and r.lhs == s and r.rhs.is_number:
            hi = min(hi, float(r.rhs))
        if isinstance(r, (sp.StrictGreaterThan, sp.GreaterThan)) and r.lhs == s and r.rhs.is_number:
            lo = max(lo, float(r.rhs))
    return lo, hi


# --- the three searches -------------------------------------------------------------------------
def _cold():
    """Forget compiled claims, so each claim is timed from scratch."""
    from distillproof.checker import _certify, _compiled, _numeric, _probe
    for cache in (_certify._PLANS, _probe._PLANS, _numeric._CACHE, _compiled._STRUCTURES,
                  _compiled._DIFFERENCES):
        cache.clear()


def run_distillproof(claim, decide):
    """``(found, time to the first certified witness, certified, time to the reported
    (shrunk) refutation)``, from cold caches.  The first certified witness is the first
    time ``certify`` certifies a point during the decision (its observer hook), as
    Hypothesis' first failing example is the first time its property fails."""
    from distillproof.checker import _certify
    _cold()
    seen = []
    _certify.OBSERVERS.append(lambda: seen.append(time.perf_counter()))
    try:
        t0 = time.perf_counter()
        ev = decide(Settings(seed=0)) if decide else decide_claim(claim, Settings(seed=0))
        dt = time.perf_counter() - t0
    finally:
        _certify.OBSERVERS.clear()
    if ev.status != REFUTED:
        return False, dt, False, dt
    names = set(claim.vectors) | {s.name for s in claim.parameters}
    values = {k: v for k, v in ev.witness.values.items() if k in names}
    ok = ev.witness.certified_by in ("exact", "interval") and (
        certify(claim, values) is not None or bool(decide))
    return True, (seen[0] - t0) if seen else dt, ok, dt


def _vector_strategy(kind, k):
    if kind == "indep":
        return st.tuples(st.floats(1e-3, 1 - 1e-3), st.floats(1e-3, 1 - 1e-3)).map(
            lambda rc: np.outer([rc[0], 1 - rc[0]], [rc[1], 1 - rc[1]]).ravel())
    if kind == "toric":
        return st.floats(1e-3, 1e3).map(lambda t: np.array([1, t, t * t]) / (1 + t + t * t))
    return simplex(k, shapes=("interior", "near_zero"))


def run_hypothesis(problem):
    c = problem.claim
    found = {}
    strategies = {v: _vector_strategy(problem.kinds[v], len(comps)) for v, comps in c.vectors.items()}
    for s in c.parameters:
        lo, hi = problem.intervals[s.name]
        strategies[s.name] = st.floats(lo, hi, exclude_min=True, exclude_max=True)

    @seed(0)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries(strategies))
    def prop(values):
        assume(all(np.all(values[v] > 0) for v in c.vectors))
        point = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        if problem.violated(problem.columns(point), 1)[0]:
            found.setdefault("t", time.perf_counter())
            found["point"] = point                 # the last failure: the shrunk one
            raise AssertionError("violated")
    t0 = time.perf_counter()
    try:
        prop()
    except AssertionError:
        pass
    except Exception as exc:                       # e.g. Unsatisfiable: every draw assumed away
        found.setdefault("error", type(exc).__name__)
    end = time.perf_counter()
    if "point" not in found:
        return False, end - t0, False, None
    return True, found["t"] - t0, problem.certified(found["point"]), end - t0


def _draw(rng, kind, n, k):
    if kind == "indep":
        r, c = rng.random(n), rng.random(n)
        return np.stack([r * c, r * (1 - c), (1 - r) * c, (1 - r) * (1 - c)], axis=1)
    if kind == "toric":
        t = np.exp(rng.uniform(-7, 7, n))
        return np.stack([np.ones(n), t, t * t], axis=1) / (1 + t + t * t)[:, None]
    return rng.dirichlet(np.ones(k), n)


def run_random(problem):
    c, rng = problem.claim, np.random.default_rng(0)
    t0, drawn = time.perf_counter(), 0
    while drawn < RANDOM_POINTS and time.perf_counter() - t0 < RANDOM_SECONDS:
        point = {v: _draw(rng, problem.kinds[v], BATCH, len(comps)) for v, comps in c.vectors.items()}
        point.update({s.name: rng.uniform(*problem.intervals[s.name], BATCH) for s in c.parameters})
        bad = np.flatnonzero(problem.violated(problem.columns(point), BATCH))
        drawn += BATCH
        if bad.size:
            dt = time.perf_counter() - t0
            row = {k: v[bad[0]] for k, v in point.items()}
            return True, dt, problem.certified(row), dt
    return False, time.perf_counter() - t0, False, None


def _best(results):
    """The repeats of one search (deterministic: the same outcome each time) with the
    minimum of each time, as ``timeit.repeat`` is read."""
    first = results[0]
    if not first[0]:
        return first
    return (first[0], min(r[1] for r in results), first[2],
            min((r[3] for r in results if r[3] is not None), default=None))


def _quiet(run, *args):
    """``run(*args)`` as ``timeit`` times things: the garbage collector off during the
    run (not forced before it: a full collection walks every object and leaves the
    caches cold for whatever runs next)."""
    gc.disable()
    try:
        return run(*args)
    finally:
        gc.enable()


# --- the table --------------------------------------------------------------------------------------
def main(argv):
    global MAX_EXAMPLES, RANDOM_POINTS, REPEAT
    if "--quick" in argv:
        MAX_EXAMPLES, RANDOM_POINTS, REPEAT = 300, 10**5, 2
    rows = claims()
    warm = Problem(rows[3][2], {})               # imports, JIT-free warm-up of every method
    run_distillproof(rows[3][2], None), run_hypothesis(warm), run_random(warm)
    print(f"Counterexample search: {len(rows)} planted false claims; Hypothesis max_examples="
          f"{MAX_EXAMPLES}, random up to {RANDOM_POINTS:.0e} points / {RANDOM_SECONDS:.0f} s\n")
    head = (f"{'claim':32} {'group':14} | {'distillproof first':>19} {'reported':>9} | "
            f"{'hypothesis first':>16} {'reported':>9} | {'random':>16}")
    print(head)
    print("-" * len(head))
    ratios, results = [], []
    for label, group, claim, kinds, decide in rows:
        problem = Problem(claim, kinds)
        runs = [(_quiet(run_distillproof, claim, decide), _quiet(run_hypothesis, problem),
                 _quiet(run_random, problem)) for _ in range(REPEAT)]
        dp_res, hy_res, rn_res = (_best([r[j] for r in runs]) for j in range(3))
        results.append((dp_res, hy_res, rn_res))
        cell = lambda r, w=16: (f"{r[1] * 1000:{w - 8}.1f} ms {'cert' if r[2] else 'NOT'}" if r[0]
                                else f"{'not found':>{w}}")
        last = lambda r: f"{r[3] * 1000:6.1f} ms" if r[0] else f"{'-':>9}"
        print(f"{label:32} {group:14} | {cell(dp_res, 19)} {last(dp_res)} | {cell(hy_res)} "
              f"{last(hy_res)} | {cell(rn_res)}", flush=True)
        if dp_res[0] and hy_res[0]:
            ratios.append((dp_res[1] / max(hy_res[1], 1e-9), dp_res[3] / max(hy_res[3], 1e-9)))
    n = len(rows)
    print("-" * len(head))
    for j, name in enumerate(("distillproof", "hypothesis", "random")):
        found = sum(r[j][0] for r in results)
        cert = sum(r[j][0] and r[j][2] for r in results)
        times = [r[j][1] for r in results if r[j][0]]
        med = statistics.median(times) * 1000 if times else float("nan")
        print(f"{name:13} found {found:2}/{n}, certified {cert:2}/{n}, median time to the first "
              f"witness {med:8.2f} ms")
    if ratios:
        print(f"\nmedian over the {len(ratios)} claims both find of distillproof time / Hypothesis "
              f"time: {statistics.median(r[0] for r in ratios):.3g} first witness to first failing "
              f"example (target <= 0.2); {statistics.median(r[1] for r in ratios):.3g} reported "
              "(certified, shrunk) to reported (shrunk)")
    print("('cert': the witness survives exact/interval re-checking at exact rationals)")


if __name__ == "__main__":
    main(sys.argv[1:])
