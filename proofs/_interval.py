"""Interval arithmetic for fixed points: SymPy expressions evaluated on Arb balls
(python-flint), and the Krawczyk test that certifies a zero inside a box.

Krawczyk's theorem (R. Krawczyk, *Computing* 4, 1969; R. E. Moore, *A test for
existence of solutions to nonlinear systems*, SIAM J. Numer. Anal. 14, 1977): for
``F: R^n → R^n``, a box ``X``, a point ``x̃ ∈ X`` and any matrix ``Y``, let
``K(X) = x̃ − Y F(x̃) + (I − Y F'(X))(X − x̃)``.  If ``K(X) ⊂ int X`` then ``F`` has
exactly one zero in ``X``.  Every operation here is rigorous (outward-rounded balls);
a ball containing a non-positive number under a logarithm gives ``nan`` and the test
simply fails.
"""
from __future__ import annotations

import contextlib

import numpy as np
import sympy as sp

__all__ = ["precision", "to_arb", "arb_eval", "krawczyk", "arb_interval"]


@contextlib.contextmanager
def precision(bits: int = 128):
    import flint
    old = flint.ctx.prec
    flint.ctx.prec = max(bits, old)
    try:
        yield
    finally:
        flint.ctx.prec = old


def to_arb(x):
    """An exact number (int, Fraction, SymPy Rational, float) as an Arb ball."""
    import flint
    if isinstance(x, float):
        return flint.arb(x)                     # binary floats are exact
    if isinstance(x, sp.Basic):
        if x.is_Integer:
            return flint.arb(int(x))
        if x.is_Rational:
            return flint.arb(flint.fmpq(int(x.p), int(x.q)))
        return arb_eval(x, {})
    if isinstance(x, int):
        return flint.arb(x)
    q = sp.Rational(str(x))
    return flint.arb(flint.fmpq(int(q.p), int(q.q)))


def arb_eval(e: sp.Expr, env: dict):
    """Evaluate ``e`` on balls; ``env`` maps symbol names to Arb balls."""
    import flint
    if isinstance(e, sp.Symbol):
        return env[e.name]
    if e.is_Rational:
        return to_arb(e)
    if e is sp.pi:
        return flint.arb.pi()
    if e is sp.E:
        return flint.arb(1).exp()
    if isinstance(e, sp.Float):
        return flint.arb(float(e))
    if isinstance(e, sp.Add):
        out = flint.arb(0)
        for a in e.args:
            out = out + arb_eval(a, env)
        return out
    if isinstance(e, sp.Mul):
        out = flint.arb(1)
        for a in e.args:
            out = out * arb_eval(a, env)
        return out
    if isinstance(e, sp.Pow):
        b = arb_eval(e.base, env)
        if e.exp.is_Integer:
            return b ** int(e.exp)
        if e.exp == sp.Rational(1, 2):
            return b.sqrt()
        return (arb_eval(e.exp, env) * b.log()).exp()
    if isinstance(e, sp.exp):
        return arb_eval(e.args[0], env).exp()
    if isinstance(e, sp.log):
        return arb_eval(e.args[0], env).log()
    if isinstance(e, sp.Abs):
        return abs(arb_eval(e.args[0], env))
    raise ValueError(f"cannot evaluate {type(e).__name__} on balls: {e}")


def arb_interval(x) -> tuple[float, float]:
    """The endpoints of a ball, rounded outward to floats."""
    lo, hi = float(x.lower()), float(x.upper())
    return (float(np.nextafter(lo, -np.inf)), float(np.nextafter(hi, np.inf)))


def krawczyk(F, xs, x0, env: dict, radii=(1e-12, 1e-10, 1e-8, 1e-6, 1e-4)):
    """A certified box (list of balls) containing exactly one zero of ``F`` near the
    float point ``x0``, or None.  ``F``: SymPy expressions in the symbols ``xs``
    (and names bound in ``env``)."""
    import flint
    n = len(xs)
    J = sp.Matrix(F).jacobian(list(xs))
    names = [x.name for x in xs]
    with precision(128):
        center = [flint.arb(float(v)) for v in x0]
        at_center = dict(env, **dict(zip(names, center)))
        try:
            Fc = [arb_eval(f, at_center) for f in F]
            Jc = np.array([[float(arb_eval(J[i, j], at_center).mid()) for j in range(n)]
                           for i in range(n)])
            Y = np.linalg.inv(Jc)
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
            return None
        if not np.all(np.isfinite(Y)):
            return None
        Ya = [[flint.arb(float(Y[i, j])) for j in range(n)] for i in range(n)]
        scale = max(1.0, max(abs(float(v)) for v in x0))
        for r in radii:
            rad = r * scale
            X = [flint.arb(float(v), rad) for v in x0]
            at_box = dict(env, **dict(zip(names, X)))
            try:
                JX = [[arb_eval(J[i, j], at_box) for j in range(n)] for i in range(n)]
            except (ValueError, ZeroDivisionError):
                return None
            d = [X[j] - center[j] for j in range(n)]
            ok = True
            for i in range(n):
                k = center[i] - sum((Ya[i][j] * Fc[j] for j in range(n)), flint.arb(0))
                for j in range(n):
                    m = (flint.arb(1) if i == j else flint.arb(0)) - sum(
                        (Ya[i][l] * JX[l][j] for l in range(n)), flint.arb(0))
                    k = k + m * d[j]
                if not (k.is_finite() and X[i].contains_interior(k)):
                    ok = False
                    break
            if ok:
                return X
    return None
