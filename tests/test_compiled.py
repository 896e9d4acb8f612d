"""The compiled certifier (``checker/_compiled.py`` behind ``_certify.certify``) against
the SymPy route it replaces: the same verdict, atom, value text and certification on
every claim of the catalogue at many exact points, and the numeric closures against
SymPy's own evaluation."""
from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from distillproof.axioms.catalogue import catalogue
from distillproof.axioms.registry import axioms_for
from distillproof.checker import _certify as C
from distillproof.checker import _compiled
from distillproof.proofs.evidence import Witness


def reference(claim, values):
    """The SymPy route: substitute, then ``_sign_detail`` / ``evaluate_relation``."""
    subs = C.values_to_subs(claim, values)
    for name in claim.vectors:
        vec = [Fraction(v) for v in values[name]]
        if any(v <= 0 for v in vec) or sum(vec) != 1:
            return None
    if not all(C.assumptions_hold(s, Fraction(values[s.name])) for s in claim.parameters):
        return None
    if any(C.evaluate_relation(r, subs) is not True for r in claim.domain):
        return None
    for atom in claim.atoms:
        s, how, text = C._sign_detail(C.substitute(atom.expr, subs))
        if s is not None and {"==": s != 0, ">=": s < 0, ">": s <= 0}[atom.rel]:
            return Witness(values={k: (tuple(Fraction(x) for x in v) if isinstance(v, tuple)
                                       else Fraction(v)) for k, v in values.items()},
                           atom=atom.label, value=text, certified_by=how, classes=claim.classes)
    return None


def _vector(rng, k):
    den = rng.choice([2, 3, 7, 10, 97, 1000])
    parts = [rng.randint(1, den) for _ in range(k)]
    total = sum(parts)
    return tuple(Fraction(x, total) for x in parts)


def _parameter(rng, s):
    pool = [Fraction(1, 2), Fraction(3, 10), Fraction(1, 7), Fraction(9, 10), Fraction(2),
            Fraction(1), Fraction(0), Fraction(-1, 3), Fraction(5, 4), Fraction(1, 1000)]
    return rng.choice(pool)


def _claims():
    out = []
    for fam in catalogue():
        for ax in axioms_for(fam.kind):
            for k in (2, 3):
                try:
                    out.extend(ax.build(fam, k))
                except (ValueError, TypeError, AttributeError):   # not applicable
                    pass
    return out


CLAIMS = _claims()


def test_there_are_claims_of_every_shape():
    assert len(CLAIMS) > 60
    exprs = [a.expr for c in CLAIMS for a in c.atoms]
    assert any(e.has(sp.log) for e in exprs)
    assert any(not e.has(sp.log, sp.exp) and all(p.exp.is_Integer for p in e.atoms(sp.Pow))
               for e in exprs)
    assert any(any(not p.exp.is_Rational for p in e.atoms(sp.Pow)) for e in exprs)


@pytest.mark.parametrize("i", range(len(CLAIMS)))
def test_compiled_certify_matches_the_sympy_route(i):
    claim = CLAIMS[i]
    rng = random.Random(i)
    for values in _points(claim, rng):
        got, want = C.certify(claim, values), reference(claim, values)
        assert got == want, (claim.axiom, claim.family, values)


def _points(claim, rng, n=6):
    for _ in range(n):
        values = {name: _vector(rng, len(c)) for name, c in claim.vectors.items()}
        values.update({s.name: _parameter(rng, s) for s in claim.parameters})
        yield values


def test_the_comparison_sees_both_verdicts_and_both_certifications():
    """The points above are not all rejected: about a tenth are certified violations,
    some of them by intervals (logs, roots), so both routes were really compared."""
    found = [C.certify(c, v) for i, c in enumerate(CLAIMS) for v in _points(c, random.Random(i))]
    witnesses = [w for w in found if w is not None]
    assert len(witnesses) > 100 and len(found) - len(witnesses) > 1000
    assert {w.certified_by for w in witnesses} == {"exact", "interval"}


def test_compiled_rules_on_planted_expressions():
    x, y, a = sp.symbols("x y a", positive=True)
    s = _compiled.Structure({x: 0, y: 1, a: 2})
    run = lambda e, how, inputs: s.program([s.add(e)], how)(inputs)[0]
    vals = [sp.Rational(1, 3), sp.Rational(2, 3), sp.Rational(1, 2)]
    import flint
    fv = [flint.fmpq(int(v.p), int(v.q)) for v in vals]
    # exact: 1/(x - 1/3) is undefined at x = 1/3, x**2 - y/6 is exactly 0
    with pytest.raises(_compiled.Undefined):
        run(1 / (x - sp.Rational(1, 3)), "exact", fv)
    assert run(x ** 2 - y / 6, "exact", fv) == 0
    # ball: log of a non-positive number is undefined, a symbolic exponent is a root
    with pytest.raises(_compiled.Undefined):
        run(sp.log(x - y), "ball", _compiled.point(fv))
    b = run(y ** a, "ball", _compiled.point(fv))
    assert b.overlaps((flint.arb(2) / 3).sqrt()) and b.rad() < 1e-14      # (2/3)^(1/2)
    # numeric steps agree with SymPy's evaluation
    e = x * sp.log(x / y) + sp.Abs(x - y) ** 3 + sp.Max(x, y) * sp.exp(-a) + y ** a
    got = run(e, "numeric", [np.array([1 / 3]), np.array([2 / 3]), np.array([0.5])])
    assert abs(got[0] - float(e.subs(dict(zip([x, y, a], vals))))) < 1e-14
    with pytest.raises(_compiled.Unsupported):
        s.add(sp.Piecewise((x, x > y), (y, True)))


def test_shared_subexpressions_are_one_step():
    """A normaliser used by every component is compiled (and computed) once."""
    p = sp.symbols("p_0:3", positive=True)
    z = sum(p)
    s = _compiled.Structure({v: i for i, v in enumerate(p)})
    for v in p:
        s.add(v / z)
    assert sum(1 for kind, _, _ in s.steps if kind == "add") == 1
