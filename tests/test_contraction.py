"""Constants, local rates, fixed points and Hilbert regions of whole families, derived
from the expression alone and checked against independent numeric computations."""
from __future__ import annotations

from itertools import combinations, product

import numpy as np
import pytest
import sympy as sp

from distillproof.axioms.family import Family, Parameter
from distillproof.axioms.vector import MatVec, normalize
from distillproof.proofs.contraction import (CONSTANT_KINDS, attempt, derive, derive_all,
                                             derive_schedule, fixed_point, hilbert_region,
                                             local_rate)

R = sp.Rational
alpha = sp.Symbol("alpha", real=True)
T = sp.Symbol("T", real=True)
beta1, beta2 = sp.symbols("beta1 beta2", real=True)
t = sp.Symbol("t", integer=True, positive=True)
p, q, x = (sp.Symbol(n, positive=True) for n in ("p", "q", "x"))
q1, q2 = sp.symbols("q1 q2", positive=True)
ALPHA = Parameter(alpha, (0 < alpha, alpha < 1))
TEMP = Parameter(T, (T > 0,))
UNIFORM = (R(1, 3),) * 3
CIRC = sp.ImmutableMatrix([[R(1, 2), R(1, 4), R(1, 4)], [R(1, 4), R(1, 2), R(1, 4)],
                           [R(1, 4), R(1, 4), R(1, 2)]])
SKEW = sp.ImmutableMatrix([[R(1, 2), R(1, 8), R(1, 4)], [R(1, 4), R(3, 4), R(1, 4)],
                           [R(1, 4), R(1, 8), R(1, 2)]])          # column-stochastic
rng = np.random.default_rng(7)


def family(expr, *params, name="user spec", kind="meta-teacher", **kw):
    return Family(name, kind, expr, tuple(params), source="spec", **kw)


def simplex(k, n):
    return rng.dirichlet(np.ones(k), size=n)


def kl(a, b):
    return float(np.sum(a * np.log(a / b)))


def d_hilbert(a, b):
    r = np.log(a / b)
    return float(r.max() - r.min())


def eta_brute(W):
    """Dobrushin's coefficient as the largest event probability gap between columns."""
    n = W.shape[0]
    return max(sum((W[i, j] - W[i, k] for i in S), sp.Integer(0))
               for j, k in product(range(n), repeat=2)
               for r in range(n + 1) for S in combinations(range(n), r))


def fd_local(phi, qstar, eps=1e-6):
    """Squared spectral radius of a finite-difference Jacobian on Σv = 0."""
    K = len(qstar)
    J = np.zeros((K, K))
    for j in range(K):
        e = np.zeros(K)
        e[j] = eps
        J[:, j] = (phi(qstar + e) - phi(qstar - e)) / (2 * eps)
    B = np.vstack([np.eye(K - 1), -np.ones((1, K - 1))])
    return float(max(abs(np.linalg.eigvals(np.linalg.pinv(B) @ J @ B))) ** 2)


def iterate(phi, x0, n=3000):
    y = np.array(x0, dtype=float)
    for _ in range(n):
        y = phi(y)
    return y


# --- arithmetic and geometric anchoring -------------------------------------------------

def test_arithmetic_anchoring():
    fam = family(alpha * p + (1 - alpha) * q, ALPHA)
    d = derive_all(fam)
    assert list(d) == list(CONSTANT_KINDS)
    for kind in ("kl_forward", "kl_reverse", "kl_pairwise", "tv"):
        assert sp.simplify(d[kind].expr - (1 - alpha)) == 0
        assert d[kind].steps[-1].rule == "mixture"
    assert sp.simplify(d["local"].expr - (1 - alpha) ** 2) == 0
    assert d["hilbert"].expr == 1                      # the shift rule alone: no contraction
    a, pb = 0.3, np.array([0.2, 0.3, 0.5])
    v = np.array([1.0, -2.0, 1.0])
    for eps in (1e-3, 1e-4):                           # near p̄ the ratio tends to (1-α)²
        qq = pb + eps * v
        assert abs(kl(pb, a * pb + (1 - a) * qq) / kl(pb, qq) - (1 - a) ** 2) < 5 * eps
    lr = local_rate(fam, {"alpha": "3/10"})
    assert lr.classes is None and abs(lr.value - 0.49) < 1e-15


def test_geometric_anchoring():
    fam = family(normalize(p**alpha * q**(1 - alpha)), ALPHA)
    d = derive_all(fam)
    assert sp.simplify(d["kl_forward"].expr - (1 - alpha)) == 0
    assert d["kl_forward"].steps[-1].rule == "composition"
    assert any(s.rule == "geometric anchoring (Hölder)" for s in d["kl_forward"].steps)
    assert d["kl_reverse"] is None and d["kl_pairwise"] is None
    assert "Hölder" in " ".join(attempt(fam, "kl_reverse").reasons)
    assert d["hilbert"].exact and sp.simplify(d["hilbert"].expr - (1 - alpha)) == 0
    a, pb = 0.4, simplex(4, 1)[0]
    ratios = []
    for u, w in zip(simplex(4, 200), simplex(4, 200)):
        fu, fw = pb**a * u**(1 - a), pb**a * w**(1 - a)
        ratios.append(d_hilbert(fu / fu.sum(), fw / fw.sum()) / d_hilbert(u, w))
        assert kl(pb, fu / fu.sum()) <= (1 - a) * kl(pb, u) + 1e-12
    assert max(ratios) <= 0.6 + 1e-9 and min(ratios) >= 0.6 - 1e-9   # attained everywhere
    assert sp.simplify(d["local"].expr - (1 - alpha) ** 2) == 0


# --- kernels -------------------------------------------------------------------------

def test_kernel_bound_only_when_the_kernel_fixes_the_anchor():
    fam = family(alpha * p + (1 - alpha) * MatVec(CIRC, q), ALPHA)
    eta = eta_brute(CIRC)
    fwd = derive(fam, "kl_forward", anchor=UNIFORM)
    assert sp.simplify(fwd.expr - (1 - alpha) * eta) == 0 and fwd.anchor == UNIFORM
    assert sp.simplify(derive(fam, "kl_reverse", anchor=UNIFORM).expr - (1 - alpha) * eta) == 0
    none = attempt(fam, "kl_forward")                       # every anchor: W p ≠ p
    assert none.bound is None and any("W p̄" in r for r in none.reasons)
    pair = derive(fam, "kl_pairwise")                       # pairwise needs no anchor
    assert sp.simplify(pair.expr - (1 - alpha) * eta) == 0
    skew = family(alpha * p + (1 - alpha) * MatVec(SKEW, q), ALPHA)
    assert derive(skew, "kl_forward", anchor=UNIFORM) is None
    assert sp.simplify(derive(skew, "tv").expr - (1 - alpha) * eta_brute(SKEW)) == 0


def test_kernel_fixed_point_moves_when_the_anchor_is_not_fixed():
    skew = family(alpha * p + (1 - alpha) * MatVec(SKEW, q), ALPHA)
    fp = fixed_point(skew, at={"alpha": "1/4"}, anchor=UNIFORM)
    assert fp.exact and fp.certified and fp.anchor_fixed is False and fp.classes == 3
    W, pb = np.array(SKEW.tolist(), dtype=float), np.full(3, 1 / 3)
    phi = lambda v: 0.25 * pb + 0.75 * W @ v
    assert np.allclose(fp.numeric, iterate(phi, pb), atol=1e-12)
    assert abs(fp.distance_from_anchor - kl(pb, np.array(fp.numeric))) < 1e-12
    fixed = fixed_point(family(alpha * p + (1 - alpha) * MatVec(CIRC, q), ALPHA),
                        at={"alpha": "1/4"}, anchor=UNIFORM)
    assert fixed.anchor_fixed is True and fixed.distance_from_anchor == 0.0
    lr = local_rate(skew, {"alpha": "1/4"})
    assert abs(lr.value - fd_local(phi, np.array(fp.numeric))) < 1e-8


# --- temperature inside the loop -----------------------------------------------------

def test_geometric_temperature_fixed_point_local_rate_and_region():
    fam = family(normalize((p**alpha * q**(1 - alpha)) ** (1 / T)), ALPHA, TEMP)
    fp = fixed_point(fam, classes=3, at={"alpha": "3/10", "T": "2"})
    # by hand: p^(a/T) (p^c)^((1-a)/T) ∝ p^c  <=>  c = a / (T - 1 + a)
    assert fp.exact and fp.certified and fp.anchor_fixed is False
    base, expo = fp.point.args[0].as_base_exp()
    assert base == p and sp.simplify(expo - alpha / (T - 1 + alpha)) == 0
    pb = np.array([float(v) for v in fp.anchor])
    c = 0.3 / 1.3
    assert np.allclose(fp.numeric, pb**c / (pb**c).sum(), atol=1e-14)

    def phi(v):
        m = (pb**0.3 * v**0.7) ** 0.5
        return m / m.sum()
    assert np.allclose(fp.numeric, iterate(phi, pb), atol=1e-12)
    lr = local_rate(fam, {"alpha": "3/10", "T": "2"})
    assert sp.simplify(lr.expr - ((1 - alpha) / T) ** 2) == 0 and lr.classes is None
    assert abs(lr.value - fd_local(phi, np.array(fp.numeric))) < 1e-8
    reg = hilbert_region(fam)
    assert reg.exact and reg.on_domain == "violated"
    for a, temp in rng.uniform(0.01, 3, size=(50, 2)):
        a = a / 3
        assert bool(reg.relation.subs({alpha: a, T: temp})) == (abs((1 - a) / temp) < 1)


def test_arithmetic_temperature_numeric_certified_fixed_point():
    fam = family(normalize((alpha * p + (1 - alpha) * q) ** (1 / T)), ALPHA, TEMP)
    fp = fixed_point(fam, classes=3, at={"alpha": "3/10", "T": "2"})
    assert not fp.exact and fp.certified and fp.enclosure is not None
    pb = np.array([float(v) for v in fp.anchor])

    def phi(v):
        m = (0.3 * pb + 0.7 * v) ** 0.5
        return m / m.sum()
    ref = iterate(phi, pb)
    assert all(lo <= r <= hi for r, (lo, hi) in zip(ref, fp.enclosure))
    lo, hi = fp.distance_enclosure
    assert lo <= kl(pb, ref) <= hi
    lr = local_rate(fam, {"alpha": "3/10", "T": "2"}, classes=3)
    assert lr.expr is None and abs(lr.value - fd_local(phi, ref)) < 1e-8
    reg = hilbert_region(fam)
    assert not reg.exact and sp.simplify(reg.relation.lhs - 1) == 0 and reg.relation.rhs == T


def test_softening_operator():
    fam = family(normalize(x ** (1 / T)), TEMP, kind="softening", name="F_T")
    d = derive_all(fam)
    assert d["hilbert"].exact and sp.simplify(d["hilbert"].expr - 1 / T) == 0
    assert d["kl_forward"] is None and d["kl_reverse"] is None
    fp = fixed_point(fam, classes=4, at={"T": "3"})
    assert fp.exact and np.allclose(fp.numeric, 0.25) and fp.distance_from_anchor is None


# --- memory, schedules, negative controls ------------------------------------------

def test_memory_two_generations():
    fam = family(alpha * p + beta1 * q1 + beta2 * q2, ALPHA, Parameter(beta1, (beta1 > 0,)),
                 Parameter(beta2, (beta2 > 0,)), constraints=(sp.Eq(alpha + beta1 + beta2, 1),))
    d = derive_all(fam)
    assert sp.simplify((d["kl_forward"].expr - (1 - alpha)).subs(alpha, 1 - beta1 - beta2)) == 0
    at = {"alpha": "3/10", "beta1": "1/2", "beta2": "1/5"}
    C = np.array([[0.5, 0.2], [1.0, 0.0]])
    lr = local_rate(fam, at)
    assert lr.expr is not None and abs(lr.value - max(abs(np.linalg.eigvals(C))) ** 2) < 1e-12
    assert fixed_point(fam, classes=3, at=at).anchor_fixed is True


def test_schedule_family():
    fam = family(alpha * p + (1 - alpha) * q, ALPHA, schedule=1 / (t + 1))
    b = derive_schedule(fam, "kl_forward")
    assert sp.simplify(b.expr - 1 / (t + 1)) == 0 and b.converges is True
    assert b.generations == t
    slow = family(alpha * p + (1 - alpha) * q, ALPHA, schedule=1 / (t + 1) ** 2)
    assert derive_schedule(slow, "tv").converges is False
    # no per-step constant: sup_t (1 - α_t) = 1
    assert derive(fam, "kl_forward") is None and derive(fam, "local") is None
    assert local_rate(fam).value is None


def test_negative_controls():
    ident = derive_all(family(q))
    assert all(ident[k].expr == 1 for k in CONSTANT_KINDS)
    const = derive_all(family(p))
    assert all(const[k].expr == 0 for k in CONSTANT_KINDS)
    arith = family(alpha * p + (1 - alpha) * q, Parameter(alpha, (0 <= alpha, alpha < 1)))
    unanchored = arith.with_values({"alpha": 0})
    assert derive(unanchored, "kl_forward").expr == 1
    assert local_rate(unanchored).value is None and local_rate(unanchored).expr == 1


def test_rules_refuse_weights_negative_on_the_domain():
    fam = family(alpha * p + (1 - alpha) * q, Parameter(alpha, (0 < alpha, alpha < 2)))
    a = attempt(fam, "kl_forward")
    assert a.bound is None and any("violated" in r for r in a.reasons)


# --- the recogniser on a user's expression -----------------------------------------

@pytest.mark.parametrize("expr", [
    alpha * p + (1 - alpha) / 2 * q + (1 - alpha) / 2 * MatVec(CIRC, q),
    normalize(2 * alpha * p + (1 - alpha) * (q + MatVec(CIRC, q))),
    alpha * p + q / 2 - alpha * q / 2 + MatVec(CIRC, q) / 2 - alpha * MatVec(CIRC, q) / 2,
])
def test_user_spec_kernel_mixture_anchor(expr):
    fam = family(expr, ALPHA, name="my operator")
    eta = eta_brute(CIRC)
    b = derive(fam, "kl_forward", anchor=UNIFORM)
    assert sp.simplify(b.expr - (1 - alpha) * (1 + eta) / 2) == 0
    rules_used = {s.rule for s in b.steps}
    assert {"mixture", "data processing", "composition"} <= rules_used
    for step in b.steps:
        assert all(how for _, how in step.conditions)
    a = 0.2
    W = np.array(CIRC.tolist(), dtype=float)
    for u in simplex(3, 100):
        m = a * np.full(3, 1 / 3) + (1 - a) / 2 * (u + W @ u)
        assert kl(np.full(3, 1 / 3), m) <= float(b.expr.subs(alpha, a)) * kl(np.full(3, 1 / 3), u) + 1e-12


def test_birkhoff_for_the_whole_linear_map_at_a_concrete_anchor():
    fam = family(alpha * p + (1 - alpha) * q, ALPHA).with_values({"alpha": "1/5"})
    pb = (R(1, 6), R(1, 3), R(1, 2))
    b = derive(fam, "hilbert", anchor=pb)
    M = np.array(pb, dtype=float)[:, None] * 0.2 + 0.8 * np.eye(3)
    delta = max(d_hilbert(M[:, k], M[:, l]) for k in range(3) for l in range(3))
    assert b.exact and abs(float(b.expr) - np.tanh(delta / 4)) < 1e-12
    for u, w in zip(simplex(3, 500), simplex(3, 500)):
        assert d_hilbert(M @ u, M @ w) <= float(b.expr) * d_hilbert(u, w) + 1e-12


def test_closed_form_records_where_it_is_defined():
    fam = family(normalize((p**alpha * q**(1 - alpha)) ** (1 / T)), ALPHA, TEMP)
    conds = dict(c for s in derive(fam, "local").steps for c in s.conditions)
    assert "not on the whole domain" in conds["T + alpha - 1 ≠ 0"]
    hot = family(normalize((p**alpha * q**(1 - alpha)) ** (1 / T)), ALPHA,
                 Parameter(T, (T > 1,)))
    conds = dict(c for s in derive(hot, "local").steps for c in s.conditions)
    assert conds["T + alpha - 1 ≠ 0"] == "z3: unsat over the domain"


def test_anchor_given_as_a_pool_of_teachers():
    p1, p2 = sp.symbols("p1 p2", positive=True)
    w1, w2 = sp.symbols("w1 w2", real=True)
    fam = Family("pooled", "meta-teacher", alpha * (w1 * p1 + w2 * p2) + (1 - alpha) * q,
                 (ALPHA, Parameter(w1, (0 < w1, w1 < 1)), Parameter(w2, (0 < w2, w2 < 1))),
                 constraints=(sp.Eq(w1 + w2, 1),), anchor=w1 * p1 + w2 * p2)
    assert sp.simplify(derive(fam, "kl_forward").expr - (1 - alpha)) == 0
    assert fixed_point(fam, classes=3, at={"alpha": "1/2", "w1": "1/3", "w2": "2/3"}).anchor_fixed


def test_fixed_anchor_of_the_family_is_used():
    fam = Family("kernel", "meta-teacher", alpha * p + (1 - alpha) * MatVec(CIRC, q), (ALPHA,),
                 classes=(3,), fixed_vectors=(("p", UNIFORM),))
    assert sp.simplify(derive(fam, "kl_forward").expr - (1 - alpha) * eta_brute(CIRC)) == 0
    assert fixed_point(fam, at={"alpha": "1/2"}).anchor_fixed is True


def test_catalogue_smoke():
    from distillproof.axioms.catalogue import catalogue
    for fam in catalogue():
        d = derive_all(fam)
        assert list(d) == list(CONSTANT_KINDS)
        for b in d.values():
            if b is not None:
                assert b.steps and b.generations is None
        if fam.kind != "aggregation" and fam.schedule is None:
            fp = fixed_point(fam)
            assert fp.numeric is None or fp.certified
