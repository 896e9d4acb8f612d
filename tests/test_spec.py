"""TOML family specs: valid specs of each kind, invalid ones rejected with the line and
column, and no ``eval``/``sympify`` anywhere on the way."""
import builtins
import pathlib
import textwrap

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillproof.axioms._parser import SpecError
from distillproof.axioms.family import Family
from distillproof.axioms.spec import load_spec, parse_spec
from distillproof.axioms.vector import MatVec, components, normalize

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
p, q, x, q1, q2, p1, p2 = (sp.Symbol(n, positive=True)
                           for n in ("p", "q", "x", "q1", "q2", "p1", "p2"))
alpha, r, T, w1, w2, beta1, beta2, t = (
    sp.Symbol(n, real=True) for n in ("alpha", "r", "T", "w1", "w2", "beta1", "beta2", "t"))


def spec(text: str) -> Family:
    return parse_spec(textwrap.dedent(text).lstrip("\n"), "spec.toml")


def rejected(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        spec(text)
    assert str(info.value).startswith(f"spec.toml:{info.value.line}:{info.value.column}: ")
    return info.value


# --- valid specs ---------------------------------------------------------------------------

def test_power_mean_example():
    fam = load_spec(EXAMPLES / "power_mean.toml")
    assert isinstance(fam, Family) and fam.kind == "meta-teacher"
    assert fam.name == "power-mean anchoring" and fam.classes == (2, 3)
    assert fam.map == normalize((alpha * p**r + (1 - alpha) * q**r)**(1 / r))
    assert fam.parameter("alpha").domain == (alpha > 0, alpha < 1)
    assert fam.parameter("r").value == sp.Rational(1, 2) and fam.free_parameters[0].symbol == alpha
    assert fam.source.endswith("power_mean.toml")
    assert fam.expr == normalize((alpha * sp.sqrt(p) + (1 - alpha) * sp.sqrt(q))**2)
    assert len(fam.at(2)) == 2


def test_kernel_example_has_a_matrix():
    fam = load_spec(EXAMPLES / "kernel_anchoring.toml")
    (mv,) = fam.map.atoms(MatVec)
    W = mv.args[0]
    assert W.shape == (3, 3) and W[0, 0] == sp.Rational(1, 2) and W[0, 1] == sp.Rational(1, 4)
    assert fam.classes == (3,)
    assert fam.at(3)[0].subs(alpha, 0) == sum(W[0, j] * components("q", 3)[j] for j in range(3))


def test_tempered_geometric_example():
    fam = load_spec(EXAMPLES / "tempered_geometric.toml")
    assert fam.map == normalize((p**alpha * q**(1 - alpha))**(1 / T))
    assert fam.parameter("T").domain == (T > 0,)


def test_all_examples_load_and_readme_lists_them():
    readme = (EXAMPLES / "README.md").read_text()
    for path in EXAMPLES.glob("*.toml"):
        assert path.name in readme
        assert load_spec(path).extra["domain_check"] == "non-empty"


def test_load_spec_from_text():
    fam = load_spec((EXAMPLES / "power_mean.toml").read_text(), where="inline")
    assert fam.source == "inline" and fam.name == "power-mean anchoring"


def test_aggregation_with_constraint():
    fam = spec('''
        [family]
        name = "arithmetic pool"
        kind = "aggregation"
        classes = [2]
        constraints = ["w1 + w2 == 1"]
        [parameters]
        w1 = "0 < w1 < 1"
        w2 = "0 < w2 < 1"
        [map]
        value = "w1*p1 + w2*p2"
    ''')
    assert fam.map == w1 * p1 + w2 * p2 and fam.vectors == ("p1", "p2")
    assert fam.constraints == (sp.Eq(w1 + w2, 1),)


def test_softening_and_fixed_values():
    fam = spec('''
        [family]
        name = "power softening"
        kind = "softening"
        [parameters]
        T = "T > 0"
        c = "0.25"
        d = 3
        [map]
        value = "normalize(x**(1/T)) + c*d*0"
    ''')
    assert fam.map == normalize(x**(1 / T)) and fam.vectors == ("x",)
    assert fam.parameter("c").value == sp.Rational(1, 4) and fam.parameter("d").value == 3


def test_memory_schedule_and_student():
    fam = spec('''
        [family]
        name = "memory"
        kind = "meta-teacher"
        classes = [4]
        constraints = ["alpha + beta1 + beta2 == 1"]
        [parameters]
        alpha = "0 < alpha < 1"
        beta1 = "0 < beta1 < 1 - alpha"
        beta2 = "beta2 > 0"
        [map]
        value = "alpha*p + beta1*q1 + beta2*q2"
        [schedule]
        alpha = "1/(t + 2)"
        [student]
        where = ["x[0]*x[3] == x[1]*x[2]", "0 < x[0] <= 1/2"]
    ''')
    assert fam.students == ("q1", "q2")
    assert fam.schedule == 1 / (t + 2) and fam.extra["schedule_parameter"] == "alpha"
    x0, x1, x2, x3 = components("x", 4)
    assert fam.student == (sp.Eq(x0 * x3, x1 * x2), sp.Gt(x0, 0, evaluate=False),
                           x0 <= sp.Rational(1, 2))
    assert fam.extra["student_classes"] == (4,)


def test_inline_matrix_and_multiline_map():
    fam = spec('''
        [family]
        name = "kernel"
        kind = "meta-teacher"
        classes = [2]
        [parameters]
        alpha = "0 < alpha < 1"
        [map]
        value = """
        alpha*p
          + (1 - alpha)*([[1/2, 1/2], [1/4, 3/4]] @ q)"""
    ''')
    W = sp.ImmutableMatrix([[sp.Rational(1, 2)] * 2, [sp.Rational(1, 4), sp.Rational(3, 4)]])
    assert fam.map == alpha * p + (1 - alpha) * MatVec(W, q)


# --- invalid specs -------------------------------------------------------------------------

BASE = '''
    [family]
    name = "f"
    kind = "meta-teacher"
    [parameters]
    alpha = "0 < alpha < 1"
    [map]
    value = "alpha*p + (1 - alpha)*q"
'''


@pytest.mark.parametrize("change, line, column, match", [
    (("[map]", "[foo]\nbar = 1\n[map]"), 6, 1, "unknown table or key 'foo'"),
    (('name = "f"', 'name = "f"\ncolour = "red"'), 3, 1, "unknown key 'colour' in \\[family\\]"),
    (('kind = "meta-teacher"', 'kind = "teacher"'), 3, 1, "kind must be one of"),
    (('name = "f"', 'name = "f"\nclasses = [1, 2]'), 3, 1, "classes must be"),
    (('name = "f"', 'name = "f"\nclasses = [2, 9]'), 3, 1, "classes must be"),
    (('alpha = "0 < alpha < 1"', 'alpha = "1 < alpha < 0"'), 5, 1, "domain of alpha is empty"),
    (('alpha = "0 < alpha < 1"', 'alpha = "alpha < alpha"'), 5, 1, "domain of alpha is empty"),
    (('alpha = "0 < alpha < 1"', 'alpha = "alpha**2 < 0"'), 5, 1, "domain of alpha is empty"),
    (('alpha = "0 < alpha < 1"', 'alpha = "0 < alpha < gamma"'), 5, 22, "unknown name 'gamma'"),
    (('alpha = "0 < alpha < 1"', 'alpha = "0.5"\nbeta = 0.5'), 6, 1, "TOML floats are inexact"),
    (('alpha = "0 < alpha < 1"', 'alpha = "0 < alpha < 1"\np = "1/2"'), 6, 1, "bad parameter name"),
    (('alpha = "0 < alpha < 1"', 'alpha = "0 < alpha < 1"\nlog = "1/2"'), 6, 1, "bad parameter"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = "__import__(\'os\')"'), 7, 21, "strings"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = "p.real"'), 7, 11, "attribute access"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = "9**9**9"'), 7, 11, "exponent 387420489"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = "alpha*p + os"'), 7, 20, "unknown name 'os'"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = "log(p, q)"'), 7, 10, "exactly 1 argument"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = "alpha*p + q + q1"'), 7, 1, "either q or q1"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = """\nalpha*p +\n   (1 - beta)*q"""'),
     9, 9, "unknown name 'beta'"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = ' + '"' + "(" * 10_000 + "p" + ")" * 10_000
      + '"'), 7, 2010, "longer than 2000"),
    (('value = "alpha*p + (1 - alpha)*q"', 'value = 1'), 7, 1, "value must be a string"),
    (("[map]\nvalue", "[map]\nvalu"), 7, 1, "unknown key 'valu'"),
    (('name = "f"', 'name = "f"\nconstraints = ["alpha < 1/2", "alpha > 2/3"]'),
     3, 32, "constraint 'alpha > 2/3' leaves no admissible"),
    (('name = "f"', 'name = "f"\nconstraints = "alpha < 1"'), 3, 1, "list of at most 64 strings"),
    (("[map]", "[schedule]\nbeta = \"1/t\"\n[map]"), 7, 1, "not a free parameter"),
    (("[map]", "[schedule]\nalpha = \"1/(t+os)\"\n[map]"), 7, 15, "unknown name 'os'"),
    (("[map]", "[student]\nwhere = [\"x[0] == 1/2\", \"x[5] > 0\"]\n[map]"), 7, 26,
     "out of range"),
    (("[map]", "[student]\nwhere = [\"p[0] == 1/2\"]\n[map]"), 7, 11, "unknown name 'p'"),
    (("[map]", "[student]\nwhere = [\"x[0] < 0\"]\n[map]"), 7, 11, "no point of the open"),
    (("[map]", "[student]\nwhere = [\"x[0] > 1/2\", \"x[1] > 1/2\"]\n[map]"), 7, 25,
     "no point of the open simplex"),
    (('name = "f"', 'name = "f"\nname = "g"'), 3, 11, "TOML syntax"),
    (('name = "f"', 'name = f'), 2, 8, "TOML syntax"),
])
def test_invalid_specs_name_line_and_column(change, line, column, match):
    old, new = change
    text = textwrap.dedent(BASE).lstrip("\n")
    assert old in text
    with pytest.raises(SpecError, match=match) as info:
        parse_spec(text.replace(old, new, 1), "spec.toml")
    assert (info.value.line, info.value.column) == (line, column), str(info.value)


def test_missing_tables_and_map():
    assert "missing table [family]" in str(rejected('[map]\nvalue = "p"'))
    err = rejected('''
        [family]
        name = "f"
        kind = "meta-teacher"
    ''')
    assert "missing table [map]" in str(err)
    err = rejected('''
        [family]
        name = "f"
        kind = "meta-teacher"
        [map]
        doc = "x"
    ''')
    assert err.line == 5 and "unknown key 'doc'" in err.message


def test_multi_parameter_empty_domain_uses_z3():
    err = rejected('''
        [family]
        name = "f"
        kind = "meta-teacher"
        [parameters]
        a = "0 < a < 1"
        b = "a + 1 < b < 1"
        [map]
        value = "a*p + (1 - a)*q"
    ''')
    assert (err.line, err.column, err.message) == (6, 1, "the domain of b is empty")


def test_constraint_false_at_fixed_values():
    err = rejected('''
        [family]
        name = "pool"
        kind = "aggregation"
        constraints = ["w1 + w2 == 1"]
        [parameters]
        w1 = "1/2"
        w2 = "1/3"
        [map]
        value = "w1*p1 + w2*p2"
    ''')
    assert err.line == 4 and "w1 + w2 == 1" in err.message


def test_kind_specific_names():
    err = rejected('''
        [family]
        name = "pool"
        kind = "aggregation"
        [parameters]
        w1 = "0 < w1 < 1"
        [map]
        value = "w1*p1 + w3*p2"
    ''')
    assert "unknown name 'w3'" in err.message and (err.line, err.column) == (7, 18)
    err = rejected('''
        [family]
        name = "soft"
        kind = "softening"
        [parameters]
        tau = "tau > 0"
        [map]
        value = "normalize(x**(1/tau))"
    ''')
    assert "temperature parameter T" in err.message
    err = rejected('''
        [family]
        name = "soft"
        kind = "softening"
        [parameters]
        T = "T > 0"
        [map]
        value = "normalize(p**(1/T))"
    ''')
    assert "unknown name 'p'" in err.message


def test_matrices_are_checked():
    head = '''
        [family]
        name = "k"
        kind = "meta-teacher"
        classes = [CLASSES]
        [parameters]
        alpha = "0 < alpha < 1"
        [matrices]
        W = MATRIX
        [map]
        value = "alpha*p + (1 - alpha)*(W @ q)"
    '''
    ok = spec(head.replace("CLASSES", "2").replace("MATRIX", '[["1/2", "1/2"], [0, 1]]'))
    assert ok.map.atoms(MatVec)
    err = rejected(head.replace("CLASSES", "2, 3").replace("MATRIX", '[["1/2", "1/2"], [0, 1]]'))
    assert "needs classes = [2]" in err.message and err.line == 10
    err = rejected(head.replace("CLASSES", "2").replace("MATRIX", '[[1, 0, 0], [0, 1, 0]]'))
    assert "square" in err.message and err.line == 8
    err = rejected(head.replace("CLASSES", "2").replace("MATRIX", '[[0.5, 0.5], [0, 1]]'))
    assert "exact numbers" in err.message
    err = rejected(head.replace("CLASSES", "2").replace("MATRIX", '[["1/2", "p"], [0, 1]]'))
    assert "unknown name 'p'" in err.message and (err.line, err.column) == (8, 15)


def test_deeply_nested_toml_is_rejected():
    text = textwrap.dedent(BASE).lstrip("\n") + "[student]\nwhere = " + "[" * 5000 + "]" * 5000
    with pytest.raises(SpecError):
        parse_spec(text, "spec.toml")


def test_unreadable_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[family]\nname = "\xff"\n')
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(bad)


def test_no_eval_exec_or_sympify_while_parsing(monkeypatch):
    text = (EXAMPLES / "power_mean.toml").read_text()
    kernel = (EXAMPLES / "kernel_anchoring.toml").read_text()
    expected = [parse_spec(text, "a.toml"), parse_spec(kernel, "b.toml")]  # warm imports

    def forbidden(*args, **kwargs):
        raise AssertionError(f"forbidden call with {args!r:.80}")

    import sympy.parsing.sympy_parser as sympy_parser
    for target, name in [(sp, "sympify"), (sp, "parse_expr"), (sympy_parser, "parse_expr"),
                         (builtins, "eval"), (builtins, "exec")]:
        monkeypatch.setattr(target, name, forbidden)
    sp.core.cache.clear_cache()
    assert [parse_spec(text, "a.toml"), parse_spec(kernel, "b.toml")] == expected
    with pytest.raises(SpecError):
        parse_spec(text.replace("(1 - alpha)", "__import__('os')"), "a.toml")


# --- random specs --------------------------------------------------------------------------

_VALUES = st.sampled_from([
    '"0 < alpha < 1"', '"1/2"', '"alpha*p + (1 - alpha)*q"', '"__import__(\'os\')"', '"9**9**9"',
    '"x[0] == 1/2"', '"w1 + w2 == 1"', '"1 < alpha < 0"', '"T > 0"', '"normalize(x**(1/T))"',
    "0", "1", "-3", "2.5", "true", "[2, 3]", "[1]", "[]", '["1/2", "1/2"]',
    '[["1/2", "1/2"], [0, 1]]', '[[1, 2, 3]]', '"meta-teacher"', '"softening"',
    '"aggregation"', '""', '"p"', '{a = 1}',
])
_KEYS = {"family": ["name", "kind", "classes", "constraints", "doc", "extra"],
         "parameters": ["alpha", "T", "w1", "w2", "p", "t"], "matrices": ["W"],
         "map": ["value"], "schedule": ["alpha", "beta"], "student": ["where", "classes"],
         "other": ["key"]}


@st.composite
def _random_spec(draw):
    lines = []
    for table in draw(st.lists(st.sampled_from(sorted(_KEYS)), unique=True, max_size=6)):
        lines.append(f"[{table}]")
        for key in draw(st.lists(st.sampled_from(_KEYS[table]), unique=True, max_size=4)):
            lines.append(f"{key} = {draw(_VALUES)}")
    return "\n".join(lines)


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(_random_spec())
def test_random_specs_only_raise_spec_error(text):
    try:
        assert isinstance(parse_spec(text, "spec.toml"), Family)
    except SpecError as e:
        assert e.line >= 1 and e.column >= 1


def test_domain_check_is_exact_and_bounded():
    fam = spec('''
        [family]
        name = "f"
        kind = "meta-teacher"
        [parameters]
        alpha = "alpha**64 - 3*alpha**63 + 123456789012*alpha**17 - 5 > 0"
        beta = "exp(beta) < 2"
        [map]
        value = "alpha*p + beta*q"
    ''')
    assert fam.extra["domain_check"] == "undecided"      # exp(beta) < 2 is transcendental
    err = rejected('''
        [family]
        name = "f"
        kind = "meta-teacher"
        [parameters]
        alpha = "alpha**64 + 3*alpha**2 + 1/2 <= 0"
        [map]
        value = "alpha*p + (1 - alpha)*q"
    ''')
    assert (err.line, err.message) == (5, "the domain of alpha is empty")
    many = "\n".join(f"a{i} = \"0 < a{i} < 1\"" for i in range(65))
    err = rejected(f'[family]\nname = "f"\nkind = "meta-teacher"\n[parameters]\n{many}\n'
                   '[map]\nvalue = "p"\n')
    assert "more than 64 parameters" in err.message and err.line == 4
