"""The whitelisting expression parser: hostile input is rejected fast and with a
position; the grammar builds the same SymPy objects the catalogue uses."""

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillproof.axioms._parser import (
    MAX_DEPTH, MAX_LENGTH, SpecError, parse_expression,
)
from distillproof.axioms.vector import MatVec, components, normalize, softmax, vsum

SCALARS = {"alpha", "r", "T"}
VECTORS = {"p", "q", "x"}
W = sp.ImmutableMatrix([[sp.Rational(1, 2), sp.Rational(1, 2)], [0, 1]])
p, q, x = (sp.Symbol(n, positive=True) for n in "pqx")
alpha, r, T = (sp.Symbol(n, real=True) for n in ("alpha", "r", "T"))


def parse(text, **kw):
    kw.setdefault("scalars", SCALARS)
    kw.setdefault("vectors", VECTORS)
    kw.setdefault("matrices", {"W": W})
    return parse_expression(text, **kw)


HOSTILE = [
    "__import__('os')",
    "__import__",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "p.real",
    "p . real",
    "lambda: 0",
    "lambda x: x",
    "[x for x in p]",
    "(x for x in p)",
    "{x: 1}",
    "9**9**9",
    "10**10**10",
    "2**100000",
    "(2**64)**64",
    "((2**64)**16)**16",
    "exp(exp(exp(100)))",
    "exp(10**12)",
    "(" * 10_000 + "p" + ")" * 10_000,
    "(" * 60 + "p" + ")" * 60,
    "log(" * 60 + "p" + ")" * 60,
    "[" * 60 + "1" + "]" * 60,
    "2**" * 200 + "2",
    "-" * 1999 + "p",
    "p+" * 600 + "p",
    "os",
    "open",
    "eval",
    "log(p, q)",
    "log()",
    "normalize(p, q)",
    "log(x=p)",
    "'p'",
    '"p"',
    "f'{p}'",
    "b'x'",
    "*p",
    "p, q",
    "p[0]",
    "(y := 1)",
    "1e100000",
    "1E5",
    "9" * 5000,
    "9" * 100,
    "0." + "1" * 50,
    "",
    "   \n  ",
    "(p",
    "p)",
    "(p]",
    "ｐ",            # fullwidth p (NFKC-normalizes to p in Python source)
    "р",             # Cyrillic er
    "p\u200b",       # zero-width space
    "p\x00",
    "\\x70",
    "1/0",
    "log(0)",
    "sqrt(-1)",
    "(-8)**(1/3)",
    "p**q",
    "2**log(2)",
    "alpha(p)",
    "log",
    "W + p",
    "W",
    "p @ W",
    "p ^ 2",
    "p // 2",
    "p % 2",
    "p if q else p",
    "p and q",
    "not p",
    "2p",
    "1.",
    ".5",
    "p < q",
    "p;q",
    "p # comment",
    "`p`",
    "$p",
    "[[1, 2], [3]] @ p",
    "[[1, 2, 3], [4, 5, 6]] @ p",
    "[[p, 1], [1, 1]] @ q",
    "-(1000000) != -(1/3) ** 1000000 ** -(-(10**12 - r))",
    "2**(10**12 - r) * 2**r",
    "exp(10**12*log(2) - r) * exp(r)",
    "p**(10**12 - r) * p**r",
    "(p**64)**64",
    "p**64 * p",
    "exp(4096*log(p))",
    "normalize(alpha)",
    "W @ alpha",
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:30]))
def test_hostile_input_is_rejected_with_a_position(text):
    """Rejected before SymPy builds anything big (the limits of the module docstring;
    tests never assert timings: a hang would stop the suite, slowness would not)."""
    with pytest.raises(SpecError) as info:
        parse(text, where="spec.toml", line=7, column=12)
    err = info.value
    assert err.where == "spec.toml" and err.line >= 7 and err.column >= 1
    assert str(err).startswith(f"spec.toml:{err.line}:{err.column}: ")


def test_corpus_is_large():
    assert len(HOSTILE) >= 30


def test_unknown_name_lists_what_is_allowed():
    with pytest.raises(SpecError) as info:
        parse("p + os", where="spec.toml", line=7, column=12)
    assert str(info.value).startswith("spec.toml:7:16: unknown name 'os'; allowed names: p, q, x,")
    assert "alpha" in info.value.message and "softmax" in info.value.message


def test_positions_inside_multiline_text():
    with pytest.raises(SpecError) as info:
        parse("normalize(p +\n   q +\n      os)", line=10, column=5)
    assert (info.value.line, info.value.column) == (12, 7)


def test_length_and_depth_limits():
    assert parse("(" * MAX_DEPTH + "p" + ")" * MAX_DEPTH) == p
    with pytest.raises(SpecError, match="nesting deeper"):
        parse("(" * (MAX_DEPTH + 1) + "p" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(SpecError, match="longer than"):
        parse("p" + " " * MAX_LENGTH)


@pytest.mark.parametrize("text, expected", [
    ("alpha*p + (1 - alpha)*q", alpha * p + (1 - alpha) * q),
    ("p**alpha * q**(1-alpha)", p**alpha * q**(1 - alpha)),
    ("(alpha*p**r + (1-alpha)*q**r)**(1/r)", (alpha * p**r + (1 - alpha) * q**r)**(1 / r)),
    ("normalize(p**alpha * q**(1 - alpha))", normalize(p**alpha * q**(1 - alpha))),
    ("softmax(log(x)/T)", softmax(sp.log(x) / T)),
    ("sum(p)", vsum(p)),
    ("sqrt(p)", sp.sqrt(p)),
    ("exp(alpha)", sp.exp(alpha)),
    ("log(p)", sp.log(p)),
    ("0.3*p + 0.7*q", sp.Rational(3, 10) * p + sp.Rational(7, 10) * q),
    ("1/2", sp.Rational(1, 2)),
    ("0.125", sp.Rational(1, 8)),
    ("2**64", sp.Integer(2)**64),
    ("2**-1", sp.Rational(1, 2)),
    ("2**3**2", sp.Integer(512)),
    ("-p**2", -p**2),
    ("--p", p),
    ("p**(1/2)", sp.sqrt(p)),
    ("x**(1/T)", x**(1 / T)),
    ("W @ q", MatVec(W, q)),
    ("[[1/2, 1/2], [0, 1]] @ q", MatVec(W, q)),
    ("W @ W @ q", MatVec(sp.ImmutableMatrix(W * W), q)),
    ("alpha*p + (1-alpha)*(W @ q)", alpha * p + (1 - alpha) * MatVec(W, q)),
])
def test_grammar(text, expected):
    assert parse(text) == expected


def test_symbols_have_the_catalogue_assumptions():
    e = parse("alpha*p")
    assert sp.Symbol("alpha", real=True) in e.free_symbols
    assert sp.Symbol("p", positive=True) in e.free_symbols
    assert sp.Symbol("alpha") not in e.free_symbols


def test_decimals_are_exact():
    e = parse("0.1 + 0.2")
    assert e == sp.Rational(3, 10) and isinstance(e, sp.Rational)
    assert not parse("0.3*p").atoms(sp.Float)


def test_relations():
    assert parse("0 < alpha < 1", allow_relations=True) == (0 < alpha, alpha < 1)
    assert parse("alpha != 0", allow_relations=True) == (sp.Ne(alpha, 0),)
    assert parse("alpha >= 1/2", allow_relations=True) == (alpha >= sp.Rational(1, 2),)
    assert parse("alpha <= 1", allow_relations=True) == (alpha <= 1,)
    assert parse("alpha + r == 1", allow_relations=True) == (sp.Eq(alpha + r, 1),)
    assert parse("1 < 0", allow_relations=True) == (sp.false,)
    with pytest.raises(SpecError, match="expected a relation"):
        parse("alpha", allow_relations=True)
    with pytest.raises(SpecError, match="top level"):
        parse("(0 < alpha) + 1", allow_relations=True)


def test_indexing():
    rel = parse("x[0]*x[3] == x[1]*x[2]", allow_relations=True, allow_index=True)
    x0, x1, x2, x3 = components("x", 4)
    assert rel == (sp.Eq(x0 * x3, x1 * x2),)
    with pytest.raises(SpecError, match="only a vector"):
        parse("alpha[0]", allow_index=True)
    with pytest.raises(SpecError, match="index"):
        parse("x[-1]", allow_index=True)
    with pytest.raises(SpecError, match="index"):
        parse("x[alpha]", allow_index=True)


def test_symbolic_exponents_only_in_parameters():
    assert parse("p**(1/T)") == p**(1 / T)
    with pytest.raises(SpecError, match="scalar parameters only"):
        parse("p**q")
    with pytest.raises(SpecError, match="at most 64"):
        parse("p**65")
    assert parse("p**(64/63)") == p**sp.Rational(64, 63)


def test_no_floats_anywhere():
    assert not parse("0.5*p + exp(0.25)*q").atoms(sp.Float)


ALPHABET = list("pqxW0123456789.+-*/@()[],<>=! ") + [
    "**", "alpha", "T", "r", "log", "exp", "sqrt", "normalize", "sum", "softmax", "os", "__"]


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(min_codepoint=32, max_codepoint=126)
               | st.sampled_from("\n\t\u00e9\u200b"), max_size=80))
def test_random_printable_text_only_raises_spec_error(text):
    _only_spec_errors(text)


@settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join))
def test_random_token_soup_only_raises_spec_error(text):
    _only_spec_errors(text)


def _only_spec_errors(text):
    """Parsed, or rejected with a located SpecError, whatever the flags."""
    for flags in ({}, {"allow_relations": True, "allow_index": True}):
        try:
            parse(text, **flags)
        except SpecError as e:
            assert e.line >= 1 and e.column >= 1
