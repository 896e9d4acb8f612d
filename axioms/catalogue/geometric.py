r"""Geometric anchoring: :math:`M_\alpha(\bar p, q) \propto \bar p^{\alpha} q^{1-\alpha}`.

The normalised weighted geometric mean (a log-linear interpolation, the e-geodesic
between student and anchor).  Reference: Flouro & Chadwick, Recursive
Meta-Distillation, §4; Amari, Information Geometry (2016), §2.
"""
from ..family import Family
from ._common import alpha, normalize, p, q, unit

FAMILY = Family(
    name="geometric-anchoring", kind="meta-teacher",
    map=normalize(p ** alpha * q ** (1 - alpha)), parameters=(unit(alpha),),
    doc=__doc__, reference="Flouro & Chadwick 2026, §4")
