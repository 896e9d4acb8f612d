"""The proof rules of the contraction calculus, each against an independent
computation (brute force, numpy, a hand derivation written in the test)."""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations, product

import numpy as np
import pytest
import sympy as sp

from distillproof.proofs import rules
from distillproof.proofs._discharge import holds_on_domain

alpha = sp.Symbol("alpha", real=True)
beta1, beta2, beta3 = sp.symbols("beta1 beta2 beta3", real=True)
T = sp.Symbol("T", real=True)
t = sp.Symbol("t", integer=True, positive=True)
R = sp.Rational
UNIT = (0 < alpha, alpha < 1)
HOW = {"sympy: identity", "z3: unsat over the domain", "exact arithmetic", "by hypothesis"}
rng = np.random.default_rng(20240611)


def simplex(k, n=1):
    return rng.dirichlet(np.ones(k) * 0.7, size=n)


def kl(a, b):
    return float(np.sum(a * np.log(a / b)))


def d_hilbert(a, b):
    r = np.log(a / b)
    return float(r.max() - r.min())


def discharges(bound):
    return [how for s in bound.steps for _, how in s.conditions]


# --- side conditions -------------------------------------------------------------------

def test_discharge_three_values():
    assert holds_on_domain(sp.Ge(1 - alpha, 0), UNIT).how == "z3: unsat over the domain"
    bad = holds_on_domain(sp.Ge(1 - alpha, 0), (0 < alpha, alpha < 2))
    assert bad.status == "violated" and Fraction(bad.witness["alpha"]) > 1
    assert holds_on_domain(sp.Ge(sp.log(alpha), 0), (alpha > 1,)).status == "unknown"
    assert holds_on_domain(sp.Eq(alpha + (1 - alpha), 1)).how == "sympy: identity"
    # a denominator vanishing on the domain is never discharged
    assert not holds_on_domain(sp.Ge(1 / alpha, 0), (alpha > -1,)).discharged


# --- mixture -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["kl_forward", "kl_reverse", "kl_pairwise", "tv"])
def test_mixture_arithmetic_anchoring(kind):
    b = rules.mixture([alpha, 1 - alpha], [rules.constant(kind), rules.identity(kind)], UNIT)
    assert sp.simplify(b.expr - (1 - alpha)) == 0
    assert b.kind == kind and b.steps[-1].rule == "mixture"
    assert set(discharges(b)) - {"in the derivation of each piece"} <= HOW


def test_mixture_refuses_when_side_conditions_fail():
    pieces = [rules.constant("kl_forward"), rules.identity("kl_forward")]
    assert rules.mixture([alpha, 1 - alpha], pieces, (0 < alpha, alpha < 2)) is None
    assert rules.mixture([alpha, 1 - alpha / 2], pieces, UNIT) is None
    h = [rules.constant("hilbert"), rules.identity("hilbert")]
    assert rules.mixture([alpha, 1 - alpha], h, UNIT) is None        # not a convex kind


def test_mixture_uses_domain_equations():
    dom = UNIT + (beta1 > 0, beta2 > 0, sp.Eq(alpha + beta1 + beta2, 1))
    pieces = [rules.constant("kl_forward"), rules.identity("kl_forward"),
              rules.identity("kl_forward")]
    b = rules.mixture([alpha, beta1, beta2], pieces, dom)
    assert sp.simplify((b.expr - (1 - alpha)).subs(beta2, 1 - alpha - beta1)) == 0


def test_mixture_numeric_sanity():
    a = 0.3
    for p, q in zip(simplex(4, 200), simplex(4, 200)):
        assert kl(p, a * p + (1 - a) * q) <= (1 - a) * kl(p, q) + 1e-12


# --- data processing -----------------------------------------------------------------

def random_kernel(k, seed):
    g = np.random.default_rng(seed)
    cols = []
    for _ in range(k):
        w = g.integers(1, 9, size=k)
        cols.append([Fraction(int(x), int(w.sum())) for x in w])
    return sp.ImmutableMatrix(k, k, lambda i, j: sp.Rational(cols[j][i].numerator,
                                                             cols[j][i].denominator))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_eta_tv_against_brute_force_over_events(seed):
    W = random_kernel(3, seed)
    # TV(a, b) = max over events S of a(S) - b(S): a definition independent of ½‖·‖₁
    best = max(sum((W[i, j] - W[i, k] for i in S), sp.Integer(0))
               for j, k in product(range(3), repeat=2)
               for r in range(4) for S in combinations(range(3), r))
    assert rules.eta_tv(W) == best
    b = rules.data_processing(W, kind="kl_pairwise")
    assert b.expr == best and b.classes == 3
    Wf = np.array(W.tolist(), dtype=float)
    for a, c in zip(simplex(3, 300), simplex(3, 300)):
        assert kl(Wf @ a, Wf @ c) <= float(best) * kl(a, c) + 1e-12
        assert 0.5 * np.abs(Wf @ (a - c)).sum() <= float(best) * 0.5 * np.abs(a - c).sum() + 1e-12


def test_data_processing_needs_the_anchor_fixed():
    W = sp.ImmutableMatrix([[R(1, 2), R(1, 4), R(1, 4)], [R(1, 4), R(1, 2), R(1, 4)],
                            [R(1, 4), R(1, 4), R(1, 2)]])
    uniform = (R(1, 3),) * 3
    fwd = rules.data_processing(W, uniform, "kl_forward")
    assert fwd.expr == R(1, 4) and fwd.anchor == uniform
    assert rules.data_processing(W, (R(1, 2), R(1, 4), R(1, 4)), "kl_forward") is None
    assert rules.data_processing(W, None, "kl_reverse") is None
    p = sp.symbols("p_0:3", positive=True)
    assert rules.data_processing(W, p, "kl_forward") is None      # not every anchor
    assert rules.data_processing(sp.eye(3), p, "kl_forward").expr == 1    # η_TV(I) = 1
    not_stochastic = W.T * sp.diag(1, 1, 2)
    assert rules.data_processing(not_stochastic, kind="tv") is None


# --- composition ---------------------------------------------------------------------

def test_composition_multiplies_and_checks_kinds():
    W = random_kernel(3, 4)
    dp = rules.data_processing(W, kind="kl_pairwise")
    mix = rules.mixture([alpha, 1 - alpha], [rules.constant("kl_pairwise"),
                                             rules.identity("kl_pairwise")], UNIT)
    c = rules.composition(dp, mix)
    assert sp.simplify(c.expr - rules.eta_tv(W) * (1 - alpha)) == 0
    assert rules.composition(dp, rules.identity("tv")) is None
    assert rules.composition(rules.identity("local"), rules.identity("local")) is None


# --- geometric anchoring --------------------------------------------------------------

def test_geometric_anchoring_hoelder():
    b = rules.geometric_anchoring(alpha, UNIT)
    assert b.kind == "kl_forward" and sp.simplify(b.expr - (1 - alpha)) == 0
    assert "sympy: identity" in discharges(b)
    assert rules.geometric_anchoring(alpha, (0 < alpha, alpha < 2)) is None
    a = 0.35
    for p, q in zip(simplex(5, 300), simplex(5, 300)):
        m = p**a * q**(1 - a)
        m /= m.sum()
        # the identity behind the rule, and the bound
        assert abs(kl(p, m) - ((1 - a) * kl(p, q) + np.log((p**a * q**(1 - a)).sum()))) < 1e-12
        assert kl(p, m) <= (1 - a) * kl(p, q) + 1e-12


# --- Hilbert metric ------------------------------------------------------------------

def test_hilbert_power_is_exact():
    b = rules.hilbert_power((1 - alpha) / T, UNIT + (T > 0,))
    assert b.exact and sp.simplify(b.expr - (1 - alpha) / T) == 0
    assert rules.hilbert_power(-2 * T, (T > 0,)).expr == 2 * T
    assert rules.hilbert_power(T).expr == sp.Abs(T)
    g, c = -0.7, simplex(4)[0]
    for x, y in zip(simplex(4, 50), simplex(4, 50)):
        assert abs(d_hilbert(c * x**g, c * y**g) - abs(g) * d_hilbert(x, y)) < 1e-9


def test_birkhoff_coefficient_against_brute_force():
    W = random_kernel(3, 7)
    b = rules.hilbert_positive_matrix(W)
    Wf = np.array(W.tolist(), dtype=float)
    # projective diameter: the largest d_H between two columns (images of vertices)
    delta = max(d_hilbert(Wf[:, k], Wf[:, l]) for k in range(3) for l in range(3))
    assert abs(float(b.expr) - np.tanh(delta / 4)) < 1e-12
    worst = 0.0
    for x, y in zip(simplex(3, 2000), simplex(3, 2000)):
        ratio = d_hilbert(Wf @ x, Wf @ y) / d_hilbert(x, y)
        assert ratio <= float(b.expr) + 1e-12
        worst = max(worst, ratio)
    assert worst > 0.5 * float(b.expr)
    assert rules.hilbert_positive_matrix(sp.ImmutableMatrix([[1, R(1, 2)], [0, R(1, 2)]])) is None


def test_hilbert_shift():
    inner = rules.identity("hilbert")
    assert rules.hilbert_shift(inner, 1 - alpha, [alpha], UNIT).expr == 1
    assert rules.hilbert_shift(inner, 1 - alpha, [alpha], (0 < alpha, alpha < 2)) is None
    p = simplex(4)[0]
    for x, y in zip(simplex(4, 300), simplex(4, 300)):
        assert d_hilbert(0.4 * p + 0.6 * x, 0.4 * p + 0.6 * y) <= d_hilbert(x, y) + 1e-12


# --- memory --------------------------------------------------------------------------

def companion_rho(betas):
    L = len(betas)
    C = np.zeros((L, L))
    C[0, :] = betas
    C[1:, :-1] = np.eye(L - 1)
    return max(abs(np.linalg.eigvals(C)))


def test_memory_numeric_betas_against_numpy():
    betas = [R(1, 3), R(1, 4), R(1, 6)]
    b = rules.memory(1 - sum(betas), betas)
    assert b.kind == "local" and b.exact
    assert abs(float(b.expr) - companion_rho([float(x) for x in betas]) ** 2) < 1e-12


def test_memory_symbolic_two_steps():
    dom = UNIT + (beta1 > 0, beta2 > 0, sp.Eq(alpha + beta1 + beta2, 1))
    b = rules.memory(alpha, [beta1, beta2], dom)
    assert b.exact
    for b1, b2 in [(0.5, 0.2), (0.1, 0.7), (0.3, 0.3)]:
        val = float(b.expr.subs({beta1: b1, beta2: b2}))
        assert abs(val - companion_rho([b1, b2]) ** 2) < 1e-12
    assert rules.memory(alpha, [beta1, beta2], UNIT) is None           # sum not implied
    assert rules.memory(None, [R(1, 2), R(-1, 4)]) is None              # negative weight


def test_memory_upper_bound_when_no_closed_form():
    dom = UNIT + (beta1 > 0, beta2 > 0, beta3 > 0, sp.Eq(alpha + beta1 + beta2 + beta3, 1))
    b = rules.memory(alpha, [beta1, beta2, beta3], dom)
    assert not b.exact
    for bs in [(0.2, 0.3, 0.1), (0.05, 0.05, 0.8)]:
        a = 1 - sum(bs)
        val = float(b.expr.subs({alpha: a, beta1: bs[0], beta2: bs[1], beta3: bs[2]}))
        assert companion_rho(list(bs)) ** 2 <= val + 1e-12


# --- schedules -----------------------------------------------------------------------

def test_schedule_product_and_divergence():
    b = rules.schedule(1 / (t + 1), t)
    assert sp.simplify(b.expr - 1 / (t + 1)) == 0 and b.converges is True
    b2 = rules.schedule(1 / (t + 1) ** 2, t)
    assert b2.converges is False
    direct = np.prod([1 - 1 / (s + 1) ** 2 for s in range(1, 11)])
    assert abs(float(b2.expr.subs(t, 10)) - direct) < 1e-12
    assert rules.schedule(R(1, 2), t).converges is True
    assert rules.schedule(2 + 0 * t, t) is None
