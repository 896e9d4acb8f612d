"""Operator families: a map with parameters and their domains.

A family is a declaration, like a CVXPY atom: its vector expression (see
:mod:`distillproof.axioms.vector`), its parameters with domains, the numbers of classes
for the exact per-``K`` checks, and its documentation.  Everything else (which axioms
hold, constants, fixed points) the engine derives from the expression.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import sympy as sp

from .vector import components, instantiate, is_componentwise

__all__ = ["Parameter", "Family", "KINDS", "FamilyError"]

KINDS = ("meta-teacher", "aggregation", "softening")


class FamilyError(ValueError):
    """A family declaration that cannot be used (bad domain, unknown kind, ...)."""


@dataclass(frozen=True)
class Parameter:
    """A scalar parameter: its symbol and its domain.

    ``domain`` is a tuple of SymPy relations in ``symbol`` (and possibly other
    parameters), e.g. ``(0 < alpha, alpha < 1)``; ``value`` fixes it to an exact number.
    """
    symbol: sp.Symbol
    domain: tuple[sp.Basic, ...] = ()
    value: sp.Rational | None = None

    @property
    def name(self) -> str:
        return self.symbol.name


@dataclass(frozen=True)
class Family:
    """An operator family ``M_theta``.

    ``kind``:
      * ``meta-teacher``: map in the anchor ``p`` and the students ``q`` (or
        ``q1..qL``, most recent first);
      * ``aggregation``: map in teachers ``p1..pM`` and weights ``w1..wM`` (parameters
        whose domain includes ``sum w = 1``);
      * ``softening``: map in ``x`` and a temperature parameter ``T``.
    ``constraints``: relations between parameters beyond their own domains.
    ``schedule``: for time-varying anchoring, ``alpha_t`` as an expression in ``t``.
    """
    name: str
    kind: Literal["meta-teacher", "aggregation", "softening"]
    map: sp.Expr
    parameters: tuple[Parameter, ...] = ()
    classes: tuple[int, ...] = (2, 3)
    constraints: tuple[sp.Basic, ...] = ()
    doc: str = ""
    reference: str = ""
    schedule: sp.Expr | None = None
    student: object | None = None
    source: str = "catalogue"
    anchor: sp.Expr = sp.Symbol("p", positive=True)
    fixed_vectors: tuple[tuple[str, tuple], ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise FamilyError(f"family {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.classes or any(int(k) < 2 for k in self.classes):
            raise FamilyError(f"family {self.name!r}: classes must be integers >= 2, got {self.classes}")
        used = self.map.free_symbols | (self.anchor.free_symbols if self.kind == "meta-teacher" else set())
        unknown = {s.name for s in used} - set(self.vectors) - set(self.fixed) - {
            p.name for p in self.parameters}
        if unknown:
            raise FamilyError(f"family {self.name!r}: map uses undeclared names {sorted(unknown)}")

    # --- the variables --------------------------------------------------------------
    @property
    def vectors(self) -> tuple[str, ...]:
        """Names of the vector variables the claims quantify over, inputs first
        (vectors fixed to exact values are not variables)."""
        if self.kind == "softening":
            names = ("x",)
        elif self.kind == "aggregation":
            names = tuple(f"p{k}" for k in range(1, self.teachers + 1))
        else:
            names = self.anchor_inputs + self.students
        return tuple(n for n in names if n not in self.fixed)

    @property
    def anchor_inputs(self) -> tuple[str, ...]:
        """The vectors the anchor is built from (``p``, or teachers ``p1..pM``)."""
        return tuple(sorted(s.name for s in self.anchor.free_symbols
                            if s.name == "p" or (s.name[:1] == "p" and s.name[1:].isdigit())))

    @property
    def fixed(self) -> dict[str, tuple]:
        """Vectors fixed to exact values (e.g. the anchor of a kernel family)."""
        return {name: tuple(sp.Rational(v) for v in values) for name, values in self.fixed_vectors}

    @property
    def students(self) -> tuple[str, ...]:
        """Student inputs of a meta-teacher map, most recent first."""
        names = {s.name for s in self.map.free_symbols}
        memory = sorted((n for n in names if n[:1] == "q" and n[1:].isdigit()),
                        key=lambda n: int(n[1:]))
        return tuple(memory) if memory else ("q",)

    @property
    def teachers(self) -> int:
        names = {s.name for s in self.map.free_symbols}
        ks = [int(n[1:]) for n in names if n[:1] in "pw" and n[1:].isdigit()]
        return max(ks) if ks else 2

    @property
    def free_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.value is None)

    @property
    def fixed_values(self) -> dict[sp.Symbol, sp.Rational]:
        return {p.symbol: p.value for p in self.parameters if p.value is not None}

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def domain(self) -> tuple[sp.Basic, ...]:
        """All relations the free parameters satisfy (their domains and constraints)."""
        rels = [r for p in self.free_parameters for r in p.domain] + list(self.constraints)
        subs = self.fixed_values
        out = []
        for r in rels:
            r = r.subs(subs) if subs else r
            if r is sp.true:
                continue
            if r is sp.false:
                raise FamilyError(f"family {self.name!r}: a parameter constraint is false at the fixed values")
            out.append(r)
        return tuple(out)

    @property
    def expr(self) -> sp.Expr:
        """The map with fixed parameters substituted."""
        return self.map.subs(self.fixed_values) if self.fixed_values else self.map

    @property
    def componentwise(self) -> bool:
        return is_componentwise(self.expr)

    @property
    def all_vectors(self) -> tuple[str, ...]:
        return self.vectors + tuple(self.fixed)

    def _fix(self, exprs: list[sp.Expr], classes: int) -> list[sp.Expr]:
        if not self.fixed:
            return exprs
        mapping = {}
        for name, values in self.fixed.items():
            if len(values) != classes:
                raise FamilyError(f"family {self.name!r}: vector {name} has {len(values)} "
                                  f"classes, the check is at K={classes}")
            mapping.update(zip(components(name, classes), values))
        return [e.xreplace(mapping) for e in exprs]

    def at(self, classes: int) -> list[sp.Expr]:
        """The map's ``classes`` components in the symbols ``p_0, q_0, ...``."""
        return self._fix(instantiate(self.expr, self.all_vectors, classes), classes)

    def anchor_at(self, classes: int) -> list[sp.Expr]:
        """The anchor's components (meta-teacher families)."""
        return self._fix(instantiate(self.anchor.subs(self.fixed_values), self.all_vectors, classes), classes)

    def with_values(self, values: dict[str, sp.Rational]) -> "Family":
        """The same family with some parameters fixed (``--at alpha=3/10``)."""
        params = []
        for p in self.parameters:
            if p.name in values:
                params.append(Parameter(p.symbol, p.domain, sp.Rational(values[p.name])))
            else:
                params.append(p)
        missing = set(values) - {p.name for p in self.parameters}
        if missing:
            raise FamilyError(f"family {self.name!r} has no parameter {sorted(missing)}; "
                              f"it has {[p.name for p in self.parameters]}")
        fixed = dataclasses.replace(self, parameters=tuple(params))
        for p in params:
            if p.name in values:
                for rel in p.domain:
                    if rel.subs(fixed.fixed_values) is sp.false:
                        raise FamilyError(f"family {self.name!r}: {p.name}={values[p.name]} "
                                          f"is outside its domain ({rel})")
        fixed.domain  # raises when a constraint fails at the fixed values
        return fixed
