r"""The softening (temperature) operator :math:`F_T(x)_i = x_i^{1/T} / \sum_j x_j^{1/T}`.

Equal to ``softmax(z/T)`` when ``x = softmax(z)``.  Reference: Flouro & Chadwick,
Sparse-KD, §3; Hinton, Vinyals & Dean (2015).
"""
from ..family import Family
from ._common import T, normalize, positive, x

FAMILY = Family(
    name="softening", kind="softening",
    map=normalize(x ** (1 / T)), parameters=(positive(T),),
    doc=__doc__, reference="Flouro & Chadwick 2026 (Sparse-KD), §3")
