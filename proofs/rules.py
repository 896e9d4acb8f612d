"""The proof rules of the contraction calculus (THEORY.md §5), one function each.

Every rule is a known theorem.  It takes the data of one operator piece (weights,
a matrix, an exponent, ...) and the parameter ``domain``, checks its side conditions
over the *whole* domain (:func:`~._discharge.holds_on_domain`: SymPy identity first,
then Z3 for-all), and returns a :class:`Bound` - an upper bound on one contraction
constant with the proof steps that justify it - or ``None`` when a side condition is
not discharged (violated somewhere on the domain, or not decidable): the rule does
not apply, and nothing is weakened.

The constants (THEORY §4), named by ``kind``:

``kl_forward``  ``sup_q KL(p̄‖Φq) / KL(p̄‖q)``   (toward the anchor, MT3)
``kl_reverse``  ``sup_q KL(Φq‖p̄) / KL(q‖p̄)``   (MT3r)
``kl_pairwise`` ``sup KL(Φq‖Φq') / KL(q‖q')``    (MT3p)
``local``       squared spectral radius of the Jacobian at the fixed point
``tv``          ``sup TV(Φq, Φq') / TV(q, q')``   (Dobrushin)
``hilbert``     ``sup d_H(Φq, Φq') / d_H(q, q')`` (Birkhoff)

For a map of several students ``q1..qL`` (memory), the denominators are the maximum
over the students (``max_j KL(p̄‖q_j)``, ...): the one-step constants of an
``L``-step recursion.

The Hilbert-metric rules live in :mod:`._hilbert` and are re-exported here.
Markov kernels follow the convention of :class:`~distillproof.axioms.vector.MatVec`:
``(Wq)_i = Σ_j W[i, j] q_j``, so ``W`` maps the simplex into itself exactly when it
is *column*-stochastic, and column ``j`` is the output law for input letter ``j``.
"""
from __future__ import annotations

from typing import Sequence

import sympy as sp

from ._bound import (ANCHORED, CONSTANT_KINDS, Bound, as_expr, check, check_all, merge,
                     tidy)
from ._hilbert import hilbert_positive_matrix, hilbert_power, hilbert_shift
from .evidence import Step

__all__ = [
    "Bound", "CONSTANT_KINDS", "constant", "identity", "mixture", "data_processing",
    "eta_tv", "composition", "geometric_anchoring", "hilbert_power",
    "hilbert_positive_matrix", "hilbert_shift", "memory", "schedule",
]

_CONVEX_KINDS = ("kl_forward", "kl_reverse", "kl_pairwise", "tv")


def constant(kind: str, vector: str = "p̄", fixes: str | None = "sympy: identity") -> Bound | None:
    """A constant piece ``A(q) = c``: contraction constant ``0``.

    For the pairwise kinds ``Ac = Ac'`` gives ``0`` for any constant ``c``.  For the
    anchored kinds (``kl_forward``, ``kl_reverse``) the constant must be the anchor,
    ``c = p̄``; ``fixes`` says how that was established (``None``: it was not, and
    the rule does not apply).
    """
    if kind == "local":
        return Bound(kind, sp.Integer(0), (Step("constant piece", f"A(q) = {vector}: "
                     "its Jacobian vanishes, local rate 0"),), exact=True)
    conds = ()
    if kind in ANCHORED:
        if fixes is None:
            return None
        conds = ((f"{vector} = p̄ (the constant is the anchor)", fixes),)
    return Bound(kind, sp.Integer(0), (Step("constant piece",
                 f"A(q) = {vector} is constant: κ = 0", conds),), exact=True)


def identity(kind: str, student: str = "q") -> Bound:
    """The identity piece ``A(q) = q``: contraction constant ``1`` (it fixes every
    point, in particular the anchor)."""
    return Bound(kind, sp.Integer(1), (Step("identity piece",
                 f"A({student}) = {student}: κ = 1"),), exact=True)


def mixture(weights: Sequence, constants: Sequence[Bound], domain=()) -> Bound | None:
    """Mixture rule: ``κ(Σ λ_i A_i) ≤ Σ λ_i κ(A_i)``.

    Theorem (joint convexity of KL; Cover & Thomas, *Elements of Information
    Theory*, 2nd ed., Thm 2.7.2).  If ``Φq = Σ_i λ_i A_i(q)`` with ``λ_i ≥ 0`` and
    ``Σ_i λ_i = 1`` on the whole parameter domain, and each ``A_i`` maps the simplex
    into itself with constant ``κ_i`` (for the anchored kinds: ``A_i p̄ = p̄``), then
    ``KL(Σλ_i a_i ‖ Σλ_i b_i) ≤ Σ λ_i KL(a_i ‖ b_i)`` gives ``κ(Φ) ≤ Σ λ_i κ_i`` for
    ``kl_forward``, ``kl_reverse`` and ``kl_pairwise``; the triangle inequality
    gives the same for ``tv``.  (``hilbert`` and ``local`` are not convex in this
    sense: see :func:`hilbert_shift` and :mod:`distillproof.proofs.contraction`.)
    """
    weights = [as_expr(w) for w in weights]
    constants = list(constants)
    if not constants or len(weights) != len(constants):
        raise ValueError("mixture: one weight per piece")
    kind = constants[0].kind
    if kind not in _CONVEX_KINDS or any(c.kind != kind for c in constants):
        return None
    joined = _join(constants)
    if joined is None:
        return None
    classes, anchor = joined
    conds = check_all([(sp.Ge(w, 0), f"λ_{i + 1} = {w} ≥ 0 on the domain")
                       for i, w in enumerate(weights)], domain)
    total = check(sp.Eq(sp.Add(*weights), 1, evaluate=False),
                  "Σ λ_i = " + " + ".join(f"({w})" for w in weights) + " = 1 on the domain", domain)
    if conds is None or total is None:
        return None
    conds = conds + (total,)
    if kind in ANCHORED:
        conds += (("each piece fixes p̄", "in the derivation of each piece"),)
    value = tidy(sp.Add(*[w * c.expr for w, c in zip(weights, constants)]), domain)
    steps = tuple(s for c in constants for s in c.steps)
    stmt = (f"{_name(kind)}(Σ λ_i A_i) ≤ Σ λ_i κ_i = {value}  "
            "(joint convexity" + (" of KL)" if kind != "tv" else ": triangle inequality)"))
    return Bound(kind, value, steps + (Step("mixture", stmt, conds),), classes,
                 anchor=anchor)


def eta_tv(W) -> sp.Expr:
    """Dobrushin's coefficient ``η_TV(W) = max_{j<j'} ½ Σ_i |W[i,j] − W[i,j']|``: the
    largest total-variation distance between two output laws (columns) of ``W``.
    Exact: a Rational for a rational matrix, a ``Max`` of ``Abs`` sums otherwise."""
    W = sp.ImmutableMatrix(W)
    n = W.shape[1]
    pairs = [sp.Rational(1, 2) * sp.Add(*[sp.Abs(W[i, j] - W[i, k]) for i in range(W.shape[0])])
             for j in range(n) for k in range(j + 1, n)]
    return sp.Max(*pairs) if pairs else sp.Integer(0)


def data_processing(W, anchor=None, kind: str = "kl_pairwise", domain=()) -> Bound | None:
    """Data-processing rule: a Markov kernel contracts by at most ``η_TV(W)``.

    Theorem.  For a column-stochastic ``W`` (``W[i,j] ≥ 0``, ``Σ_i W[i,j] = 1``):
    ``TV(Wa, Wb) ≤ η_TV(W) TV(a, b)`` with Dobrushin's exact coefficient
    ``η_TV(W) = max_{j,j'} TV(W[:,j], W[:,j'])`` (Dobrushin 1956), and for every
    f-divergence, KL included, ``η_KL(W) ≤ η_TV(W)`` (Cohen, Kemperman & Zbăganu,
    *Comparisons of Stochastic Matrices*, 1998; Raginsky, IEEE Trans. IT 62, 2016):
    ``KL(Wa ‖ Wb) ≤ η_TV(W) KL(a ‖ b)``.  For the anchored kinds the kernel must fix
    the anchor, ``W p̄ = p̄`` (then ``KL(p̄‖Wq) = KL(Wp̄‖Wq)``): ``anchor`` is the
    anchor's components (exact numbers, or the symbols ``p_0..p_{K-1}`` for every
    anchor at once); without it the anchored kinds do not apply.
    """
    if kind not in _CONVEX_KINDS:
        return None
    W = sp.ImmutableMatrix(W)
    K = W.shape[0]
    if W.shape[1] != K:
        return None
    nonneg = check_all(
        [(sp.Ge(W[i, j], 0), f"W[{i},{j}] ≥ 0") for i in range(K) for j in range(K)], domain)
    sums = check_all([(sp.Eq(sp.Add(*W[:, j]), 1, evaluate=False),
                       f"column {j} of W sums to 1") for j in range(K)], domain)
    if nonneg is None or sums is None:
        return None
    conds = merge(nonneg + sums, "W is column-stochastic (W[i,j] ≥ 0, Σ_i W[i,j] = 1)")
    used_anchor = None
    if kind in ANCHORED:
        if anchor is None or len(anchor) != K:
            return None
        a = sp.Matrix([as_expr(x) for x in anchor])
        fixed = check_all([(sp.Eq((W * a)[i], a[i], evaluate=False), f"(W p̄)_{i} = p̄_{i}")
                           for i in range(K)], domain)
        if fixed is None:
            return None
        conds += merge(fixed, "W p̄ = p̄ (the kernel fixes the anchor)")
        used_anchor = tuple(a) if all(x.is_number for x in a) else None
    eta = eta_tv(W)
    eta = sp.simplify(eta) if not eta.is_number else eta
    if kind == "tv":
        stmt = f"TV(Wa, Wb) ≤ η_TV(W) TV(a, b), η_TV(W) = max_(j,j') TV(W[:,j], W[:,j']) = {eta}"
    else:
        stmt = (f"KL(Wa ‖ Wb) ≤ η_KL(W) KL(a ‖ b) ≤ η_TV(W) KL(a ‖ b), "
                f"η_TV(W) = max_(j,j') TV(W[:,j], W[:,j']) = {eta}")
    return Bound(kind, eta, (Step("data processing", stmt, conds),), classes=K,
                 exact=(kind == "tv"), anchor=used_anchor)


def composition(k1: Bound, k2: Bound) -> Bound | None:
    """Composition rule: ``κ(A∘B) ≤ κ(A) κ(B)``.

    Theorem (submultiplicativity, immediate from the definitions): apply ``B``'s
    bound, then ``A``'s, which holds for every input and so for ``B(q)``.  For the
    anchored kinds both ``A`` and ``B`` must fix ``p̄`` (part of the factors'
    derivations).  Holds for every kind except ``local`` (a spectral radius is not
    submultiplicative).  ``k1`` bounds the outer map ``A``, ``k2`` the inner ``B``.
    """
    if k1.kind != k2.kind or k1.kind == "local":
        return None
    joined = _join([k1, k2])
    if joined is None:
        return None
    classes, anchor = joined
    value = sp.factor_terms(sp.simplify(k1.expr * k2.expr))
    conds = (("A p̄ = p̄ and B p̄ = p̄", "in the derivations of A and B"),) \
        if k1.kind in ANCHORED else ()
    stmt = f"{_name(k1.kind)}(A∘B) ≤ κ(A) κ(B) = ({k1.expr})·({k2.expr}) = {value}"
    exact = k1.exact and k2.exact and k1.kind == "hilbert" and _power_only(k1, k2)
    return Bound(k1.kind, value, k2.steps + k1.steps + (Step("composition", stmt, conds),),
                 classes, exact=exact, anchor=anchor)


def geometric_anchoring(alpha, domain=()) -> Bound | None:
    """Geometric anchoring (Hölder): ``κ_fwd(q ↦ p̄^α q^{1−α}/Z) ≤ 1 − α``.

    Theorem.  For ``Φq = p̄^α q^{1−α} / Z``, ``Z = Σ_i p̄_i^α q_i^{1−α}``:
    ``KL(p̄‖Φq) = (1−α) KL(p̄‖q) + log Z`` (an identity), and Hölder's inequality with
    exponents ``1/α``, ``1/(1−α)`` gives ``Z ≤ (Σ p̄)^α (Σ q)^{1−α} = 1``, so
    ``log Z ≤ 0`` when ``0 ≤ α ≤ 1``.  The argument gives ``kl_forward`` only: it
    does not carry over to ``kl_reverse`` or ``kl_pairwise`` (THEORY §5.4).
    """
    a = as_expr(alpha)
    conds = check_all([(sp.Ge(a, 0), f"α = {a} ≥ 0 on the domain"),
                       (sp.Le(a, 1), f"α = {a} ≤ 1 on the domain")], domain)
    if conds is None:
        return None
    P, Q, Z = sp.symbols("P Q Z", positive=True)
    lhs = sp.log(P / (P**a * Q**(1 - a) / Z))
    rhs = (1 - a) * sp.log(P / Q) + sp.log(Z)
    ident = sp.simplify(sp.expand_log(lhs - rhs, force=True)) == 0
    conds += (("log(p̄_i / Φ(q)_i) = (1−α) log(p̄_i/q_i) + log Z componentwise",
               "sympy: identity" if ident else "by hypothesis"),
              ("Z = Σ p̄^α q^(1−α) ≤ 1", "Hölder's inequality (0 ≤ α ≤ 1)"))
    value = tidy(1 - a, domain)
    stmt = ("KL(p̄ ‖ Φq) = (1−α) KL(p̄ ‖ q) + log Σ_i p̄_i^α q_i^(1−α) ≤ "
            f"({value}) KL(p̄ ‖ q)")
    return Bound("kl_forward", value, (Step("geometric anchoring (Hölder)", stmt, conds),))


def memory(alpha, betas: Sequence, domain=()) -> Bound | None:
    """Memory rule: the rate of ``m_t = α p̄ + Σ_j β_j q_{t−j}`` is ``ρ(C)``.

    Theorem.  With ``α + Σ β_j = 1`` the errors ``e_t = q_t − p̄`` obey the linear
    recurrence ``e_t = Σ_{j=1..L} β_j e_{t−j}``, whose companion matrix ``C`` (first
    row ``β``, ones below the diagonal) has characteristic polynomial
    ``χ(z) = z^L − Σ β_j z^{L−j}``.  The errors decay like ``ρ(C)^t`` in every norm,
    and KL (locally ``½χ²``) like ``ρ(C)^{2t}``: the bound returned is
    ``local = ρ(C)²``.  For ``β_j ≥ 0``, ``χ`` has exactly one positive root (Descartes)
    and it dominates every root in modulus (Cauchy's bound on polynomial roots;
    Perron–Frobenius for the nonnegative ``C``; Horn & Johnson, *Matrix Analysis*,
    §8.3): ``ρ(C)`` is that root, in closed form where SymPy finds one.  Otherwise
    ``ρ(C) ≤ (Σβ_j)^{1/L}`` (at ``r = (Σβ)^{1/L}``, ``Σ β_j r^{−j} ≤ 1``), returned
    as a non-exact bound.  ``alpha=None``: the ``β_j`` are the coefficients of a
    linearised recurrence (Jacobian blocks) and no sum condition is imposed.
    """
    betas = [as_expr(b) for b in betas]
    L = len(betas)
    if L == 0:
        return None
    conds = check_all([(sp.Ge(b, 0), f"β_{j + 1} = {b} ≥ 0 on the domain")
                       for j, b in enumerate(betas)], domain)
    if conds is None:
        return None
    if alpha is not None:
        total = check(sp.Eq(as_expr(alpha) + sp.Add(*betas), 1, evaluate=False),
                      "α + Σ β_j = 1 on the domain", domain)
        if total is None:
            return None
        conds += (total,)
    z = sp.Symbol("z")
    chi = z**L - sp.Add(*[b * z**(L - 1 - j) for j, b in enumerate(betas)])
    rho, how = _perron_root(chi, z, betas, domain)
    exact = rho is not None
    if rho is None:
        rho, how = tidy(sp.Add(*betas), domain) ** sp.Rational(1, L), \
            "upper bound (Σβ_j)^(1/L): Σ β_j r^(−j) ≤ 1 at r = (Σβ_j)^(1/L)"
    C = sp.Matrix(L, L, lambda i, j: betas[j] if i == 0 else (1 if i == j + 1 else 0))
    steps = (Step("memory (companion matrix)",
                  f"e_t = Σ_j β_j e_(t−j); companion matrix {C.tolist()}, "
                  f"χ(z) = {sp.expand(chi)}; ρ(C) {'=' if exact else '≤'} {rho} ({how}); "
                  f"local = ρ(C)²", conds + (("the positive root of χ dominates every root",
                                                "Cauchy's bound (β_j ≥ 0)"),)),)
    return Bound("local", sp.simplify(rho**2) if L > 1 else tidy(rho**2, domain), steps,
                 exact=exact)


def _perron_root(chi, z, betas, domain):
    """The positive root of ``chi`` in closed form, or ``(None, reason)``."""
    L = len(betas)
    if L == 1:
        return betas[0], "the root of a linear polynomial"
    if all(b.is_number for b in betas):
        real = sp.Poly(chi, z).real_roots()
        if not real:
            return sp.Integer(0), "χ(z) = z^L"
        return real[-1], "largest real root, isolated exactly"
    if L == 2:
        b1, b2 = betas
        r = (b1 + sp.sqrt(b1**2 + 4 * b2)) / 2
        if sp.simplify(chi.subs(z, r)) == 0:
            return r, "quadratic formula, sympy: identity"
    return None, "no closed form"


def schedule(alpha_t, t: sp.Symbol | None = None, kind: str = "kl_forward",
             domain=(), start: int = 1) -> Bound | None:
    """Schedule rule: with ``α_t`` varying, ``κ`` over ``t`` generations is
    ``∏_{s=start}^{t} (1 − α_s)``, and the recursion converges iff ``Σ_t α_t = ∞``.

    Theorem.  For arithmetic anchoring ``q_s = α_s p̄ + (1−α_s) q_{s−1}`` the error
    obeys ``q_t − p̄ = ∏_s (1−α_s)(q_0 − p̄)`` exactly, and the mixture rule at each
    step gives ``KL(p̄‖q_t) ≤ ∏_s (1−α_s) KL(p̄‖q_0)`` (also for ``kl_reverse``,
    ``kl_pairwise``, ``tv``).  For ``0 ≤ α_s < 1``, ``∏ (1−α_s) → 0`` iff
    ``Σ α_s = ∞`` (Knopp, *Theory and Application of Infinite Series*, §28).  The
    returned ``expr`` is the product as a function of ``t`` (the number of
    generations, ``Bound.generations``); ``converges`` records the divergence test
    (``None``: SymPy could not decide).
    """
    if kind not in _CONVEX_KINDS:
        return None
    a = as_expr(alpha_t)
    if t is None:
        free = sorted(a.free_symbols - {s for r in domain for s in r.free_symbols},
                      key=lambda s: s.name)
        if len(free) != 1:
            return None
        t = free[0]
    tr = sp.Dummy("t", real=True)
    cond = check(sp.And(sp.Ge(a.subs(t, tr), 0), sp.Le(a.subs(t, tr), 1)),
                 f"0 ≤ α_t = {a} ≤ 1 for every t ≥ {start}", tuple(domain) + (tr >= start,))
    if cond is None:
        return None
    s = sp.Dummy("s", integer=True)
    n = sp.Symbol(t.name, integer=True, positive=True)
    prod = sp.simplify(sp.product(1 - a.subs(t, s), (s, start, n)))
    converges, how = _diverges(a, t, start, prod, n)
    prod = prod.xreplace({n: t})
    stmt = (f"KL(p̄ ‖ q_t) ≤ ∏_(s={start}..t) (1 − α_s) KL(p̄ ‖ q_0) = ({prod}) KL(p̄ ‖ q_0); "
            f"Σ_t α_t {'= ∞: converges' if converges else '< ∞: does not converge' if converges is False else 'undecided'}"
            f" ({how})")
    return Bound(kind, prod, (Step("schedule (product)", stmt, (cond,)),), converges=converges,
                 generations=t)


def _diverges(a, t, start, prod, n):
    """Whether ``Σ α_t`` diverges (the recursion converges), and how it was decided."""
    k = sp.Symbol(t.name, integer=True, positive=True)
    series = sp.Sum(a.subs(t, k), (k, start, sp.oo))
    try:
        conv = series.is_convergent()
        if conv in (True, False) or conv is sp.true or conv is sp.false:
            return (not bool(conv)), "sympy: series convergence test"
    except (NotImplementedError, ValueError, TypeError):
        pass
    try:
        lim = sp.limit(prod, n, sp.oo)
        if lim == 0:
            return True, "sympy: the product tends to 0"
        if lim.is_positive:
            return False, f"sympy: the product tends to {lim} > 0"
    except (NotImplementedError, ValueError, TypeError):
        pass
    return None, "sympy could not decide"


def _join(bounds):
    """The common ``(classes, anchor)`` of bounds being combined, or None if they clash."""
    classes = {b.classes for b in bounds} - {None}
    anchors = {b.anchor for b in bounds} - {None}
    if len(classes) > 1 or len(anchors) > 1:
        return None
    return (classes.pop() if classes else None), (anchors.pop() if anchors else None)


def _power_only(*bounds) -> bool:
    return all(s.rule in ("Hilbert: power map", "identity piece", "composition")
               for b in bounds for s in b.steps)


def _name(kind: str) -> str:
    return {"kl_forward": "κ_fwd", "kl_reverse": "κ_rev", "kl_pairwise": "κ_pair",
            "tv": "η_TV", "hilbert": "κ_H", "local": "κ_loc"}[kind]
