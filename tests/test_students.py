"""Student families (axioms/students.py) and the student-only spec (axioms/spec.py).

Membership is exact; every constructor is checked against the mathematics it claims
(rank-1 tables, kernels of design matrices, bounds), with fractions.
"""
from __future__ import annotations

import textwrap
from fractions import Fraction as F

import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from distillproof.axioms.spec import SpecError, parse_student_spec
from distillproof.axioms.students import (BUILTIN, StudentError, StudentFamily, box,
                                          family_students, from_relations, get_student,
                                          independence, load_student, polytope,
                                          relation_text, support, toric)
from distillproof.axioms.vector import components

X4 = components("x", 4)


def test_independence_2x2_is_the_rank_one_binomial():
    s = independence(2, 2)
    assert s.classes == 4 and s.name == "independence-2x2"
    assert s.equations == (sp.Eq(X4[0] * X4[3], X4[1] * X4[2]),)
    assert s.binomials == [(1, -1, -1, 1)]
    assert relation_text(s.equations[0]) == "x_0*x_3 == x_1*x_2"


def test_independence_2x3_has_every_2x2_minor():
    s = independence(2, 3)
    x = components("x", 6)
    assert set(s.equations) == {sp.Eq(x[0] * x[4], x[1] * x[3]), sp.Eq(x[0] * x[5], x[2] * x[3]),
                                sp.Eq(x[1] * x[5], x[2] * x[4])}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=2, max_size=2),
       st.lists(st.integers(1, 9), min_size=3, max_size=3))
def test_products_of_marginals_are_members_and_nothing_else_rank_two(r, c):
    s = independence(2, 3)
    rs, cs = [F(v, sum(r)) for v in r], [F(v, sum(c)) for v in c]
    table = [rs[i] * cs[j] for i in range(2) for j in range(3)]
    assert s.contains(table)
    bumped = list(table)
    bumped[0] += F(1, 1000)
    bumped[1] -= F(1, 1000)
    if min(bumped) > 0:
        assert not s.contains(bumped)


def test_toric_binomials_come_from_the_kernel_and_are_homogeneous():
    s = toric([[0, 1, 2]], name="line")
    x = components("x", 3)
    assert s.equations == (sp.Eq(x[0] * x[2], x[1] ** 2),)      # ones row appended
    assert s.data["A"] == [[0, 1, 2], [1, 1, 1]]
    design = [[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1]]
    t = toric(design)
    assert t.contains([F(1, 4)] * 4) and not t.contains([F(2, 5), F(1, 5), F(1, 5), F(1, 5)])
    A = sp.Matrix(t.data["A"])
    for u in t.binomials:
        assert sum(u) == 0 and A * sp.Matrix(u) == sp.zeros(A.rows, 1)


def test_toric_members_are_exactly_the_log_linear_points():
    s = toric([[0, 1, 2]])
    assert s.contains([F(1, 7), F(2, 7), F(4, 7)]) and not s.contains([F(1, 2), F(1, 4), F(1, 4)])


def test_support_box_polytope_membership():
    sup = support(3, (0, 1))
    assert sup.zeros == (2,) and sup.face == (0, 1)
    assert sup.contains([F(1, 2), F(1, 2), 0]) and not sup.contains([F(1, 3)] * 3)
    b = box(3, F(1, 10), F(1, 2))
    assert b.contains([F(1, 2), F(1, 4), F(1, 4)]) and not b.contains([F(3, 5), F(1, 5), F(1, 5)])
    assert b.linear is not None and b.kind == "linear"
    pol = polytope([[-1, 1, 0], [0, -1, 1]], [0, 0])
    assert pol.contains([F(1, 2), F(1, 3), F(1, 6)]) and not pol.contains([F(1, 6), F(1, 3), F(1, 2)])
    assert pol.violated([F(1, 6), F(1, 3), F(1, 2)]) == ["-x_0 + x_1 <= 0", "-x_1 + x_2 <= 0"]


def test_bad_families_are_rejected_with_a_reason():
    with pytest.raises(StudentError, match="only x_0..x_2"):
        StudentFamily("bad", 3, (sp.Eq(components("x", 4)[3], sp.Rational(1, 2)),))
    with pytest.raises(StudentError, match="not an equation or inequality"):
        from_relations(3, [sp.Ne(components("x", 3)[0], sp.Rational(1, 3))])
    with pytest.raises(StudentError, match="does not meet the simplex"):
        box(3, F(1, 2), F(1, 2))
    with pytest.raises(KeyError, match="known: independence-2x2"):
        get_student("nope")


def test_registry_builds_every_builtin_with_simple_members():
    assert {"independence-2x2", "independence-2x3", "toric-line-3", "support-first-2of3",
            "box-3", "polytope-ordered-3"} <= set(BUILTIN)
    for name in BUILTIN:
        s = get_student(name)
        pts = s.simple_points(10)
        assert pts, name
        assert all(s.contains(p) for p in pts)
        assert s.to_json()["name"] == name


def test_from_relations_detects_linear_and_toric_families():
    x = components("x", 3)
    assert from_relations(3, [x[0] <= sp.Rational(1, 2)]).kind == "linear"
    line = from_relations(3, [sp.Eq(x[0] * x[2], x[1] ** 2)])
    assert line.kind == "toric"
    A = sp.Matrix(line.data["A"])
    assert A * sp.Matrix([1, -2, 1]) == sp.zeros(A.rows, 1) and A.rank() == 2
    assert from_relations(3, [x[0] * x[1] <= sp.Rational(1, 16)]).kind == "relations"


SPEC = textwrap.dedent('''
    [student]
    name = "small product"
    classes = [3]
    where = ["x[0]*x[1] <= 1/16"]
''')


def test_student_only_spec_parses(tmp_path):
    table = parse_student_spec(SPEC, "s.toml")
    assert table["name"] == "small product" and table["classes"] == (3,)
    path = tmp_path / "s.toml"
    path.write_text(SPEC)
    (s,) = load_student(str(path))
    x = components("x", 3)
    assert s.name == "small product" and s.inequalities == (x[0] * x[1] <= sp.Rational(1, 16),)


def test_student_only_spec_errors_locate_the_problem():
    with pytest.raises(SpecError, match="needs classes"):
        parse_student_spec('[student]\nwhere = ["x[0] <= 1/2"]\n', "s.toml")
    with pytest.raises(SpecError, match="just a .student. table"):
        parse_student_spec(SPEC + '[map]\nvalue = "q"\n', "s.toml")
    with pytest.raises(SpecError, match=r"s.toml:5:\d+: .*no point of the open"):
        parse_student_spec(SPEC.replace("1/16", "-1"), "s.toml")


def test_family_spec_student_table_becomes_student_families():
    from distillproof.axioms.spec import parse_spec
    fam = parse_spec(textwrap.dedent('''
        [family]
        name = "arith"
        kind = "meta-teacher"
        classes = [4]
        [parameters]
        alpha = "0 < alpha < 1"
        [map]
        value = "alpha*p + (1 - alpha)*q"
        [student]
        name = "independence"
        where = ["x[0]*x[3] == x[1]*x[2]"]
    '''), "f.toml")
    (s,) = family_students(fam)
    assert s.name == "independence" and s.classes == 4
    assert s.binomials == [(1, -1, -1, 1)]
