"""Pieces the axiom modules share when they build claims at ``K`` classes."""
from __future__ import annotations

import sympy as sp

from .claims import Atom, Claim
from .vector import components

__all__ = ["vectors_of", "substitute", "soften", "segment_atoms", "kl", "defined_atoms",
           "claim", "check_temperature"]


def vectors_of(names, classes: int) -> dict[str, tuple[sp.Symbol, ...]]:
    return {n: components(n, classes) for n in names}


def substitute(exprs, classes: int, **vectors) -> list[sp.Expr]:
    """``exprs`` with vector ``name`` replaced componentwise by ``vectors[name]``."""
    mapping = {}
    for name, values in vectors.items():
        mapping.update(zip(components(name, classes), values))
    return [sp.sympify(e, strict=True).xreplace(mapping) for e in exprs]


def soften(vector, temperature) -> list[sp.Expr]:
    """``F_T(v)_i = v_i^(1/T) / sum_j v_j^(1/T)``."""
    powered = [v ** (1 / temperature) for v in vector]
    total = sp.Add(*powered)
    return [v / total for v in powered]


def segment_atoms(m, a, b, what: str) -> list[Atom]:
    """``m`` lies on the segment ``[a, b]``: ``m - b`` is parallel to ``a - b`` (every
    2x2 cross product vanishes) and each coordinate lies between (``(m_i-b_i)(a_i-m_i)
    >= 0``, which also forces ``m = b`` where ``a = b``)."""
    atoms = []
    k = len(m)
    for i in range(k):
        for j in range(i + 1, k):
            cross = (m[i] - b[i]) * (a[j] - b[j]) - (m[j] - b[j]) * (a[i] - b[i])
            atoms.append(Atom(cross, "==", f"{what}: direction ({i},{j}) parallel to the segment"))
    for i in range(k):
        atoms.append(Atom((m[i] - b[i]) * (a[i] - m[i]), ">=",
                          f"{what}: coordinate {i} between the endpoints"))
    return atoms


def kl(a, b) -> sp.Expr:
    """``KL(a||b) = sum a_i log(a_i / b_i)`` (all arguments positive here)."""
    return sp.Add(*[ai * sp.log(ai / bi) for ai, bi in zip(a, b)])


def defined_atoms(exprs, what: str) -> list[Atom]:
    """Where each operation of ``exprs`` is continuous: denominators nonzero, bases of
    non-integer powers and arguments of ``log`` positive."""
    atoms, seen = [], set()
    for e in exprs:
        for sub in sp.preorder_traversal(e):
            cond = None
            if isinstance(sub, sp.Pow):
                if sub.exp.is_Integer and sub.exp < 0:
                    cond = (sub.base ** 2, ">", f"{what}: denominator {sub.base} is nonzero")
                elif not sub.exp.is_Integer and not sub.base.is_positive:
                    cond = (sub.base, ">", f"{what}: base {sub.base} of a power is positive")
            elif isinstance(sub, sp.log) and not sub.args[0].is_positive:
                cond = (sub.args[0], ">", f"{what}: argument of log {sub.args[0]} is positive")
            if cond and cond[0] not in seen:
                seen.add(cond[0])
                atoms.append(Atom(*cond))
    return atoms


def claim(axiom, family, classes, vectors, atoms, *, extra_domain=(), extra_parameters=(),
          statement="", sufficient=True, notes=()) -> Claim:
    params = tuple(p.symbol for p in family.free_parameters) + tuple(extra_parameters)
    return Claim(axiom=axiom, family=family.name, classes=classes,
                 vectors=vectors_of(vectors, classes), parameters=params,
                 domain=tuple(family.domain) + tuple(extra_domain), atoms=tuple(atoms),
                 statement=statement, sufficient=sufficient, notes=tuple(notes))


def check_temperature(family) -> sp.Symbol:
    """A temperature symbol for checks that does not clash with the family's own."""
    names = {p.name for p in family.parameters}
    return sp.Symbol("T" if "T" not in names else "Tc", positive=True)
