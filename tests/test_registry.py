"""The registry and catalogue check themselves (STYLE.md 3 and 4)."""
import pytest

from distillproof.axioms.catalogue import catalogue
from distillproof.axioms.registry import IMPLICATIONS, REGISTRY, axioms_for
from distillproof.checker.engine import Settings, verify_family

from planted import FAILING, FAILING_IN_CATALOGUE, HOLDING

FAST = Settings(timeout_ms=3000, samples=800)


def test_every_axiom_is_documented_and_has_a_decision_route():
    for a in axioms_for():
        assert a.statement and a.name and a.source, a.id
        assert a.nature in ("algebraic", "transcendental")
        assert a.applies_to in ("meta-teacher", "aggregation", "softening")
        assert a.build is not None


def test_every_catalogue_family_is_documented_with_a_reference_or_is_a_control():
    names = [f.name for f in catalogue()]
    assert len(names) == len(set(names))
    for f in catalogue():
        assert f.doc.strip(), f.name
        assert f.reference or f.name in ("identity", "constant", "self-distillation")


def test_implications_name_registered_axioms_of_one_kind():
    for premise, conclusion, why in IMPLICATIONS:
        assert premise in REGISTRY and conclusion in REGISTRY and why
        assert REGISTRY[premise].applies_to == REGISTRY[conclusion].applies_to


def test_every_axiom_is_exercised_by_a_true_and_a_false_statement():
    assert set(HOLDING) == set(REGISTRY)
    assert set(FAILING) | set(FAILING_IN_CATALOGUE) == set(REGISTRY)


@pytest.mark.slow
@pytest.mark.parametrize("family", catalogue(), ids=lambda f: f.name)
def test_results_never_contradict_the_implications(family):
    fr = verify_family(family, FAST)
    for premise, conclusion, _ in IMPLICATIONS:
        if fr.status(premise) == "proved":
            assert fr.status(conclusion) != "refuted", (family.name, premise, conclusion)
        if fr.status(conclusion) == "refuted":
            assert fr.status(premise) != "proved", (family.name, premise, conclusion)


@pytest.mark.slow
@pytest.mark.parametrize("family", catalogue(), ids=lambda f: f.name)
def test_no_proved_axiom_has_a_numeric_counterexample(family):
    """Soundness cross-check: the numeric search never finds a certified violation of a
    claim the engine proved."""
    from distillproof.axioms.registry import get_axiom
    from distillproof.checker._numeric import refute_numeric
    fr = verify_family(family, FAST)
    for r in fr.results:
        if r.status != "proved":
            continue
        for k in family.classes:
            for c in get_axiom(r.axiom.id).build(family, k):
                ev = refute_numeric(c, seed=7, samples=600)
                assert ev.status != "refuted", (family.name, r.axiom.id, ev)
