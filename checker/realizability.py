r"""Realizability (R): can the student family represent what the meta-teacher asks for?

THEORY.md §2 states R as "``p̄ ∈ S``, and ``q ∈ S ⇒ M(p̄, q) ∈ S``".  Precisely, for a
family ``M_θ`` and a student family ``S ⊆ Δ_K`` (at the student's ``K``):

**(a) anchor.**  ``p̄ ∈ S``.  For a family whose anchor is a free input this is not a
claim about the family (for any proper ``S`` some anchor lies outside): it is the
*hypothesis* of (b) and of the convergence theorem.  For a family with a **fixed**
anchor (``family.fixed_vectors``) it is checked, exactly.

**(b) closure.**  ``R(S)``: for all ``p̄ ∈ S``, all students ``q ∈ S`` (``q1..qL`` for
memory families) and all ``θ`` in the domain: ``M_θ(p̄, q) ∈ S``.  Aggregation
families: all teachers in ``S`` ⇒ the pool in ``S``; softening: ``x ∈ S ⇒ F_T(x) ∈ S``.
A multi-teacher anchor ``p̄ = A_w(p1, ..)`` is hypothesised in ``S`` as an expression.

The claim (:func:`closure_claim`) has domain = family domain ∧ ``S``'s relations on each
input, atoms = ``S``'s relations on ``M``; it goes through the shared pipeline
(:func:`.engine.decide_claim`: identity → Z3 → numeric + interval), so Z3 decides it at
the student's ``K`` (``unsat`` = proof with its SMT-LIB2 text; ``sat`` = an exact,
certified, shrunk witness ``(p̄, q, θ)``).  Support families put the inputs on a face:
the claim's vectors are the face's components (relative interior), the others are 0,
and a power ``0**e`` becomes 0 only once ``e > 0`` is proved on the parameter domain.

**Proof for every parameter value (SymPy).**  When ``S`` is cut out by binomials
``x^{u+} = x^{u-}`` (independence, toric models) and the map is log-linear per
component -- ``M_i = c · ∏_v v_i^{e_v(θ)} / Z`` (geometric anchoring, geometric pools,
softening, tempered geometric) -- then on the open simplex each binomial is the linear
equation ``Σ_i u_i log x_i = 0``, and ``Σ_i u_i log M_i = Σ_v e_v(θ) Σ_i u_i log v_i
− (Σ_i u_i)(log Z − log c)``.  :func:`binomial_closure` has SymPy find coefficients
``c`` (free of denominators in ``θ``) with ``Σ_i u_i log M_i ≡ Σ c_{v,b} H_{v,b}``
identically in the ``log`` of the inputs and ``log Z`` (``H`` the hypotheses), and
checks the identity by expansion: proved for all ``θ``, with no instantiation.

**Symbolic exponents.**  Z3 cannot take ``p**alpha``; the engine then refutes at rational
parameter points (:func:`._z3.rational_points`).  A refutation there is a real
refutation (the method names the point); an ``unsat`` there proves nothing about other
values and is reported as such in the ``unknown`` reason.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from ..axioms.claims import Atom, Claim
from ..axioms.students import StudentFamily, relation_text
from ..axioms.vector import MatVec, components, instantiate, normalize, softmax, vsum
from ..proofs.evidence import PROVED, REFUTED, UNKNOWN, Evidence, Proved, Refuted, Step, Unknown, Witness
from .engine import Settings, decide_claim

__all__ = ["StudentCheck", "closure_claim", "anchor_claim", "binomial_closure",
           "realizability", "full_witness"]


@dataclass
class StudentCheck:
    """One verdict about a family (or function) and a student family."""
    what: str                  # realizability | convexity
    student: StudentFamily
    evidence: Evidence
    statement: str
    notes: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        return self.evidence.status

    def to_json(self) -> dict:
        out = {"student": self.student.name, "student_classes": self.student.classes,
               "statement": self.statement, **self.evidence.to_json()}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


# --- claims ------------------------------------------------------------------------
def _face_vectors(family, student: StudentFamily) -> tuple[dict, dict]:
    """Claim vectors restricted to the face, and the substitution of the zero
    components (every input vector of the family)."""
    K, face = student.classes, student.face
    vectors, zero = {}, {}
    for name in family.vectors:
        comps = components(name, K)
        vectors[name] = tuple(comps[i] for i in face)
        zero.update({comps[j]: sp.Integer(0) for j in student.zeros})
    return vectors, zero


def _resolve_zero_powers(exprs, family, settings: Settings, notes: list) -> list:
    """``0**e`` -> 0 where ``e > 0`` on the whole parameter domain (proved by Z3)."""
    from ._symbolic import parameter_conditions
    powers = {pw for e in exprs for pw in sp.sympify(e, strict=True).atoms(sp.Pow)
              if pw.base == 0 and not pw.exp.is_number}
    subs = {}
    for pw in powers:
        steps, _ = parameter_conditions(family, [Atom(pw.exp, ">", f"{pw.exp} > 0")],
                                        timeout_ms=settings.timeout_ms)
        if steps is not None:
            subs[pw] = sp.Integer(0)
            notes.append(f"0**({pw.exp}) = 0 on the face: {pw.exp} > 0 on the domain (z3)")
    return [sp.sympify(e, strict=True).xreplace(subs) for e in exprs] if subs else list(exprs)


def _map_and_anchor(family, K: int):
    m = family.at(K)
    anchor = family.anchor_at(K) if family.kind == "meta-teacher" else None
    return m, anchor


def closure_claim(family, student: StudentFamily, settings: Settings = Settings()) -> Claim:
    """(b) as a :class:`Claim` at the student's ``K`` (see the module docstring).
    Raises ``ValueError`` when the family cannot be instantiated at that ``K``."""
    K = student.classes
    m, anchor = _map_and_anchor(family, K)
    vectors, zero = _face_vectors(family, student)
    notes: list[str] = []
    m = [e.xreplace(zero) for e in m]
    hyps = []
    if family.kind == "meta-teacher":
        anchor = [e.xreplace(zero) for e in anchor]
        hyps += student.hypotheses(anchor)
        for name in family.students:
            hyps += student.hypotheses([e.xreplace(zero) for e in components(name, K)])
    else:
        for name in family.vectors:
            hyps += student.hypotheses([e.xreplace(zero) for e in components(name, K)])
    m = _resolve_zero_powers(m, family, settings, notes)
    if student.zeros:
        notes.insert(0, f"inputs on the face {list(student.face)} of the simplex (the "
                        "other classes have probability 0); vectors list the face's classes")
    atoms = student.atoms(m, "M in S")
    if family.kind == "meta-teacher":
        names = ([] if family.fixed else ["p̄"]) + list(family.students)
    else:
        names = list(family.vectors)
    head = "for the fixed anchor p̄ (in S), " if family.fixed else ""
    statement = (f"{head}for all {', '.join(names)} in {student.name} and parameters in "
                 f"the domain: M lies in {student.name} (K={K})")
    params = tuple(p.symbol for p in family.free_parameters)
    return Claim(axiom="R", family=family.name, classes=K, vectors=vectors,
                 parameters=params, domain=tuple(family.domain) + tuple(hyps),
                 atoms=tuple(atoms), statement=statement, notes=tuple(notes))


def anchor_claim(family, student: StudentFamily) -> Claim | None:
    """(a) for a family whose anchor is fixed (no free inputs): a closed claim."""
    if family.kind != "meta-teacher":
        return None
    anchor = family.anchor_at(student.classes)
    if any(e.free_symbols for e in anchor):
        return None
    return Claim(axiom="R-anchor", family=family.name, classes=student.classes, vectors={},
                 parameters=(), domain=(), atoms=tuple(student.atoms(anchor, "anchor in S")),
                 statement=f"the fixed anchor lies in {student.name}")


# --- the SymPy rule ----------------------------------------------------------------
def _log_linear_map(family, K: int):
    """``(M_i numerators g_i, normalised?)`` when the map is componentwise with no
    fixed vectors and the anchor is a plain input; else ``None``."""
    expr = family.expr
    normalized = isinstance(expr, normalize)
    g = expr.args[0] if normalized else expr
    if any(g.has(op) for op in (normalize, vsum, softmax, MatVec)) or family.fixed:
        return None
    if family.kind == "meta-teacher" and family.anchor != sp.Symbol("p", positive=True):
        return None
    return instantiate(g, family.vectors, K), normalized


def _log_form(u, name: str) -> str:
    """``Σ_i u_i log name_i`` as text."""
    terms = [f"{'+' if c > 0 else '-'} {abs(c) if abs(c) != 1 else ''}log {name}_{i}"
             for i, c in enumerate(u) if c]
    return " ".join(terms).lstrip("+ ")


def _nonzero(family, dens) -> bool:
    """Every denominator is nonzero on the parameter domain (z3)."""
    from ._symbolic import parameter_conditions
    atoms = [Atom(d ** 2, ">", f"{d} != 0") for d in dens if not d.is_number]
    return parameter_conditions(family, atoms)[0] is not None


def binomial_closure(family, student: StudentFamily) -> Proved | None:
    """(b) for every parameter value by the log-linear identity of the module
    docstring, or ``None`` when the rule does not apply."""
    us = student.binomials
    if not us or student.inequalities or student.allowed is not None:
        return None
    K = student.classes
    try:
        form = _log_linear_map(family, K)
    except ValueError:
        return None
    if form is None:
        return None
    g, normalized = form
    logZ = sp.Symbol("logZ")
    L = {name: [sp.Symbol(f"L_{c.name}") for c in components(name, K)] for name in family.vectors}
    to_L = {sp.log(c): L[name][i] for name in family.vectors
            for i, c in enumerate(components(name, K))}
    logs = [sp.expand(sp.expand_log(sp.log(gi), force=True).xreplace(to_L))
            - (logZ if normalized else 0) for gi in g]
    Lsyms = [s for name in family.vectors for s in L[name]] + [logZ]
    hyps = {(name, b): sp.Add(*[u * Lv for u, Lv in zip(ub, L[name])])
            for name in family.vectors for b, ub in enumerate(us)}
    cs = {key: sp.Symbol(f"c_{key[0]}_{key[1]}") for key in hyps}
    steps, side = [], []
    for b, ub in enumerate(us):
        target = sp.expand(sp.Add(*[u * li for u, li in zip(ub, logs)]))
        residual = sp.expand(target - sp.Add(*[cs[k] * h for k, h in hyps.items()]))
        if residual.has(sp.log) or any(s.is_positive for s in residual.free_symbols):
            return None                         # a log the identity cannot absorb
        try:
            poly = sp.Poly(residual, *Lsyms)
        except sp.PolynomialError:
            return None
        if poly.total_degree() > 1:
            return None
        solutions = sp.linsolve(poly.coeffs(), list(cs.values()))
        if not solutions:
            return None
        sol = next(iter(solutions))
        free = set().union(*[s.free_symbols for s in sol]) & set(cs.values())
        sol = [s.xreplace({f: 0 for f in free}) for s in sol]
        dens = {sp.denom(sp.together(s)) for s in sol} - {sp.Integer(1)}
        if any(not d.is_number for d in dens):
            if not _nonzero(family, dens):
                return None
            side.append((f"denominators {', '.join(sorted(map(sp.sstr, dens)))} are "
                         "nonzero on the parameter domain", "z3: unsat"))
        chosen = dict(zip(cs.values(), sol))
        combo = sp.Add(*[chosen[cs[k]] * h for k, h in hyps.items()])
        if sp.expand(target - combo) != 0:
            return None
        rel = student.equations[b]
        used = " + ".join(f"({sp.sstr(chosen[cs[k]])})·[{_log_form(us[k[1]], k[0])}]"
                          for k in hyps if chosen[cs[k]] != 0) or "0"
        steps.append(Step("log-linear identity",
                          f"{relation_text(rel)} at M: {_log_form(ub, 'M')} = {used}",
                          (("identity in log p_i, log q_i, log Z for every parameter value",
                            "sympy (expand)"),
                           ("each hypothesis is Σ_i u_i log v_i = 0 (v in S, open simplex)",
                            "definition of S"))))
    head = Step("log-linear map", "log M_i is linear in the logs of the inputs, with "
                "coefficients independent of i" + (" (minus log Z, Z the normaliser)"
                                                   if normalized else ""),
                (("the map is componentwise" + (" then normalised" if normalized else ""),
                  "structure of the map"),) + tuple(dict.fromkeys(side)))
    return Proved(method="sympy (log-linear identity, every parameter value)",
                  steps=(head,) + tuple(steps), classes=K)


# --- the verdict -------------------------------------------------------------------
def full_witness(witness: Witness, student: StudentFamily) -> Witness:
    """A face witness with the zero classes put back (full ``K`` vectors)."""
    if not student.zeros:
        return witness
    values = {}
    for k, v in witness.values.items():
        if isinstance(v, tuple) and len(v) == len(student.face):
            full = [Fraction(0)] * student.classes
            for i, x in zip(student.face, v):
                full[i] = Fraction(x)
            v = tuple(full)
        values[k] = v
    return dataclasses.replace(witness, values=values)


def _with_full(ev: Evidence, student: StudentFamily) -> Evidence:
    if isinstance(ev, Refuted):
        return dataclasses.replace(ev, witness=full_witness(ev.witness, student))
    return ev


def _direct_inputs(family, claim: Claim) -> list[str]:
    """The claim vectors hypothesised in ``S`` themselves: the plain anchor ``p``, the
    students, teachers of a pool, ``x`` (not the teachers of an anchor expression)."""
    plain = family.kind != "meta-teacher" or family.anchor == sp.Symbol("p", positive=True)
    return [n for n in claim.vectors if plain or n in family.students]


def simple_search(claim: Claim, student: StudentFamily, names: list[str], *,
                  budget: int = 120) -> Witness | None:
    """Exact search over simple members of ``S`` (:meth:`StudentFamily.simple_points`)
    for the vectors ``names`` -- the other claim vectors (teachers of an anchor
    expression) all take one more such member, so a unanimous anchor lies in ``S`` --
    at simple rational parameter points of the domain.  Every candidate goes through
    :func:`._certify.certify`, which also checks the hypotheses exactly."""
    from itertools import islice, product
    from ._certify import certify, rational_points
    pts = [tuple(v[i] for i in student.face) for v in student.simple_points(8)]
    others = [n for n in claim.vectors if n not in names]
    if not pts:
        return None
    params = (rational_points(claim, n=4, symbols=claim.parameters)
              if claim.parameters else [{}])
    slots = len(names) + (1 if others else 0)
    for point in params:
        pvals = {s.name: Fraction(int(v.p), int(v.q)) for s, v in point.items()}
        for combo in islice(product(pts, repeat=slots), budget // max(1, len(params))):
            values = dict(zip(names, combo))
            values.update({n: combo[-1] for n in others})
            w = certify(claim, {**values, **pvals})
            if w is not None:
                return w
    return None


def _z3_witness_text(claim: Claim, witness: Witness) -> str | None:
    """SMT-LIB2 text of the claim's negation with every variable pinned to the witness
    (``sat`` when replayed), so a refutation found without Z3 replays in any solver."""
    import z3
    from . import _z3
    try:
        enc = _z3.encode(claim)
    except _z3.NotEncodable:
        return None
    solver = z3.Solver()
    solver.add(*enc.constraints, enc.negation)
    for name, comps in claim.vectors.items():
        solver.add(*[enc.variables[c] == z3.Q(v.numerator, v.denominator)
                     for c, v in zip(comps, witness.values[name])])
    for p in claim.parameters:
        v = Fraction(witness.values[p.name])
        solver.add(enc.variables[p] == z3.Q(v.numerator, v.denominator))
    text = solver.to_smt2()
    if solver.check() != z3.sat:
        return None
    return (f"; distillproof: claim {claim.axiom} of family {claim.family!r} at "
            f"K={claim.classes}, every variable pinned to the witness\n"
            "; sat = the witness violates the claim\n" + text)


def shrink_in_student(claim: Claim, witness: Witness, student: StudentFamily,
                      names: list[str]) -> Witness:
    """Shrink (:mod:`._shrink`'s order) by trying simple members of ``S`` for the
    vectors ``names``, then the generic shrink for the rest; every step certified."""
    from ._certify import certify
    from ._shrink import complexity, shrink
    pts = [tuple(v[i] for i in student.face) for v in student.simple_points(30)]
    current = witness
    for name in names:
        for v in pts:
            values = {**current.values, name: v}
            if complexity(values) < complexity(current.values):
                w = certify(claim, values)
                if w is not None:
                    current = w
                    break
    return shrink(claim, current, fixed=tuple(names))


def _instantiated_note(claim: Claim, settings: Settings) -> str:
    """What Z3 says at rational parameter points of a claim it cannot take whole."""
    from . import _z3
    proved = []
    for point in _z3.rational_points(claim, n=3):
        inst = _z3.instantiate_claim(claim, point)
        ev = _z3.decide(inst, timeout_ms=settings.timeout_ms, seed=settings.seed, shrink=False)
        if ev.status == PROVED:
            proved.append(",".join(f"{k}={v}" for k, v in point.items()))
    if not proved:
        return ""
    return (f"z3 proves the claim at {'; '.join(proved)} (instantiated symbolic exponents): "
            "this is not a proof for other parameter values")


def realizability(family, student: StudentFamily, settings: Settings = Settings()) -> StudentCheck:
    """R for ``family`` and ``student`` (see the module docstring): (a) for a fixed
    anchor, then (b) by the SymPy rule, else the shared pipeline at the student's K."""
    K = student.classes
    anchor_steps: tuple = ()
    try:
        fixed = anchor_claim(family, student)
        if fixed is not None:
            ev = decide_claim(fixed, settings)
            if ev.status == REFUTED:
                anchor = tuple(Fraction(str(v)) for v in family.anchor_at(K))
                ev = dataclasses.replace(ev, witness=dataclasses.replace(
                    ev.witness, values={"p": anchor}))
                return StudentCheck("realizability", student, ev,
                                    f"(a) the fixed anchor lies in {student.name}")
            if ev.status != PROVED:
                return StudentCheck("realizability", student, ev, fixed.statement)
            anchor_steps = (Step("(a) anchor", f"{fixed.statement}: proved by {ev.method}"),)
        claim = closure_claim(family, student, settings)
    except (ValueError, TypeError) as exc:
        ev = Unknown(reason=f"not checkable at K={K}: {exc}", method="none", classes=K)
        return StudentCheck("realizability", student, ev, f"M preserves {student.name}")
    notes = claim.notes
    proof = binomial_closure(family, student)
    if proof is not None:
        proof = dataclasses.replace(proof, steps=anchor_steps + proof.steps)
        return StudentCheck("realizability", student, proof, claim.statement, notes)
    names = _direct_inputs(family, claim)
    # on a variety (equations) generic points are irrational: Z3's models are then
    # algebraic and random search misses it, so simple rational members go first
    searched = bool(student.equations)
    w = simple_search(claim, student, names) if searched else None
    ev = decide_claim(claim, settings) if w is None else None
    if ev is not None and ev.status == REFUTED:
        ev = dataclasses.replace(ev, witness=shrink_in_student(claim, ev.witness, student, names))
    elif ev is not None and ev.status == UNKNOWN and not searched:
        w = simple_search(claim, student, names)
    if w is not None:
        w = shrink_in_student(claim, w, student, names)
        ev = Refuted(method="exact search over simple members of S", witness=w,
                     smt=_z3_witness_text(claim, w))
    ev = _with_full(ev, student)
    if anchor_steps and isinstance(ev, Proved):
        ev = dataclasses.replace(ev, steps=anchor_steps + ev.steps)
    if ev.status == UNKNOWN and any(not pw.exp.is_Rational for a in claim.atoms
                                    for pw in sp.sympify(a.expr, strict=True).atoms(sp.Pow)):
        note = _instantiated_note(claim, settings)
        if note:
            ev = dataclasses.replace(ev, reason=f"{ev.reason}; {note}")
    return StudentCheck("realizability", student, ev, claim.statement, notes)
