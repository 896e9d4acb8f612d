"""The library API behind ``import distillproof as dp`` and the CLI."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..reports.data import verification_data
from ..proofs.evidence import REFUTED, UNKNOWN
from .engine import FamilyResult, Settings, verify_family

__all__ = ["Verification", "verify", "resolve_family", "replay", "Settings"]


def resolve_family(ref):
    """A family from a :class:`Family`, a catalogue name, or a TOML spec path."""
    from ..axioms.family import Family
    if isinstance(ref, Family):
        return ref
    ref = str(ref)
    if ref.endswith(".toml") or Path(ref).is_file():
        from ..axioms.spec import load_spec
        return load_spec(Path(ref))
    from ..axioms.catalogue import get_family
    return get_family(ref)


class Verification:
    """The results of one run; renders itself (JSON, Markdown, and HTML in Jupyter)."""

    def __init__(self, families: list[FamilyResult], settings: Settings):
        self.families = families
        self.settings = settings

    def __getitem__(self, name: str) -> FamilyResult:
        for fr in self.families:
            if fr.family.name == name:
                return fr
        raise KeyError(name)

    def to_json(self) -> dict:
        return verification_data(self.families, self.settings)

    def to_markdown(self) -> str:
        from ..reports.markdown import render_markdown
        return render_markdown(self.to_json())

    def _repr_html_(self) -> str:
        try:
            from ..reports.html import render_html
            return render_html(self.to_json(), fragment=True)
        except ImportError:
            import html
            return "<pre>" + html.escape(self.to_markdown()) + "</pre>"


def verify(families, *, settings: Settings | None = None, axioms=None, progress=None,
           students=None, cache: bool = True, **kw) -> Verification:
    """Verify one family or several (Family objects, catalogue names or spec paths).

    Keyword arguments ``seed``, ``timeout_ms``, ``samples``, ``classes`` build the
    :class:`Settings` when ``settings`` is not given.  ``cache``: look each family up
    in the on-disk cache first and store what is computed (:mod:`._cache`).
    """
    settings = settings or Settings(**kw)
    if not isinstance(families, (list, tuple)):
        families = [families]
    results = []
    for f in families:
        fam = resolve_family(f)
        key = _cache_key(fam, settings, axioms, students) if cache else None
        fr = _cache_load(key, fam, progress)
        if fr is None:
            fr = verify_family(fam, settings, axioms=axioms, progress=progress)
            _attach_contraction(fr, settings)
            _attach_students(fr, settings, students)
            _attach_simulation(fr, settings)
            if key is not None:
                from ._cache import store
                store(key, fr)
        results.append(fr)
    return Verification(results, settings)


def _cache_key(family, settings, axioms, students) -> str | None:
    """The cache key, or None when the result depends on more than the key (claimed
    constants being decided in a ``claims_context``)."""
    try:
        from ._constants import _CLAIMS
        if _CLAIMS.get() is not None:
            return None
    except ImportError:
        pass
    from ._cache import family_key
    return family_key(family, settings, axioms, students)


def _cache_load(key, family, progress):
    if key is None:
        return None
    from ._cache import load
    fr = load(key, family)
    if fr is not None and progress:
        for r in fr.results:
            progress(family, r.axiom, r.evidence)
    return fr


def _attach_contraction(fr: FamilyResult, settings: Settings) -> None:
    """Constants and the fixed point (when the contraction calculus is present)."""
    try:
        from ._constants import constants_data
    except ImportError:
        return
    results = {r.axiom.id: r.status for r in fr.results}
    fr.contraction = constants_data(fr.family, settings, results=results)
    _explain_unknown_contraction(fr)


def _explain_unknown_contraction(fr: FamilyResult) -> None:
    """An MT3/MT3r/MT3p left unknown says what the contraction calculus knows: why no
    upper bound below 1 was derived, and the certified lower bound on the constant
    (when it is within 1e-6 of 1 the supremum looks like 1 without being attained: no
    κ < 1 exists, yet no finite witness can show it)."""
    import dataclasses
    from fractions import Fraction
    from .engine import KAPPA_KIND
    entries = {e["kind"]: e for e in (fr.contraction or {}).get("constants", [])}
    for r in fr.results:
        entry = entries.get(KAPPA_KIND.get(r.axiom.id))
        if r.status != UNKNOWN or entry is None or entry.get("upper") is not None:
            continue
        why = "; ".join(entry.get("reasons", [])[:1]) or "no rule applies"
        note = f"contraction calculus: no upper bound below 1 ({why})"
        low = entry.get("lower")
        if isinstance(low, dict) and "witness" in low:
            at = ", ".join(f"{k}={v}" for k, v in entry.get("at", {}).items())
            note += (f"; a certified witness gives {entry['kind']} >= {low['value']}"
                     + (f" at {at}" if at else ""))
            gap = 1 - Fraction(low["value"])
            if 0 <= gap < Fraction(1, 10**6):
                note += (f", within {float(gap):.1e} of 1: the supremum looks like 1, not "
                         "attained, so no kappa < 1 would exist, yet no finite witness can "
                         "reach it")
        r.evidence = dataclasses.replace(r.evidence, reason=f"{r.evidence.reason}; {note}")


def _attach_simulation(fr: FamilyResult, settings: Settings, generations: int = 30) -> None:
    """A short simulated recursion at the constants' parameter point, for the report's
    plots (distance to the fixed point against the proved bound; sampled ratios).  Every
    generation is checked against the proved bounds; a violation is an internal error."""
    if fr.family.kind != "meta-teacher" or fr.family.schedule is not None and not fr.family.free_parameters:
        return
    from ._constants import parameter_point
    from .simulate import simulate
    point = parameter_point(fr.family)
    at = {k: v for k, v in point.items() if k in {p.name for p in fr.family.free_parameters}}
    try:
        sim = simulate(fr.family, generations=generations, at=at, seed=settings.seed)
    except (ValueError, ArithmeticError, NotImplementedError) as exc:
        fr.contraction = {**(fr.contraction or {}), "simulation": {"skipped": str(exc)[:200]}}
        return
    if sim.violations:
        raise RuntimeError(f"internal error: a proved bound is violated in the simulation of "
                           f"{fr.family.name}: {sim.violations[:1]}")
    fr.contraction = {**(fr.contraction or {}), "simulation": sim.to_json()}


def _convexity_json(student, settings: Settings) -> dict:
    """C depends on the student family only: decided once per run."""
    from ..axioms.students import student_ref
    return _convexity_cached(student, settings, student_ref(student))


@lru_cache(maxsize=32)
def _convexity_cached(student, settings: Settings, ref) -> dict:
    from .convexity import convexity
    return _student_json(convexity(student, settings), None, ref)


def _student_json(check, family, ref=None) -> dict:
    """A realizability or convexity verdict's JSON, with the ``replay`` line of a
    refutation when the student family can be named again (``ref``: its built-in name
    or the spec it came from)."""
    from ..axioms.students import student_ref
    from ..reports.data import replay_line
    out = check.to_json()
    ref = ref or student_ref(check.student)
    if check.status == REFUTED and ref is not None:
        out["replay"] = replay_line(family, "R" if check.what == "realizability" else "C",
                                    check.evidence.witness, student=ref)
    return out


def _attach_students(fr: FamilyResult, settings: Settings, student=None) -> None:
    """R, C and the capacity-constrained recursion for each student family: the spec's
    ``[student]`` table and ``student`` (names, ``[student]`` spec paths or
    :class:`~distillproof.axioms.students.StudentFamily` objects, e.g. ``--student``).
    Adds ``"realizability"``, ``"convexity"`` and ``"capacity"`` (lists, one item per
    student family) to the family's JSON, and ``fr.students`` (the same dict)."""
    from ..axioms.students import family_students, load_student
    refs = [] if student is None else (
        [student] if isinstance(student, (str, Path)) or hasattr(student, "relations")
        else list(student))
    chosen = family_students(fr.family) + [s for r in refs for s in load_student(r)]
    if not chosen:
        return
    from .capacity import capacity
    from .realizability import realizability
    data: dict = {"realizability": [], "convexity": [], "capacity": []}
    for s in chosen:
        data["realizability"].append(_student_json(realizability(fr.family, s, settings),
                                                   fr.family))
        data["convexity"].append(_convexity_json(s, settings))
        try:
            data["capacity"].append(capacity(fr.family, s, seed=settings.seed))
        except ValueError as exc:
            data["capacity"].append({"student": s.name, "classes": s.classes,
                                     "status": "not applicable", "reason": str(exc)})
    fr.students = data
    fr.contraction = {**(fr.contraction or {}), **data}


def replay(family, axiom: str, values: dict, classes: int):
    """Re-check a witness exactly: the certified violation, or ``None``."""
    from .engine import replay as _replay
    return _replay(resolve_family(family), axiom, values, classes)
