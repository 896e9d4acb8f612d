r"""Capacity constraints: the recursion ``q_t = Π_S(M(p̄, q_{t−1}))`` when ``p̄ ∉ S``.

THEORY.md §1: ``Π_S(m) = argmin_{s∈S} KL(m‖s)`` (cross-entropy distillation onto ``S``,
the *M-projection*) and ``Φ = Π_S ∘ M(p̄, ·)``.  With R and C (and ``p̄ ∈ S``) ``Π_S`` is
the identity along the trajectory; here it is not, and this module says what survives.

**Projections** (:func:`project_exact`, :func:`project`):

* independence (``r x c`` tables): the product of the marginals of ``m`` -- exact and
  rational in ``m`` (``KL(m‖r⊗c) = const − Σ_i m_{i·} log r_i − Σ_j m_{·j} log c_j``);
* toric ``x ∝ exp(Aᵀθ)``: the member with ``A s = A m`` (moment matching, Birch's
  theorem), by Newton's method on the convex dual ``log Σ exp(Aᵀθ) − θ·Am``, stopped at
  ``‖As − Am‖∞ <= 1e-13`` (float64);
* support: ``KL(m‖s) = +∞`` for every ``s`` on the face when ``m`` has mass outside it;
  the minimiser of the cross-entropy *restricted to the support* is ``m`` conditioned on
  the support (renormalised) -- exact; the irreducible error is then ``+∞``;
* linear (box, polytope, linear user families): ``min −Σ m_i log s_i`` over
  ``{s ∈ Δ, Es = e, As <= b}`` by a log-barrier Newton method from an exact strictly
  feasible point (found by Z3), stopped when the duality-gap bound (number of
  inequalities ``/ t``) is ``<= 1e-10``.

**Fixed point** ``q* = Φ(q*)``: iteration in floats, then an exact check: when ``M`` is
rational and ``Π_S`` exact, the rationalised iterate is verified ``Φ(q̂) = q̂`` in exact
arithmetic (``certified_by = exact``); otherwise the float residual is reported.

**Irreducible error** ``KL(p̄ ‖ Π_S p̄)``: an Arb enclosure when ``Π_S`` is exact.

**Contraction under capacity**: the statements (A), (B), (C) of :data:`STATEMENTS`, at
the exact ``p̄`` and ``θ``.  (A) is MT3 for ``Φ`` over the open simplex (``κ = 1``, mere
non-expansion, is its weakest form): when ``M(p̄, p̄) = p̄`` (checked exactly) and
``p̄ ∉ S`` it fails at ``q = p̄``, since ``Φp̄ = Π_S p̄ ∈ S`` differs from ``p̄``, so
``KL(p̄‖Φp̄) > 0 = KL(p̄‖p̄)`` -- certified by that argument, the value enclosed by Arb.
(B) is contraction toward the fixed point and (C) of the excess error, both over ``S``,
where the trajectory lives from ``t = 1``.  For them a violation of ``κ = 1`` is
searched for and certified with Arb (exact ``Π_S``, rational ``M``, exact ``q*``);
otherwise the sampled supremum of the ratio is reported as a **numeric rate** -- an
estimate, never a proof.  For exponential families (independence, toric) the
Pythagorean identity ``KL(p̄‖s) = KL(p̄‖Π_S p̄) + KL(Π_S p̄‖s)`` (``s ∈ S``) makes (C)
the same as (B) when ``q* = Π_S p̄``.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
import sympy as sp

from ..axioms.divergences import kl as _kl
from ..axioms.students import StudentFamily
from ..axioms.vector import components
from ..proofs.evidence import Witness, rational_str

__all__ = ["project", "project_exact", "project_closed", "kl_numeric", "kl_sign",
           "default_anchor", "Recursion", "capacity", "STATEMENTS"]


# --- projections -------------------------------------------------------------------
def project_exact(student: StudentFamily, m) -> tuple[Fraction, ...] | None:
    """``Π_S(m)`` in exact arithmetic where it has a closed form (independence,
    support), else ``None``."""
    return project_closed(student, [Fraction(x) for x in m])


def project_closed(student: StudentFamily, m: list):
    """The closed form of ``Π_S(m)`` (independence, support) in the arithmetic of the
    entries of ``m`` (fractions, or closed SymPy expressions), else ``None``."""
    zero = m[0] * 0
    if student.kind == "independence":
        rows, cols = student.data["shape"]
        r = [sum(m[i * cols + j] for j in range(cols)) for i in range(rows)]
        c = [sum(m[i * cols + j] for i in range(rows)) for j in range(cols)]
        return tuple(r[k // cols] * c[k % cols] for k in range(rows * cols))
    if student.kind == "support":
        total = sum(m[i] for i in student.face)
        return tuple(m[i] / total if i in student.face else zero
                     for i in range(student.classes))
    return None


def project(student: StudentFamily, m) -> np.ndarray:
    """``Π_S(m)`` in float64 (see the module docstring for the method per kind)."""
    m = np.asarray(m, dtype=float)
    if student.kind in ("independence", "support"):
        return np.array(project_closed(student, list(m)), dtype=float)
    if student.kind == "toric":
        return _toric(np.array(student.data["A"], dtype=float), m)
    if student.linear is not None:
        return _barrier(student, m)
    raise ValueError(f"no KL projection for student family {student.name!r} "
                     f"(kind {student.kind}): relations that are neither linear nor toric")


def _toric(A: np.ndarray, m: np.ndarray) -> np.ndarray:
    target, theta = A @ m, np.zeros(A.shape[0])
    s_of = lambda th: (w := np.exp(A.T @ th - (A.T @ th).max())) / w.sum()      # noqa: E731
    dual = lambda th: ((z := A.T @ th).max() + np.log(np.exp(z - z.max()).sum())  # noqa: E731
                       - th @ target)

    for _ in range(200):
        s = s_of(theta)
        grad = A @ s - target
        if np.abs(grad).max() <= 1e-13:
            break
        H = A @ (np.diag(s) - np.outer(s, s)) @ A.T
        step = -np.linalg.lstsq(H, grad, rcond=1e-14)[0]
        t, f0 = 1.0, dual(theta)
        while dual(theta + t * step) > f0 + 1e-4 * t * grad @ step and t > 1e-12:
            t /= 2
        theta = theta + t * step
    return s_of(theta)


@lru_cache(maxsize=64)
def _interior_point(student: StudentFamily) -> np.ndarray:
    """An exact strictly feasible point of a linear family (Z3, linear arithmetic)."""
    import z3
    E, e, A, b = student.linear
    K = student.classes
    xs = [z3.Real(f"x{i}") for i in range(K)]
    Q = lambda f: z3.Q(f.numerator, f.denominator)                     # noqa: E731
    solver = z3.Solver()
    solver.add(z3.Sum(*xs) == 1, *[x > 0 for x in xs])
    solver.add(*[z3.Sum(*[Q(c) * x for c, x in zip(row, xs)]) == Q(v) for row, v in zip(E, e)])
    solver.add(*[z3.Sum(*[Q(c) * x for c, x in zip(row, xs)]) < Q(v) for row, v in zip(A, b)])
    if solver.check() != z3.sat:
        raise ValueError(f"{student.name}: no strictly feasible point (empty interior)")
    model = solver.model()
    return np.array([float(model.eval(x).as_fraction()) for x in xs])


def _barrier(student: StudentFamily, m: np.ndarray, gap: float = 1e-10) -> np.ndarray:
    """Log-barrier Newton on the affine set ``{Σ s = 1, Es = e}`` (parametrised by an
    orthonormal null-space basis, so the equalities hold by construction)."""
    E, e, A, b = student.linear
    K = student.classes
    C = np.array([[1.0] * K] + [[float(c) for c in row] for row in E])
    G = np.array([[float(c) for c in row] for row in A] + list(-np.eye(K)))
    h = np.array([float(v) for v in b] + [0.0] * K)
    _, sv, vt = np.linalg.svd(C)
    N = vt[int((sv > 1e-12).sum()):].T                 # columns span ker C
    s, t, pos = _interior_point(student).copy(), 10.0, m > 0

    def phi(x):
        slack = h - G @ x
        return np.inf if (slack <= 0).any() else (
            -t * (m[pos] @ np.log(x[pos])) - np.log(slack).sum())

    while True:
        for _ in range(200):
            slack = h - G @ s
            grad = N.T @ (-t * np.where(pos, m / s, 0) + G.T @ (1 / slack))
            H = N.T @ (np.diag(t * np.where(pos, m / s ** 2, 0))
                       + G.T @ np.diag(slack ** -2) @ G) @ N
            dz = np.linalg.solve(H, -grad)
            step, decrement = N @ dz, -grad @ dz
            if decrement / 2 <= 1e-13:
                break
            u, f0 = 1.0, phi(s)
            while phi(s + u * step) > f0 - 0.25 * u * decrement and u > 1e-16:
                u /= 2
            s = s + u * step
        if len(h) / t <= gap:
            return s
        t *= 30


# --- divergences -------------------------------------------------------------------
def kl_numeric(a, b) -> float:
    """``KL(a‖b)`` in float64, by :func:`distillproof.axioms.divergences.kl`."""
    return float(_kl(np.asarray(a, float), np.asarray(b, float)))


def _sym(x) -> sp.Expr:
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    return sp.sympify(x, strict=True)


def _kl_expr(a, b) -> sp.Expr:
    """``KL(a‖b)`` as a closed SymPy expression (or ``oo``), for a rational ``a`` and
    ``b`` rational or closed expressions."""
    terms = []
    for x, y in zip(a, b):
        if x == 0:
            continue
        if y == 0:
            return sp.oo
        ratio = _sym(Fraction(x) / y) if isinstance(y, Fraction) else _sym(x) / _sym(y)
        terms.append(_sym(x) * sp.log(ratio))
    return sp.Add(*terms)


def kl_sign(pairs_plus, pairs_minus) -> tuple[int | None, str]:
    """Sign and Arb enclosure of ``Σ KL(+) − Σ KL(−)`` for exact rational pairs."""
    from ._certify import _sign_detail
    e = sp.Add(*[_kl_expr(a, b) for a, b in pairs_plus]) - sp.Add(
        *[_kl_expr(a, b) for a, b in pairs_minus])
    if e.has(sp.oo):
        return (1 if e == sp.oo else None), ("+inf" if e == sp.oo else "undefined")
    s, _, text = _sign_detail(e)
    return s, text


# --- the recursion -----------------------------------------------------------------
def default_anchor(student: StudentFamily) -> tuple[Fraction, ...]:
    """A simple rational point of the open simplex outside ``S`` (``(c, 1, .., 1)``
    normalised, or its reverse, for growing ``c``), exact membership checked."""
    K = student.classes
    for c in (2, 3, 4, 6, 9):
        for w in ([c] + [1] * (K - 1), [1] * (K - 1) + [c]):
            p = tuple(Fraction(x, sum(w)) for x in w)
            if not student.contains(p):
                return p
    raise ValueError(f"{student.name}: no simple anchor outside S was found; give one")


def _fractions(x, limit: int) -> tuple[Fraction, ...]:
    """A rational point of the simplex near ``x`` (denominators about ``limit``)."""
    out = [Fraction(float(v)).limit_denominator(limit) for v in x]
    out[int(np.argmax(x))] += 1 - sum(out)
    return tuple(out)


class Recursion:
    """``Φ = Π_S ∘ M(p̄, ·)`` of a one-student meta-teacher family at an exact anchor
    ``p̄`` and an exact parameter point (``values``; default: the family's fixed values
    and the first simple rational point of its domain)."""

    def __init__(self, family, student: StudentFamily, anchor=None, values=None):
        from ._certify import rational_points
        if family.kind != "meta-teacher" or family.students != ("q",):
            raise ValueError("capacity analysis needs a meta-teacher family with one "
                             f"student q; {family.name!r} is {family.kind} with "
                             f"students {family.students}")
        K = self.K = student.classes
        if family.anchor != sp.Symbol("p", positive=True) and "p" not in family.fixed:
            raise ValueError(f"{family.name!r}: the anchor is built from teachers; "
                             "capacity analysis takes a plain anchor p")
        self.family, self.student = family, student
        anchor = family.fixed.get("p") or anchor or default_anchor(student)
        self.anchor = tuple(Fraction(str(v)) for v in anchor)
        if len(self.anchor) != K or sum(self.anchor) != 1 or min(self.anchor) <= 0:
            raise ValueError(f"the anchor must be a point of the open simplex with {K} classes")
        from ..axioms.claims import Claim
        free = [p.symbol for p in family.free_parameters]
        given = {s: sp.Rational(str(values[s.name])) for s in free if s.name in (values or {})}
        domain = tuple(r.xreplace(given) for r in family.domain)
        if sp.false in domain:
            raise ValueError(f"{family.name!r}: the values {values} are outside the domain")
        rest = [s for s in free if s not in given]
        probe = Claim("capacity", family.name, K, {}, tuple(rest), domain, ())
        pts = rational_points(probe, n=1, symbols=rest) if rest else [{}]
        if not pts:
            raise ValueError(f"{family.name!r}: no simple rational point of the parameter "
                             "domain; pass values")
        self.values = {**given, **pts[0]}
        self.q = components("q", K)
        anchor = {c: sp.Rational(v.numerator, v.denominator)
                  for c, v in zip(components("p", K), self.anchor)}
        # parameters first (exponents become rationals), then the small anchor
        self.exprs = [e.xreplace(self.values).xreplace(anchor) for e in family.at(K)]
        self.rational = all(sp.sympify(e, strict=True).is_rational_function(*self.q) for e in self.exprs)
        self._f = sp.lambdify(self.q, self.exprs, "numpy")
        self.exact = self.rational and project_exact(student, self.anchor) is not None

    @property
    def parameters(self) -> dict:
        return {s.name: Fraction(int(v.p), int(v.q)) for s, v in self.values.items()}

    def phi(self, q) -> np.ndarray:
        return project(self.student, np.array(self._f(*np.asarray(q, float)), dtype=float))

    def phi_closed(self, q) -> list | None:
        """``Φ(q)`` as closed SymPy expressions at a rational ``q`` (rationals when ``M``
        is rational; radicals otherwise, for interval certification), or ``None`` (no
        closed-form projection)."""
        from ._certify import substitute
        if project_closed(self.student, [Fraction(1)] * self.K) is None:
            return None
        subs = {c: _sym(Fraction(v)) for c, v in zip(self.q, q)}
        return list(project_closed(self.student, [substitute(e, subs) for e in self.exprs]))

    def phi_exact(self, q) -> tuple[Fraction, ...] | None:
        """``Φ(q)`` exactly (rational map and exact projection), else ``None``."""
        out = self.phi_closed(q) if self.exact else None
        return tuple(Fraction(int(x.p), int(x.q)) for x in out) if out else None

    def fixed_point(self, steps: int = 5000) -> dict:
        """Iterate ``Φ`` from the uniform point; verify exactly where possible."""
        q, t, moved = np.full(self.K, 1.0 / self.K), 0, 1.0
        while t < steps and moved > 1e-15:
            nxt, t = self.phi(q), t + 1
            q, moved = nxt, np.abs(nxt - q).max()
        out = {"value": [float(x) for x in q], "iterations": t,
               "residual": float(np.abs(self.phi(q) - q).max()), "certified_by": "numeric"}
        if self.exact:
            for d in (10, 100, 10**3, 10**4, 10**6, 10**9, 10**12):
                cand = _fractions(q, d)
                if min(cand) >= 0 and self.phi_exact(cand) == cand:
                    out.update(value=[rational_str(x) for x in cand], exact=tuple(cand),
                               residual=0.0, certified_by="exact")
                    break
        return out


# --- the three contraction statements ----------------------------------------------
STATEMENTS = {
    "A": "KL(p̄‖Φq) <= κ KL(p̄‖q) for all q in the open simplex (MT3 for Φ = Π_S∘M)",
    "B": "KL(q*‖Φq) <= κ KL(q*‖q) for all q in S (toward the fixed point q*)",
    "C": "KL(p̄‖Φq) − KL(p̄‖q*) <= κ (KL(p̄‖q) − KL(p̄‖q*)) for all q in S (excess error)",
}


def _witness(rec: Recursion, q, atom: str, value: str, how: str) -> dict:
    w = Witness(values={"p": rec.anchor, "q": tuple(q), **rec.parameters}, atom=atom,
                value=value, certified_by=how, classes=rec.K)
    return w.to_json()


def _anchor_fixed(rec: Recursion) -> bool:
    """``M(p̄, p̄) = p̄``, decided exactly (rational, or algebraic zero test)."""
    from ._certify import sign, substitute
    subs = {c: sp.Rational(v.numerator, v.denominator) for c, v in zip(rec.q, rec.anchor)}
    return all(sign(substitute(e, subs) - sp.Rational(v.numerator, v.denominator)) == 0
               for e, v in zip(rec.exprs, rec.anchor))


def _simpler(rec: Recursion, q, text: str):
    """A simpler ``q`` (the shrink order of :mod:`._shrink`) still violating A."""
    from ._shrink import _vector_candidates, complexity
    p = rec.anchor
    for cand in sorted(_vector_candidates(q), key=lambda v: complexity({"q": v})):
        if complexity({"q": cand}) >= complexity({"q": q}):
            break
        s, t = kl_sign([(p, rec.phi_exact(cand) or rec.phi_closed(cand))], [(p, cand)])
        if s == 1:
            return cand, t
    return q, text


def _statement_a(rec: Recursion, rng, samples: int) -> dict:
    out = {"id": "A", "statement": STATEMENTS["A"]}
    atom = "KL(p̄‖Φq) <= KL(p̄‖q)"
    p = rec.anchor
    if rec.student.violated(p) and _anchor_fixed(rec):
        exact = rec.phi_exact(p) or rec.phi_closed(p)
        if exact is not None:
            s, text = kl_sign([(p, exact)], [])
            how = "exact argument; value enclosed by interval arithmetic"
        else:
            text, how = f"≈ {kl_numeric(p, rec.phi(np.array(p, float))):.6g}", "exact argument"
        out.update(status="refuted", method="M(p̄,p̄) = p̄ (exact) and p̄ ∉ S (exact): Φp̄ = "
                   "Π_S p̄ lies in S, so Φp̄ ≠ p̄ and KL(p̄‖Φp̄) > 0 = KL(p̄‖p̄)",
                   witness=_witness(rec, p, atom, text, how))
        return out
    pf = np.array(p, float)
    best, best_q = -np.inf, None
    for _ in range(samples):
        q = rng.dirichlet(np.ones(rec.K))
        q = (1 - (e := 10 ** rng.uniform(-4, 0))) * pf + e * q
        d = kl_numeric(pf, rec.phi(q)) - kl_numeric(pf, q)
        if d > best:
            best, best_q = d, q
    closed = rec.exact or rec.phi_closed(p) is not None
    if best > 1e-9 and closed:
        for limit in (100, 10**4, 10**6, 10**9):
            q = _fractions(best_q, limit)
            if min(q) <= 0:
                continue
            s, text = kl_sign([(p, rec.phi_exact(q) or rec.phi_closed(q))], [(p, q)])
            if s == 1:
                q, text = _simpler(rec, q, text)
                out.update(status="refuted", method="numeric search + interval certification",
                           witness=_witness(rec, q, atom, text, "interval"))
                return out
    out.update(status="unknown", method="numeric search",
               reason=f"no certified violation of κ = 1 in {samples} samples "
                      f"(largest KL(p̄‖Φq) − KL(p̄‖q) ≈ {best:.3g})")
    return out


def _in_s(rec: Recursion, rng, n: int, qstar) -> list:
    """Points of ``S``: projections of random points, and points approaching ``q*``
    (exact fractions when ``Π_S`` is exact)."""
    pts = []
    for i in range(n):
        m = rng.dirichlet(np.ones(rec.K) * (0.5 if i % 2 else 2.0))
        if i % 3 == 2:
            m = (1 - (e := 10 ** rng.uniform(-4, -1))) * np.array(qstar, float) + e * m
        mf = _fractions(m, 10**6) if rec.exact else None
        if mf is None or min(mf) > 0:
            pts.append(project(rec.student, m) if mf is None else project_exact(rec.student, mf))
    return pts


def _statements_bc(rec: Recursion, fp: dict, rng, samples: int) -> list[dict]:
    p = rec.anchor
    qstar = fp.get("exact") or np.array(fp["value"], float)
    pf, qs = np.array(p, float), np.array(qstar, float)
    base = kl_numeric(pf, qs)
    ratios, found = ({"B": [], "C": []} if np.isfinite(base) else {"B": []}), {}
    for q in _in_s(rec, rng, samples, qstar):
        qf, nq = np.array(q, float), rec.phi(np.array(q, float))
        pairs = {"B": (kl_numeric(qs, nq), kl_numeric(qs, qf)),
                 "C": (kl_numeric(pf, nq) - base, kl_numeric(pf, qf) - base)}
        for key in ratios:
            num, den = pairs[key]
            if den > 1e-10:
                ratios[key].append((num / den, den))
            if num - den > 1e-9 and key not in found and rec.exact and "exact" in fp:
                ref = qstar if key == "B" else p              # (C) at κ = 1: KL(p̄‖·) only
                sgn, text = kl_sign([(ref, rec.phi_exact(q))], [(ref, q)])
                if sgn == 1:
                    found[key] = _witness(rec, q, "κ = 1 form of " + key, text, "interval")
    out = []
    for key in ("B", "C"):
        item = {"id": key, "statement": STATEMENTS[key]}
        if key not in ratios:
            item.update(status="unknown", method="none", reason="not applicable: "
                        "KL(p̄‖q*) = +∞ (p̄ puts mass outside the support of S)")
        elif key in found:
            item.update(status="refuted", method="search over S + interval certification "
                        "(exact q*, exact Φq)", witness=found[key])
        elif ratios[key]:
            r = sorted(ratios[key], key=lambda t: t[1])
            item.update(status="unknown", method="numeric (sampled points of S)",
                        rate=float(max(x for x, _ in r)),
                        local_rate=float(np.median([x for x, _ in r[:5]])),
                        samples=len(r),
                        reason=f"no violation in {len(r)} sampled points of S; the rate is "
                               "the largest sampled ratio, a numeric estimate, not a proof")
        else:
            item.update(status="unknown", method="numeric", reason="no usable samples")
        out.append(item)
    return out


def capacity(family, student: StudentFamily, *, anchor=None, values=None,
             samples: int = 200, seed: int = 0) -> dict:
    """The capacity-constrained recursion of ``family`` with ``student`` (module
    docstring): projection method, fixed point, irreducible error, statements A-C."""
    rec = Recursion(family, student, anchor, values)
    rng = np.random.default_rng(seed)
    out = {"student": student.name, "classes": rec.K,
           "anchor": [rational_str(v) for v in rec.anchor],
           "anchor_in_S": not student.violated(rec.anchor),
           "parameters": {k: rational_str(v) for k, v in rec.parameters.items()},
           "projection": {"kind": student.kind, "method": _METHOD[student.kind if student.kind
                                                                  in _METHOD else "linear"],
                          "exact": project_exact(student, rec.anchor) is not None}}
    fp = rec.fixed_point()
    out["fixed_point"] = {k: v for k, v in fp.items() if k != "exact"}
    proj = project_exact(student, rec.anchor)
    if out["anchor_in_S"]:
        err = {"value": "0", "certified_by": "exact", "projection": out["anchor"]}
    elif proj is not None:
        s, text = kl_sign([(rec.anchor, proj)], [])
        err = {"value": text, "certified_by": ("exact" if text == "+inf" else "interval")
               if s is not None else "none",
               "projection": [rational_str(v) for v in proj]}
        if "exact" in fp:
            out["fixed_point"]["equals_projection_of_anchor"] = fp["exact"] == proj
    else:
        proj = project(student, np.array(rec.anchor, float))
        err = {"value": f"{kl_numeric(np.array(rec.anchor, float), proj):.12g}",
               "certified_by": "numeric", "projection": [float(v) for v in proj]}
    out["irreducible_error"] = {"statement": "KL(p̄‖Π_S p̄)", **err}
    out["contraction"] = [_statement_a(rec, rng, samples)] + _statements_bc(rec, fp, rng, samples)
    return out


_METHOD = {
    "independence": "product of the marginals (exact, rational)",
    "support": "renormalise on the support (exact; the cross-entropy restricted to it)",
    "toric": "moment matching A s = A m by Newton on the dual (float64, ‖As−Am‖∞ <= 1e-13)",
    "linear": "log-barrier Newton from an exact interior point (float64, gap <= 1e-10)",
}
