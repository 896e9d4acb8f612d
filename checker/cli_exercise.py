"""``distillproof exercise ...``: classroom exercises graded by the engine.

    distillproof exercise list
    distillproof exercise show ID --student S [--format text|markdown] [--with-answer]
    distillproof exercise check ID --student S --answer '...'
    distillproof exercise grade SUBMISSIONS --format gradescope|prairielearn|json [--out FILE]

A thin layer over :mod:`distillproof.proofs.exercise`, :mod:`~..proofs._grading` and
:mod:`~..proofs.exercise_grade`; heavy imports happen inside the commands.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

__all__ = ["exercise"]


def _fail(message: str, code: int = 2):
    click.echo(f"distillproof: error: {message}", err=True)
    sys.exit(code)


def _lookup(ctx, ex_id):
    from ..proofs.exercise import ExerciseError, get_exercise
    try:
        return get_exercise(ex_id, ctx.obj["bank"])
    except ExerciseError as exc:
        _fail(str(exc))


@click.group()
@click.option("--bank", "banks", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="A directory of extra exercise files (repeatable; also "
                   "$DISTILLPROOF_EXERCISES).")
@click.pass_context
def exercise(ctx, banks):
    """Classroom exercises on iterative distillation, graded by the engine.

    Each student gets a variant drawn from their id; answers are checked exactly
    (symbolically, by Z3, or by exact/interval evaluation), with feedback.
    """
    ctx.ensure_object(dict)
    ctx.obj["bank"] = tuple(banks)
    try:
        from ..proofs.exercise import bank
        bank(ctx.obj["bank"])
    except ValueError as exc:
        _fail(str(exc))


@exercise.command(name="list")
@click.pass_context
def list_(ctx):
    """List the exercises: id, kind, number of variants, title."""
    from ..proofs.exercise import bank
    exercises = bank(ctx.obj["bank"])
    for ex in sorted(exercises.values(), key=lambda e: (e.kind, e.id)):
        click.echo(f"  {ex.id:<26} {ex.kind:<15} {ex.count:>3} variants  {ex.title}")
    click.echo(f"\n{len(exercises)} exercises.  distillproof exercise show ID --student S")


_HELP = {
    "constant": "an expression in the free parameters ({params}), e.g. (1 - alpha)/2; "
                "functions sqrt, log, exp; exact numbers",
    "ratio": "the point, e.g. q = 1/2, 1/4, 1/4 (exact rationals summing to 1)",
    "counterexample": "the point as name = value assignments separated by ';', e.g. "
                      "p = 1/2, 1/3, 1/6; q = 1/3, 1/3, 1/3 (exact rationals)",
    "axioms": "the ids of the axioms that hold, separated by commas (none for none)",
    "fixed-point": "the vector, e.g. 1/2, 1/3, 1/6 (exact numbers; sqrt allowed)",
    "generations": "a whole number",
    "rule": "one of mixture, data-processing, composition, geometric-anchoring, hilbert, "
            "memory, schedule, fixed-point",
}


def answer_help(variant) -> str:
    text = _HELP[variant.exercise.kind]
    if "{params}" in text:
        fam = variant.family
        names = [p.name for p in fam.free_parameters] if fam is not None else []
        text = text.replace("{params}", ", ".join(names) or "none: a number")
    return text


@exercise.command()
@click.argument("exercise_id", metavar="ID")
@click.option("--student", required=True, help="The student id (it picks the variant).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text",
              show_default=True)
@click.option("--with-answer", is_flag=True, help="Also print the reference answer "
              "(computed by the engine; for teachers).")
@click.pass_context
def show(ctx, exercise_id, student, fmt, with_answer):
    """Print the statement of exercise ID as student S sees it."""
    from ..proofs.exercise import ExerciseError, render, variant_for
    ex = _lookup(ctx, exercise_id)
    try:
        variant = variant_for(ex, student)
        click.echo(render(variant, fmt, answer_help=answer_help(variant)), nl=False)
    except ExerciseError as exc:
        _fail(str(exc))
    if with_answer:
        from ..proofs._grading_reference import reference
        ref = reference(variant)
        click.echo(f"\nReference answer: {ref.answer if ref.answer is not None else '(none: ' + ref.reason + ')'}")


@exercise.command()
@click.argument("exercise_id", metavar="ID")
@click.option("--student", required=True, help="The student id (it picks the variant).")
@click.option("--answer", "answer", help="The answer (quote it for the shell).")
@click.option("--answer-file", type=click.Path(dir_okay=False, exists=True),
              help="Read the answer from a file instead.")
@click.option("--time-limit", type=click.FloatRange(0.5, 600), default=20.0,
              show_default=True, help="Seconds allowed for checking the answer.")
@click.option("--json", "as_json", is_flag=True, help="Print the grade as JSON.")
@click.pass_context
def check(ctx, exercise_id, student, answer, answer_file, time_limit, as_json):
    """Grade one answer: prints the score and feedback (exit status 0 whatever the score)."""
    from ..proofs._grading import check as run
    from ..proofs.exercise import ExerciseError
    ex = _lookup(ctx, exercise_id)
    if (answer is None) == (answer_file is None):
        _fail("give exactly one of --answer and --answer-file")
    if answer_file is not None:
        from ..proofs.exercise_grade import _read_file
        answer, problem = _read_file(Path(answer_file))
        if answer is None:
            click.echo(f"score: 0 / {ex.points:g}  (invalid)\n  {problem}")
            return
    try:
        grade = run(ex, student, answer, time_limit=time_limit)
    except ExerciseError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(grade.to_json(), indent=2, ensure_ascii=False))
        return
    click.echo(f"score: {grade.score:g} / {grade.max_score:g}  ({grade.status})")
    for line in grade.feedback:
        click.echo(f"  {line}")


@exercise.command()
@click.argument("submissions", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["gradescope", "prairielearn", "json"]),
              required=True, help="The shape of the results.")
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="Write the class results (JSON) here instead of standard output.")
@click.option("--split", "split", type=click.Path(file_okay=False),
              help="Also write each student's own results.json under DIR/<student>/.")
@click.option("--assignment", metavar="ID[,ID..]",
              help="The exercises of the assignment: a missing submission scores 0.")
@click.option("--time-limit", type=click.FloatRange(0.5, 600), default=20.0,
              show_default=True, help="Seconds allowed per answer.")
@click.pass_context
def grade(ctx, submissions, fmt, out, split, assignment, time_limit):
    """Grade a class.  SUBMISSIONS is a directory of files <student>__<exercise>.txt
    (the answer is the file's text) or a JSON-lines file of objects
    {"student": ..., "exercise": ..., "answer": ...}.  Every submission gets a result;
    a summary goes to standard error."""
    from ..proofs.exercise_grade import grade_class, load_submissions, results, write_split
    try:
        subs, skipped = load_submissions(submissions)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    wanted = tuple(a.strip() for a in (assignment or "").split(",") if a.strip())
    from ..proofs.exercise import bank
    unknown = [a for a in wanted if a not in bank(ctx.obj["bank"])]
    if unknown:
        _fail(f"--assignment names unknown exercises: {', '.join(unknown)}")
    grades = grade_class(subs, time_limit=time_limit, extra_dirs=ctx.obj["bank"],
                         assignment=wanted)
    data = results(grades, fmt, skipped)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    if split:
        write_split(data, split)
    counts: dict[str, int] = {}
    for g in grades:
        counts[g.status] = counts.get(g.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    students = len({g.student for g in grades})
    click.echo(f"graded {len(grades)} submission(s) of {students} student(s): {summary}"
               + (f"; skipped {len(skipped)} file(s)" if skipped else "")
               + (f"\nresults: {out}" if out else ""), err=True)
