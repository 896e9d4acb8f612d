r"""Memory anchoring over two generations:
:math:`M(\bar p, q_{t-1}, q_{t-2}) = \alpha \bar p + \beta_1 q_{t-1} + \beta_2 q_{t-2}`,
with :math:`\alpha + \beta_1 + \beta_2 = 1`.

The error obeys a linear recurrence (THEORY.md §5.6); the rate is the spectral radius
of its companion matrix.  Reference: Flouro & Chadwick, Recursive Meta-Distillation, §6.
"""
import sympy as sp

from ..family import Family
from ._common import alpha, beta1, beta2, p, q1, q2, unit

FAMILY = Family(
    name="memory-anchoring", kind="meta-teacher",
    map=alpha * p + beta1 * q1 + beta2 * q2,
    parameters=(unit(alpha), unit(beta1), unit(beta2)),
    constraints=(sp.Eq(alpha + beta1 + beta2, 1),),
    doc=__doc__, reference="Flouro & Chadwick 2026, §6")
