"""The probe (``checker/_probe.py``), the engine's first stage: it refutes planted false
claims with witnesses that certify on the SymPy route too, never refutes a claim known
to hold, is deterministic, and passes on what it does not take."""
from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

from distillproof.axioms.catalogue import get_family
from distillproof.axioms.claims import Atom, Claim
from distillproof.axioms.registry import get_axiom
from distillproof.axioms.vector import components
from distillproof.checker import _certify
from distillproof.checker._probe import probe
from distillproof.proofs.evidence import REFUTED
from planted import FAILING, FAILING_IN_CATALOGUE, HOLDING
from test_compiled import reference

A = sp.Symbol("alpha", real=True)


def _claims(family, axiom, ks=(2, 3)):
    out = []
    for k in ks:
        try:
            out.extend(get_axiom(axiom).build(family, k))
        except (ValueError, TypeError, AttributeError):     # not applicable at this K
            pass
    return out


def _kl(a, b):
    return sp.Add(*[x * sp.log(x / y) for x, y in zip(a, b)])


def planted_claim(atom, vectors="pq", parameters=(A,), domain=(0 < A, A < 1), k=3):
    return Claim(axiom="planted", family="planted", classes=k,
                 vectors={v: components(v, k) for v in vectors}, parameters=tuple(parameters),
                 domain=tuple(domain), atoms=(atom,))


P, Q = components("p", 3), components("q", 3)
#: false claims, each with the independent reason it fails
FALSE = {
    "M_0 >= p_0 for the arithmetic mixture (fails where q_0 < p_0)":
        planted_claim(Atom(A * P[0] + (1 - A) * Q[0] - P[0], ">=", "M_0 >= p_0")),
    "KL(p||q) <= 1/10 (KL is unbounded near a face)":
        planted_claim(Atom(sp.Rational(1, 10) - _kl(P, Q), ">=", "KL <= 1/10"), parameters=(),
                      domain=()),
    "KL(p||M) <= (1-a)/2 KL(p||q) (the ratio tends to 1 - a as p -> q)":
        planted_claim(Atom((1 - A) / 2 * _kl(P, Q) - _kl(P, [A * x + (1 - A) * y
                                                            for x, y in zip(P, Q)]), ">=", "MT3")),
    "q_0 >= 1/10^4 (points near the face q_0 = 0)":
        planted_claim(Atom(Q[0] - sp.Rational(1, 10**4), ">=", "q_0 >= 1e-4"), vectors="q",
                      parameters=(), domain=()),
}
#: true claims (the reason in the comment): no exact point can violate them
TRUE = {
    "KL(p||q) >= 0 (Gibbs)": planted_claim(Atom(_kl(P, Q), ">=", "KL >= 0"), parameters=(),
                                           domain=()),
    "sum of the mixture is 1 (linear)":
        planted_claim(Atom(sum(A * x + (1 - A) * y for x, y in zip(P, Q)) - 1, "==", "sum 1")),
    "KL(p||M) <= (1-a) KL(p||q) (joint convexity)":
        planted_claim(Atom((1 - A) * _kl(P, Q) - _kl(P, [A * x + (1 - A) * y
                                                         for x, y in zip(P, Q)]), ">=", "MT3")),
}


@pytest.mark.parametrize("name", sorted(FALSE))
def test_probe_refutes_planted_false_claims_with_witnesses_that_replay(name):
    claim = FALSE[name]
    ev = probe(claim, seed=0)
    assert ev is not None and ev.status == REFUTED, name
    w = ev.witness
    names = list(claim.vectors) + [s.name for s in claim.parameters]
    values = {k: w.values[k] for k in names}
    assert all(sum(values[v]) == 1 and min(values[v]) > 0 for v in claim.vectors)
    assert reference(claim, values) == w                   # the SymPy route agrees
    assert ev.method == f"numeric search + {w.certified_by} certification"


@pytest.mark.parametrize("name", sorted(TRUE))
def test_probe_never_refutes_true_claims(name):
    for seed in range(5):
        assert probe(TRUE[name], seed=seed) is None, (name, seed)


HOLDING_CLAIMS = {ax: _claims(get_family(name), ax) for ax, name in HOLDING.items()}


def test_the_holding_axioms_have_claims():
    """All but the limit axiom S5 (T -> oo has no finite-K claim form)."""
    assert {ax for ax, claims in HOLDING_CLAIMS.items() if not claims} <= {"S5"}


@pytest.mark.parametrize("axiom", sorted(HOLDING))
def test_probe_never_refutes_a_catalogue_axiom_known_to_hold(axiom):
    for claim in HOLDING_CLAIMS[axiom]:
        assert probe(claim, seed=0) is None, (axiom, claim.atoms)


def test_probe_finds_the_known_failures_it_can_take():
    """Failures whose claims the probe takes (no equations in the domain) are refuted
    by it; each refutation certifies on the SymPy route."""
    found = 0
    cases = [(ax, fam) for ax, (fam, _) in FAILING.items()] + \
        [(ax, get_family(name)) for ax, name in FAILING_IN_CATALOGUE.items()]
    for axiom, family in cases:
        for claim in _claims(family, axiom):
            ev = probe(claim, seed=0)
            if ev is not None:
                names = list(claim.vectors) + [s.name for s in claim.parameters]
                assert reference(claim, {k: ev.witness.values[k] for k in names}) is not None
                found += 1
                break
    assert found >= 8


def test_probe_is_deterministic_and_seeded():
    claim = FALSE["KL(p||M) <= (1-a)/2 KL(p||q) (the ratio tends to 1 - a as p -> q)"]
    a, b = probe(claim, seed=3), probe(claim, seed=3)
    assert a == b
    _certify._PLANS.clear()
    assert probe(claim, seed=3) == a                         # compiled afresh: the same


def test_probe_passes_on_equations_and_never_proves():
    w1, w2 = sp.symbols("w1 w2", real=True)
    claim = planted_claim(Atom(w1 - w2, "==", "w1 = w2"), vectors="p", parameters=(w1, w2),
                          domain=(0 < w1, w1 < 1, 0 < w2, sp.Eq(w1 + w2, 1)))
    assert probe(claim) is None                             # the numeric stage solves it
    unknown = planted_claim(Atom(sp.Piecewise((A, A > sp.Rational(1, 2)), (1, True)), ">=",
                                 "piecewise"))
    assert probe(unknown) is None                           # a node it does not compile


def _decimal(x: Fraction) -> bool:
    d = x.denominator
    for f in (2, 5):
        while d % f == 0:
            d //= f
    return d == 1


def test_unshrunk_witness_vectors_are_decimal_roundings_summing_to_one():
    claim = FALSE["M_0 >= p_0 for the arithmetic mixture (fails where q_0 < p_0)"]
    w = probe(claim, seed=0, shrink=False).witness
    for v in ("p", "q"):
        assert sum(w.values[v]) == 1 and all(_decimal(x) for x in w.values[v]), w.values[v]


def test_probe_takes_domains_with_or_and_unequal():
    """The contraction claims hold only where q != p (an Or of !=): the identity map's
    MT3 claim is refuted (ratio exactly 1) at a point with q != p, never at q = p."""
    claims = _claims(get_family("identity"), "MT3", ks=(3,))
    assert claims and any(isinstance(r, sp.Or) for r in claims[0].domain)
    ev = probe(claims[0], seed=0)
    assert ev is not None and ev.witness.values["q"] != ev.witness.values["p"]
    names = list(claims[0].vectors) + [s.name for s in claims[0].parameters]
    assert reference(claims[0], {k: ev.witness.values[k] for k in names}) is not None
