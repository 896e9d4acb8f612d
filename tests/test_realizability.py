"""Realizability (checker/realizability.py) and convexity (checker/convexity.py).

Every refutation is replayed here independently of the checker's claim builders: the
family's map is evaluated at the exact witness, the inputs are checked to lie in S
with fractions, and the failing relation of S is evaluated exactly (or, with radicals,
by the sound sign test).  Proofs that came from Z3 are replayed from their SMT-LIB2.
"""
from __future__ import annotations

import textwrap
from fractions import Fraction as F

import pytest
import sympy as sp
import z3

from distillproof.axioms.catalogue import get_family
from distillproof.axioms.spec import parse_student_spec
from distillproof.axioms.students import from_relations, get_student
from distillproof.axioms.vector import components
from distillproof.checker._certify import sign, substitute
from distillproof.checker._shrink import complexity
from distillproof.checker.convexity import EXAMPLES, convexity, function_convexity
from distillproof.checker.engine import Settings
from distillproof.checker.realizability import closure_claim, realizability

FAST = Settings(timeout_ms=3000, samples=400)

NONCONVEX = textwrap.dedent('''
    [student]
    name = "small product"
    classes = [3]
    where = ["x[0]*x[1] <= 1/16"]
''')


def user_student():
    table = parse_student_spec(NONCONVEX, "user.toml")
    return from_relations(3, table["where"], name=table["name"])


def _q(v) -> sp.Rational:
    f = F(v)
    return sp.Rational(f.numerator, f.denominator)


def fails_somewhere(student, point_exprs) -> bool:
    """Some relation (or support zero) of S provably fails at the closed point."""
    for atom in student.atoms(point_exprs, "replay"):
        s = sign(atom.expr)
        if s is not None and {"==": s != 0, ">=": s < 0, ">": s <= 0}[atom.rel]:
            return True
    return False


def replay_realizability(family, student, witness) -> bool:
    """Inputs in S (exactly), parameters in the domain, M(inputs) outside S."""
    K = student.classes
    vals = witness["values"]
    subs = {sp.Symbol(k, real=True): _q(v) for k, v in vals.items() if isinstance(v, str)}
    subs = {p.symbol: subs[sp.Symbol(p.name, real=True)] for p in family.free_parameters}
    for rel in family.domain:
        assert rel.xreplace(subs) is sp.true
    vectors = {k: [F(x) for x in v] for k, v in vals.items() if isinstance(v, list)}
    anchor_inputs = family.anchor_inputs if family.kind == "meta-teacher" else ()
    for name, vec in vectors.items():
        assert sum(vec) == 1 and min(vec) >= 0
        for c, x in zip(components(name, K), vec):
            subs[c] = _q(x)
        if name not in anchor_inputs or family.anchor == sp.Symbol("p", positive=True):
            assert student.contains(vec), (name, vec)
    if family.kind == "meta-teacher" and family.anchor != sp.Symbol("p", positive=True):
        anchor = [substitute(e, subs) for e in family.anchor_at(K)]
        assert not fails_somewhere(student, anchor)
    m = [substitute(e, subs) for e in family.at(K)]
    return fails_somewhere(student, m)


def replay_convexity(student, witness) -> bool:
    vals = witness["values"]
    s, t, lam = ([F(x) for x in vals["s"]], [F(x) for x in vals["t"]], F(vals["lam"]))
    assert 0 < lam < 1 and student.contains(s) and student.contains(t)
    return not student.contains([lam * a + (1 - lam) * b for a, b in zip(s, t)])


def small(witness, bound=100) -> bool:
    vals = {k: tuple(F(x) for x in v) if isinstance(v, list) else F(v)
            for k, v in witness["values"].items()}
    return complexity(vals)[0] <= bound


# --- the headline statements -------------------------------------------------------
def test_arithmetic_mixture_leaves_the_independence_model_exactly():
    s = get_student("independence-2x2")
    out = realizability(get_family("arithmetic-anchoring"), s, FAST).to_json()
    assert out["status"] == "refuted" and out["classes"] == 4
    w = out["witness"]
    p, q, a = [F(x) for x in w["values"]["p"]], [F(x) for x in w["values"]["q"]], F(w["values"]["alpha"])
    assert p[0] * p[3] == p[1] * p[2] and q[0] * q[3] == q[1] * q[2] and 0 < a < 1
    m = [a * x + (1 - a) * y for x, y in zip(p, q)]
    assert m[0] * m[3] != m[1] * m[2]
    assert F(w["value"]) == m[0] * m[3] - m[1] * m[2]
    solver = z3.Solver()
    solver.from_string(out["smt2"])
    assert solver.check() == z3.sat        # the pinned query replays in any solver


def test_geometric_anchoring_keeps_the_independence_model_for_every_alpha():
    out = realizability(get_family("geometric-anchoring"), get_student("independence-2x2"),
                        FAST).to_json()
    assert out["status"] == "proved" and "every parameter value" in out["method"]
    text = " ".join(s["statement"] for s in out["steps"])
    assert "(alpha)·[log p_0 - log p_1 - log p_2 + log p_3]" in text


def test_nonconvex_user_family_refuted_and_polytope_proved():
    out = convexity(user_student(), FAST).to_json()
    assert out["status"] == "refuted"
    assert replay_convexity(user_student(), out["witness"])
    for name in ("polytope-ordered-3", "box-3"):
        proof = convexity(get_student(name), FAST).to_json()
        assert proof["status"] == "proved" and proof["method"] == "z3"
        solver = z3.Solver()
        solver.from_string(proof["smt2"].split("; K = ")[0])
        assert solver.check() == z3.unsat


def test_fixed_anchor_outside_the_support_is_reported():
    out = realizability(get_family("kernel-anchoring"), get_student("support-first-2of3"),
                        FAST).to_json()
    assert out["status"] == "refuted" and "fixed anchor" in out["statement"]
    assert out["witness"]["values"]["p"] == ["1/3", "1/3", "1/3"]


def test_face_claims_use_the_face_and_resolve_zero_powers():
    c = closure_claim(get_family("geometric-anchoring"), get_student("support-first-2of3"))
    assert [s.name for s in c.vectors["p"]] == ["p_0", "p_1"]
    assert any("0**" in n for n in c.notes)
    out = realizability(get_family("geometric-anchoring"), get_student("support-first-2of3"), FAST)
    assert out.status == "proved"


def test_symbolic_exponents_say_an_instantiated_unsat_is_not_a_proof():
    out = realizability(get_family("softening"), get_student("polytope-ordered-3"), FAST).to_json()
    assert out["status"] == "unknown"
    assert "not a proof for other parameter values" in out["reason"]


# --- planted counterexamples: all found, shrunk, replayed ---------------------------
PLANTED_R = [
    ("arithmetic-anchoring", "independence-2x2"),
    ("arithmetic-anchoring", "independence-2x3"),
    ("arithmetic-anchoring", "toric-line-3"),
    ("memory-anchoring", "independence-2x2"),
    ("multi-teacher-anchoring", "toric-line-3"),
    ("kernel-anchoring", "toric-line-3"),
    ("geometric-anchoring", "box-3"),
    ("softening", "box-3"),
    ("arithmetic-anchoring", "user"),
]


@pytest.mark.parametrize("family,student", PLANTED_R)
def test_planted_realizability_counterexamples(family, student):
    s = user_student() if student == "user" else get_student(student)
    fam = get_family(family)
    out = realizability(fam, s, FAST).to_json()
    assert out["status"] == "refuted", out
    assert small(out["witness"]), out["witness"]
    assert replay_realizability(fam, s, out["witness"])


PLANTED_C = ["independence-2x2", "independence-2x3", "toric-line-3", "user"]


@pytest.mark.parametrize("student", PLANTED_C)
def test_planted_convexity_counterexamples(student):
    s = user_student() if student == "user" else get_student(student)
    out = convexity(s, FAST).to_json()
    assert out["status"] == "refuted" and small(out["witness"])
    assert replay_convexity(s, out["witness"])


@pytest.mark.parametrize("name", [n for n, (_, convex) in EXAMPLES.items() if not convex])
def test_planted_nonconvex_functions_refuted_with_negative_curvature(name):
    claim = EXAMPLES[name][0]()
    ev = function_convexity(claim, FAST)
    assert ev.status == "refuted" and small(ev.witness.to_json())
    subs = {}
    for vec, comps in claim.vectors.items():
        subs.update({c: _q(x) for c, x in zip(comps, ev.witness.values[vec])})
    subs.update({p: _q(ev.witness.values[p.name]) for p in claim.parameters})
    assert sign(substitute(claim.atoms[0].expr, subs)) == -1      # v^T H v < 0, exactly


def test_xlogx_minus_square_fails_only_beyond_one_half():
    claim = EXAMPLES["xlogx-minus-square"][0]()
    ev = function_convexity(claim, FAST)
    assert F(ev.witness.values["x"]) > F(1, 2)


# --- true statements: none refuted --------------------------------------------------
TRUE_R = [
    ("geometric-anchoring", "independence-2x3"),
    ("tempered-geometric", "toric-line-3"),
    ("softening", "independence-2x2"),
    ("geometric-pool", "independence-2x2"),
    ("arithmetic-anchoring", "box-3"),
    ("arithmetic-anchoring", "polytope-ordered-3"),
    ("memory-anchoring", "box-3"),
    ("geometric-anchoring", "support-first-3of4"),
    ("arithmetic-anchoring", "support-first-2of3"),
]


@pytest.mark.parametrize("family,student", TRUE_R)
def test_true_realizability_statements_are_proved(family, student):
    out = realizability(get_family(family), get_student(student), FAST)
    assert out.status == "proved", out.to_json()


@pytest.mark.parametrize("name", [n for n, (_, convex) in EXAMPLES.items() if convex])
def test_true_convexity_of_functions_is_proved(name):
    assert function_convexity(EXAMPLES[name][0](), FAST).status == "proved"


def test_faces_are_convex():
    assert convexity(get_student("support-first-3of4"), FAST).status == "proved"


@pytest.mark.slow
def test_true_statement_beyond_the_rules_is_not_refuted():
    out = realizability(get_family("geometric-anchoring"), get_student("polytope-ordered-3"),
                        FAST)
    assert out.status == "unknown"


# --- verify: JSON keys, the table, --student ------------------------------------------
def test_verify_attaches_realizability_convexity_and_capacity(capsys):
    from distillproof.checker._table import print_student_table
    from distillproof.checker.api import verify
    data = verify(["arithmetic-anchoring"], students=["independence-2x2"], axioms=["MT1"],
                  settings=FAST, cache=False).to_json()
    fam = data["families"][0]
    (r,), (c,), (cap,) = fam["realizability"], fam["convexity"], fam["capacity"]
    assert r["student"] == c["student"] == cap["student"] == "independence-2x2"
    assert r["status"] == c["status"] == "refuted" and r["witness"]["values"]["alpha"]
    assert [x["id"] for x in cap["contraction"]] == ["A", "B", "C"]
    print_student_table(data)
    assert "independence-2x2" in capsys.readouterr().out


def test_cli_student_option_takes_a_student_only_spec(tmp_path):
    from click.testing import CliRunner
    from distillproof.checker.cli import main
    spec = tmp_path / "small.toml"
    spec.write_text(NONCONVEX)
    result = CliRunner().invoke(main, ["verify", "arithmetic-anchoring", "--axiom", "MT1",
                                       "--student", str(spec), "--no-cache", "--format", "json",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    import json
    fam = json.loads(result.output)["families"][0]
    assert fam["realizability"][0]["student"] == "small product"
    assert fam["convexity"][0]["status"] == "refuted"
    assert fam["capacity"][0]["status"] == "not applicable"
    bad = CliRunner().invoke(main, ["verify", "arithmetic-anchoring", "--student", "nope"])
    assert bad.exit_code == 2 and "--student nope" in bad.output


def _run_line(line: str):
    """A printed ``distillproof replay ...`` line through the CLI (split like a shell)."""
    import shlex
    from click.testing import CliRunner
    from distillproof.checker.cli import main
    return CliRunner().invoke(main, shlex.split(line)[1:])


def test_refuted_r_and_c_carry_replay_lines_that_confirm(tmp_path):
    """The capacity-constrained family leaves the independence model (R) and the model
    is not convex (C): both refutations print a line that replays (exit 0), and the
    same line at a point inside the model does not (exit 1).  A student from a spec
    replays from the spec."""
    from distillproof.checker import api
    fam = get_family("capacity-constrained")
    lines = []
    spec = tmp_path / "small.toml"
    spec.write_text(NONCONVEX)
    refs = {"independence-2x2": "independence-2x2", "small product": str(spec)}
    data = api.verify(fam, axioms=["MT1"], cache=False, students=[str(spec)]).families[0].students
    for what in ("realizability", "convexity"):
        for item in data[what]:
            if item["status"] == "refuted":
                assert item["replay"].startswith("distillproof replay ")
                assert f"--student {refs[item['student']]} " in item["replay"]
                lines.append(item["replay"])
    assert len(lines) >= 3 and any(str(spec) in line for line in lines)
    for line in lines:
        ok = _run_line(line)
        assert ok.exit_code == 0 and "confirmed" in ok.output, (line, ok.output)
    inside = ("distillproof replay - C --student independence-2x2 --classes 4 "
              "s=1/4,1/4,1/4,1/4 t=1/6,1/3,1/6,1/3 lam=1/2")
    assert _run_line(inside).exit_code == 1
    missing = _run_line("distillproof replay capacity-constrained R --classes 4 p=1/2,1/2")
    assert missing.exit_code == 2 and "--student" in missing.output
