r"""The canonical aggregation pools of two teachers.

* arithmetic (linear) pool :math:`A_w = w_1 p_1 + w_2 p_2`;
* geometric (log-linear) pool :math:`A_w \propto p_1^{w_1} p_2^{w_2}`.

Reference: Flouro & Chadwick, Multi-Teacher Ensemble Distillation, §3; Genest &
Zidek, Combining probability distributions (1986).
"""
import sympy as sp

from ..family import Family
from ._common import normalize, p1, p2, unit, w1, w2

_WEIGHTS = dict(parameters=(unit(w1), unit(w2)), constraints=(sp.Eq(w1 + w2, 1),))

FAMILIES = (
    Family(name="arithmetic-pool", kind="aggregation", map=w1 * p1 + w2 * p2,
           doc="The arithmetic (linear) opinion pool " + r":math:`w_1 p_1 + w_2 p_2`.",
           reference="Genest & Zidek 1986", **_WEIGHTS),
    Family(name="geometric-pool", kind="aggregation", map=normalize(p1 ** w1 * p2 ** w2),
           doc="The geometric (log-linear) opinion pool " + r":math:`\propto p_1^{w_1} p_2^{w_2}`.",
           reference="Genest & Zidek 1986", **_WEIGHTS),
)
