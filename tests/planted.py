"""Planted families: small declarations whose axiom verdicts are known by hand.

Each entry says which axiom it is planted to break and why (the independent
argument); tests check the engine finds, certifies and replays a counterexample, and
that the catalogue families known to satisfy an axiom are never refuted on it.
"""
import sympy as sp

from distillproof.axioms.family import Family, Parameter
from distillproof.axioms.vector import normalize

p, q, x, p1, p2 = (sp.Symbol(n, positive=True) for n in ("p", "q", "x", "p1", "p2"))
alpha, T, w1, w2 = (sp.Symbol(n, real=True) for n in ("alpha", "T", "w1", "w2"))
UNIT = Parameter(alpha, (0 < alpha, alpha < 1))
TEMP = Parameter(T, (T > 0,))
WEIGHTS = dict(parameters=(Parameter(w1, (0 < w1, w1 < 1)), Parameter(w2, (0 < w2, w2 < 1))),
               constraints=(sp.Eq(w1 + w2, 1),))


def meta(name, expr, params=(UNIT,)):
    return Family(name=name, kind="meta-teacher", map=expr, parameters=params, source="planted")


def agg(name, expr):
    return Family(name=name, kind="aggregation", map=expr, source="planted", **WEIGHTS)


def soft(name, expr):
    return Family(name=name, kind="softening", map=expr, parameters=(TEMP,), source="planted")


#: axiom -> (family, why it fails)
FAILING = {
    "MT1": (meta("extrapolation", 2 * q - p, ()), "2q - p leaves the simplex when p_i > 2 q_i"),
    "MT4": (meta("pole", normalize(q + p / (q - p) ** 2), ()), "undefined where q_i = p_i"),
    "MT5": (meta("reversed-anchoring", alpha * q + (1 - alpha) * p), "M_1 = q, not p"),
    "A1w": (agg("product-pool", normalize(p1 * p2)), "A(p,p) = p^2 / sum p^2 is not p"),
    "A2": (agg("extrapolated-pool", 2 * p1 - p2), "2 p1 - p2 has negative components"),
    "A3": (agg("swapped-pool", w2 * p1 + w1 * p2), "raising w1 moves the pool away from p1"),
    "A4": (agg("pole-pool", normalize(p1 + 1 / (p1 - p2) ** 2)), "undefined where p1_i = p2_i"),
    "A5w": (agg("shifted-pool", normalize(p1 + p2 + 1)), "F_T does not commute with adding a constant"),
    "S1": (soft("inverted-softening", normalize(x ** (-1 / T))), "negative power reverses the order"),
    "S2": (soft("pole-softening", normalize(x ** (1 / T) + 1 / (x - sp.Rational(1, 3)) ** 2)),
           "undefined where x_i = 1/3"),
    "S3": (soft("sharpening", normalize(x ** T)), "raising T sharpens: entropy decreases"),
    "S4": (soft("squared-softening", normalize(x ** (2 / T))), "F_1(x) = x^2 / sum x^2"),
    "S5": (soft("biased-softening", normalize(x ** (1 / T + 1))), "T -> oo gives x, not uniform"),
}

#: axiom -> catalogue family that fails it (by the argument in its docstring / THEORY)
FAILING_IN_CATALOGUE = {
    "MT2": "tempered-geometric",      # M(p,p) = F_T p != p for T != 1
    "MT3": "identity", "MT3r": "identity", "MT3p": "identity",   # ratio exactly 1
    "MT6": "geometric-anchoring",     # the e-geodesic leaves the segment at K = 3
    "MT7": "arithmetic-anchoring",    # F_T does not commute with mixing
    "NT": "identity",
    "A1s": "geometric-pool",          # log-linear pool leaves conv{p1, p2}
    "A5s": "arithmetic-pool",         # F_T does not commute with mixing
}

#: axiom -> catalogue family that satisfies it (independent arguments in the comments)
HOLDING = {
    "MT1": "arithmetic-anchoring",    # convex combination of positive vectors
    "MT2": "arithmetic-anchoring",    # alpha p + (1 - alpha) p = p
    "MT3": "arithmetic-anchoring",    # joint convexity of KL: kappa = 1 - alpha
    "MT3r": "arithmetic-anchoring",
    "MT3p": "arithmetic-anchoring",
    "MT4": "arithmetic-anchoring",    # polynomial
    "MT5": "arithmetic-anchoring",    # KL(p||.) convex along the segment, 0 at alpha = 1
    "MT6": "arithmetic-anchoring",    # on the segment by definition
    "MT7": "geometric-anchoring",     # powers commute with products
    "NT": "arithmetic-anchoring",     # depends on q with slope 1 - alpha in (0, 1)
    "A1w": "arithmetic-pool", "A1s": "arithmetic-pool", "A2": "arithmetic-pool",
    "A3": "arithmetic-pool", "A4": "arithmetic-pool", "A5w": "arithmetic-pool",
    "A5s": "geometric-pool",          # powers commute with products
    "S1": "softening", "S2": "softening", "S3": "softening", "S4": "softening", "S5": "softening",
}
