"""The Z3 backend: exact decision of algebraic claims at a fixed number of classes.

A :class:`~distillproof.axioms.claims.Claim` says: for every point of the open simplex
(each vector) and every parameter value in the domain, every atom ``expr rel 0`` holds.
:func:`decide` asks Z3 (nonlinear real arithmetic, a complete decision procedure) whether

    simplex  ∧  domain  ∧  ⋁_i ( defined_i ∧ ¬ atom_i )

is satisfiable.  ``unsat`` proves the claim at this ``K`` (the SMT-LIB2 text of the
query is kept so any solver can replay it); ``sat`` yields a model that is turned into
exact rationals and *certified* by :func:`._certify.certify` before it counts;
``unknown`` (timeout, incomplete fragment) is :class:`Unknown`, never a proof.

What is encoded, and the soundness rules
----------------------------------------
* ``Integer``, ``Rational``, ``Symbol``, ``Add``, ``Mul``, integer powers (``|k| <= 256``),
  ``Abs``/``Max``/``Min`` (via ``If``), relations ``Eq Ne Lt Le Gt Ge And Or Not
  Implies``.  Anything else (``log``, ``exp``, ``pi``, a ``Float``, a symbolic exponent)
  raises :class:`NotEncodable` naming the first such sub-term.  Nothing is dropped.
* **Division.**  Z3's ``x/0`` is an arbitrary value, so every denominator ``d`` gets the
  guard ``d != 0``.  Guards are *local*: the guard of an atom is part of its disjunct
  ``defined_i``, and the guard of a domain relation is conjoined to that relation.  So a
  violation is a point where the failing atom is defined, and a proof says "every atom
  holds at every domain point where it is defined": **the claim is about points where
  the map is defined**.  The guards are listed in the proof's side conditions.
* **Fractional powers** ``b**(m/n)`` (``gcd(m, n) = 1``, ``n >= 2``; SymPy's principal
  real branch, defined for ``b >= 0``, or ``b > 0`` when ``m < 0``) use an auxiliary
  variable ``r`` with ``r >= 0 ∧ r**n == b``, which has exactly one solution,
  ``r = b**(1/n)``, when ``b >= 0`` and none otherwise; the power is ``r**m``.  In an
  *atom*, the base must be shown nonnegative (positive when ``m < 0``) on the whole
  domain first -- by SymPy's sign assumptions or by a separate Z3 query
  ``simplex ∧ domain ∧ defined(b) ∧ b < 0`` being ``unsat`` -- otherwise the claim is
  :class:`NotEncodable`.  Hence the auxiliary relation never excludes a point of the
  domain, and ``unsat`` is a proof.  In a *domain relation*, the relation holds only
  where it is defined, so the aux relation is simply part of it.
* A parameter's SymPy sign assumptions (``positive``, ``nonnegative``, ...) are part
  of its domain (SymPy may already have simplified the claim using them).
* **Witnesses.**  Algebraic model values are rounded to 20 digits, vectors rescaled to
  sum exactly 1, and the point re-checked by ``certify``; if rounding lost the
  violation, Z3 is asked again with the irrational variables pinned to nearby
  rationals.  A witness that does not certify is never reported (``Unknown``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp
import z3

from distillproof.axioms.claims import Claim
from distillproof.proofs.evidence import Evidence, Proved, Refuted, Step, Unknown

from ._certify import certify, in_domain, instantiate_claim, rational_points

__all__ = ["NotEncodable", "Encoding", "encode", "decide", "refute_instantiated",
           "rational_points", "instantiate_claim", "MAX_EXPONENT"]

MAX_EXPONENT = 256
_ROUNDING_DIGITS = 20
_MAX_PINS = 12


class NotEncodable(Exception):
    """The claim uses something Z3 cannot express; ``reason`` names the sub-term."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Encoding:
    """The Z3 form of a claim: ``constraints`` = simplex (components ``> 0``, sum ``1``),
    parameter sign assumptions, domain; ``negation`` = ``Or_i(defined[i] ∧ ¬atoms[i])``;
    ``conditions`` = (side condition, how discharged); ``side_queries`` = SMT-LIB2 text
    of the ``unsat`` base-sign queries."""
    claim: Claim
    variables: dict[sp.Symbol, z3.ArithRef]
    constraints: list[z3.BoolRef]
    negation: z3.BoolRef
    atoms: list[z3.BoolRef]
    defined: list[z3.BoolRef]
    conditions: list[tuple[str, str]] = field(default_factory=list)
    side_queries: list[str] = field(default_factory=list)


def _solver(timeout_ms: int, seed: int) -> z3.Solver:
    s = z3.SolverFor("QF_NRA")
    s.set("timeout", int(timeout_ms))
    s.set("random_seed", int(seed))
    return s


def _const(r: sp.Rational) -> z3.ArithRef:
    return z3.RealVal(int(r.p)) if r.q == 1 else z3.Q(int(r.p), int(r.q))


def _conj(parts: list) -> z3.BoolRef:
    """The conjunction of ``parts`` without duplicates (``True`` when empty)."""
    unique = list({p.get_id(): p for p in parts}.values())
    return unique[0] if len(unique) == 1 else (z3.And(*unique) if unique else z3.BoolVal(True))


def _power(b: z3.ArithRef, k: int) -> z3.ArithRef:
    return b if k == 1 else z3.Product(*([b] * k))


_RELATIONS = {sp.Eq: lambda a, b: a == b, sp.Ne: lambda a, b: a != b,
              sp.Lt: lambda a, b: a < b, sp.Le: lambda a, b: a <= b,
              sp.Gt: lambda a, b: a > b, sp.Ge: lambda a, b: a >= b}
_NEGATED = {sp.Eq: sp.Ne, sp.Ne: sp.Eq, sp.Lt: sp.Ge, sp.Le: sp.Gt, sp.Gt: sp.Le,
            sp.Ge: sp.Lt}


class _Encoder:
    def __init__(self, claim: Claim, timeout_ms: int, seed: int):
        self.claim, self.timeout_ms, self.seed = claim, timeout_ms, seed
        self.vars = {s: z3.Real(s.name) for s in claim.symbols}
        if len({s.name for s in self.vars}) != len(self.vars):
            raise ValueError(f"claim {claim.axiom}: two symbols share a name in "
                             f"{[s.name for s in claim.symbols]}")
        self.constraints: list[z3.BoolRef] = []
        self.conditions: list[tuple[str, str]] = []
        self.side_queries: list[str] = []
        self.roots: dict[tuple, tuple[z3.ArithRef, list]] = {}
        self.checked: set[tuple] = set()
        self.in_atom = False

    # --- terms ------------------------------------------------------------------
    def term(self, e: sp.Basic, guards: list) -> z3.ArithRef:
        if e.is_Rational:
            return _const(e)
        if e.is_Symbol:
            if e not in self.vars:
                raise NotEncodable(f"not encodable: symbol {e} is not a variable of the claim")
            return self.vars[e]
        if e.is_Float:
            raise NotEncodable(f"not encodable: floating-point number {e} (use an exact rational)")
        if isinstance(e, sp.Add):
            return z3.Sum(*[self.term(a, guards) for a in e.args])
        if isinstance(e, sp.Mul):
            return z3.Product(*[self.term(a, guards) for a in e.args])
        if isinstance(e, sp.Pow):
            return self.pow(e, guards)
        if isinstance(e, sp.Abs):
            x = self.term(e.args[0], guards)
            return z3.If(x >= 0, x, -x)
        if isinstance(e, (sp.Max, sp.Min)):
            out, *rest = [self.term(a, guards) for a in e.args]
            for x in rest:
                out = z3.If((x > out) if isinstance(e, sp.Max) else (x < out), x, out)
            return out
        name = e.func.__name__ if hasattr(e, "func") else type(e).__name__
        raise NotEncodable(f"not encodable: {name if e.args else e}")

    def pow(self, e: sp.Pow, guards: list) -> z3.ArithRef:
        base, ex = e.base, e.exp
        if not ex.is_Rational:
            kind = "symbolic" if ex.free_symbols else "irrational"
            raise NotEncodable(f"not encodable: {kind} exponent {ex} in {e}")
        m, n = int(ex.p), int(ex.q)
        if max(abs(m), n) > MAX_EXPONENT:
            raise NotEncodable(f"not encodable: exponent {ex} in {e} exceeds {MAX_EXPONENT}")
        b = self.term(base, guards) if n == 1 else self.root(base, n, m < 0, guards)
        if m >= 0:
            return _power(b, m) if m else z3.RealVal(1)
        denominator = _power(b, -m)
        guards.append(denominator != 0)
        if n == 1 and base.is_nonzero is not True:     # else the guard holds everywhere
            self.conditions.append((f"{base} != 0", "excluded from the search: the claim "
                                    "is about points where the map is defined"))
        return 1 / denominator

    def root(self, base: sp.Expr, n: int, strict: bool, guards: list) -> z3.ArithRef:
        """``base**(1/n)`` as an auxiliary ``r >= 0`` with ``r**n == base``."""
        key = (base, n)
        if key not in self.roots:
            inner: list = []
            b = self.term(base, inner)
            r = z3.Real(f"root!{len(self.roots)}")
            self.roots[key] = (r, inner + [r >= 0, _power(r, n) == b])
        r, defining = self.roots[key]
        if self.in_atom and (key, strict) not in self.checked:
            self.check_base(base, strict)
            self.checked.add((key, strict))
        guards.extend(defining)
        return r

    def check_base(self, base: sp.Expr, strict: bool) -> None:
        """Show ``base >= 0`` (``> 0`` if ``strict``) on the domain, or raise."""
        rel = ">" if strict else ">="
        claim_text = f"{base} {rel} 0 on the domain"
        if (base.is_positive if strict else base.is_nonnegative) is True:
            self.conditions.append((claim_text, "sympy sign assumptions"))
            return
        guards: list = []
        b = self.term(base, guards)
        s = _solver(self.timeout_ms, self.seed)
        s.add(*self.constraints, *guards, (b <= 0) if strict else (b < 0))
        text, result = _smt2(s), s.check()
        if result == z3.unsat:
            self.conditions.append((claim_text, "z3: unsat of domain ∧ negation "
                                    f"(query {len(self.side_queries)} of side_queries)"))
            self.side_queries.append(text)
            return
        if result == z3.sat:
            raise NotEncodable(f"not encodable: fractional power of {base}, which can be "
                               f"{'non-positive' if strict else 'negative'} on the domain")
        raise NotEncodable(f"not encodable: could not show {claim_text} "
                           f"(z3: {s.reason_unknown()})")

    # --- formulas (negation pushed to the relations: an undefined relation is false)
    def formula(self, e: sp.Basic, positive: bool = True) -> z3.BoolRef:
        if e is sp.true or e is sp.false:
            return z3.BoolVal((e is sp.true) == positive)
        if isinstance(e, sp.Not):
            return self.formula(e.args[0], not positive)
        if isinstance(e, sp.Implies):
            return self.formula(sp.Or(sp.Not(e.args[0]), e.args[1], evaluate=False), positive)
        if isinstance(e, (sp.And, sp.Or)):
            parts = [self.formula(a, positive) for a in e.args]
            conj = isinstance(e, sp.And) == positive
            return z3.And(*parts) if conj else z3.Or(*parts)
        for cls in _RELATIONS:
            if isinstance(e, cls):
                guards: list = []
                lhs, rhs = self.term(e.lhs, guards), self.term(e.rhs, guards)
                rel = cls if positive else _NEGATED[cls]
                return _conj(guards + [_RELATIONS[rel](lhs, rhs)])
        raise NotEncodable(f"not encodable: {type(e).__name__} in the domain ({e})")


def _assumption_constraints(s: sp.Symbol, v: z3.ArithRef) -> list[z3.BoolRef]:
    if s.is_integer:
        raise NotEncodable(f"not encodable: integer parameter {s}")
    makers = {"positive": lambda: v > 0, "nonnegative": lambda: v >= 0,
              "negative": lambda: v < 0, "nonpositive": lambda: v <= 0,
              "nonzero": lambda: v != 0}
    return [make() for name, make in makers.items() if getattr(s, f"is_{name}") is True]


def encode(claim: Claim, *, timeout_ms: int = 5000, seed: int = 0) -> Encoding:
    """The Z3 :class:`Encoding` of ``claim``; raises :class:`NotEncodable` naming the
    first sub-term Z3 cannot express (see the module docstring for the rules).

    ``timeout_ms`` bounds each side query that shows a fractional power's base
    nonnegative on the domain.
    """
    enc = _Encoder(claim, timeout_ms, seed)
    for comps in claim.vectors.values():
        zs = [enc.vars[s] for s in comps]
        enc.constraints.extend(z > 0 for z in zs)
        enc.constraints.append(z3.Sum(*zs) == 1)
    for s in claim.parameters:
        enc.constraints.extend(_assumption_constraints(s, enc.vars[s]))
    for rel in claim.domain:
        enc.constraints.append(enc.formula(sp.sympify(rel, strict=True)))
    enc.in_atom = True
    atoms, defined, disjuncts = [], [], []
    for atom in claim.atoms:
        guards: list = []
        t = enc.term(sp.sympify(atom.expr, strict=True), guards)
        holds = {"==": t == 0, ">=": t >= 0, ">": t > 0}[atom.rel]
        ok = _conj(guards)
        atoms.append(holds)
        defined.append(ok)
        disjuncts.append(_conj(guards + [z3.Not(holds)]))
    negation = z3.Or(*disjuncts) if disjuncts else z3.BoolVal(False)
    return Encoding(claim, enc.vars, enc.constraints, negation, atoms, defined,
                    list(dict.fromkeys(enc.conditions)), enc.side_queries)


# --- models -> exact rationals ---------------------------------------------------------
def _model_values(enc: Encoding, model: z3.ModelRef):
    """``(values, irrational)``: exact rationals for the claim symbols (algebraic model
    values rounded, vectors re-projected onto the simplex), and the rounded
    ``{z3 var: Fraction}`` of the symbols whose model value was irrational."""
    exact: dict[sp.Symbol, Fraction] = {}
    irrational: dict = {}
    for s, v in enc.variables.items():
        val = model.eval(v, model_completion=True)
        if z3.is_rational_value(val):
            exact[s] = val.as_fraction()
        elif z3.is_algebraic_value(val):
            exact[s] = val.approx(_ROUNDING_DIGITS).as_fraction()
            irrational[v] = exact[s]
        else:
            raise ValueError(f"unexpected z3 model value {val} for {s}")
    values: dict = {}
    for name, comps in enc.claim.vectors.items():
        vec = [exact[s] for s in comps]
        if any(enc.variables[s] in irrational for s in comps):
            total = sum(vec)
            vec = [x / total for x in vec]
        values[name] = tuple(vec)
    for s in enc.claim.parameters:
        values[s.name] = exact[s]
    return values, irrational


def _certified_witness(enc: Encoding, solver: z3.Solver):
    """``(witness or None, whether the model was irrational)``.  If rounding an
    irrational model lost the violation, pin the irrational variables (one at a time,
    then all) to nearby rationals -- denominator <= 10, then <= 1000, then the 20-digit
    rounding -- and ask Z3 for another model; at most :data:`_MAX_PINS` re-solves."""
    values, irrational = _model_values(enc, solver.model())
    w = certify(enc.claim, values)
    if w is not None or not irrational:
        return w, bool(irrational)
    groups = [[v] for v in irrational] + ([list(irrational)] if len(irrational) > 1 else [])
    tried = 0
    for limit in (10, 1000, None):
        for group in groups:
            pins = {v: irrational[v] if limit is None else irrational[v].limit_denominator(limit)
                    for v in group}
            if tried >= _MAX_PINS:
                return None, True
            tried += 1
            solver.push()
            solver.add(*[v == z3.Q(f.numerator, f.denominator) for v, f in pins.items()])
            if solver.check() == z3.sat:
                w = certify(enc.claim, _model_values(enc, solver.model())[0])
            solver.pop()
            if w is not None:
                return w, True
    return None, True


def _canonical(text: str) -> str:
    """Z3 names shared subterms ``?x81``/``$x28`` after internal ids, which depend on
    what ran before in the process; rename them in order of appearance (same query,
    same text)."""
    import re
    names: dict[str, str] = {}

    def rename(m):
        return names.setdefault(m.group(0), f"{m.group(0)[0]}x{len(names)}")
    return re.sub(r"[?$]x\d+", rename, text)


def _smt2(solver: z3.Solver) -> str:
    """The solver's assertions as SMT-LIB2, printed from a fresh context so that the
    text does not depend on what else the process built (Z3 shares subterms by
    reference count)."""
    ctx = z3.Context()
    fresh = z3.Solver(ctx=ctx)
    for a in solver.assertions():
        fresh.add(a.translate(ctx))
    return fresh.to_smt2()


def _smt_text(claim: Claim, scripts: list[str]) -> str:
    scripts = [_canonical(t) for t in scripts]
    notes = "".join(f"; {n}\n" for n in claim.notes)
    head = (f"; distillproof: claim {claim.axiom} of family {claim.family!r} at "
            f"K={claim.classes}\n{notes}; unsat = no point of the domain violates an atom\n")
    if len(scripts) == 1:
        return head + scripts[0]
    return head + f"; {len(scripts)} queries, one per atom; every answer must be unsat\n" + "".join(
        f"(push 1)\n{text}(pop 1)\n" for text in scripts)


def decide(claim: Claim, *, timeout_ms: int = 5000, seed: int = 0,
           shrink: bool = True) -> Evidence:
    """Decide ``claim`` at its ``K`` with Z3.

    ``Proved(method="z3", smt=...)`` on ``unsat``; ``Refuted`` with a certified exact
    rational witness (shrunk when ``shrink``) on ``sat``; ``Unknown`` when the claim is
    not encodable, on timeout / ``unknown``, or when no rational witness certifies.

    One query asks for any violated atom.  If it is ``unknown`` and there are several
    atoms, one query per atom follows (often far easier for nlsat, having no
    disjunction), sharing a second budget of ``timeout_ms``: the first certified
    violation refutes; all ``unsat`` proves, with an SMT-LIB2 script of ``push``/``pop``
    blocks, one per atom.
    """
    try:
        enc = encode(claim, timeout_ms=timeout_ms, seed=seed)
    except NotEncodable as err:
        return Unknown(reason=err.reason, method="z3", classes=claim.classes)
    solver = _solver(timeout_ms, seed)
    solver.add(*enc.constraints, enc.negation)
    smt = _smt_text(claim, [_smt2(solver)])
    result = solver.check()
    if result == z3.unsat:
        return Proved(method="z3", classes=claim.classes, smt=smt,
                      steps=(_proof_step(claim, enc, timeout_ms, seed, 1),))
    if result == z3.sat:
        return _refutation(claim, enc, solver, smt, shrink)
    reason = solver.reason_unknown()
    if "timeout" in reason or "canceled" in reason:
        reason = f"timeout after {timeout_ms} ms"
    unknown = Unknown(reason=f"z3: {reason}", method="z3", classes=claim.classes)
    if len(enc.atoms) < 2:
        return unknown
    deadline = time.monotonic() + timeout_ms / 1000
    scripts, undecided = [], None
    for ok, holds in zip(enc.defined, enc.atoms):
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0:
            return unknown
        one = _solver(left, seed)
        one.add(*enc.constraints, ok, z3.Not(holds))
        scripts.append(_smt2(one))
        result = one.check()
        if result == z3.sat:
            evidence = _refutation(claim, enc, one, _smt_text(claim, scripts[-1:]), shrink)
            if isinstance(evidence, Refuted):
                return evidence
            undecided = evidence
        elif result != z3.unsat:
            undecided = unknown
    if undecided is not None:
        return undecided
    return Proved(method="z3", classes=claim.classes, smt=_smt_text(claim, scripts),
                  steps=(_proof_step(claim, enc, timeout_ms, seed, len(scripts)),))


def _refutation(claim: Claim, enc: Encoding, solver: z3.Solver, smt: str,
                shrink: bool) -> Evidence:
    witness, irrational = _certified_witness(enc, solver)
    if witness is None:
        reason = ("z3 found only an irrational witness that did not survive rounding"
                  if irrational else "z3's rational model did not certify exactly")
        return Unknown(reason=reason, method="z3", classes=claim.classes)
    if shrink:
        from ._shrink import shrink as _shrink
        witness = _shrink(claim, witness)
    return Refuted(method="z3", witness=witness, smt=smt)


def _proof_step(claim: Claim, enc: Encoding, timeout_ms: int, seed: int,
                queries: int) -> Step:
    domain = _solver(timeout_ms, seed)
    domain.add(*enc.constraints)
    vacuous = domain.check() == z3.unsat     # unknown: say nothing
    statement = (f"z3 (exact nonlinear real arithmetic) finds no point of the domain "
                 f"at K={claim.classes} where an atom fails: "
                 + ("the query is unsat" if queries == 1 else
                    f"each of the {queries} per-atom queries is unsat"))
    if vacuous:
        statement += "; note: the domain itself is empty, so the claim holds vacuously"
    conditions = tuple(enc.conditions) + tuple(
        (f"side query {i}", "unsat; SMT-LIB2:\n" + text)
        for i, text in enumerate(enc.side_queries))
    return Step("exact decision", statement, conditions)


# --- symbolic exponents: instantiate parameters at rationals -----------------------
def refute_instantiated(claim: Claim, points: list[dict], timeout_ms: int = 5000,
                        *, seed: int = 0, shrink: bool = True) -> Evidence | None:
    """Try to refute ``claim`` (e.g. one with symbolic exponents such as ``p_0**alpha``)
    by fixing parameters at the rational ``points`` and deciding the instantiated claim.

    Each point must satisfy the domain relations that involve only its symbols
    (checked exactly; points that fail are skipped).  Only a ``sat`` whose witness,
    *extended with the point's values*, certifies against the *original* claim counts:
    that is a ``Refuted`` with ``method="z3 (instantiated alpha=1/2)"``.  ``unsat`` at a
    point proves nothing about other parameter values, so the result is then ``None``.
    """
    for point in points:
        subs = {s: sp.Rational(v) for s, v in point.items()}
        if any(s not in claim.parameters for s in subs):
            raise ValueError(f"point {point} names symbols that are not parameters of "
                             f"the claim {[p.name for p in claim.parameters]}")
        if not in_domain(claim, subs):
            continue
        inst = instantiate_claim(claim, subs)
        evidence = decide(inst, timeout_ms=timeout_ms, seed=seed, shrink=False)
        if not isinstance(evidence, Refuted):
            continue
        values = dict(evidence.witness.values)
        values.update({s.name: Fraction(int(v.p), int(v.q)) for s, v in subs.items()})
        witness = certify(claim, values)
        if witness is None:
            continue
        if shrink:
            from ._shrink import shrink as _shrink
            witness = _shrink(claim, witness, fixed=tuple(s.name for s in subs))
        text = ", ".join(f"{s}={v}" for s, v in subs.items())
        return Refuted(method=f"z3 (instantiated {text})", witness=witness, smt=evidence.smt)
    return None
