"""How the contraction calculus reads a family: the map in terms of one anchor vector.

A meta-teacher family declares its anchor as an expression (``p``, or a pool of
teachers such as ``w1*p1 + w2*p2``) and may fix vectors to exact values (the kernel
family fixes ``p`` to the kernel's stationary law).  The rules speak of *the* anchor
``p̄``, so the map is rewritten with the anchor expression replaced by one vector
``p``; when that is not possible (the teachers also appear apart from the anchor),
the teachers are kept as fixed points of the simplex and the anchored constants do
not apply.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..axioms.vector import MatVec

__all__ = ["MapView", "map_view", "kernel_classes"]

_P = sp.Symbol("p", positive=True)


@dataclass(frozen=True)
class MapView:
    """``expr``: the map, in ``anchor`` (``"p"``, or None when there is no single
    anchor vector), the fixed ``points`` (teachers kept as they are) and the
    ``students``; ``anchor_values``: the anchor's exact components when the family
    fixes them; ``note``: how the anchor was read."""
    expr: sp.Expr
    students: tuple[str, ...]
    anchor: str | None
    points: tuple[str, ...] = ()
    anchor_values: tuple | None = None
    note: str = ""

    @property
    def vectors(self) -> tuple[str, ...]:
        return ((self.anchor,) if self.anchor else ()) + self.points + self.students


def kernel_classes(expr: sp.Expr) -> int | None:
    """The size of the matrices a map uses (``MatVec``), if any."""
    for m in expr.atoms(MatVec):
        return int(m.args[0].shape[0])
    return None


def map_view(family) -> MapView:
    if family.kind == "softening":
        return MapView(family.expr, ("x",), None)
    if family.kind != "meta-teacher":
        return MapView(family.expr, (), None, note=f"no anchor in a {family.kind} map")
    students = tuple(family.students)
    anchor = getattr(family, "anchor", _P)
    fixed = dict(getattr(family, "fixed", {}) or {})
    params = {p.name for p in family.parameters}
    inputs = tuple(sorted(s.name for s in anchor.free_symbols if s.name not in params))
    expr, name, note = family.expr, None, ""
    if isinstance(anchor, sp.Symbol):
        name = anchor.name
    else:
        a = anchor.subs(family.fixed_values) if family.fixed_values else anchor
        rewritten = expr.xreplace({a: _P})
        if "p" not in {s.name for s in expr.free_symbols} and not any(
                s.name in inputs for s in rewritten.free_symbols):
            expr, name, note = rewritten, "p", f"the anchor p̄ = {a} is read as one vector p"
        else:
            note = f"the anchor {a} does not appear as one block in the map"
    values = None
    if name is not None and inputs and all(n in fixed for n in inputs):
        K = len(fixed[inputs[0]])
        comps = family.anchor_at(K)
        if all(c.is_number for c in comps):
            values = tuple(comps)
    points = () if name is not None else inputs
    return MapView(expr, students, name, points, values, note)
