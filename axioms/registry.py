"""The axiom registry: every axiom of THEORY.md §2-3 once, and the facts between them.

An :class:`Axiom` carries its statement (quantifiers and domain), its nature
(``algebraic``: polynomial/rational real arithmetic, decidable per ``K``;
``transcendental``: involves ``log``/``exp`` that do not differentiate away), the kind
of family it applies to, and ``build(family, K) -> list[Claim]``: the claims (a
conjunction) the backends decide at ``K`` classes.  ``sufficient=False`` on a claim
means it is only a necessary condition: it can refute the axiom, never prove it.

``IMPLICATIONS`` holds the facts between axioms as data (like SymPy's ``facts.py``);
the engine uses them to carry proofs forward, and a test checks that no result set
contradicts them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["Axiom", "REGISTRY", "IMPLICATIONS", "register", "axioms_for", "get_axiom"]


@dataclass(frozen=True)
class Axiom:
    id: str
    name: str
    applies_to: str                 # family kind: meta-teacher | aggregation | softening
    statement: str                  # with quantifiers and domain
    nature: str                     # algebraic | transcendental
    build: Callable | None          # (family, classes) -> list[Claim]; None: decided by rules only
    form: str | None = None         # weak | strong | None
    latex: str = ""
    source: str = ""
    applicable: Callable | None = None   # family -> reason it does not apply, or None

    def not_applicable(self, family) -> str | None:
        if family.kind != self.applies_to:
            return f"{self.id} is an axiom of {self.applies_to} families"
        return self.applicable(family) if self.applicable else None


REGISTRY: dict[str, Axiom] = {}

#: (premise, conclusion, why) -- premise proved => conclusion proved.
IMPLICATIONS: tuple[tuple[str, str, str], ...] = (
    ("MT6", "MT2", "M(p,p) lies in conv{p,p} = {p}"),
    ("MT3", "MT2", "KL(p||M(p,p)) <= kappa * KL(p||p) = 0 forces M(p,p) = p"),
    ("MT3r", "MT2", "KL(M(p,p)||p) <= kappa * KL(p||p) = 0 forces M(p,p) = p"),
    ("A1s", "A1w", "conv{p_k} lies in the simplex, and conv{p,..,p} = {p} gives unanimity"),
    ("A5s", "A5w", "the weak form is the strong form at identical teachers"),
)


def register(axiom: Axiom) -> Axiom:
    if axiom.id in REGISTRY:
        raise ValueError(f"axiom {axiom.id} registered twice")
    REGISTRY[axiom.id] = axiom
    return axiom


def _load() -> None:
    # The axiom modules register themselves on import.
    from . import meta_teacher, aggregation, softening  # noqa: F401,I001


def get_axiom(axiom_id: str) -> Axiom:
    _load()
    try:
        return REGISTRY[axiom_id]
    except KeyError:
        raise KeyError(f"unknown axiom {axiom_id!r}; known: {', '.join(REGISTRY)}") from None


def axioms_for(kind: str | None = None) -> list[Axiom]:
    _load()
    return [a for a in REGISTRY.values() if kind is None or a.applies_to == kind]
