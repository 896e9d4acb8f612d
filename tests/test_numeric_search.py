"""The numeric stage (checker/_numeric.py): samplers, margins, search, certification.

Planted violations must be found, certified (exactly or with intervals) and shrunk;
true claims must never be refuted; the same seed must give the same witness.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from distillproof.axioms.claims import Atom, Claim
from distillproof.axioms.vector import components
from distillproof.checker import _numeric as nm
from distillproof.checker._certify import certify
from distillproof.proofs.evidence import REFUTED, UNKNOWN

ALPHA = sp.Symbol("alpha")
UNIT = (0 < ALPHA, ALPHA < 1)


def kl(a, b):
    return sp.Add(*[x * sp.log(x / y) for x, y in zip(a, b)])


def anchoring(k):
    """``p, q`` and arithmetic anchoring ``M = alpha p + (1 - alpha) q`` at ``k``."""
    p, q = components("p", k), components("q", k)
    return p, q, [ALPHA * x + (1 - ALPHA) * y for x, y in zip(p, q)]


def claim(k, vectors, atoms, parameters=(ALPHA,), domain=UNIT, axiom="planted"):
    vecs = {name: components(name, k) for name in vectors}
    return Claim(axiom=axiom, family="test", classes=k, vectors=vecs,
                 parameters=tuple(parameters), domain=tuple(domain), atoms=tuple(atoms))


def assert_certified(c, evidence):
    assert evidence.status == REFUTED, evidence
    w = evidence.witness
    assert evidence.method == f"numeric search + {w.certified_by} certification"
    assert certify(c, w.values) is not None          # replays
    for name in c.vectors:
        assert sum(w.values[name]) == 1 and all(x > 0 for x in w.values[name])
    return w


# --- planted violations ----------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 3])
def test_arithmetic_anchoring_does_not_dominate_the_anchor(k):
    """``M_0 >= p_0`` fails wherever ``q_0 < p_0``: found and certified exactly."""
    p, q, m = anchoring(k)
    c = claim(k, "pq", [Atom(m[0] - p[0], ">=", "M_0 >= p_0")])
    w = assert_certified(c, nm.refute_numeric(c))
    assert w.certified_by == "exact"
    assert w.values["q"][0] < w.values["p"][0]
    assert max(x.denominator for x in w.values["p"] + w.values["q"]) <= 100   # shrunk


@pytest.mark.parametrize("k", [2, 3])
def test_kl_bound_refuted_with_interval_certificate(k):
    """``KL(p||q) <= 1/10`` is false far from the diagonal; KL is transcendental."""
    p, q, _ = anchoring(k)
    c = claim(k, "pq", [Atom(sp.Rational(1, 10) - kl(p, q), ">=", "KL(p||q) <= 1/10")],
              parameters=(), domain=())
    w = assert_certified(c, nm.refute_numeric(c))
    assert w.certified_by == "interval"


@pytest.mark.parametrize("k", [2, 3])
def test_contraction_with_a_wrong_constant_is_refuted(k):
    """``KL(p||M) <= (1-alpha)/2 KL(p||q)`` fails for arithmetic anchoring: near the
    fixed point the ratio is ``(1-alpha)^2 > (1-alpha)/2`` when ``alpha < 1/2``."""
    p, q, m = anchoring(k)
    atom = Atom((1 - ALPHA) / 2 * kl(p, q) - kl(p, m), ">=", "MT3 with kappa=(1-alpha)/2")
    c = claim(k, "pq", [atom])
    w = assert_certified(c, nm.refute_numeric(c, seed=3))
    assert w.values["alpha"] < Fraction(1, 2) + Fraction(1, 10)


def test_violation_only_on_a_thin_parameter_window_is_found():
    """``(alpha - 3/10)^2 >= 1/10^4`` fails only for ``|alpha - 3/10| < 1/100``."""
    atom = Atom((ALPHA - sp.Rational(3, 10)) ** 2 - sp.Rational(1, 10**4), ">=",
                "alpha away from 3/10")
    c = claim(2, "x", [atom])
    w = assert_certified(c, nm.refute_numeric(c))
    assert abs(w.values["alpha"] - Fraction(3, 10)) < Fraction(1, 100)


def test_undefined_points_are_not_violations():
    """``log(2 alpha - 1) + 1 >= 0``: NaN for ``alpha <= 1/2`` must be dropped, the real
    failures on ``(1/2, (1 + 1/e)/2)`` found."""
    c = claim(2, "x", [Atom(sp.log(2 * ALPHA - 1) + 1, ">=", "log")])
    w = assert_certified(c, nm.refute_numeric(c))
    assert Fraction(1, 2) < w.values["alpha"] < Fraction(7, 10)
    margins = nm.violation_margins(nm.compile_claim(c), {"x": np.full((3, 2), 0.5),
                                                          "alpha": np.array([0.25, 0.5, 0.6])})
    assert margins[0, 0] == -np.inf and margins[1, 0] == -np.inf and margins[2, 0] > 0


# --- true claims are never refuted ---------------------------------------------------
def test_true_claims_never_refuted_across_seeds():
    p, q, m = anchoring(3)
    r = components("r", 3)
    gibbs = claim(3, "pq", [Atom(kl(p, q), ">=", "KL(p||q) >= 0")], parameters=(), domain=())
    tv = sp.Add(*[sp.Abs(x - y) for x, y in zip(p, q)]) / 2
    pinsker = claim(3, "pq", [Atom(kl(p, q) - 2 * tv ** 2, ">=", "Pinsker")],
                    parameters=(), domain=())
    convex = claim(3, "pq", [Atom((1 - ALPHA) * kl(p, q) - kl(p, m), ">=", "MT3, 1-alpha")])
    simplex = claim(3, "pqr", [Atom(sp.Add(*m) - 1, "==", "M sums to 1")] +
                    [Atom(x, ">", f"M_{i} > 0") for i, x in enumerate(m)] +
                    [Atom(kl(r, r), "==", "KL(r||r) = 0")])
    for c in (gibbs, pinsker, convex, simplex):
        for seed in range(4):
            ev = nm.refute_numeric(c, seed=seed, samples=1500)
            assert ev.status == UNKNOWN, (c.atoms[0].label, seed, ev)
            assert ev.method == "numeric" and ev.classes == 3 and ev.estimate


# --- determinism -------------------------------------------------------------------------
def test_same_seed_same_witness_and_samples():
    p, q, m = anchoring(3)
    c = claim(3, "pq", [Atom((1 - ALPHA) / 2 * kl(p, q) - kl(p, m), ">=", "wrong kappa")])
    a, b = nm.refute_numeric(c, seed=5), nm.refute_numeric(c, seed=5)
    assert a.status == REFUTED and a.witness == b.witness and a.method == b.method
    s1, s2 = nm.sample_points(c, 300, seed=1), nm.sample_points(c, 300, seed=1)
    assert all(np.array_equal(s1[k], s2[k]) for k in s1)
    s3 = nm.sample_points(c, 300, seed=2)
    assert not np.array_equal(s1["q"], s3["q"])
    c1 = nm.search(c, seed=9, samples=500)
    c2 = nm.search(c, seed=9, samples=500)
    assert [x.values for x in c1] == [x.values for x in c2]
    assert [x.margin for x in c1] == sorted((x.margin for x in c1), reverse=True)


# --- samplers and domains ----------------------------------------------------------------
def test_samples_lie_in_the_open_simplex_and_the_domain():
    p, q, _ = anchoring(4)
    t = sp.Symbol("T", positive=True)
    c = claim(4, "pq", [Atom(p[0], ">", "x")], parameters=(ALPHA, t),
              domain=UNIT + (t < 5, sp.Ne(ALPHA, sp.Rational(1, 2))))
    s = nm.sample_points(c, 2000, seed=0)
    assert s["p"].shape == (2000, 4) and s["T"].shape == (2000,)
    for name in "pq":
        assert np.all(s[name] > 0) and np.allclose(s[name].sum(axis=1), 1, atol=1e-12)
        assert s[name].min() < 1e-6 and s[name].max() > 1 - 1e-4   # boundary and vertices
    assert np.all((s["alpha"] > 0) & (s["alpha"] < 1) & (s["alpha"] != 0.5))
    assert np.all((s["T"] > 0) & (s["T"] < 5))
    assert s["alpha"].min() < 1e-5 and s["alpha"].max() > 1 - 1e-5   # endpoints nearby
    assert np.any(s["alpha"] == 0.25)                              # simple rationals
    near = np.abs(s["q"] - s["p"]).max(axis=1)
    assert np.mean(near < 1e-2) > 0.05                             # q near p


def test_equality_constraint_is_solved_not_rejected():
    """``w1 + w2 == 1``: sampled by solving for ``w2``; witnesses satisfy it exactly."""
    k = 2
    p1, p2 = components("p1", k), components("p2", k)
    w1, w2 = sp.symbols("w1 w2")
    pool = [w1 * x + w2 * y for x, y in zip(p1, p2)]
    domain = (0 < w1, w1 < 1, 0 < w2, w2 < 1, sp.Eq(w1 + w2, 1))
    false = claim(k, ("p1", "p2"), [Atom(pool[0] - p1[0], ">=", "A_0 >= p1_0")],
                  parameters=(w1, w2), domain=domain)
    s = nm.sample_points(false, 1000, seed=0)
    assert len(s["w1"]) == 1000 and np.all(s["w1"] + s["w2"] == 1)
    w = assert_certified(false, nm.refute_numeric(false))
    assert w.values["w1"] + w.values["w2"] == 1
    true = claim(k, ("p1", "p2"), [Atom(w1 + w2 - 1, "==", "weights sum to 1"),
                                   Atom(sp.Add(*pool) - 1, "==", "pool sums to 1")],
                 parameters=(w1, w2), domain=domain)
    assert nm.refute_numeric(true).status == UNKNOWN


def test_three_weights_and_a_vector_equality():
    w1, w2, w3 = sp.symbols("w1 w2 w3")
    domain = tuple(r for w in (w1, w2, w3) for r in (0 < w, w < 1)) + (sp.Eq(w1 + w2 + w3, 1),)
    c = claim(2, "x", [Atom(w3 - sp.Rational(1, 2), ">=", "w3 >= 1/2")],
              parameters=(w1, w2, w3), domain=domain)
    w = assert_certified(c, nm.refute_numeric(c))
    assert w.values["w1"] + w.values["w2"] + w.values["w3"] == 1
    # x_0 == x_1 (the ties of S1): solved, kept through renormalisation
    x, t = components("x", 3), sp.Symbol("T", positive=True)
    f = [xi ** (1 / t) for xi in x]
    ties = claim(3, "x", [Atom(f[0] / sp.Add(*f) - f[1] / sp.Add(*f), "==", "ties")],
                 parameters=(t,), domain=(t > 0, sp.Eq(x[0], x[1])))
    s = nm.sample_points(ties, 500, seed=0)
    assert len(s["T"]) == 500 and np.all(s["x"][:, 0] == s["x"][:, 1])
    assert nm.refute_numeric(ties).status == UNKNOWN
    wrong = claim(3, "x", [Atom(f[0] - f[2], "==", "not ties")],
                  parameters=(t,), domain=(t > 0, sp.Eq(x[0], x[1])))
    w = assert_certified(wrong, nm.refute_numeric(wrong))
    assert w.values["x"][0] == w.values["x"][1]


def test_rationalize_keeps_the_simplex_and_solved_values_exact():
    w1, w2 = sp.symbols("w1 w2")
    c = claim(3, "p", [Atom(w1, ">", "w1")], parameters=(w1, w2),
              domain=(0 < w1, w1 < 1, sp.Eq(w1 + w2, 1)))
    comp = nm.compile_claim(c)
    assert nm.compile_claim(c) is comp                                     # cached
    point = {"p": (1e-7, 0.3, 0.7 - 1e-7), "w1": 0.1, "w2": 0.9}
    assert nm.rationalize(comp, point, 10**6) is None                      # 1e-7 -> 0
    exact = nm.rationalize(comp, point, 10**9)
    assert sum(exact["p"]) == 1 and min(exact["p"]) > 0
    assert exact["w1"] + exact["w2"] == 1 and exact["w1"] == Fraction(1, 10)
