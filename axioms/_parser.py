r"""The whitelisting parser for untrusted expression text (family specs, answers).

Text is tokenized and parsed by hand into SymPy; it is never handed to ``eval``,
``exec``, ``sympify``, ``parse_expr`` or ``lambdify``.  Grammar (lowest binding first,
Python's precedences)::

    relations := sum (relop sum)*          relop: <  <=  >  >=  ==  !=
    sum       := term (('+' | '-') term)*
    term      := unary (('*' | '/' | '@') unary)*
    unary     := ('-' | '+')* power
    power     := postfix ['**' unary]       (right-associative: 2**3**2 = 2**9)
    postfix   := NAME '(' sum ')'           a function, exactly one argument
               | NAME '[' INTEGER ']'       a vector component (allow_index only)
               | atom
    atom      := NUMBER | NAME | '(' sum ')' | matrix
    matrix    := '[' row (',' row)* ']'     row := '[' sum (',' sum)* ']'
    NUMBER    := digits ['.' digits]        exact: "0.3" is 3/10, "1/2" a division
    NAME      := [A-Za-z_][A-Za-z0-9_]*     ASCII only

Names: ``scalars`` become ``Symbol(name, real=True)`` (the catalogue's parameters),
``vectors`` ``Symbol(name, positive=True)`` (read componentwise, see
:mod:`distillproof.axioms.vector`), ``x[i]`` the component ``Symbol("x_i",
positive=True)`` of :func:`~distillproof.axioms.vector.components`; ``matrices`` are
constant ``ImmutableMatrix``es usable only as ``W @ v`` (``MatVec(W, v)``) or
``W @ V`` (their exact product).  Functions: ``log exp sqrt`` and the vector
operations ``normalize``, ``sum`` (:class:`vsum`) and ``softmax``.

Limits, checked before SymPy sees anything big:

* :data:`MAX_LENGTH` characters of text, :data:`MAX_NODES` parse nodes,
  :data:`MAX_DEPTH` levels of brackets plus ``**`` towers (brackets are pre-scanned,
  so 10,000-deep nesting never reaches the recursive parser);
* number literals: at most :data:`MAX_LITERAL_DIGITS` digits before and after the
  point (no ``1e5`` notation);
* an exponent is an exact rational with numerator and denominator at most
  :data:`MAX_EXPONENT` in size, or an expression in scalar parameters
  (``alpha``, ``1 - alpha``, ``1/r``) whose numbers obey the same bound;
  ``9**9**9`` fails on the inner exponent ``387420489`` before anything is raised
  to it;
* every exact number formed by folding fits :data:`MAX_CONSTANT_BITS` bits (checked
  *before* a numeric power or ``exp`` is evaluated), and every power left in the
  result (after SymPy combines ``(p**a)**b`` or ``p**a * p**b``) has a numeric
  exponent within :data:`MAX_EXPONENT`;
* the value must be real and finite (no ``1/0``, ``log(0)``, ``sqrt(-1)``).

Every rejection is a :class:`SpecError` naming the line and column.

SymPy builds the expression over placeholder symbols *without* assumptions: with
``positive=True`` its automatic evaluation asks sign questions that can run
``real_roots`` on a degree-64 polynomial for many seconds.  The placeholders are
swapped for the real symbols at the end, rebuilding with ``evaluate=False``.
"""
from __future__ import annotations

import math

import sympy as sp
from sympy.core.add import _addsort
from sympy.core.mul import _mulsort

from .vector import MatVec, normalize, softmax, vsum

__all__ = [
    "SpecError", "parse_expression", "FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH",
    "MAX_NODES", "MAX_LITERAL_DIGITS", "MAX_EXPONENT", "MAX_CONSTANT_BITS", "MAX_INDEX",
]

MAX_LENGTH = 2000         # characters of expression text
MAX_DEPTH = 50            # nested brackets + ``**`` levels
MAX_NODES = 500           # numbers, names, operators, calls, matrix entries
MAX_LITERAL_DIGITS = 12   # digits before, and after, the decimal point of a literal
MAX_EXPONENT = 64         # |numerator|, denominator of a numeric exponent
MAX_CONSTANT_BITS = 1024  # size of any exact number formed by constant folding
MAX_INDEX = 64            # x[i] needs 0 <= i < MAX_INDEX

FUNCTIONS = {"log": sp.log, "exp": sp.exp, "sqrt": sp.sqrt,
             "normalize": normalize, "sum": vsum, "softmax": softmax}
RELATIONS = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge, "==": sp.Eq, "!=": sp.Ne}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_TWO_CHAR = {"**", "<=", ">=", "==", "!="}
_ONE_CHAR = set("+-*/@()[],<>")
_HINTS = {
    ".": "attribute access is not allowed (write decimals as 0.5)",
    "=": "'=' is not allowed (compare with ==; keyword arguments are not allowed)",
    "^": "'^' is not allowed; write powers with **",
    "'": "strings are not allowed", '"': "strings are not allowed",
    ":": "':' is not allowed (no lambdas, slices or walrus)",
    "%": "'%' is not allowed", "!": "'!' is not allowed (use != for 'not equal')",
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

    # --- errors and positions ---------------------------------------------------------
    def error(self, message: str, offset: int) -> SpecError:
        before = self.text[:max(0, min(offset, len(self.text)))]
        newlines = before.count("\n")
        if newlines == 0:
            return SpecError(message, self.where, self.line0, self.col0 + len(before))
        return SpecError(message, self.where, self.line0 + newlines,
                         len(before) - before.rfind("\n"))

    def allowed(self) -> str:
        names = sorted(self.vectors) + sorted(self.scalars) + sorted(self.matrices)
        return ", ".join(names + list(FUNCTIONS))

    # --- lexing -----------------------------------------------------------------------
    def tokenize(self) -> None:
        text, n, i = self.text, len(self.text), 0
        while i < n:
            c = text[i]
            if c in " \t\r\n":
                i += 1
            elif not c.isascii():
                raise self.error(f"non-ASCII character {c!r} (U+{ord(c):04X}) is not allowed", i)
            elif c.isdigit():
                j = i
                while j < n and text[j].isdigit():
                    j += 1
                if j + 1 < n and text[j] == "." and text[j + 1].isdigit():
                    j += 1
                    while j < n and text[j].isdigit():
                        j += 1
                if j < n and (text[j].isalpha() or text[j] == "_"):
                    hint = ("exponent notation like 1e5 is not allowed; write 10**5"
                            if text[j] in "eE" else "a number cannot be followed by a name; "
                            "write the * explicitly")
                    raise self.error(hint, j)
                self.toks.append(("num", text[i:j], i))
                i = j
            elif c.isalpha() or c == "_":
                j = i
                while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                    j += 1
                self.toks.append(("name", text[i:j], i))
                i = j
            elif text[i:i + 2] in _TWO_CHAR:
                self.toks.append(("op", text[i:i + 2], i))
                i += 2
            elif c in _ONE_CHAR:
                self.toks.append(("op", c, i))
                i += 1
            else:
                hint = _HINTS.get(c, f"character {c!r} is not allowed")
                raise self.error(hint, i)
        self.toks.append(("end", "", n))

    def check_brackets(self) -> None:
        """Balance and depth, before any recursion."""
        stack: list[tuple[str, int]] = []
        for kind, tok, pos in self.toks:
            if tok in "([" and kind == "op":
                stack.append((tok, pos))
                if len(stack) > MAX_DEPTH:
                    raise self.error(f"nesting deeper than {MAX_DEPTH} levels", pos)
            elif tok in ")]" and kind == "op":
                if not stack:
                    raise self.error(f"unmatched {tok!r}", pos)
                opening, _ = stack.pop()
                if {"(": ")", "[": "]"}[opening] != tok:
                    raise self.error(f"{tok!r} does not match {opening!r}", pos)
        if stack:
            opening, pos = stack[-1]
            raise self.error(f"{opening!r} is never closed", pos)

    # --- token helpers ----------------------------------------------------------------
    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, op: str) -> int:
        kind, tok, pos = self.take()
        if kind != "op" or tok != op:
            raise self.error(f"expected {op!r}, found {self.describe(kind, tok)}", pos)
        return pos

    @staticmethod
    def describe(kind: str, tok: str) -> str:
        return "end of text" if kind == "end" else f"{tok!r}"

    def count(self, pos: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(f"expression has more than {MAX_NODES} nodes", pos)

    # --- checked construction ---------------------------------------------------------
    def build(self, pos: int, fn, *args):
        """``fn(*args)``, with SymPy's own errors turned into positioned ones, and the
        value required to be finite, real and of bounded size."""
        try:
            out = fn(*args)
        except SpecError:
            raise
        except (TypeError, ValueError, ArithmeticError, AttributeError, NotImplementedError) as e:
            raise self.error(f"invalid operation: {e}", pos) from None
        if isinstance(out, sp.MatrixBase):
            return out
        if isinstance(out, sp.Basic) and out.has(*_BAD):
            raise self.error("the value is not a finite real number (division by zero, "
                             "log(0), sqrt of a negative, ...)", pos)
        if isinstance(out, sp.Rational) and _bits(out) > MAX_CONSTANT_BITS:
            raise self.error(f"constant larger than {MAX_CONSTANT_BITS} bits", pos)
        if isinstance(out, sp.Expr) and not out.free_symbols and out.is_real is False:
            raise self.error("the value is not a real number", pos)
        return out

    def scalar(self, value, pos: int, what: str):
        if isinstance(value, sp.MatrixBase):
            raise self.error(f"a matrix cannot be used as {what}; apply it to a vector "
                             "with @", pos)
        return value

    def power(self, base, exponent, pos: int):
        base, exponent = self.scalar(base, pos, "a base"), self.scalar(exponent, pos, "an exponent")
        names = {s.name for s in exponent.free_symbols}
        if names & (self.vectors | self.components):
            raise self.error("an exponent may use scalar parameters only, not vectors", pos)
        if not names:
            if not isinstance(exponent, sp.Rational):
                raise self.error(f"exponent {exponent} is not an exact rational number", pos)
            if abs(exponent.p) > MAX_EXPONENT or exponent.q > MAX_EXPONENT:
                raise self.error(f"exponent {exponent} too large: numerator and denominator "
                                 f"must be at most {MAX_EXPONENT}", pos)
            if not base.free_symbols:
                size = self.magnitude_bits(base, pos) * abs(exponent.p)
                if size > MAX_CONSTANT_BITS:
                    raise self.error(f"power would exceed {MAX_CONSTANT_BITS} bits", pos)
        elif _largest(exponent) > MAX_EXPONENT:
            raise self.error(f"numbers in a symbolic exponent must be at most {MAX_EXPONENT} "
                             "in numerator and denominator", pos)
        elif not base.free_symbols:
            # SymPy splits numbers off symbolic exponents (2**(N - r) * 2**r == 2**N)
            if self.magnitude_bits(base, pos) * _largest(exponent) > MAX_CONSTANT_BITS:
                raise self.error(f"a number in this exponent could raise {base} beyond "
                                 f"{MAX_CONSTANT_BITS} bits", pos)
        return self.build(pos, sp.Pow, base, exponent)

    def approx(self, value, pos: int) -> sp.Float:
        """A 15-digit value of a constant (every constant here is of bounded size)."""
        v = value.evalf(15)
        if not isinstance(v, sp.Float):
            raise self.error(f"cannot evaluate the constant {value}", pos)
        return v

    def magnitude_bits(self, value, pos: int) -> int:
        """Bits of a constant: of its numerator/denominator when rational, else of
        ``|log2|value||``, read off the binary float without overflow."""
        if isinstance(value, sp.Rational):
            return _bits(value)
        _, man, exp, bc = self.approx(value, pos)._mpf_
        return 1 if not man else abs(exp + bc) + 2

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", pos)

    # --- grammar ----------------------------------------------------------------------
    def parse(self):
        first = self.parse_sum()
        kind, tok, pos = self.peek()
        if self.allow_relations:
            if tok not in RELATIONS or kind != "op":
                if kind == "end":
                    raise self.error("expected a relation (<, <=, >, >=, ==, !=)", pos)
                raise self.error(f"unexpected {self.describe(kind, tok)}", pos)
            out, left = [], first
            while kind == "op" and tok in RELATIONS:
                self.take()
                self.count(pos)
                right = self.parse_sum()
                self.scalar(left, pos, "a side of a relation")
                self.scalar(right, pos, "a side of a relation")
                out.append(self.relation(tok, left, right, pos))
                left = right
                kind, tok, pos = self.peek()
            result = tuple(out)
        else:
            if kind == "op" and tok in RELATIONS:
                raise self.error(f"relations ({tok}) are not allowed here", pos)
            result = self.scalar(first, 0, "a result")
        if kind != "end":
            raise self.error(f"unexpected {self.describe(kind, tok)}"
                             + ("; relations are allowed only at the top level"
                                if tok in RELATIONS else ""), pos)
        return result

    def relation(self, op: str, left, right, pos: int):
        """``left op right``; a number on the left is moved to the right, as Python
        does for ``0 < alpha`` (``alpha > 0``), so the catalogue's forms come out."""
        if left.is_number and not right.is_number:
            op, left, right = _FLIP.get(op, op), right, left
        # SymPy decides a comparison of numbers; others stay unevaluated (deciding them
        # can take SymPy's assumption system a long time on odd input)
        evaluate = bool(left.is_number and right.is_number)
        return self.build(pos, lambda a, b: RELATIONS[op](a, b, evaluate=evaluate), left, right)

    def parse_sum(self):
        left = self.parse_term()
        while True:
            kind, tok, pos = self.peek()
            if kind != "op" or tok not in "+-":
                return left
            self.take()
            self.count(pos)
            right = self.parse_term()
            self.scalar(left, pos, "an operand of +/-")
            self.scalar(right, pos, "an operand of +/-")
            left = self.build(pos, sp.Add, left, right if tok == "+" else -right)

    def parse_term(self):
        left = self.parse_unary()
        while True:
            kind, tok, pos = self.peek()
            if kind != "op" or tok not in ("*", "/", "@"):
                return left
            self.take()
            self.count(pos)
            right = self.parse_unary()
            if tok == "@":
                left = self.matmul(left, right, pos)
                continue
            self.scalar(left, pos, f"an operand of {tok}")
            self.scalar(right, pos, f"an operand of {tok}")
            if tok == "*":
                left = self.build(pos, sp.Mul, left, right)
            else:
                left = self.build(pos, sp.Mul, left, self.power(right, sp.Integer(-1), pos))

    def matmul(self, left, right, pos: int):
        if not isinstance(left, sp.MatrixBase):
            raise self.error("the left operand of @ must be a matrix", pos)
        if isinstance(right, sp.MatrixBase):
            if left.shape[1] != right.shape[0]:
                raise self.error(f"matrix shapes {left.shape} and {right.shape} do not "
                                 "match", pos)
            product = sp.ImmutableMatrix(left * right)
            if any(_bits(e) > MAX_CONSTANT_BITS for e in product):
                raise self.error(f"matrix entry larger than {MAX_CONSTANT_BITS} bits", pos)
            return product
        if not self.vectorial(right):
            raise self.error("the right operand of @ must be a vector or a matrix", pos)
        return self.build(pos, MatVec, left, right)

    def parse_unary(self):
        signs = []
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            kind, tok, pos = self.take()
            self.count(pos)
            signs.append((tok, pos))
        value = self.parse_power()
        for tok, pos in reversed(signs):
            if tok == "-":
                value = self.build(pos, sp.Mul, sp.Integer(-1),
                                   self.scalar(value, pos, "an operand of -"))
        return value

    def parse_power(self):
        base = self.parse_postfix()
        kind, tok, pos = self.peek()
        if kind == "op" and tok == "**":
            self.take()
            self.count(pos)
            self.enter(pos)
            exponent = self.parse_unary()
            self.depth -= 1
            return self.power(base, exponent, pos)
        return base

    def parse_postfix(self):
        kind, tok, pos = self.peek()
        if kind != "name":
            return self.parse_atom()
        self.take()
        self.count(pos)
        after_kind, after, after_pos = self.peek()
        if after_kind == "op" and after == "(":
            if tok not in FUNCTIONS:
                if tok in self.scalars | self.vectors | set(self.matrices):
                    raise self.error(f"{tok!r} is not a function; write the * explicitly", pos)
                raise self.unknown(tok, pos)
            self.take()
            self.enter(after_pos)
            args = [] if self.peek()[1] == ")" else [self.parse_sum()]
            while self.peek()[0] == "op" and self.peek()[1] == ",":
                self.take()
                args.append(self.parse_sum())
            self.expect(")")
            self.depth -= 1
            if len(args) != 1:
                raise self.error(f"{tok}() takes exactly 1 argument ({len(args)} given)", pos)
            return self.call(tok, self.scalar(args[0], pos, "an argument"), pos)
        value = self.name(tok, pos)
        if after_kind == "op" and after == "[":
            if not self.allow_index:
                raise self.error("indexing is not allowed here", after_pos)
            if tok not in self.vectors:
                raise self.error(f"only a vector can be indexed, not {tok!r}", after_pos)
            self.take()
            k, idx, ipos = self.take()
            if k != "num" or not idx.isdigit() or len(idx) > 3 or int(idx) >= MAX_INDEX:
                raise self.error(f"an index must be an integer 0..{MAX_INDEX - 1}", ipos)
            self.expect("]")
            return self.symbol(f"{tok}_{int(idx)}", component=True)
        return value

    def vectorial(self, value) -> bool:
        return bool({s.name for s in value.free_symbols} & (self.vectors | self.components))

    def call(self, fn: str, arg, pos: int):
        if fn in ("normalize", "sum", "softmax") and not self.vectorial(arg):
            raise self.error(f"the argument of {fn} must be a vector expression", pos)
        if fn == "sqrt":
            return self.power(arg, sp.Rational(1, 2), pos)
        if fn == "exp" and not arg.free_symbols:
            if abs(self.approx(arg, pos)) > MAX_CONSTANT_BITS * math.log(2):
                raise self.error(f"exp of a constant beyond {MAX_CONSTANT_BITS} bits", pos)
        elif fn == "exp":
            # exp(N*log(2) - r) * exp(r) == 2**N: bound N against the logs' arguments
            logs = [self.magnitude_bits(g.args[0], pos) for g in arg.atoms(sp.log)
                    if not g.free_symbols]
            if logs and max(logs) * _largest(arg) > MAX_CONSTANT_BITS:
                raise self.error(f"exp of a possible power beyond {MAX_CONSTANT_BITS} bits", pos)
        return self.build(pos, FUNCTIONS[fn], arg)

    def name(self, tok: str, pos: int):
        if tok in FUNCTIONS:
            raise self.error(f"{tok} is a function; call it as {tok}(...)", pos)
        if tok in self.vectors or tok in self.scalars:
            return self.symbol(tok)
        if tok in self.matrices:
            return self.matrices[tok]
        raise self.unknown(tok, pos)

    def symbol(self, name: str, component: bool = False) -> sp.Symbol:
        """A placeholder without assumptions, recorded with the symbol it stands for."""
        if component:
            self.components.add(name)
        final = sp.Symbol(name, real=True) if name in self.scalars else sp.Symbol(
            name, positive=True)
        self.final[sp.Symbol(name)] = final
        return sp.Symbol(name)

    def finish(self, value):
        """Swap the placeholders for the real symbols without re-evaluating (see
        :func:`parse_expression`), and bound every power in the result."""
        if isinstance(value, tuple):
            return tuple(self.finish(v) for v in value)
        for e in sp.preorder_traversal(value):
            if isinstance(e, sp.Pow) and isinstance(e.exp, sp.Rational) and (
                    abs(e.exp.p) > MAX_EXPONENT or e.exp.q > MAX_EXPONENT):
                raise self.error(f"the result contains {e}, an exponent beyond "
                                 f"{MAX_EXPONENT}", 0)
        return _swap(value, self.final)

    def unknown(self, tok: str, pos: int) -> SpecError:
        return self.error(f"unknown name {tok!r}; allowed names: {self.allowed()}", pos)

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
            kind2, tok2, pos2 = self.peek()
            if not (kind2 == "op" and tok2 == ")"):
                what = ("tuples are not allowed" if tok2 == "," else
                        "relations are allowed only at the top level" if tok2 in RELATIONS
                        else f"expected ')', found {self.describe(kind2, tok2)}")
                raise self.error(what, pos2)
            self.take()
            return value
        if kind == "op" and tok == "[":
            return self.parse_matrix(pos)
        raise self.error(f"expected a number, a name or '(', found {self.describe(kind, tok)}",
                         pos)

    def parse_matrix(self, start: int):
        self.enter(start)
        rows = []
        while True:
            rpos = self.expect("[")
            row = [self.entry()]
            while self.peek()[1] == ",":
                self.take()
                row.append(self.entry())
            self.expect("]")
            if rows and len(row) != len(rows[0]):
                raise self.error("matrix rows have different lengths", rpos)
            rows.append(row)
            if self.peek()[1] != ",":
                break
            self.take()
        self.expect("]")
        self.depth -= 1
        if len(rows) != len(rows[0]):
            raise self.error(f"matrix must be square, got {len(rows)}x{len(rows[0])}", start)
        return sp.ImmutableMatrix(rows)

    def entry(self):
        pos = self.peek()[2]
        self.count(pos)
        value = self.parse_sum()
        if not isinstance(value, sp.Rational):
            raise self.error("matrix entries must be exact numbers like 1/2", pos)
        return value


def _swap(expr, final: dict):
    """``expr`` with its symbols replaced, rebuilt without evaluation; sums and products
    get SymPy's canonical argument order for the new symbols (it depends on their
    assumptions), so the result equals the same expression written in Python."""
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

    ``line``/``column`` are where ``text`` starts in its file; errors report positions
    inside the text relative to them.  Returns a SymPy expression; with
    ``allow_relations`` the text must be a (chained) comparison and the result is a
    ``tuple`` of SymPy relationals, one per comparison operator (``0 < a < 1`` gives
    ``(0 < a, a < 1)``; a comparison SymPy decides outright is ``sympy.true`` or
    ``sympy.false``).  Raises :class:`SpecError` on anything else.
    """
    matrices = {k: sp.ImmutableMatrix(v) for k, v in (matrices or {}).items()}
    clash = (set(scalars) & set(vectors)) | ((set(scalars) | set(vectors)) & set(matrices)) | (
        (set(scalars) | set(vectors) | set(matrices)) & set(FUNCTIONS))
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
