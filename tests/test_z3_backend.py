"""The Z3 backend (checker/_z3.py), certification (_certify.py) and shrinking (_shrink.py).

Claims are built by hand at K=3 from the component symbols of axioms.vector.  Every
refutation is re-checked here independently with fractions; every proof's SMT-LIB2
text is replayed in a fresh solver.
"""
from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp
import z3

from distillproof.axioms.claims import Atom, Claim
from distillproof.axioms.vector import components
from distillproof.checker._certify import certify, enclosure, sign
from distillproof.checker import _z3
from distillproof.checker._shrink import complexity, shrink
from distillproof.checker._z3 import (NotEncodable, decide, encode, rational_points,
                                      refute_instantiated)
from distillproof.proofs.evidence import Proved, Refuted, Unknown, Witness

K = 3
P, Q = components("p", K), components("q", K)
ALPHA = sp.Symbol("alpha")
T = sp.Symbol("t")
OPEN_UNIT = (sp.Gt(ALPHA, 0), sp.Lt(ALPHA, 1))
HALF = sp.Rational(1, 2)


def claim(atoms, *, params=(ALPHA,), domain=OPEN_UNIT, vectors=None, axiom="test"):
    vectors = {"p": P, "q": Q} if vectors is None else vectors
    return Claim(axiom=axiom, family="hand-built", classes=K, vectors=vectors,
                 parameters=tuple(params), domain=tuple(domain), atoms=tuple(atoms))


def arithmetic():
    return [ALPHA * P[i] + (1 - ALPHA) * Q[i] for i in range(K)]


def replays_unsat(smt: str) -> bool:
    solver = z3.Solver()
    solver.from_string(smt)
    return solver.check() == z3.unsat


def as_fraction_subs(claim_, values):
    subs = {}
    for name, comps in claim_.vectors.items():
        subs.update({s: sp.Rational(v.numerator, v.denominator)
                     for s, v in zip(comps, values[name])})
    for s in claim_.parameters:
        subs[s] = sp.Rational(values[s.name].numerator, values[s.name].denominator)
    return subs


# --- algebraic claims: proved and refuted ------------------------------------------
def test_true_algebraic_claim_is_proved_with_replayable_smt():
    m = arithmetic()
    atoms = [Atom(sum(m) - 1, "==", "sum M = 1")] + [
        Atom(m[i], ">", f"M_{i} > 0") for i in range(K)]
    evidence = decide(claim(atoms))
    assert isinstance(evidence, Proved)
    assert evidence.method == "z3" and evidence.classes == K
    assert "(check-sat)" in evidence.smt and replays_unsat(evidence.smt)
    assert evidence.steps[0].rule == "exact decision"


def test_planted_false_claim_is_refuted_with_exact_certified_witness():
    m = arithmetic()
    c = claim([Atom(m[0] - P[0], ">=", "M_0 >= p_0")])
    evidence = decide(c)
    assert isinstance(evidence, Refuted)
    w = evidence.witness
    assert w.certified_by == "exact" and w.atom == "M_0 >= p_0"
    assert certify(c, w.values) is not None
    # independent re-check with fractions: M_0 - p_0 = (1 - alpha)(q_0 - p_0) < 0
    p, q, a = w.values["p"], w.values["q"], w.values["alpha"]
    assert all(isinstance(x, Fraction) for x in p + q + (a,))
    assert sum(p) == 1 and sum(q) == 1 and min(p + q) > 0 and 0 < a < 1
    assert a * p[0] + (1 - a) * q[0] - p[0] < 0
    assert Fraction(w.value) == a * p[0] + (1 - a) * q[0] - p[0]
    # the model is sat, and the witness is replayable as text
    assert "alpha=" in w.assignment_text()


def test_encoding_holds_the_parts():
    m = arithmetic()
    enc = encode(claim([Atom(m[0], ">", "M_0 > 0")]))
    assert set(enc.variables) == set(P + Q + (ALPHA,))
    assert len(enc.constraints) == 2 * (K + 1) + 2      # positivity, sums, domain
    assert len(enc.atoms) == len(enc.defined) == 1


# --- rational powers --------------------------------------------------------------
def test_rational_power_claim_proved():
    # sqrt(q_0) >= q_0 on the open simplex (q_0 < 1)
    c = claim([Atom(sp.sqrt(Q[0]) - Q[0], ">=", "sqrt(q_0) >= q_0")], params=(), domain=())
    evidence = decide(c)
    assert isinstance(evidence, Proved) and replays_unsat(evidence.smt)


def test_rational_power_claim_refuted_with_interval_or_exact_certificate():
    # sqrt(q_0) >= 2 q_0 fails for q_0 > 1/4
    c = claim([Atom(sp.sqrt(Q[0]) - 2 * Q[0], ">=", "sqrt(q_0) >= 2 q_0")],
              params=(), domain=())
    evidence = decide(c)
    assert isinstance(evidence, Refuted)
    q0 = evidence.witness.values["q"][0]
    assert q0 > Fraction(1, 4)                       # sqrt(q0) < 2 q0  <=>  q0 > 1/4
    assert certify(c, evidence.witness.values) is not None


def test_fractional_power_of_a_parameter_checks_the_base_sign():
    positive = claim([Atom(T ** sp.Rational(3, 2) * P[0], ">", "t^(3/2) p_0 > 0")],
                     params=(T,), domain=(sp.Gt(T, 0),))
    evidence = decide(positive)
    assert isinstance(evidence, Proved)
    assert any("t >= 0" in c for c, _ in evidence.steps[0].conditions)
    maybe_negative = claim([Atom(sp.sqrt(T) + 1, ">", "sqrt(t) + 1 > 0")],
                           params=(T,), domain=(sp.Gt(T, -1),))
    with pytest.raises(NotEncodable, match="can be negative"):
        encode(maybe_negative)
    assert isinstance(decide(maybe_negative), Unknown)


def test_division_guards_are_side_conditions():
    # (t-1)(t+1)/(t^2-1) = 1 wherever it is defined; t = 1 is in the domain (0, 2)
    expr = (T - 1) * (T + 1) / (T ** 2 - 1) - 1
    c = claim([Atom(expr, "==", "ratio is 1")], params=(T,), domain=(sp.Gt(T, 0), sp.Lt(T, 2)))
    evidence = decide(c)
    assert isinstance(evidence, Proved)
    assert any("!= 0" in cond for cond, _ in evidence.steps[0].conditions)


# --- not encodable, never dropped ---------------------------------------------------
def test_log_is_not_encodable():
    c = claim([Atom(sp.log(P[0]) - P[0] + 1, ">=", "log")],
              params=(), domain=())
    evidence = decide(c)
    assert isinstance(evidence, Unknown) and evidence.reason == "not encodable: log"


def test_symbolic_exponent_and_float_are_named():
    c = claim([Atom(P[0] ** ALPHA - Q[0], ">=", "power")])
    evidence = decide(c)
    assert evidence.reason == "not encodable: symbolic exponent alpha in p_0**alpha"
    with pytest.raises(NotEncodable, match="floating-point"):
        encode(claim([Atom(P[0] - sp.Float("0.3"), ">", "float")]))


# --- irrational models ------------------------------------------------------------------
def test_irrational_only_witness_is_unknown_not_refuted():
    # the only violations have t = -sqrt(2): no rational witness exists
    c = claim([Atom(T - 1, ">=", "t >= 1")], params=(T,), domain=(sp.Eq(T ** 2, 2),))
    evidence = decide(c)
    assert isinstance(evidence, Unknown)
    assert evidence.reason == "z3 found only an irrational witness that did not survive rounding"


def test_irrational_model_is_repaired_to_a_rational_witness():
    # p_0^2 = 2 p_1 has rational points, though z3 may pick an algebraic one
    c = claim([Atom(P[0] - sp.Rational(9, 10), ">=", "p_0 >= 9/10")], params=(),
              domain=(sp.Eq(P[0] ** 2, 2 * P[1]),), vectors={"p": P})
    evidence = decide(c)
    assert isinstance(evidence, Refuted)
    p = evidence.witness.values["p"]
    assert p[0] ** 2 == 2 * p[1] and sum(p) == 1 and min(p) > 0 and p[0] < Fraction(9, 10)


def test_timeout_is_unknown():
    x = P + Q
    hard = (sum(v ** 6 - 3 * v ** 3 for v in x) + sp.Mul(*x) - sp.Rational(7, 3) * x[0] * x[3]
            + ALPHA ** 5 * x[1] - ALPHA * x[4] ** 4)
    c = claim([Atom(hard, "==", "hard"), Atom(ALPHA ** 3 - x[2] * x[5], ">", "hard 2")])
    evidence = decide(c, timeout_ms=1)
    assert isinstance(evidence, Unknown)
    assert evidence.reason == "z3: timeout after 1 ms" and evidence.method == "z3"


# --- certification and signs ----------------------------------------------------------
def test_sign_is_exact_then_interval():
    assert sign(sp.Rational(-1, 3)) == -1
    assert sign(sp.sqrt(2) - sp.Rational(141, 100)) == 1
    assert sign(sp.sqrt(6) / 3 - sp.sqrt(sp.Rational(2, 3))) == 0
    assert sign(sp.log(2) - sp.Rational(69, 100)) == 1
    assert sign(sp.exp(-50) - sp.Rational(1, 10 ** 22)) == 1          # 1.9e-22
    assert sign(sp.pi - sp.Rational(355, 113)) == -1
    assert sign(sp.log(4) - 2 * sp.log(2)) is None                     # zero, unprovable
    assert sign(sp.Pow(-8, sp.Rational(1, 3))) is None                 # not real
    ball = enclosure(sp.log(3) * sp.exp(sp.Rational(1, 7)), 128)
    assert ball is not None and ball.rad() < 1e-30


def test_certify_rejects_non_points_and_true_atoms():
    m = arithmetic()
    c = claim([Atom(m[0] - P[0], ">=", "M_0 >= p_0")])
    third = (Fraction(1, 3),) * 3
    half = {"p": (Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)), "q": third,
            "alpha": Fraction(1, 2)}
    assert certify(c, half) is not None
    assert certify(c, {**half, "alpha": Fraction(3, 2)}) is None        # outside domain
    assert certify(c, {**half, "q": (Fraction(1, 2), Fraction(1, 2), Fraction(0))}) is None
    assert certify(c, {**half, "p": third}) is None                     # atom holds
    with pytest.raises(ValueError):
        certify(c, {"p": third, "alpha": Fraction(1, 2)})


def test_certify_with_log_uses_intervals():
    c = claim([Atom(sp.log(P[0] / Q[0]) - P[0] + Q[0], ">=", "log ratio")], params=(), domain=())
    values = {"p": (Fraction(1, 5), Fraction(2, 5), Fraction(2, 5)), "q": (Fraction(1, 3),) * 3}
    w = certify(c, values)
    assert w is not None and w.certified_by == "interval"


# --- shrinking ------------------------------------------------------------------------
def test_shrink_keeps_certification_and_denominators_do_not_grow():
    m = arithmetic()
    c = claim([Atom(m[0] - P[0], ">=", "M_0 >= p_0")])
    messy = {"p": (Fraction(4001, 10000), Fraction(2999, 10000), Fraction(3000, 10000)),
             "q": (Fraction(1, 7), Fraction(3, 7), Fraction(3, 7)), "alpha": Fraction(33, 97)}
    w = certify(c, messy)
    assert w is not None
    small = shrink(c, w)
    assert certify(c, small.values) is not None
    assert complexity(small.values) <= complexity(w.values)
    assert max(x.denominator for v in small.values.values()
               for x in (v if isinstance(v, tuple) else (v,))) <= 10


# --- symbolic exponents: instantiate --------------------------------------------------
def geometric_collinearity_claim():
    g = [P[i] ** ALPHA * Q[i] ** (1 - ALPHA) for i in range(K)]
    z = sum(g)
    m = [gi / z for gi in g]
    atoms = [Atom((m[i] - Q[i]) * (P[j] - Q[j]) - (m[j] - Q[j]) * (P[i] - Q[i]), "==",
                  f"collinear {i},{j}") for i in range(K) for j in range(i + 1, K)]
    return claim(atoms, axiom="MT6")


def test_rational_points_lie_in_the_domain():
    c = geometric_collinearity_claim()
    points = rational_points(c, n=4)
    assert points[0] == {ALPHA: HALF} and len(points) == 4
    assert all(0 < pt[ALPHA] < 1 for pt in points)


def test_refute_instantiated_finds_certified_witness_at_half():
    c = geometric_collinearity_claim()
    assert isinstance(decide(c), Unknown)
    evidence = refute_instantiated(c, [{ALPHA: HALF}], 5000)
    assert isinstance(evidence, Refuted)
    assert "alpha=1/2" in evidence.method
    w = evidence.witness
    assert w.values["alpha"] == Fraction(1, 2)
    assert isinstance(w, Witness) and certify(c, w.values) is not None
    # independent re-check: the cross product is a nonzero algebraic number
    expr = next(a.expr for a in c.atoms if a.label == w.atom)
    value = expr.xreplace(as_fraction_subs(c, w.values))
    assert abs(float(value)) > 1e-6


def test_per_atom_queries_refute_what_the_disjunction_cannot():
    # collinearity and "between the endpoints" together make one hard disjunction
    c = geometric_collinearity_claim()
    g = [P[i] ** ALPHA * Q[i] ** (1 - ALPHA) for i in range(K)]
    m = [gi / sum(g) for gi in g]
    between = [Atom((P[i] - m[i]) * (m[i] - Q[i]), ">=", f"between {i}") for i in range(K)]
    c = claim(list(c.atoms) + between, axiom="MT6")
    evidence = refute_instantiated(c, [{ALPHA: HALF}], 1000)
    assert isinstance(evidence, Refuted) and certify(c, evidence.witness.values) is not None


def test_split_proof_is_a_replayable_script(monkeypatch):
    real = _z3._solver
    made = []

    class Stuck:                    # the combined query answers unknown
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def check(self):
            return z3.unknown

        def reason_unknown(self):
            return "timeout"

    def solver(timeout_ms, seed):
        made.append(real(timeout_ms, seed))
        return Stuck(made[-1]) if len(made) == 1 else made[-1]

    monkeypatch.setattr(_z3, "_solver", solver)
    m = arithmetic()
    evidence = decide(claim([Atom(m[i], ">", f"M_{i} > 0") for i in range(K)]))
    assert isinstance(evidence, Proved) and "per-atom" in evidence.steps[0].statement
    answers = z3.Z3_eval_smtlib2_string(z3.main_ctx().ref(), evidence.smt).split()
    assert answers == ["unsat"] * K


def test_refute_instantiated_returns_none_when_true_at_the_points():
    c = claim([Atom(P[0] ** ALPHA * Q[0] ** (1 - ALPHA), ">", "positive")])
    assert refute_instantiated(c, rational_points(c, n=2), 5000) is None
    outside = refute_instantiated(geometric_collinearity_claim(), [{ALPHA: 2}], 5000)
    assert outside is None                                   # alpha = 2 is not in (0, 1)
