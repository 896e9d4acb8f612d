r"""Trivial families, the negative controls.

* identity :math:`M(\bar p, q) = q` (never moves);
* constant :math:`M(\bar p, q) = \bar p` (forgets the student at once);
* un-anchored self-distillation: arithmetic anchoring at :math:`\alpha = 0`, which
  keeps no link to the base teachers, so stage noise accumulates (THEORY.md §6).
"""
from ..family import Family
from ._common import alpha, fixed, p, q

FAMILIES = (
    Family(name="identity", kind="meta-teacher", map=q, doc="The identity: M(p, q) = q."),
    Family(name="constant", kind="meta-teacher", map=p, doc="The constant map: M(p, q) = p."),
    Family(name="self-distillation", kind="meta-teacher", map=alpha * p + (1 - alpha) * q,
           parameters=(fixed(alpha, 0),),
           doc="Un-anchored self-distillation: arithmetic anchoring at alpha = 0."),
)
