r"""Capacity-constrained recursion: arithmetic anchoring whose student can only
represent independent 2x2 tables, :math:`q_t = \Pi_S(\alpha \bar p + (1-\alpha) q_{t-1})`
with :math:`S = \{x : x_{00} x_{11} = x_{01} x_{10}\}` (four classes, row-major).

The mixture of two independent tables is not independent (realizability fails), and
with :math:`\bar p \notin S` the projection is not the identity along the trajectory:
the fixed point survives, KL contraction toward the anchor does not (THEORY.md §6).
Reference: Flouro & Chadwick, Recursive Meta-Distillation, §6 (capacity constraints).
"""
from ..family import Family
from ..students import independence
from ._common import alpha, p, q, unit

FAMILY = Family(
    name="capacity-constrained", kind="meta-teacher",
    map=alpha * p + (1 - alpha) * q, parameters=(unit(alpha),), classes=(4,),
    student=independence(2, 2),
    doc=__doc__, reference="Flouro & Chadwick 2026, §6")
