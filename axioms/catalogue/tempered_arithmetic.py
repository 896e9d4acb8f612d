r"""Temperature inside the loop after arithmetic anchoring,
:math:`M(\bar p, q) = F_T(\alpha \bar p + (1-\alpha) q)`.

Reference: Flouro & Chadwick, Recursive Meta-Distillation, §7.
"""
from ..family import Family
from ._common import T, alpha, normalize, p, positive, q, unit

FAMILY = Family(
    name="tempered-arithmetic", kind="meta-teacher",
    map=normalize((alpha * p + (1 - alpha) * q) ** (1 / T)),
    parameters=(unit(alpha), positive(T)),
    doc=__doc__, reference="Flouro & Chadwick 2026, §7")
