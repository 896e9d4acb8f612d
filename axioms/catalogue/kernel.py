r"""Anchoring through a kernel: :math:`M(\bar p, q) = \alpha \bar p + (1-\alpha) W q`.

``W`` is a column-stochastic matrix (``(Wq)_i = sum_j W[i,j] q_j``, a Markov kernel
whose columns are its output distributions): here a symmetric, doubly stochastic
smoothing kernel on three classes, and the anchor is its stationary distribution (the
uniform one), so ``W`` fixes the anchor.  Contraction comes from data processing with
Dobrushin's coefficient (THEORY.md §5.2).  Reference: Flouro & Chadwick, Recursive
Meta-Distillation, §5; Dobrushin (1956).
"""
import sympy as sp

from ..family import Family
from ._common import MatVec, alpha, p, q, unit

R = sp.Rational
W = sp.ImmutableMatrix([[R(1, 2), R(1, 4), R(1, 4)],
                        [R(1, 4), R(1, 2), R(1, 4)],
                        [R(1, 4), R(1, 4), R(1, 2)]])

FAMILY = Family(
    name="kernel-anchoring", kind="meta-teacher",
    map=alpha * p + (1 - alpha) * MatVec(W, q), parameters=(unit(alpha),),
    classes=(3,), fixed_vectors=(("p", (R(1, 3), R(1, 3), R(1, 3))),),
    doc=__doc__, reference="Flouro & Chadwick 2026, §5")
