"""Symbols and domains the catalogue modules share (the same names everywhere)."""
import sympy as sp

from ..family import Parameter
from ..vector import MatVec, normalize  # noqa: F401  (re-exported for the modules)

p, q, x = (sp.Symbol(n, positive=True) for n in ("p", "q", "x"))
q1, q2, p1, p2 = (sp.Symbol(n, positive=True) for n in ("q1", "q2", "p1", "p2"))
alpha, T, w1, w2, beta1, beta2, t = (sp.Symbol(n, real=True)
                                     for n in ("alpha", "T", "w1", "w2", "beta1", "beta2", "t"))


def unit(symbol) -> Parameter:
    """A weight in the open unit interval."""
    return Parameter(symbol, (0 < symbol, symbol < 1))


def positive(symbol) -> Parameter:
    return Parameter(symbol, (symbol > 0,))


def fixed(symbol, value) -> Parameter:
    return Parameter(symbol, (), sp.Rational(value))
