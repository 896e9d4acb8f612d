r"""Temperature inside the loop: geometric anchoring followed by softening,
:math:`M(\bar p, q) = F_T(\bar p^{\alpha} q^{1-\alpha})`.

The temperature moves the fixed point away from the anchor, and below a threshold
the recursion stops contracting (THEORY.md §6).  Reference: Flouro & Chadwick,
Recursive Meta-Distillation, §7 (temperature-scaled operators).
"""
from ..family import Family
from ._common import T, alpha, normalize, p, positive, q, unit

FAMILY = Family(
    name="tempered-geometric", kind="meta-teacher",
    map=normalize((p ** alpha * q ** (1 - alpha)) ** (1 / T)),
    parameters=(unit(alpha), positive(T)),
    doc=__doc__, reference="Flouro & Chadwick 2026, §7")
