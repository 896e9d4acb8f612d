r"""Family specs: a TOML file in, a :class:`~distillproof.axioms.family.Family` out.

::

    [family]
    name = "power-mean anchoring"
    kind = "meta-teacher"              # meta-teacher | aggregation | softening
    classes = [2, 3]                   # K for the exact per-K checks (2..8; default [2, 3])
    doc = "..."                        # optional; so is reference
    constraints = ["w1 + w2 == 1"]     # optional relations between parameters

    [parameters]                       # in order; a domain may use earlier parameters
    alpha = "0 < alpha < 1"            # a domain: a (chained) comparison
    r = "1/2"                          # or a fixed exact value (a string or TOML integer)

    [matrices]                         # optional constant K x K matrices, used as W @ q
    W = [["1/2", "1/2"], [0, 1]]

    [map]
    value = "normalize((alpha*p**r + (1 - alpha)*q**r)**(1/r))"

    [schedule]                         # optional: one parameter as a function of time t
    alpha = "1/(t + 2)"

    [student]                          # optional: the student family S, by constraints on x
    where = ["x[0]*x[3] == x[1]*x[2]"]
    classes = [4]                      # default: the family's classes
    name = "independence 2x2"          # optional, and so is doc

A spec with *only* a ``[student]`` table (then ``classes`` is required) declares a
student family on its own, for ``verify --student``: :func:`parse_student_spec`.

Names in the map, by kind: *meta-teacher* ``p`` (anchor), ``q`` or ``q1..q8`` (students,
most recent first); *aggregation* ``p1..p8`` (teachers), with weights ``w1..w8``
usable only as declared parameters; *softening* ``x``, and the temperature ``T`` must be
declared.  Parameters are real scalars; expression text goes through the whitelisting
parser of :mod:`distillproof.axioms._parser` and nothing else.

Every domain (each parameter in turn, then each constraint; the student's relations
with the simplex) is checked to be non-empty, exactly: one-parameter rational
relations of degree <= 4 with ``solveset`` over the reals, anything else polynomial
(rational powers through auxiliary variables) with Z3 (:data:`distillproof.axioms._domains.Z3_TIMEOUT_MS` per
check, :data:`DOMAIN_CHECK_SECONDS` per spec).  What neither decides (transcendental,
time out) is accepted and recorded as ``extra["domain_check"] = "undecided"``.  The
schedule's parameter goes to ``extra["schedule_parameter"]``, the student's classes
to ``extra["student_classes"]``.

Positions: ``tomllib`` reports line/column only for its own syntax errors, so the
position of a key's value is found by scanning the text for ``key =`` inside the
key's ``[table]`` (skipping multi-line strings), and of an array's n-th string by
scanning its brackets.  Columns inside a string are exact unless the string uses
escape sequences before the error.
"""
from __future__ import annotations

import pathlib
import re
import time
import tomllib

import sympy as sp

from ._parser import FUNCTIONS, MAX_LITERAL_DIGITS, SpecError, parse_expression
from .family import KINDS, Family, FamilyError, Parameter
from ._domains import _satisfiable
from .vector import MatVec, components

__all__ = ["load_spec", "parse_spec", "parse_student_spec", "load_student_spec", "SpecError",
           "MAX_SPEC_CHARS", "MAX_CLASSES"]

MAX_SPEC_CHARS = 100_000
MAX_CLASSES = 8
DOMAIN_CHECK_SECONDS = 10     # for all checks of one spec; beyond it, "undecided"
MAX_RELATIONS = 64            # parameters, constraints and student relations each
KEYS = {"family": {"name", "kind", "classes", "doc", "reference", "constraints"},
        "parameters": None, "matrices": None, "map": {"value"}, "schedule": None,
        "student": {"where", "classes", "name", "doc"}}
VECTORS = {"meta-teacher": {"p", "q"} | {f"q{k}" for k in range(1, MAX_CLASSES + 1)},
           "aggregation": {f"p{k}" for k in range(1, MAX_CLASSES + 1)},
           "softening": {"x"}}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}\Z")
_RESERVED = re.compile(r"([pqx]\d*|.*_\d+)\Z")
_HEADER = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?\Z")
_KEY = re.compile(r"\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)\s*=\s*")
_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*\Z")


class _Source:
    """The spec text and where its tables, keys and values are."""

    def __init__(self, text: str, where: str):
        self.text, self.where = text, where
        self.headers: dict[str, int] = {}
        self.keys: dict[tuple[str | None, str], tuple[int, int]] = {}
        table, offset, in_string = None, 0, False
        for line in text.splitlines(keepends=True):
            if not in_string:
                head = _HEADER.match(line.rstrip("\r\n"))
                if head and not line.lstrip().startswith("[["):
                    table = head.group(1).strip("\"'")
                    self.headers.setdefault(table, offset + line.index("["))
                elif key := _KEY.match(line):
                    name = key.group(1).strip("\"'")
                    self.keys.setdefault((table, name), (offset + key.start(1), offset + key.end()))
            if (line.count('"""') + line.count("'''")) % 2:
                in_string = not in_string
            offset += len(line)

    def position(self, offset: int) -> tuple[int, int]:
        return self.text.count("\n", 0, offset) + 1, offset - self.text.rfind("\n", 0, offset)

    def error(self, message: str, offset: int = 0) -> SpecError:
        return SpecError(message, self.where, *self.position(offset))

    def key(self, table: str | None, key: str) -> int:
        """Offset of ``key`` in ``[table]`` (else of the table header, else 0)."""
        if (table, key) in self.keys:
            return self.keys[table, key][0]
        return self.headers.get(table, 0) if table else 0

    def value(self, table: str, key: str) -> int:
        """Offset where the key's value starts, inside the quotes for a string."""
        if (table, key) not in self.keys:
            return self.key(table, key)
        i = self.keys[table, key][1]
        if self.text.startswith(('"""', "'''"), i):
            i += 3
            i += 2 if self.text.startswith("\r\n", i) else 1 if self.text.startswith("\n", i) else 0
        elif self.text.startswith(('"', "'"), i):
            i += 1
        return i

    def strings(self, table: str, key: str) -> list[int]:
        """Offsets of the contents of the strings in the key's array value, in order."""
        text, out = self.text, []
        if (table, key) not in self.keys:
            return out
        i, depth = self.keys[table, key][1], 0
        while i < len(text):
            c = text[i]
            if c == "#":
                j = text.find("\n", i)
                i = len(text) if j < 0 else j
                continue
            if text.startswith(('"""', "'''"), i):
                quote, j = text[i:i + 3], i + 3
                out.append(j + (1 if text.startswith("\n", j) else 0))
                end = text.find(quote, j)
                i = len(text) if end < 0 else end + 3
                continue
            if c in "\"'":
                j = i + 1
                while j < len(text) and text[j] != c:
                    j += 2 if c == '"' and text[j] == "\\" else 1
                out.append(i + 1)
                i = j + 1
                continue
            depth += (c == "[") - (c == "]")
            if depth <= 0 and (c == "]" or c == "\n"):
                break
            i += 1
        return out

    def nth_string(self, table: str, key: str, n: int) -> int:
        offsets = self.strings(table, key)
        return offsets[n] if n < len(offsets) else self.value(table, key)


class _Builder:
    def __init__(self, src: _Source, data: dict):
        self.src, self.data = src, data
        self.undecided = False
        self.deadline = time.monotonic() + DOMAIN_CHECK_SECONDS

    def satisfiable(self, relations, focus=None) -> bool | None:
        if time.monotonic() > self.deadline:
            self.undecided = True
            return None
        verdict = _satisfiable(relations, focus)
        self.undecided |= verdict is None
        return verdict

    def fail(self, message: str, table: str | None = None, key: str | None = None,
             offset: int | None = None) -> SpecError:
        if offset is None:
            offset = self.src.key(table, key) if key else self.src.headers.get(table, 0)
        return self.src.error(message, offset)

    def expr(self, text, table: str, key: str, offset: int | None = None, **kw):
        if not isinstance(text, str):
            raise self.fail(f"{key} must be a string", table, key)
        offset = self.src.value(table, key) if offset is None else offset
        line, column = self.src.position(offset)
        return parse_expression(text, where=self.src.where, line=line, column=column, **kw)

    def table(self, name: str, required: bool = False) -> dict:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.fail(f"missing table [{name}]")
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"{name} must be a table [{name}]", None, name)
        allowed = KEYS[name]
        for key in value:
            if allowed is not None and key not in allowed:
                raise self.fail(f"unknown key {key!r} in [{name}]; allowed: "
                                f"{', '.join(sorted(allowed))}", name, key)
        return value

    def classes(self, value, table: str) -> tuple[int, ...]:
        if (not isinstance(value, list) or not value or any(
                type(k) is not int or not 2 <= k <= MAX_CLASSES for k in value)):
            raise self.fail(f"classes must be a non-empty list of integers 2..{MAX_CLASSES}",
                            table, "classes")
        return tuple(dict.fromkeys(value))

    def build(self) -> Family:
        for key in self.data:
            if key not in KEYS:
                raise self.fail(f"unknown table or key {key!r}; allowed tables: "
                                f"{', '.join('[' + k + ']' for k in KEYS)}",
                                None if (None, key) in self.src.keys else key, key)
        fam = self.table("family", required=True)
        name, kind = fam.get("name"), fam.get("kind")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("[family] needs a name (a non-empty string)", "family", "name")
        if kind not in KINDS:
            raise self.fail(f"kind must be one of {', '.join(KINDS)}", "family", "kind")
        for key in ("doc", "reference"):
            if not isinstance(fam.get(key, ""), str):
                raise self.fail(f"{key} must be a string", "family", key)
        classes = self.classes(fam.get("classes", [2, 3]), "family")
        vectors = VECTORS[kind]
        matrices = self.matrices(vectors)
        params = self.parameters(vectors, matrices)
        scalars = {p.name for p in params}
        mapping = self.table("map", required=True)
        if "value" not in mapping:
            raise self.fail("[map] needs value = \"...\"", "map")
        expr = self.expr(mapping["value"], "map", "value", scalars=scalars, vectors=vectors,
                         matrices=matrices)
        self.check_map(expr, kind, classes, scalars)
        constraints = self.constraints(fam, scalars, params)
        schedule, extra = self.schedule(params), {}
        if schedule is not None:
            extra["schedule_parameter"], schedule = schedule
        student = self.student(classes, extra)
        extra["domain_check"] = "undecided" if self.undecided else "non-empty"
        try:
            return Family(name, kind, map=expr, parameters=params, classes=classes,
                          constraints=constraints, doc=fam.get("doc", ""),
                          reference=fam.get("reference", ""), schedule=schedule,
                          student=student, source=self.src.where, extra=extra)
        except FamilyError as e:
            raise self.fail(str(e), "map", "value") from None

    def matrices(self, vectors) -> dict[str, sp.ImmutableMatrix]:
        out = {}
        for name, rows in self.table("matrices").items():
            if not _NAME.match(name) or name in FUNCTIONS or name in vectors:
                raise self.fail(f"bad matrix name {name!r}", "matrices", name)
            if (not isinstance(rows, list) or not 2 <= len(rows) <= MAX_CLASSES or any(
                    not isinstance(r, list) or len(r) != len(rows) for r in rows)):
                raise self.fail(f"matrix {name} must be a square array of rows, 2x2 to "
                                f"{MAX_CLASSES}x{MAX_CLASSES}", "matrices", name)
            entries, n_string = [], 0
            for entry in (e for r in rows for e in r):
                if isinstance(entry, str):
                    value = self.expr(entry, "matrices", name, scalars=set(), vectors=set(),
                                      offset=self.src.nth_string("matrices", name, n_string))
                    n_string += 1
                elif type(entry) is int and len(str(abs(entry))) <= MAX_LITERAL_DIGITS:
                    value = sp.Integer(entry)
                else:
                    raise self.fail(f"matrix {name}: entries must be exact numbers, as "
                                    "integers or strings like \"1/2\"", "matrices", name)
                if not isinstance(value, sp.Rational):
                    raise self.fail(f"matrix {name}: entry {value} is not an exact rational",
                                    "matrices", name)
                entries.append(value)
            out[name] = sp.ImmutableMatrix(len(rows), len(rows), entries)
        return out

    def parameters(self, vectors, matrices) -> tuple[Parameter, ...]:
        params: list[Parameter] = []
        table = self.table("parameters")
        if len(table) > MAX_RELATIONS:
            raise self.fail(f"more than {MAX_RELATIONS} parameters", "parameters")
        for name, value in table.items():
            if not _NAME.match(name) or _RESERVED.match(name) or name in FUNCTIONS:
                raise self.fail(f"bad parameter name {name!r}: use a letter then letters, "
                                "digits or _, not a function or vector name", "parameters", name)
            if name in vectors or name in matrices:
                raise self.fail(f"parameter {name!r} clashes with a vector or matrix",
                                "parameters", name)
            symbol = sp.Symbol(name, real=True)
            if type(value) is int:
                if len(str(abs(value))) > MAX_LITERAL_DIGITS:
                    raise self.fail(f"value of {name} has too many digits", "parameters", name)
                params.append(Parameter(symbol, (), sp.Integer(value)))
            elif isinstance(value, str) and any(c in value for c in "<>=!"):
                known = {p.name for p in params} | {name}
                domain = self.expr(value, "parameters", name, scalars=known, vectors=set(),
                                   allow_relations=True)
                if any(r is sp.false for r in domain):
                    raise self.fail(f"the domain of {name} is empty", "parameters", name)
                if not any(symbol in r.free_symbols for r in domain):
                    raise self.fail(f"the domain of {name} does not mention {name}",
                                    "parameters", name)
                params.append(Parameter(symbol, tuple(r for r in domain if r is not sp.true)))
                self.check_nonempty(params, [], {symbol}, f"the domain of {name} is empty",
                                    "parameters", name)
            elif isinstance(value, str):
                fixed = self.expr(value, "parameters", name, scalars=set(), vectors=set())
                if not isinstance(fixed, sp.Rational):
                    raise self.fail(f"value of {name} must be an exact rational number, got "
                                    f"{fixed}", "parameters", name)
                params.append(Parameter(symbol, (), fixed))
            else:
                raise self.fail(f"parameter {name}: give a domain like \"0 < {name} < 1\" or "
                                "an exact value like \"1/2\" (TOML floats are inexact)",
                                "parameters", name)
        return tuple(params)

    def check_nonempty(self, params, constraints, focus, message, table, key, offset=None):
        """Fail with ``message`` when the free parameters' domains and the constraints
        so far leave no point; only the part linked to ``focus`` is (re)decided."""
        fixed = {p.symbol: p.value for p in params if p.value is not None}
        relations = [r.subs(fixed) for p in params if p.value is None for r in p.domain]
        relations += [r.subs(fixed) for r in constraints]
        if self.satisfiable(relations, focus) is False:
            raise self.fail(message, table, key, offset)

    def check_map(self, expr, kind, classes, scalars) -> None:
        names = {s.name for s in expr.free_symbols}
        if kind == "meta-teacher" and "q" in names and any(
                n[:1] == "q" and n[1:].isdigit() for n in names):
            raise self.fail("use either q or q1..q8 for the students, not both", "map", "value")
        if kind == "softening" and "T" not in scalars:
            raise self.fail("a softening spec must declare the temperature parameter T",
                            "parameters" if "parameters" in self.data else "family")
        for mv in expr.atoms(MatVec):
            size = mv.args[0].shape[0]
            if any(k != size for k in classes):
                raise self.fail(f"a {size}x{size} matrix needs classes = [{size}], got "
                                f"{list(classes)}", "map", "value")

    def constraints(self, fam, scalars, params) -> tuple[sp.Basic, ...]:
        texts = fam.get("constraints", [])
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or len(
                texts) > MAX_RELATIONS:
            raise self.fail(f"constraints must be a list of at most {MAX_RELATIONS} strings",
                            "family", "constraints")
        out: list[sp.Basic] = []
        fixed = {p.symbol: p.value for p in params if p.value is not None}
        for n, text in enumerate(texts):
            offset = self.src.nth_string("family", "constraints", n)
            rels = self.expr(text, "family", "constraints", offset=offset, scalars=scalars,
                             vectors=set(), allow_relations=True)
            rels = [r for r in rels if r is not sp.true]
            if any(r.subs(fixed) is sp.false for r in rels):
                raise self.fail(f"constraint {text!r} is false", offset=offset)
            out += rels
            self.check_nonempty(params, out, set().union(*(r.free_symbols for r in rels)),
                                f"constraint {text!r} leaves no admissible parameters "
                                "(with the domains declared)", None, None, offset)
        return tuple(out)

    def schedule(self, params):
        table = self.table("schedule")
        if not table:
            return None
        if len(table) != 1:
            raise self.fail("[schedule] gives exactly one parameter as a function of t",
                            "schedule")
        ((name, text),) = table.items()
        free = {p.name for p in params if p.value is None}
        if name not in free:
            raise self.fail(f"schedule for {name!r}, which is not a free parameter "
                            f"(free: {', '.join(sorted(free)) or 'none'})", "schedule", name)
        if "t" in {p.name for p in params}:
            raise self.fail("t is the time in [schedule]; rename the parameter t",
                            "parameters", "t")
        scalars = {p.name for p in params} | {"t"}
        return name, self.expr(text, "schedule", name, scalars=scalars, vectors=set())

    def student(self, classes, extra):
        table = self.table("student")
        if not table:
            return None
        texts = table.get("where")
        if not isinstance(texts, list) or not texts or len(texts) > MAX_RELATIONS or not all(
                isinstance(t, str) for t in texts):
            raise self.fail(f"[student] needs where = [\"...\", ...], a list of at most "
                            f"{MAX_RELATIONS} relations", "student",
                            "where" if "where" in table else None)
        student_classes = (self.classes(table["classes"], "student") if "classes" in table
                           else classes)
        out: list[sp.Basic] = []
        for n, text in enumerate(texts):
            offset = self.src.nth_string("student", "where", n)
            rels = self.expr(text, "student", "where", offset=offset, scalars=set(),
                             vectors={"x"}, allow_relations=True, allow_index=True)
            for s in set().union(*(r.free_symbols for r in rels)):
                if s.name.startswith("x_") and int(s.name[2:]) >= min(student_classes):
                    raise self.fail(f"x[{s.name[2:]}] is out of range for "
                                    f"{min(student_classes)} classes", offset=offset)
            out += [r for r in rels if r is not sp.true]
            k = min(student_classes)
            simplex = [sp.Eq(sum(components("x", k)), 1)] if any(
                s.name.startswith("x_") for r in out for s in r.free_symbols) else []
            if self.satisfiable(out + simplex) is False:
                raise self.fail(f"student constraint {text!r} leaves no point of the open "
                                f"simplex (K = {k})", offset=offset)
        extra["student_classes"] = student_classes
        for key in ("name", "doc"):
            if not isinstance(table.get(key, ""), str):
                raise self.fail(f"{key} must be a string", "student", key)
        if table.get("name", "").strip():
            extra["student_name"] = table["name"].strip()
        return tuple(out)


def parse_spec(text: str, where: str) -> Family:
    """The family of the TOML spec ``text``; ``where`` names it in error messages."""
    return _Builder(_Source(text, where), _toml(text, where)).build()


def parse_student_spec(text: str, where: str) -> dict:
    """A spec that declares only a student family (``[student]`` with ``name``,
    ``classes``, ``where`` and optional ``doc``): ``{"name", "doc", "classes",
    "where"}``, the relations parsed as in a family spec.  A full family spec is
    accepted too; its ``[student]`` table is what is read."""
    data = _toml(text, where)
    builder = _Builder(_Source(text, where), data)
    if "family" in data:
        fam = builder.build()
        if fam.student is None:
            raise builder.fail("this spec has no [student] table")
        return {"name": fam.extra.get("student_name", f"student of {fam.name}"),
                "doc": data["student"].get("doc", ""), "where": fam.student,
                "classes": fam.extra["student_classes"]}
    for key in data:
        if key != "student":
            raise builder.fail(f"a student-only spec has just a [student] table; found "
                               f"{key!r} (a family spec needs [family] and [map])", key)
    table = builder.table("student", required=True)
    if "classes" not in table:
        raise builder.fail("[student] needs classes = [K, ...] in a student-only spec",
                           "student")
    extra: dict = {}
    relations = builder.student(None, extra)
    return {"name": extra.get("student_name", where), "doc": table.get("doc", ""),
            "where": relations, "classes": extra["student_classes"]}


def load_student_spec(source: str | pathlib.Path, *, where: str | None = None) -> dict:
    """:func:`parse_student_spec` of a path (or of TOML text when ``where`` is given)."""
    return parse_student_spec(*_read(source, where))


def _toml(text: str, where: str) -> dict:
    if not isinstance(text, str):
        raise SpecError(f"expected TOML text, got {type(text).__name__}", where)
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(f"spec longer than {MAX_SPEC_CHARS} characters", where)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message, line, column = str(e), 1, 1
        if m := _TOML_POS.search(message):
            line, column, message = int(m.group(1)), int(m.group(2)), message[:m.start()]
        raise SpecError(f"TOML syntax: {message}", where, line, column) from None
    except (RecursionError, MemoryError):
        raise SpecError("TOML nested too deeply", where) from None
    return data


def load_spec(source: str | pathlib.Path, *, where: str | None = None) -> Family:
    """The family of a spec: ``source`` is a path, or TOML text when ``where`` is given
    (a :class:`pathlib.Path` is always read, ``where`` then only labels it)."""
    return parse_spec(*_read(source, where))


def _read(source, where) -> tuple[str, str]:
    """``(text, label)`` of a spec path, or of TOML text when ``where`` is given."""
    if where is not None and not isinstance(source, pathlib.Path):
        return source, where
    path = pathlib.Path(source)
    label = where or str(path)
    try:
        if path.stat().st_size > 4 * MAX_SPEC_CHARS:
            raise SpecError(f"spec file larger than {4 * MAX_SPEC_CHARS} bytes", label)
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise SpecError(f"cannot read the spec: {e.strerror or e}", label) from None
    except UnicodeDecodeError as e:
        raise SpecError(f"the spec is not UTF-8 ({e.reason} at byte {e.start})", label) from None
    return text, label
