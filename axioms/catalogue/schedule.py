r"""Time-varying anchoring: :math:`M_t(\bar p, q) = \alpha_t \bar p + (1-\alpha_t) q` with
the schedule :math:`\alpha_t = 1/(t+2)`.

Each step is arithmetic anchoring; the error after :math:`t` steps is
:math:`\prod_s (1-\alpha_s)` times the first one, and it vanishes exactly when
:math:`\sum_t \alpha_t = \infty` (THEORY.md §5.7).  Reference: Flouro & Chadwick,
Recursive Meta-Distillation, §7 (adaptive anchoring).
"""
from ..family import Family
from ._common import alpha, p, q, t, unit

FAMILY = Family(
    name="scheduled-anchoring", kind="meta-teacher",
    map=alpha * p + (1 - alpha) * q, parameters=(unit(alpha),),
    schedule=1 / (t + 2),
    doc=__doc__, reference="Flouro & Chadwick 2026, §7")
