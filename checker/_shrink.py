"""Shrinking counterexamples to simpler rationals (STYLE.md 7).

The written-down order.  For a witness with values ``v`` (all vector components and
parameters, as exact rationals), its *complexity* is the tuple

    (largest denominator,  sum of denominators,  sum of |numerators|)

compared lexicographically; ``a`` is *simpler than* ``b`` when its complexity is
strictly smaller.  (Fewer classes is the other half of STYLE 7; it changes the claim,
so the engine does it by deciding smaller ``K`` first, not here.)

The search is greedy, deterministic and bounded: for each vector (in the claim's
order) and then each parameter, the candidates are

* vectors: the uniform point ``(1/K, ..., 1/K)``; for ``d`` in :data:`DENOMINATORS`
  the grid point ``n/d`` nearest to the vector (``n_i = round(d v_i) >= 1``, the
  largest coordinate fixed up so that ``sum n_i = d``); and for ``d`` in
  :data:`DENOMINATORS` every component re-approximated by
  ``Fraction.limit_denominator(d)`` with one coordinate (the last, else the largest)
  fixed up so the sum is exactly 1 and every component stays ``> 0``;
* parameters: ``limit_denominator(d)`` for ``d = 1`` and ``d`` in :data:`DENOMINATORS`,
  and for ``d`` in :data:`DENOMINATORS` the nonzero grid points ``n/d`` just below and
  above (``1/100`` for ``0.003``, which ``limit_denominator`` rounds to ``0``);

tried in increasing order of the whole witness' complexity, keeping only those simpler
than the current witness.  The first candidate that :func:`._certify.certify` still
certifies replaces the current witness.  Passes repeat until nothing changes or
:data:`MAX_CERTIFY` certification calls have been spent.  Soundness is unaffected:
every returned witness is the output of ``certify`` on its own values.
"""
from __future__ import annotations

import math
from fractions import Fraction

from distillproof.axioms.claims import Claim
from distillproof.proofs.evidence import Witness

from ._certify import certify

__all__ = ["shrink", "complexity", "DENOMINATORS", "MAX_CERTIFY"]

DENOMINATORS = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 50, 100)
MAX_CERTIFY = 200


def _flat(values: dict) -> list[Fraction]:
    out = []
    for v in values.values():
        out.extend(v if isinstance(v, tuple) else (v,))
    return [Fraction(x) for x in out]


def complexity(values: dict) -> tuple[int, int, int]:
    """The shrink order's key (see the module docstring)."""
    xs = _flat(values)
    if not xs:
        return (0, 0, 0)
    dens = [x.denominator for x in xs]
    return (max(dens), sum(dens), sum(abs(x.numerator) for x in xs))


def _vector_candidates(vec: tuple[Fraction, ...]) -> list[tuple[Fraction, ...]]:
    k = len(vec)
    out = [tuple(Fraction(1, k) for _ in range(k))]
    for d in DENOMINATORS:
        grid = [max(1, round(x * d)) for x in vec]
        largest = max(range(k), key=lambda i: (grid[i], -i))
        grid[largest] = d - (sum(grid) - grid[largest])
        if grid[largest] >= 1:
            out.append(tuple(Fraction(g, d) for g in grid))
    for d in DENOMINATORS:
        approx = [x.limit_denominator(d) for x in vec]
        largest = max(range(k), key=lambda i: (approx[i], -i))
        for fix in dict.fromkeys((k - 1, largest)):
            cand = list(approx)
            cand[fix] = 1 - (sum(approx) - approx[fix])
            if all(c > 0 for c in cand):
                out.append(tuple(cand))
    return list(dict.fromkeys(out))


def _scalar_candidates(x: Fraction) -> list[Fraction]:
    out = [x.limit_denominator(d) for d in (1,) + DENOMINATORS]
    for d in DENOMINATORS:            # the grid points on either side, e.g. 1/100 for 0.003
        out += [g for g in (Fraction(math.floor(x * d), d), Fraction(math.ceil(x * d), d))
                if g != 0 or x == 0]
    return list(dict.fromkeys(out))


def shrink(claim: Claim, witness: Witness, *, fixed: tuple[str, ...] = (),
           budget: int = MAX_CERTIFY) -> Witness:
    """A witness no more complex than ``witness`` (usually simpler) that ``certify``
    still certifies for ``claim``; ``fixed`` names values that must not change."""
    current = witness
    spent = 0
    names = [n for n in list(claim.vectors) + [p.name for p in claim.parameters]
             if n in witness.values and n not in fixed]
    changed = True
    while changed and spent < budget:
        changed = False
        for name in names:
            old = current.values[name]
            cands = (_vector_candidates(old) if isinstance(old, tuple)
                     else _scalar_candidates(Fraction(old)))
            base = complexity(current.values)
            options = []
            for c in cands:
                values = dict(current.values)
                values[name] = c
                key = complexity(values)
                if key < base:
                    options.append((key, len(options), values))
            options.sort(key=lambda t: (t[0], t[1]))
            for _, _, values in options:
                if spent >= budget:
                    break
                spent += 1
                w = certify(claim, values)
                if w is not None:
                    current, changed = w, True
                    break
    return current
