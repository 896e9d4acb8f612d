"""The exercise bank, answer checking, and grading a class of hostile submissions."""
import builtins
import hashlib
import json
from fractions import Fraction

import importlib

import pytest
import sympy
import sympy.parsing.sympy_parser
from click.testing import CliRunner

from distillproof.checker.cli import main
from distillproof.proofs._grading import check
from distillproof.proofs._grading_answers import MAX_ANSWER
from distillproof.proofs._grading_reference import reference
from distillproof.proofs.exercise import (KINDS, ExerciseError, bank, get_exercise,
                                          load_exercise, render, variant_for)
from distillproof.proofs.exercise_grade import (grade_class, load_submissions, results,
                                                write_split)

STUDENTS = ["ada", "grace", "emmy"]
MARKER = "DISTILLPROOF_PWNED"


def test_the_bank_spans_every_kind():
    exercises = bank()
    assert len(exercises) >= 15
    assert {ex.kind for ex in exercises.values()} == set(KINDS)
    assert any(ex.spec is not None for ex in exercises.values())       # an inline spec
    for ex in exercises.values():
        assert ex.count >= 2, f"{ex.id} has a single variant"


def test_variants_are_drawn_from_sha256_of_exercise_and_student():
    ex = get_exercise("fp-kernel")
    v = variant_for(ex, "ada")
    h = int(hashlib.sha256(b"fp-kernel\0ada").hexdigest(), 16) % ex.count
    code = []
    for _, values in ex.variants:
        code.append(h % len(values))
        h //= len(values)
    assert v.code == tuple(code) and variant_for(ex, "ada").code == v.code
    assert len({variant_for(ex, f"s{i}").code for i in range(40)}) > 5
    with pytest.raises(ExerciseError):
        variant_for(ex, "")


def test_every_variant_builds_and_renders_without_leftover_placeholders():
    import itertools
    import re
    from distillproof.proofs.exercise import variant_at
    for ex in bank().values():
        for code in itertools.product(*[range(len(v)) for _, v in ex.variants]):
            v = variant_at(ex, code)
            text = render(v, "text")
            assert not re.search(r"[{}$]", text), (ex.id, code, text)
            assert render(v, "markdown").startswith(f"# {ex.title}")


@pytest.mark.slow
def test_every_variant_has_a_reference_answer_with_full_marks():
    import itertools
    from distillproof.proofs.exercise import variant_at
    for ex in bank().values():
        for code in itertools.product(*[range(len(v)) for _, v in ex.variants]):
            ref = reference(variant_at(ex, code))
            assert ref.answer is not None, (ex.id, code, ref.reason)


@pytest.mark.parametrize("ex_id", sorted(bank()))
def test_the_reference_answer_scores_full_marks(ex_id):
    ex = get_exercise(ex_id)
    for student in STUDENTS:
        ref = reference(variant_for(ex, student))
        assert ref.answer is not None, f"{ex_id}/{student}: {ref.reason}"
        g = check(ex, student, ref.answer)
        assert g.score == g.max_score and g.status == "correct", (ex_id, student, g.feedback)
        assert g.feedback and g.feedback[0].startswith("correct")


def _vector(v):
    return ", ".join(str(Fraction(str(x))) for x in v)


# exercise -> answer to a counterexample question at which the statement holds
HOLDS = {
    "cx-geometric-mixture": "p = 1/3, 1/3, 1/3; q = 1/3, 1/3, 1/3",
    "cx-temperature-anchor": "p = 1/2, 1/2",
    "cx-tempered-contraction": "p = 1/2, 1/2; q = 1/100, 99/100",
    "cx-pool-temperature": "p1 = 1/2, 1/2; p2 = 1/2, 1/2; T = 2",
}


def planted(ex, variant, ref):
    """``(wrong answer, words the feedback must contain, score ceiling)`` per kind."""
    kind = ex.kind
    if kind == "constant":
        return [(f"({ref.answer}) + 1/10", ["valid upper bound"], 0.5),
                (f"({ref.answer}) - 1/10", ["too small", "not an upper bound",
                                            "below the certified bound"], 0.0),
                (f"({ref.answer}) + 1/10**30", ["valid upper bound"], 0.5)]
    if kind == "ratio":
        return [(f"q = {_vector(variant.anchor)}", ["undefined"], 0.0),
                ("q = 1/2, 1/2, 1/2", ["not a distribution"], 0.0)]
    if kind == "counterexample":
        if ex.id in HOLDS:
            return [(HOLDS[ex.id], ["satisfies"], 0.0)]
        first = next(iter(ref.value.values()))
        names = list(ref.value)
        same = "; ".join(f"{n} = {_vector(first)}" for n in names if n != "lam")
        return [(same, ["is in"], 0.0)]
    if kind == "axioms":
        proved = ref.answer.split(", ")
        refuted = [a for a, ev in ref.value.items() if ev is not None and ev.status == "refuted"]
        out = []
        if proved != ["none"]:
            out.append((", ".join(proved[1:]) or "none", ["missing:", "holds for this family"],
                        0.99))
        if refuted:
            out.append((", ".join([*proved, refuted[0]]).replace("none, ", ""),
                        ["extra:", "does not hold"], 0.99))
        return out
    if kind == "fixed-point":
        return [(_vector([Fraction(1, 2)] * variant.classes), ["sums to"], 0.0),
                (_vector([Fraction(1, variant.classes)] * variant.classes)
                 if ref.answer != _vector([Fraction(1, variant.classes)] * variant.classes)
                 else "1/2, 1/4, 1/4", ["Φ(your q)"], 0.5)]
    if kind == "generations":
        t = int(ref.answer)
        out = [(str(t + 3), ["enough"], 0.5)]
        if t > 0:
            out.append((str(t - 1), ["too few"], 0.0))
        return out
    if kind == "rule":
        other = next(r for r in ("schedule", "memory", "mixture") if r != ref.value["key"]
                     and r not in ref.value["used"])
        return [(other, ["does not give"], 0.0), ("banach", ["not one of the rules"], 0.0)]
    raise AssertionError(kind)


@pytest.mark.parametrize("ex_id", sorted(bank()))
def test_a_planted_wrong_answer_scores_less_and_says_why(ex_id):
    ex = get_exercise(ex_id)
    variant = variant_for(ex, "ada")
    ref = reference(variant)
    for answer, words, ceiling in planted(ex, variant, ref):
        g = check(ex, "ada", answer)
        text = " ".join(g.feedback)
        assert g.score < g.max_score, (ex_id, answer, g)
        assert g.fraction <= ceiling + 1e-9, (ex_id, answer, g)
        assert any(w in text for w in words), (ex_id, answer, text)


def test_feedback_speaks_of_the_students_answer():
    g = check("derive-tempered-hilbert", "ada", "1 - alpha")
    assert g.status == "partial" and "not tight" in g.feedback[0] and "alpha = " in g.feedback[0]
    g = check("cx-tempered-contraction", "ada", "p = 1/2, 1/2; q = 1/100, 99/100")
    assert "the ratio KL(p̄‖M(p̄,q)) / KL(p̄‖q) there is" in g.feedback[0]
    g = check("axioms-anchoring", "ada", "none")
    assert any("here is why" in f for f in g.feedback)
    beta2 = variant_for(get_exercise("derive-memory-local"), "ada").choice["beta2"]
    beta1 = f"(1 - {beta2} - alpha)"        # written in alpha: equal only on the domain
    g = check("derive-memory-local", "ada", f"({beta1} + sqrt({beta1}**2 + 4*{beta2}))**2/4")
    assert g.status == "correct" and "z3" in g.feedback[0]          # equal under alpha + beta1 + beta2 = 1


HOSTILE = [
    f"__import__('os').system('touch {MARKER}')",
    f"exec(\"open('{MARKER}', 'w')\")",
    "9**9**9", "10**64**64", "exp(10**100)", "2**(10**6)",
    "(" * 100000 + "1" + ")" * 100000, "(" * 60 + "1" + ")" * 60, "[" * 5000,
    "\x00\x01\x02 binary junk \xff", "", "   \n\t ", "x" * (MAX_ANSWER + 1),
    "lambda: 0", "alpha.__class__", "p = 1/2; p = 1/2", "1e999999", "🙂 ∞",
    "q = (((((1/2", "MT1; DROP TABLE students", "-" * 1500 + "1", "1/0", "log(0)",
]
ONE_PER_KIND = ["derive-kernel-tv", "ratio-local-not-global", "cx-geometric-mixture",
                "cx-realizability", "axioms-pools", "fp-tempered", "gen-arithmetic", "rule-which"]


SUBMITTED: set = set()          # the answers of the running test (fragments of 6+ chars)


@pytest.fixture
def no_text_execution(monkeypatch):
    """During grading, eval/exec raise on any text containing a submitted answer (SymPy
    itself execs code it generates, e.g. monomial arithmetic, which is not submitted
    text), sympify raises on any text, and parse_expr raises always."""
    def guard(name, real=None):
        def raiser(source=None, *args, **kwargs):
            if real is not None and not isinstance(source, (str, bytes)):
                return real(source, *args, **kwargs)
            text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
            if real is not None and name in ("eval", "exec") and not any(
                    a in text for a in SUBMITTED | {MARKER}):
                return real(source, *args, **kwargs)
            raise AssertionError(f"{name} was called on submitted text during grading")
        return raiser
    module = importlib.import_module("sympy.core.sympify")
    monkeypatch.setattr(builtins, "eval", guard("eval", builtins.eval))
    monkeypatch.setattr(builtins, "exec", guard("exec", builtins.exec))
    monkeypatch.setattr(sympy, "sympify", guard("sympify", module.sympify))
    monkeypatch.setattr(module, "sympify", guard("sympify", module.sympify))
    monkeypatch.setattr(sympy, "parse_expr", guard("parse_expr"))
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", guard("parse_expr"))
    yield
    SUBMITTED.clear()


def _submitted(*answers):
    SUBMITTED.update(a.strip() for a in answers if isinstance(a, str) and len(a.strip()) >= 6)


@pytest.mark.parametrize("ex_id", ONE_PER_KIND)
def test_hostile_answers_score_zero_with_a_message(ex_id, tmp_path, monkeypatch, request):
    ex = get_exercise(ex_id)
    ref = reference(variant_for(ex, "mallory"))           # the engine's side, computed first
    assert check(ex, "mallory", ref.answer).status == "correct"     # (imports done)
    _submitted(*HOSTILE)
    request.getfixturevalue("no_text_execution")
    monkeypatch.chdir(tmp_path)
    for answer in HOSTILE:
        g = check(ex, "mallory", answer, time_limit=10)
        assert g.score == 0 and g.status in ("invalid", "incorrect"), (ex_id, answer, g)
        assert g.feedback and all(isinstance(f, str) and f for f in g.feedback)
    assert not (tmp_path / MARKER).exists()


def test_a_slow_check_times_out_and_scores_zero(monkeypatch):
    import time
    from distillproof.proofs import _grading_checks
    monkeypatch.setitem(_grading_checks.CHECKERS, "rule", lambda *a: time.sleep(30))
    start = time.monotonic()
    g = check("rule-which", "ada", "mixture", time_limit=0.5)
    assert g.status == "timeout" and g.score == 0 and time.monotonic() - start < 5


def test_a_teacher_writes_an_exercise_on_a_spec_without_code(tmp_path):
    (tmp_path / "power-mean.toml").write_text('''
[exercise]
id = "power-mean"
title = "A quadratic-mean family"
kind = "axioms"
statement = "For $M = {map}$, which of {axioms} hold?"

[spec.family]
name = "quadratic mean"
kind = "meta-teacher"
[spec.parameters]
alpha = "0 < alpha < 1"
[spec.map]
value = "normalize(alpha*p**2 + (1 - alpha)*q**2)"

[variants]
alpha = ["1/2", "1/3"]

[answer]
axioms = ["MT1", "MT2", "MT6"]
''')
    ex = get_exercise("power-mean", [tmp_path])
    v = variant_for(ex, "ada")
    assert "normalize" in render(v) and "$" in render(v, "markdown")
    ref = reference(v)
    assert ref.answer == "MT1"                  # M(p, p) = normalize(p**2): not even MT2
    assert check(ex, "ada", "{MT1}").status == "correct"
    assert check(ex, "ada", "MT1, MT2").status == "partial"
    (tmp_path / "broken.toml").write_text('[exercise]\nid = "other"\nkind = "nope"\n')
    with pytest.raises(ExerciseError, match="broken.toml"):
        load_exercise(tmp_path / "broken.toml")


def test_cli_list_show_check():
    r = CliRunner().invoke(main, ["exercise", "list"])
    assert r.exit_code == 0 and len([x for x in r.output.splitlines() if "variants" in x]) >= 15
    r = CliRunner().invoke(main, ["exercise", "show", "fp-kernel", "--student", "ada",
                                  "--format", "markdown"])
    assert r.exit_code == 0 and r.output.startswith("# ") and "\\frac" in r.output
    r = CliRunner().invoke(main, ["exercise", "show", "fp-kernel", "--student", "ada"])
    assert r.exit_code == 0 and "Answer format" in r.output and "\\frac" not in r.output
    r = CliRunner().invoke(main, ["exercise", "check", "rule-which", "--student", "ada",
                                  "--answer", "__import__('os')"])
    assert r.exit_code == 0 and r.output.startswith("score: 0 / 1")
    r = CliRunner().invoke(main, ["exercise", "check", "nope", "--student", "a", "--answer", "1"])
    assert r.exit_code == 2 and "no exercise" in r.output


def test_json_lines_submissions(tmp_path):
    path = tmp_path / "subs.jsonl"
    lines = [json.dumps({"student": "ada", "exercise": "rule-which", "answer": "mixture"}),
             "{not json", json.dumps({"student": "bob"}),
             json.dumps({"student": "bob", "exercise": "rule-which", "answer": 12}),
             json.dumps({"student": "cy", "exercise": "no-such-exercise", "answer": "x"})]
    path.write_text("\n".join(lines) + "\n")
    subs, skipped = load_submissions(path)
    assert len(subs) == 3 and len(skipped) == 2
    grades = grade_class(subs, assignment=["rule-which", "gen-arithmetic"])
    statuses = {(g.student, g.exercise): g.status for g in grades}
    assert statuses[("bob", "rule-which")] == "invalid"
    assert statuses[("cy", "no-such-exercise")] == "invalid"
    assert statuses[("ada", "gen-arithmetic")] == "missing"
    data = results(grades, "prairielearn", skipped)
    assert all(0 <= s["score"] <= 1 and s["gradable"] for s in data["students"].values())


# --- a class of 200 -----------------------------------------------------------------
CLASS = ["derive-kernel-tv", "derive-memory-local", "ratio-local-not-global",
         "cx-temperature-anchor", "cx-realizability", "cx-student-convexity",
         "axioms-anchoring", "fp-kernel", "gen-arithmetic", "rule-which"]


def _submission(i, ex, variant, ref):
    """Right, wrong, partial, malformed or hostile, in turn."""
    kind = i % 5
    if kind == 0:
        return ref.answer
    if kind in (1, 2):
        answers = planted(ex, variant, ref)
        return answers[(kind - 1) % len(answers)][0]
    if kind == 3:
        return ["p = ", "1/2 +", "{MT1", "q = 1/2, x", "twelve", "(1 - alpha"][i % 6]
    return HOSTILE[i % len(HOSTILE)]


def test_grading_200_submissions_never_executes_them(tmp_path, request, monkeypatch):
    subs_dir = tmp_path / "subs"
    subs_dir.mkdir()
    students = [f"s{n:02d}" for n in range(20)]
    i = 0
    for s in students:
        for ex_id in CLASS:
            ex = get_exercise(ex_id)
            variant = variant_for(ex, s)
            ref = reference(variant)                      # the engine's side, before grading
            answer = _submission(i, ex, variant, ref)
            target = subs_dir / f"{s}__{ex_id}.txt"
            if i % 37 == 5:
                target.write_bytes(b"\xff\xfe\x00binary\x81")
            elif i % 41 == 7:
                target.write_bytes(b"1" * (70 * 1024))
            else:
                target.write_text(answer, encoding="utf-8")
                _submitted(answer)
            i += 1
    (subs_dir / "README").write_text("not a submission")
    assert i == 200
    warm = tmp_path / "warm"                 # every module of the grading path imported
    warm.mkdir()
    for ex_id in CLASS:
        ex = get_exercise(ex_id)
        ref = reference(variant_for(ex, "w"))
        (warm / f"w__{ex_id}.txt").write_text(ref.answer)
        for n, (answer, _, _) in enumerate(planted(ex, variant_for(ex, "w"), ref)):
            (warm / f"w{n}__{ex_id}.txt").write_text(answer)
    grade_class(load_submissions(warm)[0])
    request.getfixturevalue("no_text_execution")
    out = tmp_path / "results.json"
    split = tmp_path / "split"
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["exercise", "grade", str(subs_dir), "--format", "gradescope",
                                  "--out", str(out), "--split", str(split),
                                  "--time-limit", "10"])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["format"] == "gradescope" and len(data["skipped"]) == 1
    assert sorted(data["students"]) == students
    seen = 0
    for s, res in data["students"].items():
        assert len(res["tests"]) == len(CLASS)
        for t in res["tests"]:
            assert set(t) >= {"name", "score", "max_score", "output"}
            assert 0 <= t["score"] <= t["max_score"] and t["output"]
            seen += 1
        assert res["score"] == pytest.approx(sum(t["score"] for t in res["tests"]))
        assert json.loads((split / s / "results.json").read_text()) == res
    assert seen == 200
    subs, skipped = load_submissions(subs_dir)
    grades = grade_class(subs, time_limit=10)
    by_status = {}
    for g in grades:
        by_status[g.status] = by_status.get(g.status, 0) + 1
    assert by_status.get("correct", 0) >= 30 and by_status.get("invalid", 0) >= 60
    assert by_status.get("partial", 0) + by_status.get("incorrect", 0) >= 40
    assert not by_status.get("error") and not by_status.get("timeout"), [
        (g.exercise, g.feedback) for g in grades if g.status in ("error", "timeout")]
    pl = results(grades, "prairielearn")
    assert all(0 <= v["score"] <= 1 for v in pl["students"].values())
    js = results(grades, "json")
    assert js["schema"] == "distillproof.exercise-grades/1" and len(js["students"]) == 20
    assert write_split(js, tmp_path / "json-split")
    assert not (tmp_path / MARKER).exists()
