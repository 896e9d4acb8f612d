r"""Arithmetic anchoring: :math:`M_\alpha(\bar p, q) = \alpha \bar p + (1-\alpha) q`.

The mixture of the anchor and the previous student; the paper's canonical anchored
operator.  Reference: Flouro & Chadwick, Recursive Meta-Distillation, §4.
"""
from ..family import Family
from ._common import alpha, p, q, unit

FAMILY = Family(
    name="arithmetic-anchoring", kind="meta-teacher",
    map=alpha * p + (1 - alpha) * q, parameters=(unit(alpha),),
    doc=__doc__, reference="Flouro & Chadwick 2026, §4")
