"""A claim's expressions compiled once, evaluated many times without building SymPy
objects: NumPy closures for the numeric probe, exact and ball evaluators for
certification.

Every evaluator walks the same tree the SymPy route of :mod:`._certify` walks, with
the same rules, so a compiled evaluation and ``_sign_detail(substitute(e, subs))``
agree (``tests/test_compiled.py`` checks it on the catalogue's claims):

* *rational mode* (no ``log``/``exp`` and only integer powers, as in
  :func:`._certify.substitute`): exact ``fmpq`` arithmetic; a division by zero makes
  the expression undefined;
* *ball mode* (everything else): every node in Arb ball arithmetic at the context
  precision, leaves made balls one by one as :func:`._certify._arb` does on the
  unevaluated substitution, ``log`` of a non-positive number and a fractional power
  of a negative one undefined, a ball straddling 0 under ``log`` or a root NaN.

Node types outside ``Symbol``, ``Rational``, ``Add``, ``Mul``, ``Pow``, ``log``, ``exp``,
``Abs``, ``Max``, ``Min`` raise :class:`Unsupported` at compile time; the caller then
keeps the SymPy route for that expression.  Nothing here reads text.
"""
from __future__ import annotations

from typing import Callable

import flint
import numpy as np
import sympy as sp

__all__ = ["Unsupported", "Undefined", "numeric", "rational_mode", "symbolic_exponents",
           "exact", "ball", "algebraic"]


class Unsupported(Exception):
    """A node type the compiled evaluators do not take (use the SymPy route)."""


class Undefined(Exception):
    """Not a real number at the point (``1/0``, ``log`` of a non-positive number, a
    fractional power of a negative number)."""


_NUMERIC_FUNCS = {sp.log: np.log, sp.exp: np.exp, sp.Abs: np.abs}


def _check(e: sp.Basic) -> None:
    if not isinstance(e, (sp.Symbol, sp.Rational, sp.Add, sp.Mul, sp.Pow, sp.log, sp.exp,
                          sp.Abs, sp.Max, sp.Min)):
        raise Unsupported(type(e).__name__)


# --- NumPy ---------------------------------------------------------------------------------
def numeric(e: sp.Basic, index: dict) -> Callable[[list], np.ndarray]:
    """``f(cols) -> values``: ``e`` over float64 columns (``cols[index[s]]``); NaN where
    undefined.  Call under ``np.errstate(all="ignore")``."""
    _check(e)
    if isinstance(e, sp.Symbol):
        i = index[e]
        return lambda cols: cols[i]
    if isinstance(e, sp.Rational):
        c = float(e)
        return lambda cols: c
    fs = [numeric(a, index) for a in e.args]
    if isinstance(e, (sp.Add, sp.Mul)):
        add = isinstance(e, sp.Add)

        def fold(cols):
            out = fs[0](cols)
            for f in fs[1:]:
                out = out + f(cols) if add else out * f(cols)
            return out
        return fold
    if isinstance(e, sp.Pow):
        base, ex = fs
        if e.exp == 2:
            return lambda cols: base(cols) * base(cols)
        if e.exp == -1:
            return lambda cols: 1.0 / base(cols)
        return lambda cols: np.power(base(cols), ex(cols))
    if isinstance(e, (sp.Max, sp.Min)):
        op = np.maximum if isinstance(e, sp.Max) else np.minimum

        def extreme(cols):
            out = fs[0](cols)
            for f in fs[1:]:
                out = op(out, f(cols))
            return out
        return extreme
    func, (arg,) = _NUMERIC_FUNCS[e.func], fs
    return lambda cols: func(arg(cols))


# --- exact (rational mode) -----------------------------------------------------------------
def rational_mode(e: sp.Basic) -> bool:
    """Whether :func:`._certify.substitute` evaluates ``e`` exactly (no ``log``/``exp``,
    integer powers only)."""
    if isinstance(e, (sp.log, sp.exp)) or (isinstance(e, sp.Pow) and not e.exp.is_Integer):
        return False
    return all(rational_mode(a) for a in e.args)


def symbolic_exponents(e: sp.Basic) -> list[sp.Basic]:
    """The exponents of ``e``'s powers that have free symbols, outermost first."""
    out = [e.exp] if isinstance(e, sp.Pow) and e.exp.free_symbols else []
    for a in e.args:
        out.extend(symbolic_exponents(a))
    return out


def exact(e: sp.Basic, index: dict) -> Callable[[list], flint.fmpq]:
    """``f(vals) -> fmpq`` for a rational-mode ``e`` (``vals[index[s]]`` are ``fmpq``);
    :class:`Undefined` on a division by zero."""
    _check(e)
    if isinstance(e, sp.Symbol):
        i = index[e]
        return lambda v: v[i]
    if isinstance(e, sp.Rational):
        c = flint.fmpq(int(e.p), int(e.q))
        return lambda v: c
    if isinstance(e, (sp.log, sp.exp)) or (isinstance(e, sp.Pow) and not e.exp.is_Integer):
        raise Unsupported("not rational mode")
    fs = [exact(a, index) for a in e.args]
    if isinstance(e, sp.Pow):
        base, n = fs[0], int(e.exp)

        def power(v):
            b = base(v)
            if n < 0 and b == 0:
                raise Undefined("division by zero")
            return b ** n
        return power
    if isinstance(e, sp.Add):
        return lambda v: sum((f(v) for f in fs[1:]), fs[0](v))
    if isinstance(e, sp.Mul):
        def product(v):
            out = fs[0](v)
            for f in fs[1:]:
                out = out * f(v)
            return out
        return product
    if isinstance(e, sp.Abs):
        return lambda v: abs(fs[0](v))
    pick = max if isinstance(e, sp.Max) else min
    return lambda v: pick(f(v) for f in fs)


# --- balls (ball mode) ---------------------------------------------------------------------
def ball(e: sp.Basic, index: dict) -> Callable[[list], flint.arb]:
    """``f(vals) -> arb`` at ``flint.ctx.prec``, node for node as
    :func:`._certify._arb` evaluates the unevaluated substitution of ``e``."""
    _check(e)
    if isinstance(e, sp.Symbol):
        i = index[e]
        return lambda v: flint.arb(v[i])
    if isinstance(e, sp.Rational):
        c = flint.fmpq(int(e.p), int(e.q))
        return lambda v: flint.arb(c)
    fs = [ball(a, index) for a in e.args]
    if isinstance(e, sp.Add):
        def total(v):
            out = flint.arb(0)
            for f in fs:
                out += f(v)
            return out
        return total
    if isinstance(e, sp.Mul):
        def product(v):
            out = flint.arb(1)
            for f in fs:
                out *= f(v)
            return out
        return product
    if isinstance(e, sp.Pow):
        return _ball_pow(e, fs[0], fs[1], index)
    if isinstance(e, sp.log):
        def log(v):
            arg = fs[0](v)
            if not arg > 0:
                if arg <= 0:
                    raise Undefined("log of a non-positive number")
                return flint.arb.nan()
            return arg.log()
        return log
    if isinstance(e, sp.exp):
        return lambda v: fs[0](v).exp()
    if isinstance(e, sp.Abs):
        return lambda v: abs(fs[0](v))
    take = "max" if isinstance(e, sp.Max) else "min"

    def extreme(v):
        vals = [f(v) for f in fs]
        out = vals[0]
        for x in vals[1:]:
            out = getattr(out, take)(x)
        return out
    return extreme


def _root(b: flint.arb, p: int, q: int) -> flint.arb:
    if b < 0:
        raise Undefined("fractional power of a negative number")
    if not b > 0:
        return flint.arb.nan()
    return b.root(q) ** p


def _ball_pow(e: sp.Pow, base, ex, index):
    x = e.exp
    if x.is_Integer:
        n = int(x)
        return lambda v: base(v) ** n
    if x.is_Rational:
        p, q = int(x.p), int(x.q)
        return lambda v: _root(base(v), p, q)
    if isinstance(x, sp.Symbol):               # substituted: a Rational leaf
        i = index[x]

        def leaf_power(v):
            r = v[i]
            if r.q == 1:
                return base(v) ** int(r.p)
            return _root(base(v), int(r.p), int(r.q))
        return leaf_power

    def real_power(v):
        b = base(v)
        if not b > 0:
            return flint.arb.nan()
        return (ex(v) * b.log()).exp()
    return real_power


def algebraic(e: sp.Basic) -> bool:
    """Whether the substitution of ``e`` at a rational point is algebraic in the sense of
    :func:`._certify._is_algebraic` (rationals, ``+``, ``*``, rational powers; a
    symbolic exponent counts when it is one symbol, which becomes a rational leaf)."""
    if isinstance(e, (sp.Symbol, sp.Rational)):
        return True
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(algebraic(a) for a in e.args)
    if isinstance(e, sp.Pow):
        return (e.exp.is_Rational or isinstance(e.exp, sp.Symbol)) and algebraic(e.base)
    return False
