"""Structure recognition: from a family's SymPy form to rule applications.

Like a convexity checker walking an expression tree (CVXPY's DCP analysis), the
recogniser reads the map ``Φ`` as a composition of pieces the rules of
:mod:`.rules` know, whatever the family is called:

``Const(c)``            a student-free point of the simplex (``p``, ``normalize(p**2)``)
``Student(q)``          the identity in one student
``Mix(λ, A)``           ``Σ λ_i A_i(q)`` (inside ``normalize``: weights ``λ_i / Σλ``)
``Kernel(W, A)``        ``MatVec(W, A(q))``, a Markov kernel after ``A``
``Power(γ, c, A)``      ``normalize(c ⊙ A(q)**γ)`` with ``c`` a fixed positive vector
``Opaque(e, reason)``   anything else (no rule applies)

:func:`structure` builds that tree; :func:`derive_structure` walks it for one
constant kind, calling one rule per node (mixture, data processing, composition,
Hölder, the Hilbert rules), and returns the bound with the reasons for any refusal.
Side conditions are discharged by the rules themselves over the parameter domain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import sympy as sp

from ..axioms.vector import MatVec, components, instantiate, normalize
from . import rules
from ._bound import ANCHORED, Bound, refuse, refusals
from .evidence import Step

__all__ = ["Const", "Student", "Mix", "Kernel", "Power", "Opaque", "Op", "Attempt",
           "structure", "derive_structure", "linear_parts"]


@dataclass(frozen=True)
class Const:
    vector: sp.Expr

    def __str__(self):
        return "p̄" if str(self.vector) == "p" else f"const[{self.vector}]"


@dataclass(frozen=True)
class Student:
    name: str

    def __str__(self):
        return f"id[{self.name}]"


@dataclass(frozen=True)
class Mix:
    weights: tuple[sp.Expr, ...]
    parts: tuple["Op", ...]
    normalized: bool = False

    def __str__(self):
        return " + ".join(f"({w})·{p}" for w, p in zip(self.weights, self.parts))


@dataclass(frozen=True)
class Kernel:
    matrix: sp.ImmutableMatrix
    inner: "Op"

    def __str__(self):
        return f"W∘({self.inner})"


@dataclass(frozen=True)
class Power:
    gamma: sp.Expr
    scale: sp.Expr
    inner: "Op"

    def __str__(self):
        return f"normalize({self.scale}·({self.inner})^({self.gamma}))"


@dataclass(frozen=True)
class Opaque:
    expr: sp.Expr
    reason: str

    def __str__(self):
        return f"?[{self.expr}]"


Op = Union[Const, Student, Mix, Kernel, Power, Opaque]


@dataclass(frozen=True)
class Attempt:
    """A derivation attempt for one constant: the bound (or None), and why rules
    refused along the way."""
    kind: str
    bound: Bound | None
    reasons: tuple[str, ...]
    structure: Op | None


def _uses(e: sp.Expr, names) -> bool:
    return any(s.name in names for s in e.free_symbols)


def linear_parts(e: sp.Expr, vectors) -> list[tuple[sp.Expr, sp.Expr | None]]:
    """``e`` as ``Σ coefficient · vector-part``, grouped by vector part; a part
    ``None`` collects the terms that use no vector.  Distributes scalars over sums of
    vector terms, never into vector operations."""
    out: list[tuple[sp.Expr, sp.Expr | None]] = []

    def walk(x, coef):
        if not _uses(x, vectors):
            out.append((coef * x, None))
        elif isinstance(x, sp.Add):
            for a in x.args:
                walk(a, coef)
        elif isinstance(x, sp.Mul):
            scal = [a for a in x.args if not _uses(a, vectors)]
            vec = [a for a in x.args if _uses(a, vectors)]
            if len(vec) == 1:
                walk(vec[0], coef * sp.Mul(*scal))
            else:
                out.append((coef * sp.Mul(*scal), sp.Mul(*vec)))
        else:
            out.append((coef, x))

    walk(e, sp.Integer(1))
    grouped: dict = {}
    for c, v in out:
        grouped[v] = grouped.get(v, 0) + c
    return [(sp.factor(c), v) for v, c in grouped.items() if sp.simplify(c) != 0]


def _is_point(v: sp.Expr, points) -> bool:
    """Whether a student-free vector expression is a point of the simplex."""
    if isinstance(v, sp.Symbol):
        return v.name in points
    if isinstance(v, normalize):
        return True
    if isinstance(v, MatVec):
        return _is_point(v.args[1], points)
    return False


def structure(expr: sp.Expr, students: tuple[str, ...], anchor: str | None = "p",
              points: tuple[str, ...] = ()) -> Op:
    """The operator tree of the map ``expr`` in the inputs ``students``, the anchor
    vector ``anchor`` and other fixed points of the simplex ``points`` (teachers)."""
    vectors = set(students) | ({anchor} if anchor else set()) | set(points)
    fixed_points = set(points) | ({anchor} if anchor else set())

    def rec(e: sp.Expr) -> Op:
        if not _uses(e, students):
            if _is_point(e, fixed_points):
                return Const(e)
            return Opaque(e, "a student-free term that is not a point of the simplex")
        if isinstance(e, sp.Symbol):
            return Student(e.name)
        if isinstance(e, MatVec):
            return Kernel(sp.ImmutableMatrix(e.args[0]), rec(e.args[1]))
        if isinstance(e, normalize):
            return rec_normalize(e.args[0])
        parts = linear_parts(e, vectors)
        if any(v is None for _, v in parts):
            return Opaque(e, "a scalar offset: the map is not a mixture of points")
        if len(parts) == 1 and parts[0][1] == e:
            return Opaque(e, "a nonlinear term outside normalize is not a point of the simplex")
        return Mix(tuple(c for c, _ in parts), tuple(rec(v) for _, v in parts))

    def rec_normalize(body: sp.Expr) -> Op:
        parts = linear_parts(body, vectors)
        if any(v is None for _, v in parts):
            return Opaque(normalize(body), "a scalar offset inside normalize")
        single = len(parts) == 1 and isinstance(parts[0][1], (sp.Mul, sp.Pow))
        if not single:
            total = sp.Add(*[c for c, _ in parts])
            weights = tuple(sp.simplify(c / total) for c, _ in parts)
            if len(parts) == 1:
                return rec(parts[0][1])
            return Mix(weights, tuple(rec(v) for _, v in parts), normalized=True)
        coef, vec = parts[0]
        factors = sp.Mul.make_args(sp.expand_power_base(vec, force=False))
        moving = [f for f in factors if _uses(f, students)]
        scale = coef * sp.Mul(*[f for f in factors if not _uses(f, students)])
        if len(moving) != 1:
            return Opaque(normalize(body), "a product of several student-dependent factors")
        f = moving[0]
        if isinstance(f, sp.Pow) and not _uses(f.exp, vectors):
            gamma, base = f.exp, f.base
        else:
            gamma, base = sp.Integer(1), f
        inner = rec(base)
        if gamma == 1 and not _uses(scale, vectors):
            return inner
        return Power(gamma, scale, inner)

    return rec(expr)


@dataclass(frozen=True)
class _Ctx:
    domain: tuple
    anchor: str | None
    anchor_values: tuple | None


def derive_structure(op: Op, kind: str, domain=(), anchor: str | None = "p",
                     anchor_values=None) -> Attempt:
    """Walk ``op`` for the constant ``kind`` (not ``local``: see
    :mod:`.contraction`).  ``anchor_values``: exact components of a concrete anchor
    (needed for a kernel to fix it, and used for Birkhoff's exact coefficient);
    ``None`` proves the bound for every anchor at once."""
    ctx = _Ctx(tuple(domain), anchor,
               tuple(sp.Rational(str(x)) if not isinstance(x, sp.Basic) else x
                     for x in anchor_values) if anchor_values is not None else None)
    with refusals() as reasons:
        if kind in ANCHORED and anchor is None:
            refuse(f"{kind} needs an anchor, and this map has none")
            bound = None
        else:
            bound = _derive(op, kind, ctx)
    return Attempt(kind, bound, tuple(reasons), op)


def _derive(op: Op, kind: str, ctx: _Ctx) -> Bound | None:
    if kind == "local":
        refuse("the local rate comes from the Jacobian, not from the structure")
        return None
    if isinstance(op, Opaque):
        refuse(f"no rule for {op.expr}: {op.reason}")
        return None
    if isinstance(op, Student):
        return rules.identity(kind, op.name)
    if isinstance(op, Const):
        return rules.constant(kind, str(op.vector), _fixes_anchor(op.vector, ctx))
    if isinstance(op, Mix):
        return _derive_mix(op, kind, ctx)
    if isinstance(op, Kernel):
        return _derive_kernel(op, kind, ctx)
    return _derive_power(op, kind, ctx)


def _fixes_anchor(v: sp.Expr, ctx: _Ctx) -> str | None:
    """How a constant piece was shown to be the anchor, or None."""
    if ctx.anchor is None:
        return None
    if isinstance(v, sp.Symbol) and v.name == ctx.anchor:
        return "sympy: identity"
    if ctx.anchor_values is not None:
        K = len(ctx.anchor_values)
        subs = dict(zip(components(ctx.anchor, K), ctx.anchor_values))
        try:
            comps = [sp.nsimplify(c.subs(subs)) for c in instantiate(v, (ctx.anchor,), K)]
        except ValueError:
            return None
        if all(sp.simplify(c - a) == 0 for c, a in zip(comps, ctx.anchor_values)):
            return "exact arithmetic"
    refuse(f"the constant piece {v} is not the anchor")
    return None


def _derive_mix(op: Mix, kind: str, ctx: _Ctx) -> Bound | None:
    if kind != "hilbert":
        parts = [_derive(p, kind, ctx) for p in op.parts]
        if any(b is None for b in parts):
            return None
        out = rules.mixture(op.weights, parts, ctx.domain)
        if out is None:
            refuse(f"mixture rule refused for {op}")
        return out
    moving = [i for i, p in enumerate(op.parts) if not isinstance(p, Const)]
    if ctx.anchor_values is not None:
        birkhoff = _linear_birkhoff(op, ctx)
        if birkhoff is not None:
            return birkhoff
    if len(moving) != 1:
        refuse("the Hilbert shift rule needs exactly one student-dependent piece")
        return None
    (i,) = moving
    inner = _derive(op.parts[i], kind, ctx)
    if inner is None:
        return None
    offsets = [w for j, w in enumerate(op.weights) if j != i]
    return rules.hilbert_shift(inner, op.weights[i], offsets, ctx.domain)


def _linear_birkhoff(op: Mix, ctx: _Ctx) -> Bound | None:
    """Birkhoff's coefficient of the whole map when it is linear on the simplex
    (constants ``c`` become ``c 1ᵀ``) and numeric at a concrete anchor."""
    K = len(ctx.anchor_values)
    M = sp.zeros(K, K)
    students = set()
    for w, part in zip(op.weights, op.parts):
        if isinstance(part, Const):
            if not (isinstance(part.vector, sp.Symbol) and part.vector.name == ctx.anchor):
                return None
            M += w * sp.Matrix(ctx.anchor_values) * sp.ones(1, K)
        elif isinstance(part, Student):
            M += w * sp.eye(K)
            students.add(part.name)
        elif isinstance(part, Kernel) and isinstance(part.inner, Student) and \
                part.matrix.shape == (K, K):
            M += w * part.matrix
            students.add(part.inner.name)
        else:
            return None
    if len(students) != 1 or not all(x.is_number for x in M):
        return None
    b = rules.hilbert_positive_matrix(M, ctx.domain)
    if b is None:
        return None
    return Bound(b.kind, b.expr, (Step(
        "linear map on the simplex", f"Φq = M q with M = Σ_i λ_i A_i = {M.tolist()} "
        "(a constant c acts as c 1ᵀ on the simplex)", ()),) + b.steps,
        b.classes, b.exact, ctx.anchor_values)


def _derive_kernel(op: Kernel, kind: str, ctx: _Ctx) -> Bound | None:
    inner = _derive(op.inner, kind, ctx)
    if inner is None:
        return None
    K = op.matrix.shape[0]
    if kind == "hilbert":
        outer = rules.hilbert_positive_matrix(op.matrix, ctx.domain)
        if outer is None:
            refuse("Birkhoff's rule needs an entrywise positive kernel")
            return None
    else:
        anchor = None
        if kind in ANCHORED:
            anchor = ctx.anchor_values if ctx.anchor_values is not None else \
                components(ctx.anchor, K)
        outer = rules.data_processing(op.matrix, anchor, kind, ctx.domain)
        if outer is None:
            refuse("data processing refused: the kernel must be column-stochastic"
                   + (" and fix the anchor" if kind in ANCHORED else ""))
            return None
    return rules.composition(outer, inner)


def _positive(scale: sp.Expr) -> bool:
    """A product of positive numbers and real powers of positive bases."""
    for f in sp.Mul.make_args(scale):
        if f.is_positive:
            continue
        if isinstance(f, sp.Pow) and f.base.is_positive and all(
                s.is_real for s in f.exp.free_symbols) and f.exp.is_real is not False:
            continue
        return False
    return True


def _derive_power(op: Power, kind: str, ctx: _Ctx) -> Bound | None:
    if not _positive(op.scale):
        refuse(f"the factor {op.scale} is not known to be positive")
        return None
    inner = _derive(op.inner, kind, ctx)
    if inner is None:
        return None
    if kind == "hilbert":
        return rules.composition(rules.hilbert_power(op.gamma, ctx.domain), inner)
    if kind == "kl_forward" and ctx.anchor is not None:
        p = sp.Symbol(ctx.anchor, positive=True)
        alpha = sp.simplify(1 - op.gamma)
        rest = sp.simplify(sp.powsimp(op.scale / p**alpha, force=False))
        if not _uses(rest, {ctx.anchor}):
            outer = rules.geometric_anchoring(alpha, ctx.domain)
            if outer is None:
                refuse(f"Hölder's rule needs 0 ≤ {alpha} ≤ 1 on the domain")
                return None
            return rules.composition(outer, inner)
        refuse(f"normalize({op.scale}·A^({op.gamma})) does not fix the anchor "
               "(its exponents of p and A do not sum to 1)")
        return None
    refuse(f"no {kind} rule through the power map A ↦ A^({op.gamma}) "
           "(Hölder's identity gives kl_forward only)")
    return None
