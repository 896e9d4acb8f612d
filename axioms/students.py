r"""Student families: what a capacity-limited student can represent (THEORY.md §1).

A student family ``S ⊆ Δ_K`` is a semialgebraic subset of the simplex, given by

* a **support** (``allowed`` classes): every other component is 0, so ``S`` lies on a
  face of the simplex; claims then quantify over the face's relative interior;
* **equations** and **inequalities**: SymPy relations in the member's components
  ``x_0 .. x_{K-1}`` (the positive symbols of :func:`~.vector.components`).

Membership is the conjunction of all of them.  The constructors build the standard
families:

``support(K, allowed)``   the face ``{x : x_j = 0 for j not in allowed}``
``independence(r, c)``    ``r x c`` tables (flattened row-major, ``x_{ij} = x[i*c + j]``)
                          with independent rows and columns: every 2x2 minor vanishes,
                          ``x_{ij} x_{kl} = x_{il} x_{kj}``
``toric(A)``              the log-linear model ``x ∝ exp(Aᵀθ)`` of an integer design
                          matrix ``A``: binomials ``x^{u+} = x^{u-}`` for ``u`` in an
                          integer basis of ``ker A`` (a row of ones is appended to
                          ``A`` when not in its row space: the normaliser)
``box(K, lower, upper)``  ``lower_i <= x_i <= upper_i``
``polytope(A, b)``        ``A x <= b``
``from_relations(K, rels)`` anything a user writes (the ``[student]`` table of a spec)

On the open orthant a *rational* basis of ``ker A`` already cuts out the toric model:
``x^u = 1`` for a basis ``u`` says ``log x ⊥ ker A``, i.e. ``log x ∈ rowspace A``.
(On the boundary one would need the saturated lattice ideal; the claims here live on
the open simplex or the relative interior of a face.)  Reference: Sturmfels,
*Gröbner Bases and Convex Polytopes* (1996), ch. 4; Lauritzen, *Graphical Models*
(1996), §4.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product
from typing import Sequence

import sympy as sp

from .claims import Atom
from .vector import components

__all__ = ["StudentFamily", "StudentError", "support", "independence", "toric", "box",
           "polytope", "from_relations", "get_student", "student_names", "BUILTIN",
           "load_student", "family_students", "relation_text", "student_ref"]


class StudentError(ValueError):
    """A student family that cannot be built or used (bad relation, wrong K, ...)."""


_INEQ = (sp.Ge, sp.Gt, sp.Le, sp.Lt)


def relation_text(rel: sp.Basic) -> str:
    """A relation as a reader (and the spec language) writes it: ``x_0*x_3 == x_1*x_2``."""
    if isinstance(rel, sp.Eq):
        return f"{sp.sstr(rel.lhs)} == {sp.sstr(rel.rhs)}"
    return sp.sstr(rel)


def _atom_form(rel: sp.Basic) -> tuple[sp.Expr, str]:
    """``rel`` as ``(expr, rel)`` with ``expr rel 0``, ``rel`` in ``== >= >``."""
    if isinstance(rel, sp.Eq):
        return rel.lhs - rel.rhs, "=="
    if isinstance(rel, (sp.Ge, sp.Gt)):
        return rel.lhs - rel.rhs, ">=" if isinstance(rel, sp.Ge) else ">"
    if isinstance(rel, (sp.Le, sp.Lt)):
        return rel.rhs - rel.lhs, ">=" if isinstance(rel, sp.Le) else ">"
    raise StudentError(f"a student relation must be ==, <=, <, >= or >, got {rel}")


@dataclass(frozen=True)
class StudentFamily:
    """A student family ``S ⊆ Δ_K`` (see the module docstring).

    ``allowed``: the support (``None``: every class); ``equations``: ``Eq`` relations;
    ``inequalities``: ``Ge Gt Le Lt`` relations, all in ``components(x, classes)``.
    ``kind`` (``support independence toric linear relations``) and ``data`` (the
    design matrix, the table shape, ...) are what the projections recognise.
    """
    name: str
    classes: int
    equations: tuple[sp.Basic, ...] = ()
    inequalities: tuple[sp.Basic, ...] = ()
    allowed: tuple[int, ...] | None = None
    doc: str = ""
    kind: str = "relations"
    x: str = "x"
    data: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        if self.classes < 2:
            raise StudentError(f"student family {self.name!r}: classes must be >= 2")
        ok = set(self.symbols)
        for rel in self.relations:
            _atom_form(rel)
            extra = {s.name for s in rel.free_symbols} - {s.name for s in ok}
            if extra:
                raise StudentError(f"student family {self.name!r}: relation {rel} uses "
                                   f"{sorted(extra)}; only {self.x}_0..{self.x}_{self.classes - 1}")
        if self.allowed is not None:
            if not self.allowed or any(not 0 <= i < self.classes for i in self.allowed):
                raise StudentError(f"student family {self.name!r}: support {self.allowed} "
                                   f"is not a non-empty subset of 0..{self.classes - 1}")
            outside = set(self.symbols[i] for i in self.zeros)
            if any(rel.free_symbols & outside for rel in self.relations):
                raise StudentError(f"student family {self.name!r}: a relation uses a "
                                   "component outside the support")

    # --- structure -----------------------------------------------------------------
    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return components(self.x, self.classes)

    @property
    def relations(self) -> tuple[sp.Basic, ...]:
        return tuple(self.equations) + tuple(self.inequalities)

    @property
    def face(self) -> tuple[int, ...]:
        """The classes a member may put mass on."""
        return tuple(range(self.classes)) if self.allowed is None else tuple(self.allowed)

    @property
    def zeros(self) -> tuple[int, ...]:
        """The classes every member gives probability 0."""
        return tuple(i for i in range(self.classes) if i not in self.face)

    def _subs(self, rel, values):
        return rel.xreplace(dict(zip(self.symbols, values)))

    def hypotheses(self, values) -> list[sp.Basic]:
        """The relations of ``S`` at the vector ``values`` (domain relations saying
        ``values ∈ S``; the support is imposed by the caller, on the face)."""
        out = []
        for rel in self.relations:
            r = self._subs(rel, values)
            if r is sp.false:
                raise StudentError(f"{self.name}: relation {rel} is false at {values}")
            if r is not sp.true:
                out.append(r)
        return out

    def atoms(self, values, what: str) -> list[Atom]:
        """Atoms saying ``values ∈ S`` (support first, then each relation)."""
        out = [Atom(sp.sympify(values[j], strict=True), "==", f"{what}: class {j} is outside the "
                    "support, so its probability is 0") for j in self.zeros]
        for rel in self.relations:
            expr, how = _atom_form(rel)
            out.append(Atom(expr.xreplace(dict(zip(self.symbols, values))), how,
                            f"{what}: {relation_text(rel)}"))
        return out

    def violated(self, point: Sequence) -> list[str]:
        """The relations (and support) a point of ``Δ_K`` violates, decided exactly."""
        xs = [Fraction(v) for v in point]
        if len(xs) != self.classes:
            raise StudentError(f"{self.name}: a point needs {self.classes} components")
        out = [f"class {j} is outside the support" for j in self.zeros if xs[j] != 0]
        subs = {s: sp.Rational(v.numerator, v.denominator) for s, v in zip(self.symbols, xs)}
        for rel in self.relations:
            expr, how = _atom_form(rel)
            val = expr.xreplace(subs)
            if not val.is_Rational:
                raise StudentError(f"{self.name}: {rel} is not rational at {point}")
            if not {"==": val == 0, ">=": val >= 0, ">": val > 0}[how]:
                out.append(relation_text(rel))
        return out

    def contains(self, point: Sequence) -> bool:
        """Exact membership of a rational point of the closed simplex."""
        xs = [Fraction(v) for v in point]
        if any(v < 0 for v in xs) or sum(xs) != 1:
            return False
        return not self.violated(xs)

    @property
    def binomials(self) -> list[tuple[int, ...]] | None:
        """``u = u+ - u-`` for each equation ``x^{u+} = x^{u-}`` (monomials with
        coefficient 1); ``None`` unless every equation has that form."""
        out = []
        for rel in self.equations:
            sides = []
            for side in (rel.lhs, rel.rhs):
                poly = sp.Poly(side, *self.symbols)
                if len(poly.terms()) != 1 or poly.terms()[0][1] != 1:
                    return None
                sides.append(poly.terms()[0][0])
            out.append(tuple(a - b for a, b in zip(*sides)))
        return out

    @property
    def linear(self) -> tuple[list, list, list, list] | None:
        """``(E, e, A, b)`` with ``S = {E x = e, A x <= b}`` (exact fractions) when every
        relation is linear in ``x`` (strict inequalities taken closed), else ``None``."""
        E, e, A, b = [], [], [], []
        for rel in self.relations:
            expr, how = _atom_form(rel)
            poly = sp.Poly(expr, *self.symbols)
            if poly.total_degree() > 1:
                return None
            row = [Fraction(str(poly.coeff_monomial(s))) for s in self.symbols]
            const = Fraction(str(poly.coeff_monomial(1)))
            if how == "==":
                E.append(row), e.append(-const)
            else:                                   # row.x + const >= 0
                A.append([-r for r in row]), b.append(const)
        return E, e, A, b

    def simple_points(self, limit: int = 60) -> list[tuple[Fraction, ...]]:
        """Rational members of ``S`` with small denominators, simplest first (the
        order of :func:`distillproof.checker._shrink.complexity`): for toric and
        independence models the monomial parametrisation ``x ∝ t^A`` with ``t`` in
        ``{1, 2, 1/2, 3, 1/3}``; otherwise grid points ``n/d`` (``d <= 12``) on the face, each
        checked exactly with :meth:`contains`.  Memoised (searches and shrinking ask
        the same family again)."""
        return list(_simple_points(self, limit))

    def to_json(self) -> dict:
        return {"name": self.name, "classes": self.classes, "kind": self.kind,
                "support": list(self.face) if self.allowed is not None else None,
                "relations": [relation_text(r) for r in self.relations],
                "doc": self.doc.strip()}


_T = (Fraction(1), Fraction(2), Fraction(1, 2), Fraction(3), Fraction(1, 3))


def _compositions(d: int, n: int):
    """Tuples of ``n`` non-negative integers summing to ``d``."""
    if n == 1:
        yield (d,)
        return
    for first in range(d + 1):
        for rest in _compositions(d - first, n - 1):
            yield (first,) + rest


def _independence_design(rows: int, cols: int) -> list[list[int]]:
    """Row and column indicators: the design matrix of the independence model."""
    A = [[1 if k // cols == i else 0 for k in range(rows * cols)] for i in range(rows)]
    return A + [[1 if k % cols == j else 0 for k in range(rows * cols)] for j in range(cols)]


# --- constructors ------------------------------------------------------------------
def _q(v) -> sp.Rational:
    f = Fraction(str(v)) if not isinstance(v, Fraction) else v
    return sp.Rational(f.numerator, f.denominator)


def support(K: int, allowed, *, name: str | None = None) -> StudentFamily:
    """The face of ``Δ_K`` on the classes ``allowed`` (a student that never predicts
    the others, e.g. a truncated vocabulary)."""
    allowed = tuple(sorted(set(int(i) for i in allowed)))
    name = name or f"support-{'-'.join(map(str, allowed))}-of-{K}"
    return StudentFamily(name, K, allowed=allowed, kind="support",
                         doc=f"Probability only on classes {list(allowed)} of {K}.")


def independence(rows: int, cols: int, *, name: str | None = None) -> StudentFamily:
    """Independence of the row and column variable of a ``rows x cols`` table: the rank-1
    tables ``x_{ij} = r_i c_j``, i.e. every 2x2 minor ``x_{ij} x_{kl} - x_{il} x_{kj}``
    vanishes (``x_{ij}`` is component ``i*cols + j``)."""
    if rows < 2 or cols < 2:
        raise StudentError("an independence model needs at least 2 rows and 2 columns")
    x = components("x", rows * cols)
    eqs = []
    for i in range(rows):
        for k in range(i + 1, rows):
            for j in range(cols):
                for l in range(j + 1, cols):
                    eqs.append(sp.Eq(x[i * cols + j] * x[k * cols + l],
                                     x[i * cols + l] * x[k * cols + j]))
    return StudentFamily(name or f"independence-{rows}x{cols}", rows * cols, tuple(eqs),
                         kind="independence", data={"shape": (rows, cols)},
                         doc=f"{rows}x{cols} tables with independent rows and columns "
                             "(product of the marginals).")


def _integer(v) -> list[int]:
    den = math.lcm(*[int(sp.fraction(c)[1]) for c in v])
    ints = [int(c * den) for c in v]
    g = math.gcd(*ints) or 1
    return [n // g for n in ints]


def toric(A, *, name: str | None = None) -> StudentFamily:
    """The log-linear model ``x_i ∝ exp((Aᵀθ)_i)`` of the integer matrix ``A`` (rows:
    sufficient statistics, columns: classes), by the binomials of an integer basis of
    ``ker A`` (see the module docstring)."""
    M = sp.Matrix(A)
    if M.cols < 2 or any(not (c.is_Integer) for c in M):
        raise StudentError("a toric model needs an integer design matrix with >= 2 columns")
    ones = sp.ones(1, M.cols)
    if M.col_join(ones).rank() > M.rank():
        M = M.col_join(ones)
    x = components("x", M.cols)
    eqs = []
    for v in M.nullspace():
        u = _integer(list(v))
        plus = sp.Mul(*[xi ** max(ui, 0) for xi, ui in zip(x, u)])
        minus = sp.Mul(*[xi ** max(-ui, 0) for xi, ui in zip(x, u)])
        eqs.append(sp.Eq(plus, minus))
    rows = [[int(c) for c in M.row(i)] for i in range(M.rows)]
    return StudentFamily(name or f"toric-{M.cols}", M.cols, tuple(eqs), kind="toric",
                         data={"A": rows},
                         doc=f"log-linear model with design matrix {rows}")


def box(K: int, lower, upper, *, name: str | None = None) -> StudentFamily:
    """``lower_i <= x_i <= upper_i`` (scalars apply to every class)."""
    lo = [_q(v) for v in (lower if isinstance(lower, (list, tuple)) else [lower] * K)]
    hi = [_q(v) for v in (upper if isinstance(upper, (list, tuple)) else [upper] * K)]
    if len(lo) != K or len(hi) != K:
        raise StudentError(f"box bounds need {K} entries")
    x = components("x", K)
    ineqs = [sp.Ge(xi, l) for xi, l in zip(x, lo) if l > 0]
    ineqs += [sp.Le(xi, h) for xi, h in zip(x, hi) if h < 1]
    if sum(lo) > 1 or sum(hi) < 1 or any(l > h for l, h in zip(lo, hi)):
        raise StudentError(f"box [{lo}, {hi}] does not meet the simplex")
    return StudentFamily(name or f"box-{K}", K, (), tuple(ineqs), kind="linear",
                         doc=f"bounds {[str(v) for v in lo]} <= x <= {[str(v) for v in hi]}")


def polytope(A, b, *, name: str | None = None) -> StudentFamily:
    """``{x ∈ Δ_K : A x <= b}`` for an exact matrix ``A`` (rows) and vector ``b``."""
    if not A or len(A) != len(b):
        raise StudentError("polytope: A needs one row per entry of b")
    K = len(A[0])
    x = components("x", K)
    ineqs = []
    for row, bi in zip(A, b):
        if len(row) != K:
            raise StudentError("polytope: rows of A differ in length")
        ineqs.append(sp.Le(sp.Add(*[_q(a) * xi for a, xi in zip(row, x)]), _q(bi)))
    return StudentFamily(name or f"polytope-{K}", K, (), tuple(ineqs), kind="linear",
                         doc=f"A x <= b with A = {A}, b = {b}")


def from_relations(K: int, relations, *, name: str = "user", doc: str = "") -> StudentFamily:
    """A student family from SymPy relations in ``components("x", K)`` (conjunctions
    are flattened; ``Ne`` and ``Or`` are rejected: ``S`` is their conjunction)."""
    flat, eqs, ineqs = list(relations), [], []
    while flat:
        rel = flat.pop(0)
        if isinstance(rel, str):    # text is parsed by the spec parser, never sympified
            raise StudentError(f"relation {rel!r} is text: parse it with the spec parser "
                               "(axioms.spec / axioms._parser) first")
        rel = sp.sympify(rel, strict=True)
        if isinstance(rel, sp.And):
            flat = list(rel.args) + flat
        elif rel is sp.true:
            continue
        elif rel is sp.false:
            raise StudentError(f"student family {name!r}: a relation is false")
        elif isinstance(rel, sp.Eq):
            eqs.append(rel)
        elif isinstance(rel, _INEQ):
            ineqs.append(rel)
        else:
            raise StudentError(f"student family {name!r}: {rel} is not an equation or "
                               "inequality (S is a conjunction of them)")
    fam = StudentFamily(name, K, tuple(eqs), tuple(ineqs), doc=doc)
    if fam.linear is not None:
        return StudentFamily(name, K, tuple(eqs), tuple(ineqs), doc=doc, kind="linear")
    us = fam.binomials
    if us and not ineqs and all(sum(u) == 0 for u in us):
        # log x ⊥ span(u)  <=>  log x ∈ rowspace(A) for A spanning the complement
        A = [_integer(list(v)) for v in sp.Matrix(us).nullspace()]
        return StudentFamily(name, K, tuple(eqs), doc=doc, kind="toric", data={"A": A})
    return fam


# --- the registry ------------------------------------------------------------------
_H = sp.Rational(1, 2)
BUILTIN = {
    "independence-2x2": lambda: independence(2, 2),
    "independence-2x3": lambda: independence(2, 3),
    "toric-line-3": lambda: toric([[0, 1, 2]], name="toric-line-3"),
    "support-first-2of3": lambda: support(3, (0, 1), name="support-first-2of3"),
    "support-first-3of4": lambda: support(4, (0, 1, 2), name="support-first-3of4"),
    "box-3": lambda: box(3, sp.Rational(1, 10), _H, name="box-3"),
    "polytope-ordered-3": lambda: polytope([[-1, 1, 0], [0, -1, 1]], [0, 0],
                                           name="polytope-ordered-3"),
}


def student_names() -> list[str]:
    return list(BUILTIN)


def get_student(name: str) -> StudentFamily:
    if name not in BUILTIN:
        raise KeyError(f"no student family named {name!r}; known: {', '.join(BUILTIN)}")
    return BUILTIN[name]()


def load_student(ref) -> list[StudentFamily]:
    """Student families from a :class:`StudentFamily`, a built-in name, or a TOML spec
    (path) with a ``[student]`` table: one family per number of classes it lists."""
    import pathlib
    if isinstance(ref, StudentFamily):
        return [ref]
    ref = str(ref)
    if ref in BUILTIN:
        return [get_student(ref)]
    if ref.endswith(".toml") or pathlib.Path(ref).is_file():
        from .spec import load_student_spec
        table = load_student_spec(pathlib.Path(ref))
        return [_sourced(from_relations(k, table["where"], name=table["name"], doc=table["doc"]),
                         ref) for k in table["classes"]]
    return [get_student(ref)]


def _sourced(student: StudentFamily, ref: str) -> StudentFamily:
    """``student`` remembering the spec it came from (for replay lines)."""
    student.data["source"] = ref
    return student


def student_ref(student: StudentFamily) -> str | None:
    """What ``--student`` takes to load ``student`` again: its built-in name or the spec
    it came from (``None`` when it was built in code)."""
    if student.name in BUILTIN:
        return student.name
    return student.data.get("source")


@functools.lru_cache(maxsize=64)
def _simple_points(student: StudentFamily, limit: int) -> tuple[tuple[Fraction, ...], ...]:
    out = []
    for v in _simple_candidates(student):
        if all(v[i] > 0 for i in student.face) and student.contains(v):
            out.append(v)
            if len(out) >= limit:
                break
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _simple_candidates(student: StudentFamily) -> tuple[tuple[Fraction, ...], ...]:
    """The candidates of :meth:`StudentFamily.simple_points`, simplest first."""
    face, K = student.face, student.classes
    cands: set = set()
    if student.kind in ("toric", "independence"):
        A = (student.data.get("A") if student.kind == "toric" else
             _independence_design(*student.data["shape"]))
        rows = [r for r in A if len(set(r)) > 1]
        lows = [min(r) for r in rows]
        for ts in product(_T, repeat=min(len(rows), 5)):
            w = [1] * K                   # x ∝ prod_r t_r^(A_r - min A_r), in integers:
            for t, row, low in zip(ts, rows, lows):   # t = n/d, times d^(max A_r - min A_r)
                top = max(row) - low
                w = [wi * t.numerator ** (a - low) * t.denominator ** (top - a + low)
                     for wi, a in zip(w, row)]
            total = sum(w)
            cands.add(tuple(Fraction(wi, total) for wi in w))
    else:
        n = len(face)
        for d in range(1, 13):
            if math.comb(d + n - 1, n - 1) > 4000:
                break
            for parts in _compositions(d, n):
                full = [Fraction(0)] * K
                for i, c in zip(face, parts):
                    full[i] = Fraction(c, d)
                cands.add(tuple(full))
    key = lambda v: (max(x.denominator for x in v), sum(x.denominator for x in v), v)
    return tuple(sorted(cands, key=key))


def family_students(family) -> list[StudentFamily]:
    """The student families of a spec's ``[student]`` table (``family.student``), one
    per number of classes listed (its relations use only indices below the smallest)."""
    if not family.student:
        return []
    if isinstance(family.student, StudentFamily):
        return [family.student]
    ks = family.extra.get("student_classes") or family.classes
    name = family.extra.get("student_name") or f"student of {family.name}"
    made = [from_relations(k, family.student, name=name) for k in ks]
    return [_sourced(s, family.source) for s in made] if family.source.endswith(".toml") else made
