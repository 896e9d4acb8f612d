"""The result type of the contraction calculus, and the plumbing the rules share:
checking side conditions into proof-step entries, and recording why a rule refused."""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass

import sympy as sp

from ._discharge import holds_on_domain
from .evidence import Step

__all__ = ["Bound", "CONSTANT_KINDS", "ANCHORED", "PAIRWISE", "as_expr", "check",
           "check_all", "merge", "tidy", "refusals", "refuse"]

CONSTANT_KINDS = ("kl_forward", "kl_reverse", "kl_pairwise", "local", "tv", "hilbert")
ANCHORED = ("kl_forward", "kl_reverse")
PAIRWISE = ("kl_pairwise", "tv", "hilbert")


@dataclass(frozen=True)
class Bound:
    """A certified upper bound ``κ ≤ expr`` on the constant ``kind`` (THEORY §4).

    ``expr``: a SymPy expression in the family's parameters (for a schedule: in the
    number of generations ``t``; for ``local``: the squared spectral radius).
    ``steps``: the derivation, leaves first; each step's conditions say how they were
    discharged (``sympy: identity``, ``z3: unsat over the domain``, ``exact
    arithmetic``, ``by hypothesis``, ...).
    ``classes``: the number of classes the proof covers (``None`` = every ``K``).
    ``exact``: the rule gives the constant itself (the sup equals ``expr``), not only
    an upper bound.
    ``anchor``: the exact anchor the proof assumed (``None`` = every anchor).
    ``converges``: for a schedule, whether ``Σ α_t = ∞`` (the product tends to 0).
    ``generations``: for a schedule, the symbol ``t`` of ``expr``: then ``expr`` is the
    factor over ``t`` generations, not a per-step constant.
    """
    kind: str
    expr: sp.Expr
    steps: tuple[Step, ...]
    classes: int | None = None
    exact: bool = False
    anchor: tuple | None = None
    converges: bool | None = None
    generations: sp.Symbol | None = None

    def __post_init__(self):
        if self.kind not in CONSTANT_KINDS:
            raise ValueError(f"kind must be one of {CONSTANT_KINDS}, got {self.kind!r}")

    def value(self, at: dict) -> sp.Expr:
        """``expr`` at parameter values ``{name: value}`` (exact)."""
        subs = {s: sp.Rational(str(at[s.name])) for s in self.expr.free_symbols
                if s.name in at}
        return sp.simplify(self.expr.subs(subs))

    def to_json(self) -> dict:
        out = {"kind": self.kind, "expr": sp.sstr(self.expr), "exact": self.exact,
               "classes": self.classes, "steps": [s.to_json() for s in self.steps]}
        if self.anchor is not None:
            out["anchor"] = [sp.sstr(a) for a in self.anchor]
        if self.converges is not None:
            out["converges"] = self.converges
        if self.generations is not None:
            out["generations"] = self.generations.name
        return out


def as_expr(x) -> sp.Expr:
    """A SymPy expression from an expression or a number; text only as an exact number
    (``"3/10"``, ``"0.3"``) -- never parsed as code."""
    if isinstance(x, sp.Basic):
        return x
    if isinstance(x, str):
        return sp.Rational(x)
    if isinstance(x, float):
        return sp.nsimplify(x, rational=True)
    if isinstance(x, int):
        return sp.Integer(x)
    return sp.sympify(x, strict=True)


_refusals: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "distillproof_refusals", default=None)


@contextlib.contextmanager
def refusals():
    """Collect the reasons rules refuse within the block (a list of strings)."""
    reasons: list[str] = []
    token = _refusals.set(reasons)
    try:
        yield reasons
    finally:
        _refusals.reset(token)


def refuse(reason: str) -> None:
    """Record why a rule does not apply (if someone is collecting)."""
    reasons = _refusals.get()
    if reasons is not None and reason not in reasons:
        reasons.append(reason)


def check(condition, text: str, domain=()) -> tuple[str, str] | None:
    """``(text, how)`` when ``condition`` holds on the whole domain, else None (the
    reason is recorded with :func:`refuse`)."""
    d = holds_on_domain(condition, tuple(domain))
    if d.discharged:
        how = d.how
        if how == "sympy: identity" and not getattr(condition, "free_symbols", True):
            how = "exact arithmetic"
        return text, how
    where = f" at {d.witness}" if d.witness else ""
    refuse(f"side condition {text}: {d.status}{where} ({d.how})")
    return None


def check_all(items, domain=()) -> tuple[tuple[str, str], ...] | None:
    """:func:`check` each ``(condition, text)``; None as soon as one fails."""
    out = []
    for cond, text in items:
        r = check(cond, text, domain)
        if r is None:
            return None
        out.append(r)
    return tuple(out)


def merge(conds, text: str) -> tuple[tuple[str, str], ...]:
    """Many discharged conditions as one entry ``(text, how1; how2)``."""
    hows = sorted({h for _, h in conds})
    return ((text, "; ".join(hows) or "exact arithmetic"),)


def tidy(expr, domain=()) -> sp.Expr:
    """Simplify ``expr``, using the domain's equations (``alpha + beta1 + beta2 == 1``)
    to eliminate a symbol when that makes the expression smaller."""
    expr = sp.factor_terms(sp.simplify(expr))
    for r in domain:
        if not isinstance(r, sp.Eq):
            continue
        eq = r.lhs - r.rhs
        for s in sorted(eq.free_symbols & expr.free_symbols, key=lambda x: x.name):
            sols = sp.solve(eq, s)
            if len(sols) != 1:
                continue
            cand = sp.simplify(expr.subs(s, sols[0]))
            if sp.count_ops(cand) < sp.count_ops(expr) or (
                    len(cand.free_symbols) < len(expr.free_symbols)
                    and sp.count_ops(cand) <= sp.count_ops(expr) + 2):
                expr = cand
    return expr
