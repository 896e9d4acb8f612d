"""Claims: an axiom instantiated for one family at one number of classes.

A claim is the universally quantified statement the backends decide:

    for every assignment of the ``vectors`` to points of the open simplex and of the
    ``parameters`` satisfying ``domain``:  every atom ``expr rel 0`` holds.

A violation is an assignment satisfying ``domain`` under which some atom fails; a
refutation is a violation at exact rational inputs, certified exactly or with
interval arithmetic.  Vectors range over the *open* simplex (all components > 0);
boundary behaviour is continuity's business (MT4).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

__all__ = ["Atom", "Claim", "RELATIONS"]

RELATIONS = ("==", ">=", ">")


@dataclass(frozen=True)
class Atom:
    """``expr rel 0``, with a label saying what it means to a reader."""
    expr: sp.Expr
    rel: str
    label: str

    def __post_init__(self):
        if self.rel not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {self.rel!r}")

    @property
    def transcendental(self) -> bool:
        return bool(self.expr.atoms(sp.log, sp.exp)) or any(
            not e.exp.is_Rational for e in self.expr.atoms(sp.Pow))


@dataclass(frozen=True)
class Claim:
    """An axiom of ``family`` at ``classes`` classes (see the module docstring).

    ``vectors`` maps each vector variable to its component symbols; ``parameters``
    are the free scalar symbols; ``domain`` holds relations on them (SymPy
    relationals, ``Ne``, ``Or``); ``atoms`` the conjunction asserted.
    ``sufficient=False`` marks a claim that is only a necessary condition of its axiom:
    a violation refutes the axiom, but proving the claim proves nothing.
    """
    axiom: str
    family: str
    classes: int
    vectors: dict[str, tuple[sp.Symbol, ...]]
    parameters: tuple[sp.Symbol, ...]
    domain: tuple[sp.Basic, ...]
    atoms: tuple[Atom, ...]
    statement: str = ""
    sufficient: bool = True
    notes: tuple[str, ...] = field(default=())

    @property
    def symbols(self) -> list[sp.Symbol]:
        out = [s for comps in self.vectors.values() for s in comps]
        return out + list(self.parameters)

    @property
    def transcendental(self) -> bool:
        return any(a.transcendental for a in self.atoms) or any(
            bool(getattr(r, "atoms", lambda *_: ())(sp.log, sp.exp)) for r in self.domain)
