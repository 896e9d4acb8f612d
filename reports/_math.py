"""Mathematics for the reports: expression strings of the JSON as MathML and LaTeX.

The JSON stores maps and bounds as SymPy strings (``"alpha*p + q*(1 - alpha)"``).  They
are read back with the project's own whitelisting parser
(:func:`distillproof.axioms._parser.parse_expression`) -- never ``sympify``,
``parse_expr`` or ``eval``: a results file is untrusted input -- and printed by SymPy's
presentation-MathML and LaTeX printers.  Text the parser rejects (a matrix literal, a
name it does not know) is shown verbatim, escaped, as code.

Names are classified from the text: ``p``, ``q``, ``x`` with an optional number (and
any ``vectors`` the caller adds) are vectors, every other name is a scalar.
"""
from __future__ import annotations

import html
import html.entities
import re
from fractions import Fraction
from functools import lru_cache

__all__ = ["parse", "mathml", "math_html", "latex_math", "fraction_mathml", "fraction_latex",
           "witness_mathml", "relation_html", "relation_latex", "map_html", "map_latex", "relations_ok",
           "MATHML_NS"]

MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VECTOR = re.compile(r"[pqx][0-9]*")
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _matching(text: str, open_at: int) -> int:
    """Index of the bracket closing the one at ``open_at`` (-1 if none)."""
    depth = 0
    for i in range(open_at, len(text)):
        depth += text[i] in "([" 
        depth -= text[i] in ")]"
        if depth == 0:
            return i
    return -1


def _matrices(text: str) -> tuple[str, dict]:
    """``MatVec(Matrix([[..],[..]]), v)`` (SymPy's string of ``W @ v``) back to
    ``(W @ (v))`` with the exact matrix ``W`` named; untouched text when malformed."""
    import sympy as sp
    mats: dict[str, sp.ImmutableMatrix] = {}
    while "MatVec(" in text:
        start = text.index("MatVec(")
        end = _matching(text, start + len("MatVec"))
        inner = text[start + len("MatVec("):end]
        m = re.match(r"\s*Matrix\(\[(.*?)\]\)\s*,(.*)\Z", inner, flags=re.S)
        if end < 0 or not m:
            return text, mats
        try:
            rows = [[sp.Rational(str(Fraction(x.strip()))) for x in row.split(",")]
                    for row in re.findall(r"\[([^\[\]]*)\]", m.group(1))]
            matrix = sp.ImmutableMatrix(rows)
        except (ValueError, ZeroDivisionError, sp.ShapeError):
            return text, mats
        name = next((k for k, v in mats.items() if v == matrix), None)
        name = name or ("W" if not mats else f"W{len(mats) + 1}")
        mats[name] = matrix
        text = f"{text[:start]}({name} @ ({m.group(2).strip()})){text[end + 1:]}"
    return text, mats


@lru_cache(maxsize=2048)
def parse(text: str, vectors: tuple[str, ...] = ()):
    """The SymPy expression of ``text``, or ``None`` when the parser rejects it.

    A constant matrix applied to a vector comes back as ``MatVec(W, v)`` with the
    matrix in it; :func:`_printable` shows it as ``W v`` with ``W`` given apart."""
    from ..axioms._parser import FUNCTIONS, SpecError, parse_expression
    if not isinstance(text, str) or not text.strip():
        return None
    text, mats = _matrices(text)
    names = set(_NAME.findall(text)) - set(FUNCTIONS) - set(mats)
    vecs = {n for n in names if _VECTOR.fullmatch(n) or n in vectors}
    try:
        return parse_expression(text, scalars=names - vecs, vectors=vecs, matrices=mats)
    except (SpecError, ValueError, TypeError):
        return None


def _printable(expr):
    """``expr`` with each ``MatVec(M, v)`` as the product ``W v``, and ``[(W, M)]``."""
    import sympy as sp
    from ..axioms.vector import MatVec
    named: dict = {}

    def sub(m, v):
        if m not in named:
            named[m] = sp.Symbol("W" if not named else f"W{len(named) + 1}")
        return sp.Mul(named[m], v, evaluate=False)
    if not expr.has(MatVec):
        return expr, []
    return expr.replace(MatVec, sub), [(w, m) for m, w in named.items()]


def _numeric_entities(markup: str) -> str:
    """Named entities (``&InvisibleTimes;``) as numeric references: valid XML without a DTD."""
    def repl(m):
        if m.group(1) in ("amp", "lt", "gt", "quot", "apos"):
            return m.group(0)
        char = html.entities.html5.get(m.group(1) + ";")
        return "".join(f"&#{ord(c)};" for c in char) if char else "&amp;" + m.group(1) + ";"
    markup = _ENTITY.sub(repl, markup).replace("<mo>-</mo>", "<mo>&#8722;</mo>")
    # Parentheses hug their content: without a math font browsers pad stretchy ones.
    # (Brackets of a matrix keep stretching.)
    return re.sub(r"<mo>([()])</mo>", r'<mo stretchy="false" lspace="0" rspace="0">\1</mo>',
                  markup)


def _wrap(inner: str, display: bool) -> str:
    mode = "block" if display else "inline"
    return f'<math xmlns="{MATHML_NS}" display="{mode}">{inner}</math>'


@lru_cache(maxsize=2048)
def _inner(text: str, vectors: tuple[str, ...] = ()) -> str | None:
    expr = parse(text, vectors)
    if expr is None:
        return None
    from sympy.printing.mathml import mathml as printer
    try:
        expr, mats = _printable(expr)
        body = printer(expr, printer="presentation")
        for w, m in mats:
            body += (f"<mspace width=\"1em\"/><mtext>with</mtext><mspace width=\"0.5em\"/>"
                     f"{printer(w, printer='presentation')}<mo>=</mo>"
                     f"{printer(m, printer='presentation')}")
        return _numeric_entities(f"<mrow>{body}</mrow>" if mats else body)
    except Exception:  # noqa: BLE001 -- a printer gap falls back to code, not a crash
        return None


def mathml(text: str, display: bool = False, vectors: tuple[str, ...] = ()) -> str | None:
    """A ``<math>`` element for ``text``, or ``None`` when it does not parse."""
    inner = _inner(text, tuple(vectors))
    return None if inner is None else _wrap(inner, display)


def math_html(text, display: bool = False, vectors: tuple[str, ...] = ()) -> str:
    """MathML for ``text`` when it parses, else the text escaped as ``<code>``."""
    if text is None:
        return ""
    text = str(text)
    markup = mathml(text, display, tuple(vectors))
    return markup if markup is not None else f"<code>{html.escape(text)}</code>"


def latex_math(text, vectors: tuple[str, ...] = ()) -> str:
    """LaTeX (math mode content) for ``text``; ``\\texttt`` of the escaped text when it
    does not parse."""
    from ._tex import tex_escape
    if text is None:
        return ""
    expr = parse(str(text), tuple(vectors))
    if expr is not None:
        import sympy as sp
        try:
            expr, mats = _printable(expr)
            return sp.latex(expr) + "".join(
                rf",\quad {sp.latex(w)} = {sp.latex(m)}" for w, m in mats)
        except Exception:  # noqa: BLE001
            pass
    return r"\text{\texttt{" + tex_escape(str(text)) + "}}"


def _fraction(value: str) -> Fraction | None:
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None


def fraction_mathml(value) -> str:
    """An exact rational (``"2/3"``) or a vector of them as MathML content (no wrapper)."""
    if isinstance(value, (list, tuple)):
        items = "<mo>,</mo>".join(fraction_mathml(v) for v in value)
        return f"<mrow><mo>(</mo>{items}<mo>)</mo></mrow>"
    f = _fraction(value)
    if f is None:
        return f"<mtext>{html.escape(str(value))}</mtext>"
    sign = "<mo>&#8722;</mo>" if f < 0 else ""
    n, d = abs(f.numerator), f.denominator
    body = f"<mn>{n}</mn>" if d == 1 else f"<mfrac><mn>{n}</mn><mn>{d}</mn></mfrac>"
    return f"<mrow>{sign}{body}</mrow>" if sign else body


def fraction_latex(value) -> str:
    """An exact rational or a vector of them in LaTeX: ``\\frac{2}{3}``."""
    from ._tex import tex_escape
    if isinstance(value, (list, tuple)):
        return r"\left(" + ", ".join(fraction_latex(v) for v in value) + r"\right)"
    f = _fraction(value)
    if f is None:
        return r"\text{" + tex_escape(str(value)) + "}"
    sign = "-" if f < 0 else ""
    n, d = abs(f.numerator), f.denominator
    return f"{sign}{n}" if d == 1 else f"{sign}\\frac{{{n}}}{{{d}}}"


def witness_mathml(name: str, value) -> str:
    """``name = value`` as one inline ``<math>`` element."""
    lhs = _inner(name) if _NAME.fullmatch(name) else None
    lhs = lhs or f"<mi>{html.escape(name)}</mi>"
    return _wrap(f"<mrow>{lhs}<mo>=</mo>{fraction_mathml(value)}</mrow>", False).replace(
        "<math ", '<math displaystyle="true" ', 1)


_OPS = {">": ("&gt;", ">"), ">=": ("&#8805;", r"\geq"), "<": ("&lt;", "<"), "<=": ("&#8804;", r"\leq"),
        "==": ("=", "="), "!=": ("&#8800;", r"\neq")}
_LOWER, _UPPER = {">": "<", ">=": "<="}, {"<": "<", "<=": "<="}


def _relation_text(text: str) -> str:
    """SymPy's ``Eq(a, b)`` / ``Ne(a, b)`` strings as ``a == b`` / ``a != b``."""
    m = re.fullmatch(r"\s*(Eq|Ne)\((.*)\)\s*", text, flags=re.S)
    if not m:
        return text
    depth, body = 0, m.group(2)
    for i, ch in enumerate(body):
        depth += ch in "(["
        depth -= ch in ")]"
        if ch == "," and depth == 0:
            op = "==" if m.group(1) == "Eq" else "!="
            return f"{body[:i].strip()} {op} {body[i + 1:].strip()}"
    return text


@lru_cache(maxsize=1024)
def _relations(text: str):
    """``[(lhs, op, rhs)]`` SymPy pieces of a domain ``"alpha > 0 & alpha < 1"`` (or
    ``"Eq(w1 + w2, 1)"``), or None."""
    from ..axioms._parser import FUNCTIONS, SpecError, parse_expression
    text = _relation_text(text)
    out = []
    for part in str(text).split("&"):
        m = re.fullmatch(r"\s*(.+?)\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*", part)
        if not m:
            return None
        names = set(_NAME.findall(part)) - set(FUNCTIONS)
        try:
            lhs, rhs = (parse_expression(s, scalars=names, vectors=set())
                        for s in (m.group(1), m.group(3)))
        except (SpecError, ValueError, TypeError):
            return None
        out.append((lhs, m.group(2), rhs))
    return out


def _chain(rels):
    """``a < x < b`` from ``x > a`` and ``x < b``: ``[(left, op, mid, op, right)]``."""
    if len(rels) == 2:
        (l1, o1, r1), (l2, o2, r2) = rels
        if l1 == l2 and o1 in _LOWER and o2 in _UPPER:
            return [(r1, _LOWER[o1], l1, _UPPER[o2], r2)]
    return None


def relation_html(text) -> str:
    """A parameter domain as one inline ``<math>``, or escaped code."""
    rels = _relations(str(text)) if text else None
    if not rels:
        return f"<code>{html.escape(str(text))}</code>" if text else ""
    from sympy.printing.mathml import mathml as printer

    def p(e):
        return _numeric_entities(printer(e, printer="presentation"))
    chain = _chain(rels)
    if chain:
        a, o1, x, o2, b = chain[0]
        body = f"{p(a)}<mo>{_OPS[o1][0]}</mo>{p(x)}<mo>{_OPS[o2][0]}</mo>{p(b)}"
    else:
        body = "<mo>,</mo>".join(f"{p(lhs)}<mo>{_OPS[o][0]}</mo>{p(rhs)}" for lhs, o, rhs in rels)
    return _wrap(f"<mrow>{body}</mrow>", False)


def relation_latex(text) -> str:
    """A parameter domain in LaTeX math (``0 < \\alpha < 1``)."""
    from ._tex import tex_escape
    rels = _relations(str(text)) if text else None
    if not rels:
        return r"\text{\texttt{" + tex_escape(text) + "}}"
    import sympy as sp
    chain = _chain(rels)
    if chain:
        a, o1, x, o2, b = chain[0]
        return f"{sp.latex(a)} {_OPS[o1][1]} {sp.latex(x)} {_OPS[o2][1]} {sp.latex(b)}"
    return ",\\ ".join(f"{sp.latex(lhs)} {_OPS[o][1]} {sp.latex(rhs)}" for lhs, o, rhs in rels)


_LHS = {"meta-teacher": "M", "aggregation": "A", "softening": "F"}


def _arguments(text: str, vectors: tuple[str, ...]):
    """The vector symbols of a map, anchor first: ``p, p1.., q, q1.., x``."""
    expr = parse(text, vectors)
    if expr is None:
        return None
    names = {s.name for s in expr.free_symbols if _VECTOR.fullmatch(s.name) or s.name in vectors}

    def key(n):
        m = re.fullmatch(r"([A-Za-z_]+)([0-9]*)", n)
        return (m.group(1), int(m.group(2) or -1)) if m else (n, 0)
    return [s for s in sorted(expr.free_symbols, key=lambda s: key(s.name)) if s.name in names]


def map_html(text, kind: str, vectors: tuple[str, ...] = ()) -> str:
    """``M(p, q) = ...`` as display MathML (the operator letter from the kind)."""
    inner = _inner(str(text), tuple(vectors))
    args = _arguments(str(text), tuple(vectors))
    if inner is None or args is None:
        return math_html(text, True, vectors)
    from sympy.printing.mathml import mathml as printer
    lhs = "<mo>,</mo>".join(_numeric_entities(printer(a, printer="presentation")) for a in args)
    fence = '<mo stretchy="false" lspace="0" rspace="0">{}</mo>'
    head = f"<mi>{_LHS.get(kind, 'M')}</mi>"
    lhs = f"{head}{fence.format('(')}{lhs}{fence.format(')')}" if args else head
    return _wrap(f"<mrow>{lhs}<mo>=</mo>{inner}</mrow>", True)


def map_latex(text, kind: str, vectors: tuple[str, ...] = ()) -> str:
    """``M(p, q) = ...`` in LaTeX math."""
    import sympy as sp
    body = latex_math(text, vectors)
    args = _arguments(str(text), tuple(vectors))
    if not args:
        return body
    return f"{_LHS.get(kind, 'M')}({', '.join(sp.latex(a) for a in args)}) = {body}"


def relations_ok(text) -> bool:
    """Whether a domain or constraint string parses as relations."""
    return bool(text) and bool(_relations(str(text)))
