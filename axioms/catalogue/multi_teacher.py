r"""Multi-teacher arithmetic anchoring: the anchor is the arithmetic pool of two teachers,
:math:`M(p_1, p_2, q) = \alpha (w_1 p_1 + w_2 p_2) + (1-\alpha) q`, anchor
:math:`\bar p = w_1 p_1 + w_2 p_2`.

Reference: Flouro & Chadwick, Multi-Teacher Ensemble Distillation, §4, with the
recursion of Recursive Meta-Distillation, §4.
"""
import sympy as sp

from ..family import Family
from ._common import alpha, p1, p2, q, unit, w1, w2

FAMILY = Family(
    name="multi-teacher-anchoring", kind="meta-teacher",
    map=alpha * (w1 * p1 + w2 * p2) + (1 - alpha) * q,
    anchor=w1 * p1 + w2 * p2,
    parameters=(unit(alpha), unit(w1), unit(w2)), constraints=(sp.Eq(w1 + w2, 1),),
    doc=__doc__, reference="Flouro & Chadwick 2026, §4")
