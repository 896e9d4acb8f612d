"""The engine: decide every applicable axiom of a family, cheapest decisive method first.

For one claim (an axiom at ``K`` classes): the probe (one small seeded batch, certified
refutations only) -> SymPy identity -> Z3 (exact; for claims with symbolic exponents,
refutation at rational parameter points only) -> numeric search with exact/interval
certification.  For one axiom: an all-``K`` symbolic proof
first, then its claims for each ``K`` of the family, smallest first (a refutation at
the smallest ``K`` stops the search); for MT3/MT3r/MT3p the contraction calculus.
Facts between axioms (the registry's implications) carry proofs forward.  Every stage
either decides or passes on ``unknown``; the evidence records which stage decided.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..axioms.registry import IMPLICATIONS, Axiom, axioms_for, get_axiom
from ..proofs.evidence import PROVED, REFUTED, UNKNOWN, Evidence, Proved, Step, Unknown
from ..axioms.claims import Claim
from . import _symbolic

__all__ = ["AxiomResult", "FamilyResult", "Settings", "decide_claim", "decide_axiom",
           "verify_family", "replay"]


@dataclass(frozen=True)
class Settings:
    """Budgets of one run: solver time per query, numeric samples, the seed."""
    seed: int = 0
    timeout_ms: int = 4000
    samples: int = 2000
    classes: tuple[int, ...] | None = None   # override the family's own
    axiom_seconds: float = 120.0             # wall-clock budget of one axiom; then unknown


@dataclass
class AxiomResult:
    axiom: Axiom
    evidence: Evidence
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return self.evidence.status


@dataclass
class FamilyResult:
    family: object
    results: list[AxiomResult]
    not_applicable: dict[str, str] = field(default_factory=dict)
    contraction: object | None = None

    def result(self, axiom_id: str) -> AxiomResult | None:
        return next((r for r in self.results if r.axiom.id == axiom_id), None)

    def status(self, axiom_id: str) -> str:
        r = self.result(axiom_id)
        return r.status if r else "n/a"


def decide_claim(claim, settings: Settings, *, numeric: bool = True) -> Evidence:
    """One claim, cheapest decisive method first: the probe (one quick batch, certified
    refutations only), SymPy, then Z3 (exact), then numeric
    search with exact/interval certification (refutation only).  A claim Z3 cannot
    take whole is searched numerically, then split into atoms (some may be algebraic),
    then, if it has symbolic exponents, searched exactly at rational parameter points."""
    from . import _numeric, _probe, _z3
    if numeric:
        found = _probe.probe(claim, seed=settings.seed)
        if found is not None:
            return found
    proof = _symbolic.prove_identity(claim)
    if proof is not None and claim.sufficient:
        return proof
    exact = _z3.decide(claim, timeout_ms=settings.timeout_ms, seed=settings.seed)
    if exact.status == REFUTED:
        return exact
    if exact.status == PROVED and claim.sufficient:
        return exact
    reasons = ["its necessary condition holds (z3), which does not prove it"
               if exact.status == PROVED else exact.reason]
    found = None
    if numeric:
        found = _numeric.refute_numeric(claim, seed=settings.seed, samples=settings.samples)
        if found.status == REFUTED:
            return found
        reasons.append(found.reason)
    if exact.status == UNKNOWN and exact.reason.startswith("not encodable"):
        if len(claim.atoms) > 1:
            return _decide_atomwise(claim, settings, reasons)
        if "exponent" in exact.reason:
            points = _z3.rational_points(claim)
            hit = _z3.refute_instantiated(claim, points, timeout_ms=settings.timeout_ms)
            if hit is not None:
                return hit
            if points:
                reasons.append("no counterexample at rational parameter points "
                               + "; ".join(", ".join(f"{k}={v}" for k, v in pt.items()) for pt in points))
    return Unknown(reason="; ".join(r for r in reasons if r), method="z3 + numeric",
                   classes=claim.classes, estimate=getattr(found, "estimate", None))


def _decide_atomwise(claim, settings: Settings, reasons) -> Evidence:
    """A conjunction no backend takes whole: its atoms one by one (the numeric search
    of the whole claim has already run)."""
    proofs, undecided = [], []
    for atom in claim.atoms:
        ev = decide_claim(Claim(**{**claim.__dict__, "atoms": (atom,)}), settings, numeric=False)
        if ev.status == REFUTED:
            return ev
        (proofs if ev.status == PROVED else undecided).append(ev)
    if undecided:
        return Unknown(reason="; ".join([undecided[0].reason] + reasons[1:]), method="z3 + numeric",
                       classes=claim.classes)
    return Proved(method=" + ".join(sorted({p.method for p in proofs})),
                  steps=tuple(s for p in proofs for s in p.steps), classes=claim.classes,
                  smt="\n".join(p.smt for p in proofs if p.smt) or None)


def _decide_at(axiom: Axiom, family, k: int, settings: Settings) -> Evidence:
    claims = axiom.build(family, k)
    if not claims:
        return Unknown(reason=f"{axiom.id} has no claim form for this family at K={k}",
                       classes=k)
    proofs = []
    undecided = None
    for c in claims:
        ev = decide_claim(c, settings)
        if ev.status == REFUTED:
            return ev
        if ev.status == PROVED:
            proofs.append(ev)
        elif undecided is None:
            undecided = ev
    if undecided is not None:
        return undecided
    methods = sorted({p.method for p in proofs})
    steps = tuple(s for p in proofs for s in p.steps)
    smt = "\n".join(p.smt for p in proofs if getattr(p, "smt", None)) or None
    return Proved(method=" + ".join(methods), steps=steps, classes=k, smt=smt)


def decide_axiom(axiom: Axiom, family, settings: Settings = Settings()) -> Evidence:
    """The verdict on one axiom for one family (see the module docstring)."""
    proof = _symbolic.prove_all_classes(axiom.id, family)
    if proof is not None:
        return proof
    if axiom.id in ("MT3", "MT3r", "MT3p"):
        proof = _contraction_proof(axiom.id, family, settings)
        if proof is not None:
            return proof
    classes = settings.classes or family.classes
    if axiom.id == "NT":                 # a power form with gamma = 0, or 1 at uniform inputs
        from ._nontriviality import refute
        refuted = refute(family, min(classes), settings.timeout_ms)
        if refuted is not None:
            return refuted
    per_k = []
    for k in sorted(classes):
        try:
            ev = _decide_at(axiom, family, k, settings)
        except ValueError as exc:    # e.g. a matrix that does not fit K
            ev = Unknown(reason=f"not checkable at K={k}: {exc}", classes=k)
        if ev.status == REFUTED:
            return ev
        per_k.append(ev)
    if all(ev.status == PROVED for ev in per_k):
        methods = " + ".join(sorted({ev.method for ev in per_k}))
        steps = tuple(Step(f"K = {ev.classes}", f"decided by {ev.method}") for ev in per_k)
        steps += tuple(s for ev in per_k for s in ev.steps)
        smt = "\n".join(ev.smt for ev in per_k if ev.smt) or None
        return Proved(method=methods, steps=steps, classes=tuple(sorted(classes)), smt=smt)
    first = next(ev for ev in per_k if ev.status != PROVED)
    proved = [ev.classes for ev in per_k if ev.status == PROVED]
    note = f" (proved at K={proved})" if proved else ""
    return Unknown(reason=first.reason + note, method=first.method, classes=first.classes,
                   estimate=getattr(first, "estimate", None))


KAPPA_KIND = {"MT3": "kl_forward", "MT3r": "kl_reverse", "MT3p": "kl_pairwise"}


def _contraction_proof(axiom_id: str, family, settings: Settings) -> Proved | None:
    """MT3*: a certified upper bound on the constant, proved < 1 over the whole domain."""
    try:
        from ..proofs.contraction import derive
    except ImportError:
        return None
    from ..axioms.claims import Atom
    import dataclasses
    # a schedule varies alpha over time; each step is the family at one alpha
    step = dataclasses.replace(family, schedule=None) if family.schedule is not None else family
    bound = derive(step, KAPPA_KIND[axiom_id])
    if bound is None:
        return None
    steps, why = _symbolic.parameter_conditions(
        family, [Atom(1 - bound.expr, ">", f"kappa = {bound.expr} < 1")],
        timeout_ms=settings.timeout_ms)
    if steps is None:
        return None
    return Proved(method="contraction calculus", steps=tuple(bound.steps) + tuple(steps))


def _apply_implications(results: dict[str, AxiomResult]) -> None:
    for premise, conclusion, why in IMPLICATIONS:
        a, b = results.get(premise), results.get(conclusion)
        if a and b and a.status == PROVED and b.status == UNKNOWN:
            b.evidence = Proved(method=f"implication from {premise}",
                                steps=(Step("implication", f"{premise} => {conclusion}: {why}"),),
                                classes=a.evidence.classes)


class _OutOfTime(Exception):
    pass


def _bounded(axiom: Axiom, family, settings: Settings) -> Evidence:
    """:func:`decide_axiom` under the wall-clock budget (a timeout is unknown).  An
    unexpected failure of a backend on this input is reported as unknown with its
    reason, unless ``DISTILLPROOF_STRICT`` is set (the test suite sets it)."""
    import os
    import signal
    import threading

    def on_alarm(signum, frame):
        raise _OutOfTime()
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, settings.axiom_seconds)
    try:
        return decide_axiom(axiom, family, settings)
    except _OutOfTime:
        return Unknown(reason=f"time limit of {settings.axiom_seconds:g} s reached", method="timeout")
    except (RecursionError, MemoryError, ValueError, TypeError, ArithmeticError, NotImplementedError) as exc:
        if os.environ.get("DISTILLPROOF_STRICT"):
            raise
        return Unknown(reason=f"could not be decided: {type(exc).__name__}: {exc}"[:300], method="error")
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def verify_family(family, settings: Settings = Settings(), axioms=None, progress=None) -> FamilyResult:
    """Decide every applicable axiom (or those named in ``axioms``) for ``family``."""
    chosen = axioms_for(family.kind) if axioms is None else [get_axiom(a) for a in axioms]
    results, skipped = {}, {}
    for axiom in chosen:
        reason = axiom.not_applicable(family)
        if reason:
            skipped[axiom.id] = reason
            continue
        start = time.perf_counter()
        ev = _bounded(axiom, family, settings)
        results[axiom.id] = AxiomResult(axiom, ev, time.perf_counter() - start)
        if progress:
            progress(family, axiom, ev)
    _apply_implications(results)
    return FamilyResult(family, list(results.values()), skipped)


def replay(family, axiom_id: str, values: dict, classes: int, student=None):
    """Re-check a witness: the certified violation, or ``None`` when it does not violate
    the axiom there.  ``values`` maps vector names to sequences and parameters to single
    exact rationals (strings like ``"1/3"`` are accepted).  ``R`` (realizability) and
    ``C`` (convexity) need the ``student`` family (``C`` does not depend on ``family``)."""
    from fractions import Fraction
    from ._certify import certify
    exact = {k: tuple(Fraction(x) for x in v) if isinstance(v, (list, tuple)) else Fraction(v)
             for k, v in values.items()}
    for c, pinned in _replay_claims(family, axiom_id, classes, student):
        if any(exact.get(k) != v for k, v in pinned.items()):
            continue
        names = set(c.vectors) | {s.name for s in c.parameters}
        if names <= set(exact):
            w = certify(c, {k: v for k, v in exact.items() if k in names})
            if w is not None:
                return w
    if axiom_id == "NT":                 # a power form's exact check (._nontriviality)
        from ._nontriviality import check
        return check(family, classes, exact)
    return None


def _replay_claims(family, axiom_id: str, classes: int, student):
    """``(claim, pinned values)`` to re-check: the axiom's claims at ``classes``; for R
    the fixed anchor's claim (pinned: the witness is the anchor itself) and the closure
    claim; for C the student's convexity claim."""
    if axiom_id not in ("R", "C"):
        return [(c, {}) for c in get_axiom(axiom_id).build(family, classes)]
    if student is None:
        raise ValueError(f"{axiom_id} is about a student family: give it (--student NAME|SPEC)")
    if student.classes != classes:
        raise ValueError(f"the student family {student.name!r} has K={student.classes}, "
                         f"not {classes}")
    if axiom_id == "C":
        from .convexity import set_claim
        return [(set_claim(student), {})]
    from fractions import Fraction
    from .realizability import anchor_claim, closure_claim
    fixed = anchor_claim(family, student)
    out = [] if fixed is None else [(fixed, {"p": tuple(Fraction(str(v))
                                                        for v in family.anchor_at(classes))})]
    return out + [(closure_claim(family, student), {})]
