r"""Convexity (C): of a student family, and of the functions the theory needs convex.

**Convexity of a student family** (THEORY.md §2, assumption C).  ``S`` is convex when
for all ``s, t ∈ S`` and ``λ ∈ (0, 1)``: ``λ s + (1 − λ) t ∈ S``.
:func:`set_claim` states it as a :class:`Claim` (vectors ``s``, ``t`` on ``S``'s face,
parameter ``lam``; domain: ``S``'s relations on ``s`` and ``t``; atoms: ``S``'s
relations at the mixture) and :func:`convexity` decides it with the shared pipeline
(:func:`.engine.decide_claim`): Z3 at ``S``'s ``K`` proves it (a box, a polytope) or
returns an exact witness ``(s, t, λ)`` whose mixture leaves ``S`` (the independence
model, a toric curve, a user's non-convex set).  For families with equations,
simple rational members are tried first (see :mod:`.realizability`).

**Convexity of a function** ``f`` of variables ``z`` on a domain ``D``: the Hessian
quadratic form ``v^T H_f(z) v >= 0`` for all ``z ∈ D`` and all directions ``v``.
:func:`hessian_claim` makes the directions free real scalars (parameters of the claim,
not simplex vectors) and keeps ``D`` -- the open simplex for vector variables, a
parameter's declared domain -- as the claim's domain: the claim is about the actual
domain, not the whole space (``x log x − x²`` is convex on ``(0, 1/2]`` and not beyond).
For variables that are components of a simplex vector the directions are restricted
to the tangent space ``Σ v_i = 0`` (the simplex is affine; only those directions move
within it) unless ``tangent=False``.  Log terms differentiate to rational functions, so
the claim is rational and Z3 decides it per ``K``: ``unsat`` is a proof, ``sat`` a point
and a direction of negative curvature, certified exactly.  :data:`EXAMPLES` holds the
standard ones.
"""
from __future__ import annotations

import dataclasses

import sympy as sp

from ..axioms._build import kl
from ..axioms.claims import Atom, Claim
from ..axioms.students import StudentFamily
from ..axioms.vector import components
from ..proofs.evidence import REFUTED, UNKNOWN, Refuted
from .engine import Settings, decide_claim
from .realizability import (StudentCheck, _z3_witness_text, _with_full, shrink_in_student,
                            simple_search)

__all__ = ["LAMBDA", "set_claim", "convexity", "hessian_claim", "function_convexity",
           "EXAMPLES"]

LAMBDA = sp.Symbol("lam", real=True)


def set_claim(student: StudentFamily) -> Claim:
    """Convexity of ``student`` as a claim (see the module docstring)."""
    K, face = student.classes, student.face
    s, t = components("s", K), components("t", K)
    zero = {v[j]: sp.Integer(0) for v in (s, t) for j in student.zeros}
    s = [c.xreplace(zero) for c in s]
    t = [c.xreplace(zero) for c in t]
    mix = [LAMBDA * a + (1 - LAMBDA) * b for a, b in zip(s, t)]
    domain = (sp.Gt(LAMBDA, 0), sp.Lt(LAMBDA, 1)) + tuple(student.hypotheses(s)) + tuple(
        student.hypotheses(t))
    atoms = [a for a in student.atoms(mix, "lam*s + (1-lam)*t in S") if a.expr != 0]
    vectors = {"s": tuple(components("s", K)[i] for i in face),
               "t": tuple(components("t", K)[i] for i in face)}
    return Claim(axiom="C", family=student.name, classes=K, vectors=vectors,
                 parameters=(LAMBDA,), domain=domain, atoms=tuple(atoms),
                 statement=f"{student.name} is convex: lam*s + (1-lam)*t in S for s, t in S, "
                           f"0 < lam < 1 (K={K})")


def convexity(student: StudentFamily, settings: Settings = Settings()) -> StudentCheck:
    """Decide the convexity of ``student`` (simple members first when ``S`` has
    equations, then the shared pipeline); a witness is ``s, t, lam``."""
    claim = set_claim(student)
    if not claim.atoms:
        from ..proofs.evidence import Proved, Step
        ev = Proved(method="structure", classes=student.classes, steps=(Step(
            "face", "a face of the simplex is convex: the mixture stays on the face"),))
        return StudentCheck("convexity", student, ev, claim.statement)
    names = list(claim.vectors)
    w = simple_search(claim, student, names) if student.equations else None
    ev = decide_claim(claim, settings) if w is None else None
    if ev is not None and ev.status == REFUTED:
        ev = dataclasses.replace(ev, witness=shrink_in_student(claim, ev.witness, student, names))
    elif ev is not None and ev.status == UNKNOWN and not student.equations:
        w = simple_search(claim, student, names)
    if w is not None:
        w = shrink_in_student(claim, w, student, names)
        ev = Refuted(method="exact search over simple members of S", witness=w,
                     smt=_z3_witness_text(claim, w))
    return StudentCheck("convexity", student, _with_full(ev, student), claim.statement)


# --- functions ---------------------------------------------------------------------
def hessian_claim(expr, variables, *, vectors: dict | None = None, parameters=(),
                  domain=(), name: str = "f", tangent: bool = True,
                  classes: int | None = None) -> Claim:
    """``v^T H v >= 0``: ``expr`` is convex in ``variables`` on the domain.

    ``vectors`` maps simplex vector names to their component symbols (they range over
    the open simplex); ``parameters`` are scalar symbols with relations ``domain``.
    A variable may be a vector component or a parameter.  The direction ``v`` gets one
    real scalar per variable, added to the parameters.
    """
    expr = sp.sympify(expr, strict=True)
    variables = list(variables)
    vectors = dict(vectors or {})
    taken = {s.name for s in expr.free_symbols} | {str(p) for p in parameters}
    v = []
    for i in range(len(variables)):
        n = f"v{i}"
        while n in taken:
            n = "_" + n
        v.append(sp.Symbol(n, real=True))
    H = [[sp.diff(expr, a, b) for b in variables] for a in variables]
    form = sp.Add(*[v[i] * v[j] * H[i][j] for i in range(len(v)) for j in range(len(v))])
    extra = []
    if tangent:
        for comps in vectors.values():
            idx = [i for i, z in enumerate(variables) if z in comps]
            if idx and len(idx) == len(comps):
                extra.append(sp.Eq(sp.Add(*[v[i] for i in idx]), 0))
    k = classes if classes is not None else max((len(c) for c in vectors.values()), default=1)
    return Claim(axiom="convex", family=name, classes=k, vectors=vectors,
                 parameters=tuple(parameters) + tuple(v),
                 domain=tuple(domain) + tuple(extra),
                 atoms=(Atom(form, ">=", f"v^T H v >= 0 (Hessian of {name} in "
                              f"{', '.join(map(str, variables))})"),),
                 statement=f"{name} is convex in {', '.join(map(str, variables))} on its domain")


def function_convexity(claim: Claim, settings: Settings = Settings()):
    """Decide a :func:`hessian_claim`: first the sign rules of :func:`sign_proof`
    (cheap, and decisive where nonlinear real arithmetic times out), then the shared
    pipeline (Z3 exact per ``K``; numeric search with certification)."""
    return sign_proof(claim, settings) or decide_claim(claim, settings)


def _shapes(e: sp.Expr):
    """The form as written, then with each additive term simplified and factored."""
    yield e
    terms = [sp.factor(sp.simplify(t)) for t in sp.Add.make_args(sp.expand(e))]
    yield sp.Add(*terms)


def _nonnegative(e: sp.Expr, side: list) -> bool:
    """Sign rules: sums and products of nonnegative terms are nonnegative; an even
    integer power of a real expression is nonnegative (where defined); a rational power
    of a positive base is positive; anything else must be positive on the domain,
    which joins ``side`` (to be proved by Z3)."""
    if e.is_nonnegative is True:
        return True
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(_nonnegative(a, side) for a in e.args)
    if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp % 2 == 0 and e.base.is_real:
        return True
    if isinstance(e, sp.Pow) and e.exp.is_Rational:
        return _positive(e.base, side)
    return _positive(e, side)


def _positive(e: sp.Expr, side: list) -> bool:
    if e.is_positive is True:
        return True
    if e.is_number or e.has(sp.log, sp.exp) or not e.is_real:
        return False
    side.append(e)
    return True


def sign_proof(claim: Claim, settings: Settings = Settings()):
    """``Proved`` when every atom (``>=``/``>`` 0) follows by :func:`_nonnegative` with
    its side conditions ``e > 0`` each proved on the claim's domain by Z3; else
    ``None``.  Steps list the side conditions and their SMT-LIB2 queries."""
    from ..proofs.evidence import PROVED, Proved, Step
    from . import _z3
    steps = []
    for atom in claim.atoms:
        if atom.rel != ">=":
            return None
        for shape in _shapes(atom.expr):
            side: list = []
            if _nonnegative(shape, side):
                break
        else:
            return None
        conditions = []
        for e in dict.fromkeys(side):
            c = dataclasses.replace(claim, atoms=(Atom(e, ">", f"{e} > 0"),), sufficient=True)
            ev = _z3.decide(c, timeout_ms=settings.timeout_ms, seed=settings.seed)
            if ev.status != PROVED:
                return None
            conditions.append((f"{sp.sstr(e)} > 0 on the domain", "z3: unsat\n" + ev.smt))
        steps.append(Step("sign rules", f"{atom.label}: a sum of products of squares, "
                          "positive inputs and positive factors", tuple(conditions)))
    return Proved(method="sign rules + z3", steps=tuple(steps), classes=claim.classes)


# --- examples ----------------------------------------------------------------------
_ALPHA = sp.Symbol("alpha", real=True)
_UNIT = (sp.Gt(_ALPHA, 0), sp.Lt(_ALPHA, 1))


def kl_in_q(K: int = 3) -> Claim:
    """``q ↦ KL(p‖q)`` on the open simplex (true: ``H = diag(p_i / q_i²)``)."""
    p, q = components("p", K), components("q", K)
    return hessian_claim(kl(p, q), q, vectors={"p": p, "q": q}, name="KL(p||q)")


def kl_in_p(K: int = 3) -> Claim:
    """``p ↦ KL(p‖q)`` (true: ``H = diag(1 / p_i)``)."""
    p, q = components("p", K), components("q", K)
    return hessian_claim(kl(p, q), p, vectors={"p": p, "q": q}, name="KL(p||q) in p")


def kl_along_arithmetic(K: int = 3) -> Claim:
    """``alpha ↦ KL(p‖α p + (1−α) q)`` on ``(0, 1)`` (true: the second derivative is
    ``Σ p_i (p_i − q_i)² / m_i²``); MT5's monotonicity rests on it."""
    p, q = components("p", K), components("q", K)
    m = [_ALPHA * a + (1 - _ALPHA) * b for a, b in zip(p, q)]
    return hessian_claim(kl(p, m), [_ALPHA], vectors={"p": p, "q": q}, parameters=(_ALPHA,),
                         domain=_UNIT, name="KL(p||M_alpha) (arithmetic)")


def reverse_kl_along_arithmetic(K: int = 3) -> Claim:
    """``alpha ↦ KL(α p + (1−α) q ‖ p)`` (true: KL is convex in its first argument)."""
    p, q = components("p", K), components("q", K)
    m = [_ALPHA * a + (1 - _ALPHA) * b for a, b in zip(p, q)]
    return hessian_claim(kl(m, p), [_ALPHA], vectors={"p": p, "q": q}, parameters=(_ALPHA,),
                         domain=_UNIT, name="KL(M_alpha||p) (arithmetic)")


def entropy(K: int = 3) -> Claim:
    """``q ↦ H(q) = −Σ q log q`` claimed convex (false: it is concave)."""
    q = components("q", K)
    return hessian_claim(-sp.Add(*[c * sp.log(c) for c in q]), q, vectors={"q": q},
                         name="entropy H(q)")


_X = sp.Symbol("x", real=True)
_OPEN = (sp.Gt(_X, 0), sp.Lt(_X, 1))


def planted_xlogx(K: int = 1) -> Claim:
    """``x log x − x²`` on ``(0, 1)`` (false: ``f'' = 1/x − 2 < 0`` for ``x > 1/2``)."""
    return hessian_claim(_X * sp.log(_X) - _X ** 2, [_X], parameters=(_X,), domain=_OPEN,
                         name="x log x - x^2", classes=1)


def planted_log(K: int = 1) -> Claim:
    """``log x`` on ``(0, 1)`` (false: concave)."""
    return hessian_claim(sp.log(_X), [_X], parameters=(_X,), domain=_OPEN, name="log x",
                         classes=1)


def planted_kl_in_mixture_weight(K: int = 3) -> Claim:
    """``alpha ↦ −KL(p‖α p + (1−α) q)`` (false: the negative of a convex function)."""
    c = kl_along_arithmetic(K)
    p, q = components("p", K), components("q", K)
    m = [_ALPHA * a + (1 - _ALPHA) * b for a, b in zip(p, q)]
    return dataclasses.replace(hessian_claim(-kl(p, m), [_ALPHA], vectors=c.vectors,
                                             parameters=(_ALPHA,), domain=_UNIT,
                                             name="-KL(p||M_alpha)"))


EXAMPLES = {  # name -> (builder, convex?)
    "kl-in-q": (kl_in_q, True),
    "kl-in-p": (kl_in_p, True),
    "kl-along-arithmetic-anchoring": (kl_along_arithmetic, True),
    "reverse-kl-along-arithmetic-anchoring": (reverse_kl_along_arithmetic, True),
    "entropy": (entropy, False),
    "xlogx-minus-square": (planted_xlogx, False),
    "log": (planted_log, False),
    "minus-kl-along-arithmetic-anchoring": (planted_kl_in_mixture_weight, False),
}
