r"""The whitelisting parser for untrusted expression text (family specs, answers).

Text is tokenized and parsed by hand into SymPy; it is never handed to ``eval``,
``exec``, ``sympify``, ``parse_expr`` or ``lambdify``.  Grammar (lowest binding first,
Python's precedences)::

    relations := sum (relop sum)*          relop: <  <=  >  >=  ==  !=
    sum       := term (('+' | '-') term)*
    term      := unary (('*' | '/' | '@') unary)*
    unary     := ('-' | '+')* power
    power     := postfix ['**' unary]       right-associative: 2**3**2 = 2**9
    postfix   := NAME '(' sum ')'           a function, exactly one argument
               | NAME '[' INTEGER ']'       a vector component (allow_index only)
               | atom
    atom      := NUMBER | NAME | '(' sum ')' | matrix
    matrix    := '[' row (',' row)* ']'     row := '[' sum (',' sum)* ']', exact numbers
    NUMBER    := digits ['.' digits]        exact: "0.3" is 3/10, "1/2" a division
    NAME      := [A-Za-z_][A-Za-z0-9_]*     ASCII only

Names: ``scalars`` become ``Symbol(name, real=True)`` (the catalogue's parameters),
``vectors`` ``Symbol(name, positive=True)``, ``x[i]`` the component
``Symbol("x_i", positive=True)`` of :func:`~distillproof.axioms.vector.components`;
``matrices`` (constant) serve only in ``W @ v`` (``MatVec(W, v)``) or ``W @ V``.
Functions: ``log exp sqrt``, and ``normalize sum softmax`` of a vector expression.

Limits, checked before SymPy sees anything big:

* :data:`MAX_LENGTH` characters, :data:`MAX_NODES` nodes, :data:`MAX_DEPTH` levels of
  brackets, calls and ``**`` (brackets are pre-scanned: 10,000-deep nesting never
  reaches the recursive parser); :data:`MAX_LITERAL_DIGITS` digits before and after
  the point of a literal (no ``1e5``);
* an exponent is an exact rational, or an expression in scalar parameters (``alpha``,
  ``1/r``); numbers in it are at most :data:`MAX_EXPONENT` in numerator and
  denominator, so ``9**9**9`` fails on the inner ``387420489`` before any power;
* exact numbers formed by folding fit :data:`MAX_CONSTANT_BITS` bits, checked *before*
  a numeric power or ``exp`` is evaluated (also numbers SymPy may split off a
  symbolic exponent: ``2**(N - r) * 2**r``); powers SymPy merges (``p**a * p**b``)
  stay within :data:`MAX_EXPONENT`; values are real and finite (no ``1/0``).

SymPy builds over placeholder symbols *without* assumptions (with ``positive=True``
its automatic evaluation can spend seconds in ``real_roots`` of a degree-64
polynomial); :func:`_swap` puts the real symbols in at the end, unevaluated.

Every rejection is a :class:`SpecError` naming the line and column.
"""
from __future__ import annotations

import math
import re

import sympy as sp
from sympy.core.add import _addsort
from sympy.core.mul import _mulsort

from .vector import MatVec, normalize, softmax, vsum

__all__ = ["SpecError", "parse_expression", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH",
           "MAX_NODES", "MAX_LITERAL_DIGITS", "MAX_EXPONENT", "MAX_CONSTANT_BITS",
           "MAX_INDEX"]

MAX_LENGTH = 2000         # characters of expression text
MAX_DEPTH = 50            # nested brackets, calls and ``**``
MAX_NODES = 500           # numbers, names, operators, matrix entries
MAX_LITERAL_DIGITS = 12   # digits before, and after, the point of a number literal
MAX_EXPONENT = 64         # |numerator|, denominator of numbers in exponents
MAX_CONSTANT_BITS = 1024  # size of any exact number formed by constant folding
MAX_INDEX = 64            # x[i] needs 0 <= i < MAX_INDEX

FUNCTIONS = {"log": sp.log, "exp": sp.exp, "sqrt": sp.sqrt,
             "normalize": normalize, "sum": vsum, "softmax": softmax}
RELATIONS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_TOKEN = re.compile(r"(?P<space>[ \t\r\n]+)|(?P<num>[0-9]+(?:\.[0-9]+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>\*\*|<=|>=|==|!=|[-+*/@()\[\],<>])")
_HINTS = {
    "=": "'=' is not allowed (compare with ==; no keyword arguments)",
    "^": "'^' is not allowed; write powers with **",
    "'": "strings are not allowed", '"': "strings are not allowed",
    ":": "':' is not allowed (no lambdas, slices or walrus)",
    "!": "'!' is not allowed (use != for 'not equal')",
}
_BAD = (sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I)


class SpecError(ValueError):
    """A rejected spec or expression: ``where:line:column: message``."""

    def __init__(self, message: str, where: str = "<input>", line: int = 1, column: int = 1):
        super().__init__(f"{where}:{line}:{column}: {message}")
        self.message, self.where, self.line, self.column = message, where, line, column


def _bits(r: sp.Rational) -> int:
    return max(int(r.p).bit_length(), int(r.q).bit_length())


def _largest(expr) -> int:
    """The largest numerator or denominator of a number in ``expr``."""
    return max([1] + [max(abs(int(r.p)), int(r.q)) for r in expr.atoms(sp.Rational)])


class _Parser:
    def __init__(self, text, scalars, vectors, matrices, where, line, column,
                 allow_relations, allow_index):
        self.text, self.where, self.line0, self.col0 = text, where, line, column
        self.scalars, self.vectors, self.matrices = set(scalars), set(vectors), matrices
        self.allow_relations, self.allow_index = allow_relations, allow_index
        self.components: set[str] = set()
        self.final: dict[sp.Symbol, sp.Symbol] = {}
        self.nodes = self.depth = self.i = 0
        self.toks: list[tuple[str, str, int]] = []

    def error(self, message: str, offset: int) -> SpecError:
        before = self.text[:max(0, min(offset, len(self.text)))]
        if "\n" not in before:
            return SpecError(message, self.where, self.line0, self.col0 + len(before))
        return SpecError(message, self.where, self.line0 + before.count("\n"),
                         len(before) - before.rfind("\n"))

    # --- lexing -----------------------------------------------------------------------
    def tokenize(self) -> None:
        text, i = self.text, 0
        while i < len(text):
            m = _TOKEN.match(text, i)
            if m is None:
                c = text[i]
                if not c.isascii():
                    message = f"non-ASCII character {c!r} (U+{ord(c):04X}) is not allowed"
                elif c == ".":
                    decimal = text[i - 1:i].isdigit() or text[i + 1:i + 2].isdigit()
                    message = ("write decimals with digits on both sides, like 0.5" if decimal
                               else "attribute access is not allowed")
                else:
                    message = _HINTS.get(c, f"character {c!r} is not allowed")
                raise self.error(message, i)
            kind, i = m.lastgroup, m.end()
            if kind == "num" and re.match(r"[A-Za-z_]", text[i:i + 1]):
                raise self.error("exponent notation like 1e5 is not allowed; write 10**5"
                                 if text[i] in "eE" else "a number cannot be followed by a "
                                 "name; write the * explicitly", i)
            if kind != "space":
                self.toks.append((kind, m.group(), m.start()))
        self.toks.append(("end", "", len(text)))

    def check_brackets(self) -> None:
        """Balance and depth, before any recursion."""
        stack: list[tuple[str, int]] = []
        for kind, tok, pos in self.toks:
            if kind == "op" and tok in ("(", "["):
                stack.append((tok, pos))
                if len(stack) > MAX_DEPTH:
                    raise self.error(f"nesting deeper than {MAX_DEPTH} levels", pos)
            elif kind == "op" and tok in (")", "]"):
                if not stack:
                    raise self.error(f"unmatched {tok!r}", pos)
                opening, _ = stack.pop()
                if {"(": ")", "[": "]"}[opening] != tok:
                    raise self.error(f"{tok!r} does not match {opening!r}", pos)
        if stack:
            raise self.error(f"{stack[-1][0]!r} is never closed", stack[-1][1])

    # --- tokens -----------------------------------------------------------------------
    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]
    def at(self, *ops: str) -> bool:
        kind, tok, _ = self.toks[self.i]
        return kind == "op" and tok in ops

    def take(self) -> tuple[str, str, int]:
        self.i += 1
        return self.toks[self.i - 1]

    def expect(self, op: str) -> int:
        kind, tok, pos = self.take()
        if kind != "op" or tok != op:
            raise self.error(f"expected {op!r}, found {self.describe(kind, tok)}", pos)
        return pos

    @staticmethod
    def describe(kind: str, tok: str) -> str:
        return "end of text" if kind == "end" else repr(tok)

    def count(self, pos: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(f"expression has more than {MAX_NODES} nodes", pos)

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", pos)

    # --- checked construction ---------------------------------------------------------
    def build(self, pos: int, fn, *args):
        """``fn(*args)`` for non-matrix ``args``, SymPy's errors turned into positioned
        ones; the value must be finite, real and of bounded size."""
        for a in args:
            if isinstance(a, sp.MatrixBase):
                raise self.error("a matrix can only be applied to a vector, as W @ q", pos)
        try:
            out = fn(*args)
        except (TypeError, ValueError, ArithmeticError, AttributeError,
                NotImplementedError) as e:
            raise self.error(f"invalid operation: {e}", pos) from None
        if out.has(*_BAD):
            raise self.error("the value is not a finite real number (division by zero, "
                             "log(0), sqrt of a negative, ...)", pos)
        if isinstance(out, sp.Rational) and _bits(out) > MAX_CONSTANT_BITS:
            raise self.error(f"constant larger than {MAX_CONSTANT_BITS} bits", pos)
        if isinstance(out, sp.Expr) and not out.free_symbols and out.is_real is False:
            raise self.error("the value is not a real number", pos)
        return out

    def magnitude_bits(self, value, pos: int) -> int:
        """Bits of a constant: of numerator/denominator when rational, else
        ``|log2|value||`` read off a 15-digit binary float (no overflow)."""
        if isinstance(value, sp.Rational):
            return _bits(value)
        approx = value.evalf(15)
        if not isinstance(approx, sp.Float):
            raise self.error(f"cannot evaluate the constant {value}", pos)
        _, man, exp, bc = approx._mpf_
        return 1 if not man else abs(exp + bc) + 2

    def power(self, base, exponent, pos: int):
        if isinstance(exponent, sp.MatrixBase):
            raise self.error("a matrix cannot be an exponent", pos)
        names = {s.name for s in exponent.free_symbols}
        if names & (self.vectors | self.components):
            raise self.error("an exponent may use scalar parameters only, not vectors", pos)
        if not names and not isinstance(exponent, sp.Rational):
            raise self.error(f"exponent {exponent} is not an exact rational number", pos)
        if _largest(exponent) > MAX_EXPONENT:
            raise self.error(f"exponent {exponent} too large: numbers in an exponent must "
                             f"be at most {MAX_EXPONENT} in numerator and denominator", pos)
        if not isinstance(base, sp.MatrixBase) and not base.free_symbols:
            # numeric power, or numbers SymPy may split off (2**(N - r) * 2**r == 2**N)
            factor = abs(exponent.p) if not names else _largest(exponent)
            if self.magnitude_bits(base, pos) * factor > MAX_CONSTANT_BITS:
                raise self.error(f"power would exceed {MAX_CONSTANT_BITS} bits", pos)
        return self.build(pos, sp.Pow, base, exponent)

    def call(self, fn: str, arg, pos: int):
        if isinstance(arg, sp.MatrixBase):
            raise self.error(f"{fn}() of a matrix; apply it to a vector, as W @ q", pos)
        if fn in ("normalize", "sum", "softmax") and not self.vectorial(arg):
            raise self.error(f"the argument of {fn} must be a vector expression", pos)
        if fn == "sqrt":
            return self.power(arg, sp.Rational(1, 2), pos)
        if fn == "exp" and not arg.free_symbols:
            if abs(arg.evalf(15)) > MAX_CONSTANT_BITS * math.log(2):
                raise self.error(f"exp of a constant beyond {MAX_CONSTANT_BITS} bits", pos)
        elif fn == "exp":  # exp(N*log(2) - r) * exp(r) == 2**N
            logs = [self.magnitude_bits(g.args[0], pos) for g in arg.atoms(sp.log)
                    if not g.free_symbols]
            if logs and max(logs) * _largest(arg) > MAX_CONSTANT_BITS:
                raise self.error(f"exp of a possible power beyond {MAX_CONSTANT_BITS} bits",
                                 pos)
        return self.build(pos, FUNCTIONS[fn], arg)

    def relation(self, op: str, left, right, pos: int):
        """``left op right``.  A number on the left moves right, as Python does for
        ``0 < alpha`` (``alpha > 0``), so the catalogue's forms come out; only
        comparisons of numbers are evaluated."""
        if not isinstance(left, sp.MatrixBase) and left.is_number and not (
                isinstance(right, sp.MatrixBase) or right.is_number):
            op, left, right = _FLIP.get(op, op), right, left
        evaluate = all(getattr(a, "is_number", False) for a in (left, right))
        return self.build(pos, lambda a, b: RELATIONS[op](a, b, evaluate=evaluate),
                          left, right)

    def matmul(self, left, right, pos: int):
        if not isinstance(left, sp.MatrixBase):
            raise self.error("the left operand of @ must be a matrix", pos)
        if not isinstance(right, sp.MatrixBase):
            if not self.vectorial(right):
                raise self.error("the right operand of @ must be a vector or a matrix", pos)
            return MatVec(left, right)
        if left.shape[1] != right.shape[0]:
            raise self.error(f"matrix shapes {left.shape} and {right.shape} differ", pos)
        product = sp.ImmutableMatrix(left * right)
        if any(_bits(e) > MAX_CONSTANT_BITS for e in product):
            raise self.error(f"matrix entry larger than {MAX_CONSTANT_BITS} bits", pos)
        return product

    def vectorial(self, value) -> bool:
        return bool({s.name for s in value.free_symbols} & (self.vectors | self.components))

    def symbol(self, name: str, component: bool = False) -> sp.Symbol:
        """A placeholder without assumptions, recorded with the symbol it stands for."""
        if component:
            self.components.add(name)
        self.final[sp.Symbol(name)] = (sp.Symbol(name, real=True) if name in self.scalars
                                       else sp.Symbol(name, positive=True))
        return sp.Symbol(name)

    def finish(self, value):
        if isinstance(value, tuple):
            return tuple(self.finish(v) for v in value)
        if isinstance(value, sp.MatrixBase):
            raise self.error("the result is a matrix; apply it to a vector, as W @ q", 0)
        for e in sp.preorder_traversal(value):
            if isinstance(e, sp.Pow) and isinstance(e.exp, sp.Rational) and (
                    _largest(e.exp) > MAX_EXPONENT):
                raise self.error(f"the result contains {e}, an exponent beyond "
                                 f"{MAX_EXPONENT}", 0)
        return _swap(value, self.final)

    # --- grammar ----------------------------------------------------------------------
    def parse(self):
        first = self.parse_sum()
        kind, tok, pos = self.peek()
        if not self.allow_relations and self.at(*RELATIONS):
            raise self.error(f"relations ({tok}) are not allowed here", pos)
        if self.allow_relations and not self.at(*RELATIONS):
            raise self.error("expected a relation (<, <=, >, >=, ==, !=)" if kind == "end"
                             else f"unexpected {self.describe(kind, tok)}", pos)
        out, left = [], first
        while self.at(*RELATIONS):
            _, op, pos = self.take()
            self.count(pos)
            right = self.parse_sum()
            out.append(self.relation(op, left, right, pos))
            left = right
        kind, tok, pos = self.peek()
        if kind != "end":
            raise self.error(f"unexpected {self.describe(kind, tok)}", pos)
        return tuple(out) if self.allow_relations else first

    def parse_sum(self):
        left = self.parse_term()
        while self.at("+", "-"):
            _, op, pos = self.take()
            self.count(pos)
            right = self.parse_term()
            left = self.build(pos, lambda a, b: a + b if op == "+" else a - b, left, right)
        return left

    def parse_term(self):
        left = self.parse_unary()
        while self.at("*", "/", "@"):
            _, op, pos = self.take()
            self.count(pos)
            right = self.parse_unary()
            if op == "@":
                left = self.matmul(left, right, pos)
            elif op == "*":
                left = self.build(pos, sp.Mul, left, right)
            else:
                left = self.build(pos, sp.Mul, left, self.power(right, sp.Integer(-1), pos))
        return left

    def parse_unary(self):
        signs = []
        while self.at("+", "-"):
            _, op, pos = self.take()
            self.count(pos)
            signs.append((op, pos))
        value = self.parse_power()
        for op, pos in reversed(signs):
            if op == "-":
                value = self.build(pos, sp.Mul, sp.Integer(-1), value)
        return value

    def parse_power(self):
        base = self.parse_postfix()
        if not self.at("**"):
            return base
        _, _, pos = self.take()
        self.count(pos)
        self.enter(pos)
        exponent = self.parse_unary()
        self.depth -= 1
        return self.power(base, exponent, pos)

    def parse_postfix(self):
        kind, name, pos = self.peek()
        if kind != "name":
            return self.parse_atom()
        self.take()
        self.count(pos)
        if self.at("("):
            return self.parse_call(name, pos)
        if self.at("["):
            return self.parse_index(name, pos)
        if name in FUNCTIONS:
            raise self.error(f"{name} is a function; call it as {name}(...)", pos)
        if name in self.vectors or name in self.scalars:
            return self.symbol(name)
        if name in self.matrices:
            return self.matrices[name]
        raise self.unknown(name, pos)

    def unknown(self, name: str, pos: int) -> SpecError:
        allowed = sorted(self.vectors) + sorted(self.scalars) + sorted(self.matrices)
        return self.error(f"unknown name {name!r}; allowed names: "
                          f"{', '.join(allowed + list(FUNCTIONS))}", pos)

    def parse_call(self, name: str, pos: int):
        if name not in FUNCTIONS:
            if name in self.scalars | self.vectors | set(self.matrices):
                raise self.error(f"{name!r} is not a function; write the * explicitly", pos)
            raise self.unknown(name, pos)
        self.enter(self.expect("("))
        args = [] if self.at(")") and self.take() else self.items(")", self.parse_sum)
        self.depth -= 1
        if len(args) != 1:
            raise self.error(f"{name}() takes exactly 1 argument ({len(args)} given)", pos)
        return self.call(name, args[0], pos)

    def parse_index(self, name: str, npos: int):
        pos = self.expect("[")
        if not self.allow_index:
            raise self.error("indexing is not allowed here", pos)
        if name not in self.vectors:
            if name not in self.scalars | set(self.matrices) | set(FUNCTIONS):
                raise self.unknown(name, npos)
            raise self.error(f"only a vector can be indexed, not {name!r}", pos)
        kind, idx, ipos = self.take()
        if kind != "num" or not idx.isdigit() or int(idx[-3:]) >= MAX_INDEX or len(
                idx.lstrip("0")) > 3:
            raise self.error(f"an index must be an integer 0..{MAX_INDEX - 1}", ipos)
        self.expect("]")
        return self.symbol(f"{name}_{int(idx)}", component=True)

    def parse_atom(self):
        kind, tok, pos = self.take()
        if kind == "num":
            self.count(pos)
            whole, _, frac = tok.partition(".")
            if len(whole.lstrip("0")) > MAX_LITERAL_DIGITS or len(frac) > MAX_LITERAL_DIGITS:
                raise self.error(f"number literal longer than {MAX_LITERAL_DIGITS} digits "
                                 "before or after the point", pos)
            return sp.Rational(int(whole + frac), 10 ** len(frac))
        if kind == "op" and tok == "(":
            self.enter(pos)
            value = self.parse_sum()
            self.depth -= 1
            if not self.at(")"):
                kind, tok, pos = self.peek()
                raise self.error("tuples are not allowed" if tok == "," else
                                 "relations are allowed only at the top level"
                                 if tok in RELATIONS else
                                 f"expected ')', found {self.describe(kind, tok)}", pos)
            self.take()
            return value
        if kind == "op" and tok == "[":
            return self.parse_matrix(pos)
        raise self.error(f"expected a number, a name or '(', found {self.describe(kind, tok)}",
                         pos)

    def items(self, close: str, item) -> list:
        """``item (',' item)* close``."""
        out = [item()]
        while self.at(","):
            self.take()
            out.append(item())
        self.expect(close)
        return out

    def parse_matrix(self, start: int):
        self.enter(start)
        rows = self.items("]", self.row)
        self.depth -= 1
        if any(len(row) != len(rows) for row in rows):
            raise self.error("a matrix must be square, with rows of equal length", start)
        return sp.ImmutableMatrix(rows)

    def row(self) -> list:
        self.expect("[")
        return self.items("]", self.entry)

    def entry(self):
        pos = self.peek()[2]
        self.count(pos)
        value = self.parse_sum()
        if not isinstance(value, sp.Rational):
            raise self.error("matrix entries must be exact numbers like 1/2", pos)
        return value


def _swap(expr, final: dict):
    """``expr`` with the placeholders replaced, rebuilt without evaluation; sums and
    products get SymPy's canonical argument order for the new symbols (it depends on
    their assumptions), so the result equals the same expression written in Python."""
    if isinstance(expr, sp.Symbol):
        return final.get(expr, expr)
    if expr.is_Atom or isinstance(expr, sp.MatrixBase) or not expr.free_symbols:
        return expr
    args = [_swap(a, final) for a in expr.args]
    if isinstance(expr, (sp.Add, sp.Mul)):
        head = args[:1] if args[0].is_Number else []
        rest = args[len(head):]
        (_addsort if isinstance(expr, sp.Add) else _mulsort)(rest)
        return expr.func._from_args(head + rest)
    return expr.func(*args, evaluate=False)


def parse_expression(text: str, *, scalars: set[str], vectors: set[str],
                     matrices: dict[str, sp.ImmutableMatrix] | None = None,
                     where: str = "<input>", line: int = 1, column: int = 1,
                     allow_relations: bool = False, allow_index: bool = False):
    """Parse untrusted ``text`` into SymPy by the grammar of this module's docstring.

    ``line``/``column`` are where ``text`` starts in its file (errors count from
    there, across the newlines of ``text``).  Returns a SymPy expression; with
    ``allow_relations`` the text must be a (chained) comparison and the result is a
    ``tuple`` of SymPy relationals, one per comparison operator (``0 < a < 1`` gives
    ``(a > 0, a < 1)``).  Comparisons of two numbers are decided (``sympy.true`` or
    ``sympy.false``); others are left unevaluated.  Raises :class:`SpecError`.
    """
    matrices = {k: sp.ImmutableMatrix(v) for k, v in (matrices or {}).items()}
    groups = [set(scalars), set(vectors), set(matrices), set(FUNCTIONS)]
    clash = {n for i, a in enumerate(groups) for b in groups[i + 1:] for n in a & b}
    if clash:
        raise ValueError(f"names declared twice: {sorted(clash)}")
    parser = _Parser(text if isinstance(text, str) else "", scalars, vectors, matrices,
                     where, line, column, allow_relations, allow_index)
    if not isinstance(text, str):
        raise parser.error(f"expected text, got {type(text).__name__}", 0)
    if len(text) > MAX_LENGTH:
        raise parser.error(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise parser.error("empty expression", 0)
    try:
        parser.tokenize()
        parser.check_brackets()
        return parser.finish(parser.parse())
    except SpecError:
        raise
    except (RecursionError, MemoryError):
        raise parser.error("expression too deeply nested or too large", 0) from None
    except Exception as e:  # noqa: BLE001 -- a parser bug must still be a clean rejection
        raise parser.error(f"cannot parse expression ({type(e).__name__}: {e})", 0) from None
