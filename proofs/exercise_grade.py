"""Grading a whole class: a directory (or JSON-lines file) of submissions in, the
results a course platform reads out.

Submissions, either

* a **directory** with one file per student and exercise, named
  ``<student>__<exercise>.<ext>`` (e.g. ``ada__derive-kernel-tv.txt``; the student id
  is everything before the last ``__``), the file's text being the answer (UTF-8, at
  most :data:`MAX_FILE_BYTES` bytes are read); hidden files are ignored, other names
  are reported as skipped; or
* a **JSON-lines** file (``.jsonl``/``.json``): one object per line,
  ``{"student": "ada", "exercise": "derive-kernel-tv", "answer": "(1 - alpha)/4"}``.

Every submission gets a result, whatever it contains: unreadable files, unknown
exercises, hostile or huge answers score 0 for that part with a message, and grading
continues (:func:`~._grading.check` never raises for an answer).

Output shapes (:func:`results`):

``gradescope``     per student ``{"score", "output", "tests": [{"name", "score",
                   "max_score", "status", "output", "visibility"}]}`` (Gradescope's
                   autograder ``results.json``)
``prairielearn``   per student ``{"gradable": true, "score" in [0, 1], "message",
                   "feedback", "output", "tests": [{"name", "description", "points",
                   "max_points", "message", "output"}]}`` (PrairieLearn's external grader)
``json``           ``{"schema": "distillproof.exercise-grades/1", "students": [...]}``

For the platforms, the class is wrapped as ``{"schema", "format", "students": {id:
results.json}, "skipped"}``; :func:`write_split` writes each student's own
``<dir>/<student>/results.json``.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ._grading import TIME_LIMIT, Grade, check

__all__ = ["Submission", "load_submissions", "grade_class", "results", "write_split",
           "SCHEMA", "FORMATS", "MAX_FILE_BYTES"]

SCHEMA = "distillproof.exercise-grades/1"
FORMATS = ("gradescope", "prairielearn", "json")
MAX_FILE_BYTES = 64 * 1024
MAX_SUBMISSIONS = 100_000


@dataclass(frozen=True)
class Submission:
    """One answer of one student to one exercise; ``problem`` says why the answer could
    not be read (then ``answer`` is ``None``)."""
    student: str
    exercise: str
    answer: str | None
    source: str
    problem: str = ""


def _read_file(path: Path) -> tuple[str | None, str]:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, f"the file could not be read ({exc.strerror or exc})"
    if len(data) > MAX_FILE_BYTES:
        return None, f"the file is larger than {MAX_FILE_BYTES // 1024} KiB; it was not read"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        return None, "the answer is not UTF-8 text (binary data?)"


def load_submissions(path) -> tuple[list[Submission], list[dict]]:
    """``(submissions, skipped)`` from a directory or a JSON-lines file (see the module
    docstring); ``skipped`` lists ``{"source", "reason"}`` of what names no student or
    exercise.  Raises ``ValueError`` when ``path`` is neither."""
    path = Path(path)
    subs, skipped = [], []
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if not p.name.startswith("."))
        for f in files[:MAX_SUBMISSIONS]:
            if not f.is_file():
                skipped.append({"source": str(f), "reason": "not a regular file"})
                continue
            stem = f.name.rsplit(".", 1)[0] if "." in f.name else f.name
            student, sep, exercise = stem.rpartition("__")
            if not sep or not student.strip() or not exercise:
                skipped.append({"source": str(f), "reason": "the name is not "
                                "<student>__<exercise>.<ext>"})
                continue
            answer, problem = _read_file(f)
            subs.append(Submission(student.strip(), exercise, answer, str(f), problem))
        return subs, skipped
    if path.is_file():
        with path.open("rb") as fh:
            for n, raw in enumerate(fh, start=1):
                if n > MAX_SUBMISSIONS:
                    break
                where = f"{path}:{n}"
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError, RecursionError):
                    skipped.append({"source": where, "reason": "not a JSON object"})
                    continue
                if not isinstance(obj, dict) or not isinstance(obj.get("student"), str) \
                        or not isinstance(obj.get("exercise"), str) or not obj["student"].strip():
                    skipped.append({"source": where, "reason": "needs string fields "
                                    "student and exercise"})
                    continue
                answer = obj.get("answer")
                problem = "" if isinstance(answer, str) else "the answer is not a string"
                subs.append(Submission(obj["student"].strip(), obj["exercise"],
                                       answer if not problem else None, where, problem))
        return subs, skipped
    raise ValueError(f"{path}: no such directory or JSON-lines file")


def _failed(sub: Submission, status: str, message: str, points: float = 0.0) -> Grade:
    return Grade(sub.exercise, sub.student, "-", 0.0, points, status, (message,))


def grade_class(submissions, *, time_limit: float = TIME_LIMIT, extra_dirs=(),
                assignment=(), progress=None) -> list[Grade]:
    """A :class:`Grade` for every submission (the last one per student and exercise),
    plus a ``missing`` zero for each exercise of ``assignment`` a student did not
    submit.  ``progress(i, n, grade)`` is called after each."""
    from .exercise import ExerciseError, bank
    exercises = bank(extra_dirs)
    latest: dict[tuple[str, str], Submission] = {}
    replaced: set = set()
    for sub in submissions:
        key = (sub.student, sub.exercise)
        if key in latest:
            replaced.add(key)
        latest[key] = sub
    out = []
    for i, (key, sub) in enumerate(sorted(latest.items())):
        ex = exercises.get(sub.exercise)
        if ex is None:
            g = _failed(sub, "invalid", f"unknown exercise {sub.exercise!r}")
        elif sub.problem:
            g = _failed(sub, "invalid", sub.problem, ex.points)
        else:
            try:
                g = check(ex, sub.student, sub.answer, time_limit=time_limit)
            except ExerciseError as exc:
                g = _failed(sub, "invalid", str(exc), ex.points)
            except Exception as exc:     # noqa: BLE001 -- one bad submission never stops a class
                g = _failed(sub, "error", f"not graded ({type(exc).__name__})", ex.points)
        if key in replaced:
            g = Grade(g.exercise, g.student, g.variant, g.score, g.max_score, g.status,
                      g.feedback + ("(an earlier submission of this exercise was replaced "
                                    "by this one)",), g.reference, g.seconds, g.title)
        out.append(g)
        if progress:
            progress(i + 1, len(latest), g)
    students = sorted({s for s, _ in latest})
    for ex_id in assignment:
        ex = exercises.get(ex_id)
        for s in students:
            if (s, ex_id) not in latest:
                out.append(Grade(ex_id, s, "-", 0.0, ex.points if ex else 0.0, "missing",
                                 ("no submission",), title=ex.title if ex else ""))
    return out


def _by_student(grades) -> dict[str, list[Grade]]:
    out: dict[str, list[Grade]] = {}
    for g in grades:
        out.setdefault(g.student, []).append(g)
    return {s: sorted(gs, key=lambda g: g.exercise) for s, gs in sorted(out.items())}


def _name(g: Grade) -> str:
    return f"{g.exercise}: {g.title}" if g.title else g.exercise


def _gradescope(gs: list[Grade]) -> dict:
    total = sum(g.score for g in gs)
    top = sum(g.max_score for g in gs)
    return {"score": round(total, 4),
            "output": f"{total:g} / {top:g} points over {len(gs)} exercise(s)",
            "tests": [{"name": _name(g), "score": g.score, "max_score": g.max_score,
                       "status": "passed" if g.status == "correct" else "failed",
                       "output": "\n".join(g.feedback), "visibility": "visible"}
                      for g in gs]}


def _prairielearn(gs: list[Grade]) -> dict:
    total = sum(g.score for g in gs)
    top = sum(g.max_score for g in gs)
    text = "\n\n".join(f"{_name(g)} ({g.score:g}/{g.max_score:g}, {g.status}):\n"
                       + "\n".join(g.feedback) for g in gs)
    return {"gradable": True, "score": round(total / top, 6) if top else 0.0,
            "message": f"{total:g} / {top:g} points", "feedback": text, "output": text,
            "tests": [{"name": _name(g), "description": g.status, "points": g.score,
                       "max_points": g.max_score, "message": "\n".join(g.feedback),
                       "output": f"variant {g.variant}"} for g in gs]}


def results(grades, fmt: str, skipped=()) -> dict:
    """The grades in the shape of ``fmt`` (:data:`FORMATS`), for the whole class."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    per = _by_student(grades)
    if fmt == "json":
        return {"schema": SCHEMA, "format": "json", "skipped": list(skipped),
                "students": [{"student": s, "score": round(sum(g.score for g in gs), 4),
                              "max_score": sum(g.max_score for g in gs),
                              "exercises": [g.to_json() for g in gs]}
                             for s, gs in per.items()]}
    shape = _gradescope if fmt == "gradescope" else _prairielearn
    return {"schema": SCHEMA, "format": fmt, "skipped": list(skipped),
            "students": {s: shape(gs) for s, gs in per.items()}}


def _safe(student: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", student)[:80].lstrip(".") or "_"
    if name != student:
        name += "-" + hashlib.sha256(student.encode()).hexdigest()[:8]
    return name


def write_split(data: dict, directory) -> list[Path]:
    """Each student's platform ``results.json`` as ``<directory>/<student>/results.json``
    (student ids made safe for file names; a changed id gets a hash suffix)."""
    directory = Path(directory)
    students = data["students"]
    items = students.items() if isinstance(students, dict) else (
        (s["student"], s) for s in students)
    out = []
    for student, body in items:
        target = directory / _safe(student) / "results.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        out.append(target)
    return out
