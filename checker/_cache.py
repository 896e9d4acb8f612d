"""On-disk cache of per-family verification results.

A verification is a pure function of the family, the settings, the axioms asked for,
the student families and the code, so its result can be kept.  The key is a SHA-256 of

* the family's canonical form: ``sympy.srepr`` of its map, anchor, schedule and of
  each parameter (symbol with its assumptions, domain, fixed value), constraints,
  classes, fixed vectors and student, plus its name, kind, doc and reference (they
  appear in the reports);
* the :class:`~.engine.Settings` fields, the axioms and the student references;
* the distillproof version and a hash of every ``.py`` file of the ``axioms``,
  ``checker`` and ``proofs`` packages, so that any change of the code misses.

Entries are pickles of the :class:`~.engine.FamilyResult` (evidence, timings, the
contraction data; each axiom stored by id and re-linked from the registry on load)
under ``$DISTILLPROOF_CACHE``, else ``~/.cache/distillproof`` — never in the
repository.  Anything that goes wrong (unreadable entry, unpicklable result, a
read-only disk) is a miss, never an error: the cache only saves time.  Writes go
through a temporary file and ``os.replace``, so a concurrent reader never sees half
an entry.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "family_key", "load", "store", "code_hash", "clear", "ENV"]

ENV = "DISTILLPROOF_CACHE"
_FORMAT = 1


def cache_dir() -> Path:
    """``$DISTILLPROOF_CACHE``, else ``~/.cache/distillproof`` (``XDG_CACHE_HOME``)."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "distillproof"


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """SHA-256 over the sources of the engine's packages (path and bytes of each file)."""
    from .. import axioms, checker, proofs
    h = hashlib.sha256()
    for pkg in (axioms, checker, proofs):
        for root in pkg.__path__:
            base = Path(root)
            for path in sorted(base.rglob("*.py")):
                h.update(f"{pkg.__name__}/{path.relative_to(base).as_posix()}\0".encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def _canonical(family) -> list[str]:
    import sympy as sp
    srepr = lambda e: sp.srepr(e) if isinstance(e, sp.Basic) else repr(e)
    params = [(srepr(p.symbol), p.symbol.assumptions0 and sorted(p.symbol.assumptions0.items()),
               [srepr(r) for r in p.domain], srepr(p.value)) for p in family.parameters]
    student = _student(family.student)
    return [family.name, family.kind, srepr(family.map), srepr(family.anchor),
            srepr(family.schedule), repr(params), repr([srepr(c) for c in family.constraints]),
            repr(tuple(family.classes)), repr([(n, [srepr(v) for v in vs])
                                               for n, vs in family.fixed_vectors]),
            repr(student), family.doc, family.reference, repr(sorted(
                (k, repr(v)) for k, v in (family.extra or {}).items()))]


def _student(student):
    """A student family (or its relations, or a reference to one) as text."""
    import sympy as sp
    srepr = lambda e: sp.srepr(e) if isinstance(e, sp.Basic) else repr(e)
    if dataclasses.is_dataclass(student):
        return [f"{f.name}={srepr(getattr(student, f.name))}" for f in dataclasses.fields(student)
                if f.compare]
    if isinstance(student, (tuple, list)):
        return [_student(r) for r in student]
    if isinstance(student, (str, Path)) and Path(student).is_file():     # a spec: its text too
        return f"{student}:{hashlib.sha256(Path(student).read_bytes()).hexdigest()}"
    return srepr(student) if isinstance(student, sp.Basic) else str(student)


def family_key(family, settings, axioms=None, students=None) -> str:
    """The cache key (hex SHA-256) of one family's verification (module docstring)."""
    from .. import __version__
    parts = {"format": _FORMAT, "version": __version__, "code": code_hash(),
             "family": _canonical(family), "settings": repr(dataclasses.asdict(settings)),
             "axioms": repr(None if axioms is None else list(axioms)),
             "students": repr(None if students is None else _student(
                 [students] if isinstance(students, (str, Path)) or dataclasses.is_dataclass(students)
                 else list(students)))}
    h = hashlib.sha256()
    for k in sorted(parts):
        h.update(f"{k}\0{parts[k]}\0".encode())
    return h.hexdigest()


def _path(key: str) -> Path:
    return cache_dir() / "verify" / key[:2] / f"{key}.pickle"


def load(key: str, family):
    """The cached :class:`~.engine.FamilyResult` for ``key`` (its family replaced by
    ``family``, the object the caller holds), or ``None``."""
    from ..axioms.registry import get_axiom
    from .engine import AxiomResult, FamilyResult
    try:
        with open(_path(key), "rb") as fh:
            data = pickle.load(fh)
        if data.get("format") != _FORMAT:
            return None
        fr = FamilyResult(family, [AxiomResult(get_axiom(a), ev, s) for a, ev, s in data["results"]],
                          dict(data["not_applicable"]), data["contraction"])
        for name, value in data.get("attributes", {}).items():
            setattr(fr, name, value)
        return fr
    except Exception:                  # a miss: missing, stale, truncated or foreign entry
        return None


def store(key: str, fr) -> bool:
    """Write ``fr`` under ``key``; False (and nothing written) when it cannot be."""
    extra = {k: v for k, v in vars(fr).items()
             if k not in ("family", "results", "not_applicable", "contraction")}
    data = {"format": _FORMAT, "results": [(r.axiom.id, r.evidence, r.seconds) for r in fr.results],
            "not_applicable": dict(fr.not_applicable), "contraction": fr.contraction,
            "attributes": extra}
    path, tmp = _path(key), None
    try:
        blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
        return True
    except Exception:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False


def clear() -> int:
    """Remove every cached verification; the number of entries removed."""
    n = 0
    for path in (cache_dir() / "verify").glob("*/*.pickle"):
        try:
            path.unlink()
            n += 1
        except OSError:
            pass
    return n
