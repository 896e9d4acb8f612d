"""A claim's expressions compiled once, evaluated many times without building SymPy
objects: NumPy for the numeric probe, exact and ball arithmetic for certification.

:class:`Structure` turns expressions into straight-line steps in which every distinct
subexpression is one step, computed once however often it occurs (a normaliser
shared by ``K`` components, say).  :meth:`Structure.program` makes the steps one root
needs into a runnable program in one of three arithmetics.  They follow the rules
:mod:`._certify` applies on its SymPy route, so a compiled evaluation and
``_sign_detail(substitute(e, subs))`` agree (``tests/test_compiled.py`` checks it on
the catalogue's claims):

* ``"numeric"``: float64 NumPy columns, NaN where undefined (call under
  ``np.errstate(all="ignore")``);
* ``"exact"`` (*rational mode*, steps of the kinds :data:`RATIONAL`: no ``log``/``exp``
  and only integer powers, as in :func:`._certify.substitute`): ``fmpq`` arithmetic; a
  division by zero makes the expression undefined (:class:`Undefined`);
* ``"ball"`` (everything else): every node in Arb ball arithmetic at the context
  precision, as :func:`._certify._arb` evaluates the unevaluated substitution: sums
  from ``arb(0)`` and products from ``arb(1)`` in argument order, ``log`` of a
  non-positive number and a fractional power of a negative one undefined, a ball
  straddling 0 under ``log`` or a root NaN.  Its input is :func:`point`.

Node types outside ``Symbol``, ``Rational``, ``Add``, ``Mul``, ``Pow``, ``log``, ``exp``,
``Abs``, ``Max``, ``Min`` make :meth:`Structure.add` raise :class:`Unsupported`; the
caller then keeps the SymPy route for that expression.  Nothing here reads text.
"""
from __future__ import annotations

import operator
from functools import reduce
from typing import Callable

import flint
import numpy as np
import sympy as sp

__all__ = ["Unsupported", "Undefined", "Structure", "structure_of", "claim_key", "difference",
           "point", "RATIONAL", "ALGEBRAIC"]


class Unsupported(Exception):
    """A node type the compiled evaluators do not take (use the SymPy route)."""


class Undefined(Exception):
    """Not a real number at the point (``1/0``, ``log`` of a non-positive number, a
    fractional power of a negative number)."""


class Structure:
    """Expressions over the symbols of ``index`` (symbol -> input position) as shared
    steps ``(kind, payload, argument slots)``; slot ``i < len(index)`` is an input and
    slot ``len(index) + j`` is step ``j``."""

    def __init__(self, index: dict):
        self.width = len(index)
        self.slot = dict(index)
        self.steps: list[tuple[str, object, tuple[int, ...]]] = []
        self.made: dict[str, list] = {a: [] for a in _ARITHMETIC}

    def add(self, e: sp.Basic) -> int:
        """The slot of ``e`` (:class:`Unsupported` for a node type outside the list)."""
        s = self.slot.get(e)
        if s is None:
            kind, payload, args = _node(e)
            slots = tuple([self.add(a) for a in args])
            s = self.slot[e] = self.width + len(self.steps)
            self.steps.append((kind, payload, slots))
        return s

    def needed(self, roots: list[int]) -> list[int]:
        """The steps the roots depend on, in order."""
        w, steps, need = self.width, self.steps, set()
        stack = [r - w for r in roots if r >= w]
        while stack:
            j = stack.pop()
            if j not in need:
                need.add(j)
                stack.extend([a - w for a in steps[j][2] if a >= w])
        return sorted(need)

    def program(self, roots: list[int], arithmetic: str,
                needed: list[int] | None = None) -> Callable[[list], list]:
        """``run(inputs) -> [value of each root]`` computing only the steps the roots
        need (``needed``, when already known); ``inputs`` are the values of the symbols
        (``"ball"``: :func:`point`)."""
        w, steps = self.width, self.steps
        made = self.made[arithmetic]
        make = _ARITHMETIC[arithmetic]
        while len(made) < len(steps):
            kind, payload, _ = steps[len(made)]
            made.append(make(kind, payload) if arithmetic != "exact" or kind in RATIONAL
                        else None)
        shift = w if arithmetic == "ball" else 0         # ball inputs: balls, then exact
        prog = []
        for j in self.needed(roots) if needed is None else needed:
            kind, _, args = steps[j]
            if made[j] is None:
                raise Unsupported("not rational mode")
            slots = tuple([a if a < w else a + shift for a in args])
            if kind == "pow_sym" and arithmetic == "ball":
                slots = (slots[0], args[1] + w)           # the exponent's exact value
            prog.append((w + j + shift, made[j], slots))
        size = w + shift + len(steps)
        outs = [r if r < w else r + shift for r in roots]

        def run(inputs):
            vals = list(inputs) + [None] * (size - len(inputs))
            for s, fn, args in prog:
                vals[s] = fn(*[vals[a] for a in args])
            return [vals[r] for r in outs]
        return run


#: Step kinds of *rational mode* (no ``log``/``exp``, integer powers only: what
#: :func:`._certify.substitute` evaluates exactly).
RATIONAL = frozenset({"const", "add", "mul", "pow_int", "abs", "max", "min"})
#: Step kinds of an algebraic value at a rational point (as
#: :func:`._certify._is_algebraic`: ``+``, ``*``, powers with a rational exponent or a
#: one-symbol exponent, which becomes a rational leaf).
ALGEBRAIC = frozenset({"const", "add", "mul", "pow_int", "pow_rat", "pow_sym"})


_STRUCTURES: dict = {}
_DIFFERENCES: dict = {}


def difference(rel) -> sp.Basic:
    """``rel.lhs - rel.rhs``, built once per relation (SymPy arithmetic is slow)."""
    d = _DIFFERENCES.get(rel)
    if d is None:
        if len(_DIFFERENCES) > 4096:
            _DIFFERENCES.clear()
        d = _DIFFERENCES[rel] = rel.lhs - rel.rhs
    return d


def claim_key(claim) -> tuple:
    """What a claim's compiled forms depend on."""
    return (tuple(claim.vectors.items()), claim.parameters, claim.domain,
            tuple((a.expr, a.rel) for a in claim.atoms))


def structure_of(claim) -> Structure:
    """The one :class:`Structure` of a claim (over ``claim.symbols``), shared by the
    probe and certification, so a subexpression is compiled once for both."""
    key = claim_key(claim)
    s = _STRUCTURES.get(key)
    if s is None:
        if len(_STRUCTURES) > 256:
            _STRUCTURES.clear()
        s = _STRUCTURES[key] = Structure({x: i for i, x in enumerate(claim.symbols)})
    return s


def _node(e: sp.Basic) -> tuple[str, object, tuple]:
    if isinstance(e, sp.Rational):
        return "const", flint.fmpq(int(e.p), int(e.q)), ()
    if isinstance(e, sp.Add):
        return "add", None, e.args
    if isinstance(e, sp.Mul):
        return "mul", None, e.args
    if isinstance(e, sp.Pow):
        x = e.exp
        if x.is_Integer:
            return "pow_int", int(x), (e.base,)
        if x.is_Rational:
            return "pow_rat", (int(x.p), int(x.q)), (e.base,)
        return ("pow_sym" if isinstance(x, sp.Symbol) else "pow_real"), None, e.args
    for cls, kind in ((sp.log, "log"), (sp.exp, "exp"), (sp.Abs, "abs"), (sp.Max, "max"),
                      (sp.Min, "min")):
        if isinstance(e, cls):
            return kind, None, e.args
    raise Unsupported(f"{type(e).__name__} {e}")


# --- the three arithmetics -----------------------------------------------------------------
def _fold(op):
    return lambda *xs: reduce(op, xs)


def _numeric(kind: str, payload):
    if kind == "const":
        c = float(payload)
        return lambda: c
    if kind == "pow_int":
        n = payload
        if n == 2:
            return lambda b: b * b
        if n == -1:
            return lambda b: 1.0 / b
        return lambda b: np.power(b, float(n))
    if kind == "pow_rat":
        x = payload[0] / payload[1]
        return lambda b: np.power(b, x)
    return {"add": _fold(operator.add), "mul": _fold(operator.mul), "pow_sym": np.power,
            "pow_real": np.power, "log": np.log, "exp": np.exp, "abs": np.abs,
            "max": _fold(np.maximum), "min": _fold(np.minimum)}[kind]


def _power(b, n: int):
    if n < 0 and b == 0:
        raise Undefined("division by zero")
    return b ** n


def _exact(kind: str, payload):
    if kind == "const":
        return lambda: payload
    if kind == "pow_int":
        return lambda b: _power(b, payload)
    if kind in ("add", "mul"):
        return _fold(operator.add if kind == "add" else operator.mul)
    if kind == "abs":
        return abs
    if kind in ("max", "min"):
        pick = max if kind == "max" else min
        return lambda *xs: pick(xs)
    raise Unsupported("not rational mode")


def point(vals: list) -> list:
    """The input of a ``"ball"`` program: the values' balls at the current
    ``flint.ctx.prec`` (made once, shared by every occurrence), then the exact values."""
    return [flint.arb(x) for x in vals] + list(vals)


def _sum(*xs):
    out = flint.arb(0)
    for x in xs:
        out += x
    return out


def _product(*xs):
    out = flint.arb(1)
    for x in xs:
        out *= x
    return out


def _log(arg):
    if not arg > 0:
        if arg <= 0:
            raise Undefined("log of a non-positive number")
        return flint.arb.nan()
    return arg.log()


def _root(b, p: int, q: int):
    if b < 0:
        raise Undefined("fractional power of a negative number")
    if not b > 0:
        return flint.arb.nan()
    return b.root(q) ** p


def _leaf_power(b, r):                     # a symbolic exponent: a rational leaf
    return b ** int(r.p) if r.q == 1 else _root(b, int(r.p), int(r.q))


def _real_power(b, x):
    if not b > 0:
        return flint.arb.nan()
    return (x * b.log()).exp()


def _ball(kind: str, payload):
    if kind == "const":
        return lambda: flint.arb(payload)
    if kind == "pow_int":
        return lambda b: b ** payload
    if kind == "pow_rat":
        p, q = payload
        return lambda b: _root(b, p, q)
    if kind in ("max", "min"):
        return _fold(lambda a, b: getattr(a, kind)(b))
    return {"add": _sum, "mul": _product, "pow_sym": _leaf_power, "pow_real": _real_power,
            "log": _log, "exp": lambda a: a.exp(), "abs": abs}[kind]


_ARITHMETIC = {"numeric": _numeric, "exact": _exact, "ball": _ball}
