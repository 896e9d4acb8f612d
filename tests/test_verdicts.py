"""Verdicts of the engine on families whose truth is known by an independent argument.

Every axiom is checked on a family where it holds (never refuted; proved where the
engine has a method) and on one where it fails (refuted, with a witness that replays).
"""
from fractions import Fraction

import pytest
import sympy as sp

import distillproof as dp
from distillproof.axioms.catalogue import get_family
from distillproof.axioms.registry import axioms_for, get_axiom
from distillproof.checker.engine import Settings, decide_axiom, replay

from planted import FAILING, FAILING_IN_CATALOGUE, HOLDING

FAST = Settings(seed=0, timeout_ms=3000, samples=1500)


def _witness_values(witness):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in witness.values.items()}


def test_every_axiom_has_a_failing_and_a_holding_family():
    ids = {a.id for a in axioms_for()}
    assert ids == set(HOLDING)
    assert ids == set(FAILING) | set(FAILING_IN_CATALOGUE)


@pytest.mark.parametrize("axiom_id", sorted(FAILING))
def test_planted_counterexample_is_found_certified_and_replays(axiom_id):
    family, why = FAILING[axiom_id]
    ev = decide_axiom(get_axiom(axiom_id), family, FAST)
    assert ev.status == "refuted", (axiom_id, why, ev)
    w = ev.witness
    assert w.certified_by in ("exact", "interval")
    assert replay(family, axiom_id, _witness_values(w), w.classes) is not None


@pytest.mark.parametrize("axiom_id", sorted(FAILING_IN_CATALOGUE))
def test_catalogue_failure_is_found_and_replays(axiom_id):
    family = get_family(FAILING_IN_CATALOGUE[axiom_id])
    ev = decide_axiom(get_axiom(axiom_id), family, FAST)
    assert ev.status == "refuted", (axiom_id, ev)
    assert replay(family, axiom_id, _witness_values(ev.witness), ev.witness.classes) is not None


@pytest.mark.parametrize("axiom_id", sorted(HOLDING))
def test_true_statement_is_proved(axiom_id):
    family = get_family(HOLDING[axiom_id])
    ev = decide_axiom(get_axiom(axiom_id), family, FAST)
    assert ev.status == "proved", (axiom_id, ev)
    assert ev.steps or ev.smt


def test_arithmetic_anchoring_verdicts():
    fr = dp.verify("arithmetic-anchoring", settings=FAST).families[0]
    for a in ("MT1", "MT2", "MT6"):
        assert fr.status(a) == "proved"
    assert fr.result("MT2").evidence.classes is None      # every K
    assert fr.result("MT6").evidence.classes is None


def test_geometric_anchoring_mt6_witness_is_exact_and_off_the_segment():
    fr = dp.verify("geometric-anchoring", settings=FAST).families[0]
    assert fr.status("MT2") == "proved" and fr.status("MT7") == "proved"
    ev = fr.result("MT6").evidence
    assert ev.status == "refuted"
    data = dp.verify("geometric-anchoring", settings=FAST, axioms=["MT6"]).to_json()
    wj = data["families"][0]["results"][0]["witness"]
    values = {k: [Fraction(s) for s in v] if isinstance(v, list) else Fraction(v)
              for k, v in wj["values"].items()}
    # independent check with 60-digit arithmetic: M(p,q) is not on the segment [q, p]
    import mpmath
    mpmath.mp.dps = 60
    pv, qv, a = values["p"], values["q"], values["alpha"]
    g = [mpmath.mpf(pi.numerator) / pi.denominator ** 1 for pi in pv]
    g = [mpmath.power(mpmath.mpf(pi.numerator) / pi.denominator, mpmath.mpf(a.numerator) / a.denominator)
         * mpmath.power(mpmath.mpf(qi.numerator) / qi.denominator, 1 - mpmath.mpf(a.numerator) / a.denominator)
         for pi, qi in zip(pv, qv)]
    m = [gi / sum(g) for gi in g]
    d = [mpmath.mpf(pi.numerator) / pi.denominator - mpmath.mpf(qi.numerator) / qi.denominator
         for pi, qi in zip(pv, qv)]
    e = [mi - mpmath.mpf(qi.numerator) / qi.denominator for mi, qi in zip(m, qv)]
    crosses = [abs(e[i] * d[j] - e[j] * d[i]) for i in range(3) for j in range(i + 1, 3)]
    assert max(crosses) > mpmath.mpf(10) ** -20


def test_pools_split_on_strong_forms_and_keep_weak_forms():
    arith = dp.verify("arithmetic-pool", settings=FAST).families[0]
    geo = dp.verify("geometric-pool", settings=FAST).families[0]
    assert arith.status("A5s") == "refuted" and arith.status("A5w") == "proved"
    assert geo.status("A1s") == "refuted" and geo.status("A1w") == "proved"
    assert arith.status("A1s") == "proved" and geo.status("A5s") == "proved"


@pytest.mark.parametrize("name", ["identity", "constant", "self-distillation"])
def test_trivial_families_fail_non_triviality(name):
    assert decide_axiom(get_axiom("NT"), get_family(name), FAST).status == "refuted"


def test_a_witness_that_does_not_violate_is_rejected_by_replay():
    family = get_family("arithmetic-anchoring")
    ok = replay(family, "MT6", {"p": ["1/2", "1/2"], "q": ["1/3", "2/3"], "alpha": "1/2"}, 2)
    assert ok is None


def test_parameter_outside_domain_is_rejected():
    with pytest.raises(ValueError):
        get_family("arithmetic-anchoring").with_values({"alpha": sp.Rational(3, 2)})


# --- non-triviality of componentwise power maps normalize(c q^γ) ---------------------------
def _map_at(family, values, p, q):
    """M(p, q) in floats, straight from the family's SymPy map (independent of the rule)."""
    import numpy as np
    expr = family.map.args[0]                       # the body of normalize
    subs = {sp.Symbol(k, real=True): v for k, v in values.items()}
    body = [float(expr.subs(subs).subs({sp.Symbol("p", positive=True): pi,
                                        sp.Symbol("q", positive=True): qi}))
            for pi, qi in zip(p, q)]
    return np.array(body) / sum(body)


def test_geometric_anchoring_is_non_trivial_for_every_k():
    """q -> normalize(p^a q^(1-a)) is one-to-one (1 - a != 0) and not the identity
    (1 - a != 1) for 0 < a < 1: proved for every K, not K by K."""
    ev = decide_axiom(get_axiom("NT"), get_family("geometric-anchoring"), FAST)
    assert ev.status == "proved" and ev.classes is None and "power form" in ev.method


def test_tempered_geometric_is_the_identity_at_t_equal_one_minus_alpha():
    """(p^a q^(1-a))^(1/T) with T = 1 - a and a uniform anchor is q itself: NT fails.
    The witness replays, and the map evaluated independently at it returns q."""
    import numpy as np
    fam = get_family("tempered-geometric")
    ev = decide_axiom(get_axiom("NT"), fam, FAST)
    assert ev.status == "refuted" and ev.witness.certified_by == "exact"
    vals = ev.witness.values
    assert vals["T"] == 1 - vals["alpha"] and len(set(vals["p"])) == 1
    assert replay(fam, "NT", vals, ev.witness.classes) is not None
    q = np.array([0.2, 0.7, 0.1])[: ev.witness.classes]
    q = q / q.sum()
    at = {"alpha": float(vals["alpha"]), "T": float(vals["T"])}
    assert np.allclose(_map_at(fam, at, [float(x) for x in vals["p"]], q), q, atol=1e-12)
    # a non-uniform anchor, or T != 1 - alpha, is not a counterexample
    k = ev.witness.classes
    skew = tuple(Fraction(i + 1, k * (k + 1) // 2) for i in range(k))
    assert replay(fam, "NT", {**vals, "p": skew}, k) is None
    assert replay(fam, "NT", {**vals, "T": vals["T"] / 2}, k) is None


def test_planted_power_map_constant_at_one_parameter_value():
    """normalize(p q^(a - 1/2)) does not depend on q at a = 1/2: NT fails there."""
    from planted import meta, p as P, q as Q, alpha as A
    fam = meta("half-power", dp.normalize(P * Q ** (A - sp.Rational(1, 2))))
    ev = decide_axiom(get_axiom("NT"), fam, FAST)
    assert ev.status == "refuted" and ev.witness.values["alpha"] == Fraction(1, 2)
    assert "constant" in ev.witness.atom
    assert replay(fam, "NT", ev.witness.values, ev.witness.classes) is not None


def test_tempered_arithmetic_is_non_trivial_for_every_k():
    """normalize((a p + (1-a) q)^(1/T)): one-to-one in q (1/T != 0, 1 - a > 0) and never
    the identity (towards a vertex of the simplex it keeps every component positive)."""
    ev = decide_axiom(get_axiom("NT"), get_family("tempered-arithmetic"), FAST)
    assert ev.status == "proved" and ev.classes is None and "power form" in ev.method
    import numpy as np
    near_vertex = np.array([1 - 2e-9, 1e-9, 1e-9])
    m = _map_at(get_family("tempered-arithmetic"), {"alpha": 0.3, "T": 0.5},
                [0.2, 0.3, 0.5], near_vertex)
    assert m.min() > 1e-3                          # far from the vertex: not the identity


def test_affine_power_map_that_can_be_constant_is_not_proved():
    """normalize((a p + (1-a) q)^(a - 1/2)) is constant in q at a = 1/2: never proved."""
    from planted import meta, p as P, q as Q, alpha as A
    fam = meta("affine-half", dp.normalize((A * P + (1 - A) * Q) ** (A - sp.Rational(1, 2))))
    ev = decide_axiom(get_axiom("NT"), fam, FAST)
    assert ev.status != "proved"
