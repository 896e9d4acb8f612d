"""Reading students' answers: untrusted text in, exact values out.

Every number and expression goes through the project's whitelisting parser
(:func:`distillproof.axioms._parser.parse_expression`); nothing here calls ``eval``,
``exec``, ``sympify`` or ``parse_expr``.  The structure around the expressions (a point
``p = 1/2, 1/2; q = ...``, a list, a set of names) is split by a flat scan that counts
brackets (no recursion: deep nesting is the parser's to reject).  Every rejection is an
:class:`AnswerError` whose message is meant for the student.
"""
from __future__ import annotations

import re
from fractions import Fraction

import sympy as sp

from ..axioms._parser import SpecError, parse_expression

__all__ = ["AnswerError", "MAX_ANSWER", "clean", "expression", "number", "rational",
           "vector", "point", "names", "integer", "split_top"]

MAX_ANSWER = 2000          # characters of one answer
MAX_PARTS = 64             # components, assignments or names


class AnswerError(ValueError):
    """An answer that cannot be read; the message says why, in the student's terms."""


def clean(answer) -> str:
    """The answer as stripped text, or :class:`AnswerError` (not text, empty, too long,
    control characters)."""
    if isinstance(answer, bytes):
        try:
            answer = answer.decode("utf-8")
        except UnicodeDecodeError:
            raise AnswerError("the answer is not UTF-8 text") from None
    if not isinstance(answer, str):
        raise AnswerError(f"the answer must be text, got {type(answer).__name__}")
    if len(answer) > MAX_ANSWER:
        raise AnswerError(f"the answer is longer than {MAX_ANSWER} characters "
                          f"({len(answer)}); it was not read")
    text = answer.strip()
    if not text:
        raise AnswerError("the answer is empty")
    bad = next((c for c in text if not (c.isprintable() or c in "\n\t\r")), None)
    if bad is not None:
        raise AnswerError(f"the answer contains the control character U+{ord(bad):04X}; "
                          "write plain text")
    return text


def _parse(text: str, what: str, scalars=(), **kw):
    try:
        return parse_expression(text, scalars=set(scalars), vectors=set(), where=what, **kw)
    except SpecError as exc:
        raise AnswerError(f"{what}: column {exc.column}: {exc.message}") from None


def expression(text: str, scalars, what: str = "your expression") -> sp.Expr:
    """An expression in the scalar parameters ``scalars``."""
    return _parse(clean(text), what, scalars)


def number(text: str, what: str) -> sp.Expr:
    """A closed real number (``1/3``, ``sqrt(2)/4``, ``0.25``)."""
    return _parse(text.strip(), what)


def rational(text: str, what: str) -> Fraction:
    """An exact rational number (``1/3``, ``0.25``)."""
    value = number(text, what)
    if not isinstance(value, sp.Rational):
        raise AnswerError(f"{what}: {sp.sstr(value)} is not an exact rational number; a "
                          "witness must be given with fractions like 1/3 or decimals like 0.25")
    return Fraction(int(value.p), int(value.q))


def split_top(text: str, seps: str) -> list[str]:
    """``text`` split at the characters ``seps`` outside brackets (a flat scan)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c in seps and depth == 0:
            parts.append(text[start:i])
            start = i + 1
            if len(parts) > MAX_PARTS:
                raise AnswerError(f"the answer has more than {MAX_PARTS} parts")
    parts.append(text[start:])
    return parts


def _unwrap(text: str) -> str:
    """``text`` without one pair of brackets around all of it."""
    t = text.strip()
    if len(t) >= 2 and t[0] + t[-1] in ("()", "[]", "{}"):
        depth = 0
        for i, c in enumerate(t):
            depth += c in "([{"
            depth -= c in ")]}"
            if depth == 0 and i < len(t) - 1:
                return t                       # "(1/2) + (1/3)": not one pair around it all
        return t[1:-1].strip()
    return t


def vector(text: str, what: str, *, exact: bool = True, length: int | None = None) -> tuple:
    """Comma-separated components, optionally in brackets: exact rationals (``exact``)
    or closed numbers."""
    body = _unwrap(text)
    parts = [s.strip() for s in split_top(body, ",")]
    if any(not s for s in parts):
        raise AnswerError(f"{what}: an empty component (check the commas)")
    if len(parts) < 2:
        raise AnswerError(f"{what}: a distribution needs at least two components, "
                          "separated by commas")
    if length is not None and len(parts) != length:
        raise AnswerError(f"{what} has {len(parts)} components; it needs {length} "
                          f"(one per class, K = {length})")
    read = rational if exact else number
    return tuple(read(s, f"{what}, component {i}") for i, s in enumerate(parts))


_NAME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_']{0,31})\s*=(?!=)(.*)\Z", re.S)


def point(text: str, vectors: dict[str, int | None], scalars: set[str]) -> dict:
    """An assignment ``name = value`` per line or ``;``: vectors (``vectors`` maps the
    names to their length, or ``None`` for any) as exact rational vectors, scalars as
    exact rationals.  Unknown or repeated names are errors; missing ones are not
    (the caller says what is missing)."""
    text = clean(text)
    out: dict = {}
    for raw in split_top(text, ";\n"):
        if not raw.strip():
            continue
        m = _NAME.match(raw)
        if not m:
            raise AnswerError(f"cannot read {raw.strip()[:40]!r}: write name = value, "
                              "e.g. q = 1/2, 1/4, 1/4 (assignments separated by ';')")
        name, value = m.group(1).replace("'", "_prime"), m.group(2)
        if name in out:
            raise AnswerError(f"{name} is given twice")
        if name in vectors:
            out[name] = vector(value, name, length=vectors[name])
        elif name in scalars:
            out[name] = rational(value, name)
        else:
            known = ", ".join(sorted(vectors) + sorted(scalars)) or "none"
            raise AnswerError(f"{m.group(1)!r} is not part of this question; the names "
                              f"are: {known}")
    if not out:
        raise AnswerError("no assignment found: write name = value")
    return out


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}\Z")


def names(text: str) -> list[str]:
    """A set of names: separated by commas, spaces or ';', optionally in braces;
    ``none`` (or ``{}``) is the empty set."""
    body = _unwrap(clean(text))
    items = [s for s in re.split(r"[\s,;]+", body) if s]
    if len(items) > MAX_PARTS:
        raise AnswerError(f"more than {MAX_PARTS} names")
    if [s.lower() for s in items] in ([], ["none"], ["empty"], ["∅"]):
        return []
    for s in items:
        if not _WORD.match(s):
            raise AnswerError(f"{s[:40]!r} is not a name (names look like MT1, A5s)")
    return items


def integer(text: str, what: str = "your answer") -> int:
    """A whole number (digits, optional sign; at most 9 digits)."""
    t = clean(text)
    if not re.fullmatch(r"[+-]?\d{1,9}", t):
        if re.fullmatch(r"[+-]?\d+", t):
            raise AnswerError(f"{what}: the number is too large")
        raise AnswerError(f"{what}: expected a whole number like 12, got {t[:40]!r}")
    return int(t)
