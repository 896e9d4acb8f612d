r"""Classroom exercises: a bank of TOML files, one variant per student, graded by the engine.

An exercise file (``proofs/exercises/<id>.toml``; a teacher's own directory works the
same, see :func:`bank`) declares what is asked, of which family, and how it varies::

    [exercise]
    id = "derive-kernel-tv"              # = the file name without .toml
    title = "Dobrushin's coefficient of a smoothing kernel"
    kind = "constant"                    # see KINDS below
    points = 1                           # optional (default 1)
    family = "kernel-anchoring"          # a catalogue name, or an inline [spec] below
    statement = '''Let $M(p, q) = {map}$ ... derive {constant_name}.'''
    hint = "..."                         # optional

    [spec.family]                        # optional: an inline family spec -- the tables of
    name = "smoothed anchoring"          # a spec file (axioms/spec.py), each under [spec]
    kind = "meta-teacher"
    [spec.matrices]
    W = [["1/2", "1/4", "1/4"], ...]
    [spec.parameters]
    alpha = "0 < alpha < 1"
    [spec.map]
    value = "alpha*p + (1 - alpha)*(W @ q)"

    [variants]                           # each key: a list; a variant takes one entry of each
    W = [[["1/2", ...], ...], ...]       # a matrix of [spec.matrices]
    alpha = ["1/5", "3/10"]              # a parameter of the family, fixed to that value
    # family = [...]    catalogue names; anchor = [["1/2", "1/3", "1/6"], ...] a fixed
    # anchor; case = [{...}, ...] joint choices (tables of the keys above); any key of
    # [answer] (a different question per variant); anything else: for the statement only

    [answer]                             # what is asked (keys per kind, ANSWER_KEYS)
    constant = "tv"

The variant of a student is drawn from ``sha256(exercise id, student id)`` (never
Python's ``hash``): deterministic, the same on every machine, independent across
exercises.  Reference answers are computed by the engine for the variant (module
:mod:`._grading_reference`), never written in the file -- except ``[answer] reference``,
a fixed reference answer for kinds the engine cannot answer itself.

``kind`` (what the student answers):

``constant``        an expression in the parameters: the certified bound on ``constant``
``ratio``           a point where the ratio of ``constant`` is above/below ``threshold``
``counterexample``  an exact point refuting ``axiom`` (an axiom id, ``R`` with a student
                    family ``student``, or ``convexity`` of ``student``)
``axioms``          the set of axioms (among ``axioms``) the family satisfies
``fixed-point``     the fixed point of the recursion at the variant's anchor
``generations``     the number of generations to reach ``KL(p̄‖q_t) <= epsilon``
``rule``            the proof rule of THEORY §5 that gives ``constant``

Statements are text with ``{placeholders}`` (``{map}``, ``{domain}``, ``{K}``,
``{anchor}``, each variant and answer key, ``{constant_name}``, ...) and ``$math$``;
literal braces are doubled.  :func:`render` gives plain text or Markdown with LaTeX.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp

__all__ = ["Exercise", "Variant", "ExerciseError", "KINDS", "ANSWER_KEYS", "CONSTANT_NAMES",
           "bank", "get_exercise", "load_exercise", "variant_for", "variant_at", "render",
           "placeholders", "spec_text", "student_family", "check", "reference_answer",
           "BANK_DIR", "MAX_STUDENT_ID"]

BANK_DIR = Path(__file__).with_name("exercises")
KINDS = ("constant", "ratio", "counterexample", "axioms", "fixed-point", "generations", "rule")
ANSWER_KEYS = {
    "constant": {"constant"},
    "ratio": {"constant", "direction", "threshold", "factor"},
    "counterexample": {"axiom", "student", "classes"},
    "axioms": {"axioms"},
    "fixed-point": {"classes"},
    "generations": {"epsilon", "q0", "method", "limit"},
    "rule": {"constant"},
}
CONSTANT_NAMES = {
    "kl_forward": "κ_fwd = sup_q KL(p̄‖Φq) / KL(p̄‖q)",
    "kl_reverse": "κ_rev = sup_q KL(Φq‖p̄) / KL(q‖p̄)",
    "kl_pairwise": "κ_pair = sup KL(Φq‖Φr) / KL(q‖r)",
    "local": "κ_loc, the squared spectral radius of the Jacobian at the fixed point",
    "tv": "η_TV = sup TV(Φq, Φr) / TV(q, r)",
    "hilbert": "the Hilbert-metric coefficient sup d_H(Φq, Φr) / d_H(q, r)",
}
MAX_STUDENT_ID = 200
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
_EXERCISE_KEYS = {"id", "title", "kind", "points", "family", "statement", "hint"}


class ExerciseError(ValueError):
    """An exercise file that cannot be used, or an unknown exercise/student id."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of the bank, as declared (see the module docstring)."""
    id: str
    title: str
    kind: str
    statement: str
    points: float = 1.0
    family: str | None = None
    spec: dict | None = field(default=None, compare=False, hash=False)
    variants: tuple = field(default=(), compare=False, hash=False)   # ((name, [values]), ...)
    answer: dict = field(default_factory=dict, compare=False, hash=False)
    hint: str = ""
    source: str = ""

    @property
    def count(self) -> int:
        """The number of distinct variants."""
        n = 1
        for _, values in self.variants:
            n *= len(values)
        return n


@dataclass(frozen=True)
class Variant:
    """The exercise as one student sees it.

    ``code``: the index of each variant dimension (the cache key is ``(id, code)``);
    ``choice``: the chosen entries; ``family``: the family with the chosen values fixed
    (``None`` for a convexity exercise without one); ``settings``: ``[answer]`` with
    the choice's overrides; ``anchor``: the fixed anchor, when one is chosen."""
    exercise: Exercise
    code: tuple[int, ...]
    choice: dict
    family: object
    settings: dict
    anchor: tuple | None = None

    @property
    def key(self) -> tuple:
        return (self.exercise.id, self.exercise.source, self.code)

    @property
    def label(self) -> str:
        return ".".join(str(i) for i in self.code) or "0"

    @property
    def classes(self) -> int:
        if "classes" in self.settings:
            return int(self.settings["classes"])
        if "student" in self.settings:
            return student_family(self).classes
        if self.anchor is not None:
            return len(self.anchor)
        fam = self.family
        return fam.classes[0] if fam is not None else 2


def student_family(variant):
    """The student family ``S`` of a realizability/convexity exercise: a built-in name
    (``[answer] student``, or a variant), or ``"spec"`` for the ``[spec.student]`` table."""
    from ..axioms.students import family_students, get_student
    name = variant.settings.get("student")
    if name in (None, "spec"):
        found = family_students(variant.family) if variant.family is not None else []
        if not found:
            raise ExerciseError("the exercise names no student family")
        return found[0]
    return get_student(name)


# --- loading ------------------------------------------------------------------------
def load_exercise(path: str | Path) -> Exercise:
    """The exercise of one TOML file; :class:`ExerciseError` names the file and key."""
    path = Path(path)
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ExerciseError(f"{where}: cannot read the exercise: {exc}") from None
    extra = set(data) - {"exercise", "spec", "variants", "answer"}
    if extra:
        raise ExerciseError(f"{where}: unknown tables {sorted(extra)}; allowed: [exercise], "
                            "[spec], [variants], [answer]")
    head = data.get("exercise")
    if not isinstance(head, dict):
        raise ExerciseError(f"{where}: missing table [exercise]")
    if set(head) - _EXERCISE_KEYS:
        raise ExerciseError(f"{where}: unknown keys {sorted(set(head) - _EXERCISE_KEYS)} in "
                            f"[exercise]; allowed: {', '.join(sorted(_EXERCISE_KEYS))}")
    ex_id = head.get("id")
    if not isinstance(ex_id, str) or not _ID.match(ex_id):
        raise ExerciseError(f"{where}: [exercise] id must be lower-case letters, digits "
                            "and '-' (at most 63)")
    if path.suffix == ".toml" and path.stem != ex_id:
        raise ExerciseError(f"{where}: the id {ex_id!r} differs from the file name")
    kind = head.get("kind")
    if kind not in KINDS:
        raise ExerciseError(f"{where}: kind must be one of {', '.join(KINDS)}")
    for key in ("title", "statement"):
        if not isinstance(head.get(key), str) or not head[key].strip():
            raise ExerciseError(f"{where}: [exercise] needs a {key} (a non-empty string)")
    points = head.get("points", 1)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not 0 < points <= 1000:
        raise ExerciseError(f"{where}: points must be a positive number")
    spec = data.get("spec")
    family = head.get("family")
    if family is not None and not isinstance(family, str):
        raise ExerciseError(f"{where}: family must be a catalogue name (a string)")
    if spec is not None and (family is not None or not isinstance(spec, dict)):
        raise ExerciseError(f"{where}: give either [exercise] family or a [spec] table")
    answer = data.get("answer", {})
    if not isinstance(answer, dict):
        raise ExerciseError(f"{where}: [answer] must be a table")
    allowed = ANSWER_KEYS[kind] | {"reference"}
    if set(answer) - allowed:
        raise ExerciseError(f"{where}: unknown keys {sorted(set(answer) - allowed)} in "
                            f"[answer] for a {kind} exercise; allowed: {', '.join(sorted(allowed))}")
    variants = []
    for name, values in data.get("variants", {}).items():
        if not isinstance(values, list) or not 1 <= len(values) <= 64:
            raise ExerciseError(f"{where}: [variants] {name} must be a list of 1 to 64 entries")
        if name == "case" and not all(isinstance(v, dict) for v in values):
            raise ExerciseError(f"{where}: [variants] case entries must be tables")
        variants.append((name, values))
    if family is None and spec is None and not _has_family(variants):
        if not (kind == "counterexample" and answer.get("axiom") == "convexity"):
            raise ExerciseError(f"{where}: no family: give [exercise] family, a [spec] "
                                "table, or a variants family list")
    return Exercise(ex_id, head["title"].strip(), kind, head["statement"], float(points),
                    family, spec, tuple(variants), answer, str(head.get("hint", "")), where)


def _has_family(variants) -> bool:
    return any(name == "family" or (name == "case" and all("family" in v for v in values))
               for name, values in variants)


def _bank_dirs(extra=()) -> list[Path]:
    dirs = [BANK_DIR] + [Path(d) for d in extra]
    env = os.environ.get("DISTILLPROOF_EXERCISES", "")
    dirs += [Path(d) for d in env.split(os.pathsep) if d.strip()]
    return dirs


_BANKS: dict[tuple, dict[str, Exercise]] = {}


def bank(extra_dirs=()) -> dict[str, Exercise]:
    """Every exercise, by id: the built-in bank, then the directories ``extra_dirs`` and
    ``$DISTILLPROOF_EXERCISES`` (``os.pathsep``-separated), a later file replacing an
    earlier one of the same id.  Cached per list of directories."""
    dirs = tuple(_bank_dirs(extra_dirs))
    if dirs not in _BANKS:
        out: dict[str, Exercise] = {}
        for d in dirs:
            if not d.is_dir():
                raise ExerciseError(f"{d}: not a directory of exercises")
            for path in sorted(d.glob("*.toml")):
                ex = load_exercise(path)
                out[ex.id] = ex
        _BANKS[dirs] = out
    return _BANKS[dirs]


def get_exercise(ex_id: str, extra_dirs=()) -> Exercise:
    exercises = bank(extra_dirs)
    if ex_id not in exercises:
        raise ExerciseError(f"no exercise {ex_id!r}; known: {', '.join(sorted(exercises))}")
    return exercises[ex_id]


# --- variants -----------------------------------------------------------------------
def _check_student(student) -> str:
    if not isinstance(student, str) or not student.strip():
        raise ExerciseError("a student id must be a non-empty string")
    student = student.strip()
    if len(student) > MAX_STUDENT_ID or not student.isprintable():
        raise ExerciseError(f"a student id must be printable and at most {MAX_STUDENT_ID} "
                            "characters")
    return student


def variant_code(exercise: Exercise, student: str) -> tuple[int, ...]:
    """The variant of ``student``: ``sha256("<exercise id>\\0<student id>")`` read as an
    integer, in mixed radix over the variant dimensions."""
    student = _check_student(student)
    h = int(hashlib.sha256(f"{exercise.id}\0{student}".encode()).hexdigest(), 16)
    h %= exercise.count
    code = []
    for _, values in exercise.variants:
        code.append(h % len(values))
        h //= len(values)
    return tuple(code)


_VARIANTS: dict[tuple, Variant] = {}


def variant_for(exercise: Exercise, student: str) -> Variant:
    """The variant ``student`` gets (cached per exercise and variant)."""
    return variant_at(exercise, variant_code(exercise, student))


def variant_at(exercise: Exercise, code: tuple[int, ...]) -> Variant:
    key = (exercise.id, exercise.source, tuple(code))
    if key not in _VARIANTS:
        _VARIANTS[key] = _build_variant(exercise, tuple(code))
    return _VARIANTS[key]


def _build_variant(exercise: Exercise, code) -> Variant:
    choice: dict = {}
    for (name, values), i in zip(exercise.variants, code):
        if name == "case":
            choice.update(values[i])
        else:
            choice[name] = values[i]
    where = exercise.source
    settings = dict(exercise.answer)
    settings.update({k: v for k, v in choice.items() if k in ANSWER_KEYS[exercise.kind]})
    try:
        family = _family(exercise, choice)
        anchor = None
        if "anchor" in choice:
            anchor = _vector(choice["anchor"], "anchor")
            if family is not None:
                family = dataclasses.replace(family, fixed_vectors=(("p", anchor),),
                                             classes=(len(anchor),))
        if family is not None:
            params = {p.name for p in family.parameters}
            values = {k: _rational(v, k) for k, v in choice.items() if k in params}
            if values:
                family = family.with_values(values)
    except (ValueError, KeyError, TypeError) as exc:
        raise ExerciseError(f"{where}: variant {'.'.join(map(str, code))}: "
                            f"{str(exc).strip(chr(34))}") from None
    return Variant(exercise, code, choice, family, settings, anchor)


_SPECS: dict[tuple, object] = {}


def _family(exercise: Exercise, choice: dict):
    from ..axioms.catalogue import get_family
    if "family" in choice:
        return get_family(choice["family"])
    if exercise.family is not None:
        return get_family(exercise.family)
    if exercise.spec is None:
        return None
    spec = json.loads(json.dumps(exercise.spec))          # a deep copy
    matrices = spec.get("matrices", {})
    for name in matrices:
        if name in choice:
            matrices[name] = choice[name]
    text = spec_text(spec)
    key = (exercise.source, text)
    if key not in _SPECS:
        from ..axioms.spec import parse_spec
        _SPECS[key] = parse_spec(text, f"{exercise.source} [spec]")
    return _SPECS[key]


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)                  # JSON string escapes are TOML basic strings
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ExerciseError(f"spec values must be strings, integers or lists, got {v!r}")


def spec_text(spec: dict) -> str:
    """The inline ``[spec]`` table as the text of a family spec file."""
    lines = []
    for table, body in spec.items():
        if not isinstance(body, dict):
            raise ExerciseError(f"[spec.{table}] must be a table")
        lines.append(f"[{table}]")
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in body.items()]
        lines.append("")
    return "\n".join(lines)


def _rational(v, what: str) -> sp.Rational:
    from fractions import Fraction
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise ExerciseError(f"{what}: {v!r} is not an exact number (write \"3/10\")")
    try:
        f = Fraction(str(v).strip())
    except (ValueError, ZeroDivisionError):
        raise ExerciseError(f"{what}: {v!r} is not an exact number (write \"3/10\")") from None
    return sp.Rational(f.numerator, f.denominator)


def _vector(v, what: str) -> tuple:
    if not isinstance(v, list) or len(v) < 2:
        raise ExerciseError(f"{what} must be a list of at least two exact numbers")
    out = tuple(_rational(x, what) for x in v)
    if any(x <= 0 for x in out) or sum(out) != 1:
        raise ExerciseError(f"{what} {[str(x) for x in out]} is not in the open simplex")
    return out


# --- statements ---------------------------------------------------------------------
def render(variant: Variant, fmt: str = "text", *, answer_help: str = "") -> str:
    """The statement of ``variant`` (see :mod:`.exercise_render`)."""
    from .exercise_render import render as _render
    return _render(variant, fmt, answer_help=answer_help)


def placeholders(variant: Variant) -> dict[str, tuple[str, str]]:
    """``{name: (text, latex)}`` for the statement of ``variant``."""
    from .exercise_render import placeholders as _placeholders
    return _placeholders(variant)


# --- grading (the public entry points; the machinery is in ._grading*) -------------
def check(exercise, student: str, answer, **kw):
    """Grade one untrusted ``answer``: a :class:`~._grading.Grade` (score, status,
    feedback).  Never raises for a bad answer (see :func:`._grading.check`)."""
    from ._grading import check as _check
    return _check(exercise, student, answer, **kw)


def reference_answer(variant: Variant) -> str | None:
    """The engine's reference answer of ``variant``, in answer syntax (cached)."""
    from ._grading_reference import reference
    return reference(variant).answer
