"""Is a spec's parameter domain empty?  Decided exactly where cheap and sound.

One-parameter rational relations of low degree go to ``sympy.solveset``; everything
else to Z3 with a time limit; what neither decides is "undecided" (accepted, and
marked so in the family).  ``solveset`` is not used on transcendental relations: it
answered wrongly there (``exp(a)*a**4 - 3*a < 0`` came back as ``(0, oo)``).
"""
from __future__ import annotations

import sympy as sp

__all__ = ["_satisfiable", "Z3_TIMEOUT_MS"]

Z3_TIMEOUT_MS = 2000          # per satisfiability check


def _satisfiable(relations: list[sp.Basic], focus: set | None = None) -> bool | None:
    """Whether some real point satisfies every relation: True, False, or None (unknown).

    Relations are evaluated over real symbols (a positive one, a vector component,
    becomes real with an explicit ``> 0``) and split into groups sharing no symbol.
    A group in one symbol with rational relations of degree <= 4 is decided by
    ``solveset``; any other by Z3 (polynomial, rational powers; 2 s limit).  With
    ``focus``, only the groups using one of those (real) symbols are decided."""
    positive = {s for r in relations for s in r.free_symbols if s.is_positive}
    real = {s: sp.Dummy(s.name, real=True) for s in positive}
    relations = [type(r)(r.lhs.xreplace(real), r.rhs.xreplace(real))
                 if isinstance(r, sp.Rel) else r for r in relations]
    relations += [d > 0 for d in real.values()]
    groups: list[tuple[set, list]] = []
    for r in relations:
        if r is sp.true:
            continue
        if r is sp.false:
            return False
        symbols, rels = set(r.free_symbols), [r]
        for g in [g for g in groups if g[0] & symbols]:
            groups.remove(g)
            symbols, rels = symbols | g[0], g[1] + rels
        groups.append((symbols, rels))
    verdicts = [_decide(rels, symbols) for symbols, rels in groups
                if focus is None or symbols & focus]
    return False if False in verdicts else None if None in verdicts else True


def _low_degree(relation, s) -> bool:
    e = relation.lhs - relation.rhs
    if not e.is_rational_function(s):
        return False
    num, den = sp.fraction(sp.together(e))
    return sp.degree(num, s) <= 4 and sp.degree(den, s) <= 4


def _decide(relations, symbols) -> bool | None:
    if not symbols or not all(isinstance(r, sp.Rel) for r in relations):
        return None
    (s, *others) = symbols
    if not others and all(_low_degree(r, s) for r in relations):
        try:
            solution = sp.S.Reals
            for r in relations:
                solution = sp.Intersection(solution, sp.solveset(r, s, sp.S.Reals))
            if not solution.has(sp.ConditionSet) and solution.is_empty is not None:
                return not solution.is_empty
        except Exception:  # noqa: BLE001 -- undecided here; Z3 next
            pass
    return _z3_satisfiable(relations, symbols)


def _z3_satisfiable(relations, symbols) -> bool | None:
    import z3
    names = {s: z3.Real(f"{s.name}!{i}") for i, s in enumerate(symbols)}
    side: list = []

    def power(b, n: int):
        out, base = z3.RealVal(1), b
        while n:
            out, base, n = (out * base if n & 1 else out), base * base, n >> 1
        return out

    def enc(e):
        if e in names:
            return names[e]
        if isinstance(e, sp.Rational):
            return z3.RealVal(f"{e.p}/{e.q}")
        if isinstance(e, sp.Add):
            return z3.Sum([enc(a) for a in e.args])
        if isinstance(e, sp.Mul):
            return z3.Product([enc(a) for a in e.args])
        if isinstance(e, sp.Pow) and isinstance(e.exp, sp.Rational) and max(
                abs(e.exp.p), e.exp.q) <= 64:
            b, m, n = enc(e.base), int(e.exp.p), int(e.exp.q)
            if n == 1:
                return power(b, m) if m > 0 else 1 / power(b, -m)
            y = z3.FreshReal()
            side.append(y > 0 if m < 0 else y >= 0)
            side.append(power(y, n) == power(b, m) if m > 0 else power(y, n) * power(b, -m) == 1)
            return y
        raise NotImplementedError(e)

    ops = {sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
           sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
           sp.Equality: lambda a, b: a == b, sp.Unequality: lambda a, b: a != b}
    try:
        formulas = [ops[type(r)](enc(r.lhs), enc(r.rhs)) for r in relations]
        solver = z3.Solver()
        solver.set("timeout", Z3_TIMEOUT_MS)
        solver.add(*formulas, *side)
        verdict = solver.check()
    except (NotImplementedError, KeyError, z3.Z3Exception):
        return None
    return True if verdict == z3.sat else False if verdict == z3.unsat else None
