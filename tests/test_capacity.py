"""Capacity constraints (checker/capacity.py): KL projections, the recursion's fixed
point, the irreducible error, and which contraction statements survive p̄ ∉ S.

Projections are checked against brute-force minimisation of KL(m‖s) over a fine grid
of S at K = 4; refutations are replayed with fractions; rates are numeric estimates
and are never reported as proved.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np
import pytest

from distillproof.axioms.catalogue import get_family
from distillproof.axioms.students import box, get_student, polytope, toric
from distillproof.checker.capacity import (Recursion, capacity, kl_numeric, project,
                                           project_exact)

M4 = [np.array(v) for v in ([0.55, 0.1, 0.05, 0.3], [0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1])]


def simplex_grid(n: int, K: int = 4) -> np.ndarray:
    pts = [c for c in itertools.product(range(1, n), repeat=K - 1) if sum(c) < n]
    g = np.array([list(c) + [n - sum(c)] for c in pts], float) / n
    return g


def grid_min(m, points) -> float:
    pos = m > 0
    return float(np.min((m[pos] * np.log(m[pos] / points[:, pos])).sum(axis=1)))


@pytest.mark.parametrize("m", M4, ids=range(len(M4)))
def test_independence_projection_is_the_grid_minimum(m):
    s = get_student("independence-2x2")
    r = np.linspace(0.005, 0.995, 199)
    grid = np.array([[a * b, a * (1 - b), (1 - a) * b, (1 - a) * (1 - b)]
                     for a in r for b in r])
    ours = kl_numeric(m, project(s, m))
    assert ours <= grid_min(m, grid) + 1e-12
    assert grid_min(m, grid) - ours < 1e-3


@pytest.mark.parametrize("student", [box(4, F(1, 10), F(2, 5), name="box-4"),
                                     polytope([[-1, 1, 0, 0], [0, -1, 1, 0], [0, 0, -1, 1]],
                                              [0, 0, 0], name="ordered-4")],
                         ids=["box-4", "ordered-4"])
@pytest.mark.parametrize("m", M4, ids=range(len(M4)))
def test_linear_projection_is_the_grid_minimum(student, m):
    grid = simplex_grid(120)
    inside = _inside(student, grid)
    ours_point = project(student, m)
    assert abs(ours_point.sum() - 1) < 1e-12 and _inside(student, ours_point[None, :]).all()
    ours = kl_numeric(m, ours_point)
    best = grid_min(m, grid[inside])
    assert ours <= best + 1e-9
    assert best - ours < 5e-3


def _inside(student, pts) -> np.ndarray:
    E, e, A, b = student.linear
    A = np.array([[float(c) for c in row] for row in A])
    b = np.array([float(v) for v in b])
    return (pts @ A.T <= b + 1e-9).all(axis=1)


@pytest.mark.parametrize("m", M4, ids=range(len(M4)))
def test_toric_projection_matches_moments_and_the_grid(m):
    s = toric([[0, 1, 2, 3]], name="line-4")
    theta = np.linspace(-4, 4, 8001)
    w = np.exp(np.outer(theta, np.arange(4)))
    grid = w / w.sum(axis=1, keepdims=True)
    ours_point = project(s, m)
    A = np.array(s.data["A"], float)
    assert np.abs(A @ ours_point - A @ m).max() < 1e-12          # moment matching
    ours = kl_numeric(m, ours_point)
    assert ours <= grid_min(m, grid) + 1e-12 and grid_min(m, grid) - ours < 1e-5


def test_support_projection_is_conditioning_and_exact():
    s = get_student("support-first-3of4")
    assert project_exact(s, [F(2, 5), F(1, 5), F(1, 5), F(1, 5)]) == (F(1, 2), F(1, 4), F(1, 4), 0)


# --- the recursion with p̄ outside S --------------------------------------------------
def test_arithmetic_independence_fixed_point_is_the_projection_of_the_anchor():
    out = capacity(get_family("arithmetic-anchoring"), get_student("independence-2x2"))
    assert out["anchor"] == ["2/5", "1/5", "1/5", "1/5"] and out["anchor_in_S"] is False
    fp = out["fixed_point"]
    assert fp["certified_by"] == "exact" and fp["value"] == ["9/25", "6/25", "6/25", "4/25"]
    assert fp["equals_projection_of_anchor"] is True
    err = out["irreducible_error"]
    p, s = [F(2, 5), F(1, 5), F(1, 5), F(1, 5)], [F(9, 25), F(6, 25), F(6, 25), F(4, 25)]
    value = sum(float(a) * math.log(a / b) for a, b in zip(p, s))
    mid, radius = err["value"].strip("[]").split("+/-")
    assert abs(float(mid) - value) <= float(radius) + 1e-15


def test_capacity_breaks_anchored_contraction_with_a_certified_witness():
    out = capacity(get_family("arithmetic-anchoring"), get_student("independence-2x2"))
    a = next(c for c in out["contraction"] if c["id"] == "A")
    assert a["status"] == "refuted"
    w = a["witness"]["values"]
    p, q, alpha = [F(x) for x in w["p"]], [F(x) for x in w["q"]], F(w["alpha"])
    m = [alpha * x + (1 - alpha) * y for x, y in zip(p, q)]
    r = [m[0] + m[1], m[2] + m[3]]
    c = [m[0] + m[2], m[1] + m[3]]
    phi = [r[0] * c[0], r[0] * c[1], r[1] * c[0], r[1] * c[1]]
    kl = lambda a, b: sum(float(x) * math.log(x / y) for x, y in zip(a, b))   # noqa: E731
    assert phi != p and kl(p, phi) > kl(p, q) + 1e-6          # KL(p̄‖Φq) > KL(p̄‖q)


def test_contraction_toward_the_fixed_point_holds_with_a_numeric_rate():
    out = capacity(get_family("arithmetic-anchoring"), get_student("independence-2x2"))
    b = next(c for c in out["contraction"] if c["id"] == "B")
    assert b["status"] == "unknown" and "not a proof" in b["reason"]     # never "proved"
    assert 0.2 < b["rate"] <= 0.5 + 1e-9                          # (1-α)^2 <= κ <= 1-α
    assert abs(b["local_rate"] - 0.25) < 0.01                    # the local rate (1-α)^2


def test_radicals_are_certified_with_intervals():
    out = capacity(get_family("geometric-anchoring"), get_student("independence-2x2"))
    a = next(c for c in out["contraction"] if c["id"] == "A")
    assert a["status"] == "refuted" and "+/-" in a["witness"]["value"]
    assert out["fixed_point"]["certified_by"] == "numeric"


def test_support_family_has_infinite_irreducible_error():
    out = capacity(get_family("arithmetic-anchoring"), get_student("support-first-2of3"))
    assert out["irreducible_error"]["value"] == "+inf"
    assert out["fixed_point"]["value"] == ["2/3", "1/3", "0"]
    c = next(c for c in out["contraction"] if c["id"] == "C")
    assert "not applicable" in c["reason"]


def test_anchor_inside_s_keeps_contraction():
    out = capacity(get_family("kernel-anchoring"), get_student("box-3"), samples=60)
    assert out["anchor_in_S"] and out["irreducible_error"]["value"] == "0"
    assert all(c["status"] != "refuted" for c in out["contraction"])


def test_recursion_needs_one_student_and_a_plain_anchor():
    with pytest.raises(ValueError, match="one student"):
        Recursion(get_family("memory-anchoring"), get_student("box-3"))
    with pytest.raises(ValueError, match="teachers"):
        Recursion(get_family("multi-teacher-anchoring"), get_student("box-3"))
