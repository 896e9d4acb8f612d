"""Contraction constants as data (checker/_constants.py, checker/_witness.py) and the
`derive` command: upper bounds against closed forms derived by hand, witnessed lower
bounds replayed independently (mpmath on the exact witness), the invariant
upper >= certified lower for every catalogue family, fixed points against iteration."""
from __future__ import annotations

import json
from fractions import Fraction
from itertools import combinations

import mpmath
import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

import distillproof as dp
from distillproof.axioms.catalogue import catalogue, get_family
from distillproof.checker._constants import (check_claimed_constant, constants_data,
                                             parameter_point)
from distillproof.checker.cli import main

alpha, T = sp.Symbol("alpha", real=True), sp.Symbol("T", real=True)
NO_AXIOMS = {"MT1": "unknown", "MT2": "unknown", "MT3": "unknown"}   # skip the theorem's decisions
SKEW = [["1/2", "1/8", "1/4"], ["1/4", "3/4", "1/4"], ["1/4", "1/8", "1/2"]]
SKEW_SPEC = """
[family]
name = "skew kernel anchoring"
kind = "meta-teacher"
classes = [3]

[parameters]
alpha = "0 < alpha < 1"

[matrices]
W = [["1/2", "1/8", "1/4"], ["1/4", "3/4", "1/4"], ["1/4", "1/8", "1/2"]]

[map]
value = "alpha*p + (1 - alpha)*(W @ q)"
"""


def run(name_or_family, at=None, results=NO_AXIOMS, **kw):
    fam = get_family(name_or_family) if isinstance(name_or_family, str) else name_or_family
    objects: dict = {}
    data = constants_data(fam, None, at=at, results=results, objects=objects, **kw)
    return {c["kind"]: c for c in data["constants"]}, data, objects


# --- independent evaluation of the witnesses (mpmath, 80 digits) ----------------------
mpmath.mp.dps = 80


def mp(v):
    return [mpmath.mpf(Fraction(x).numerator) / Fraction(x).denominator for x in v]


def arithmetic(a, p, q):
    return [a * x + (1 - a) * y for x, y in zip(p, q)]


def geometric(a, p, q):
    g = [x ** a * y ** (1 - a) for x, y in zip(p, q)]
    return [x / sum(g) for x in g]


def tempered(a, t, p, q):
    g = [(x ** a * y ** (1 - a)) ** (1 / t) for x, y in zip(p, q)]
    return [x / sum(g) for x in g]


def kernel(W, a, p, q):
    Wq = [sum(mpmath.mpf(Fraction(W[i][j]).numerator) / Fraction(W[i][j]).denominator * q[j]
              for j in range(len(q))) for i in range(len(q))]
    return arithmetic(a, p, Wq)


def kl(a, b):
    return sum(x * mpmath.log(x / y) for x, y in zip(a, b))


def tv(a, b):
    return sum(abs(x - y) for x, y in zip(a, b)) / 2


def d_h(a, b):
    r = [mpmath.log(x / y) for x, y in zip(a, b)]
    return max(r) - min(r)


def replay(kind, lower, phi, anchor=None):
    """The ratio of ``kind`` at the witness, computed from scratch."""
    w = lower["witness"]
    for v in w.values():
        if isinstance(v, list):                       # exact points of the open simplex
            assert all(Fraction(x) > 0 for x in v) and sum(Fraction(x) for x in v) == 1
    p = mp(w["p"]) if "p" in w else (mp(anchor) if anchor else None)
    q = mp(w["q"])
    if kind == "kl_forward":
        return kl(p, phi(p, q)) / kl(p, q)
    if kind == "kl_reverse":
        return kl(phi(p, q), p) / kl(q, p)
    r = mp(w["r"])
    f = {"kl_pairwise": kl, "tv": tv, "hilbert": d_h}[kind]
    return f(phi(p, q), phi(p, r)) / f(q, r)


def check_replay(c, phi, anchor=None):
    low = c["lower"]
    ratio = replay(c["kind"], low, phi, anchor)
    assert ratio >= mpmath.mpf(low["value"]) * (1 - mpmath.mpf(10) ** -30)
    assert abs(ratio - mpmath.mpf(low["value"])) <= 1e-10 * max(1, abs(ratio))
    return ratio


# --- arithmetic anchoring -------------------------------------------------------------
def test_arithmetic_anchoring_constants():
    consts, data, objects = run("arithmetic-anchoring")
    assert objects["point"] == {"alpha": sp.Rational(1, 2)}          # the default point
    for kind in ("kl_forward", "kl_reverse", "kl_pairwise", "tv"):
        b = objects["attempts"][kind].bound
        assert sp.simplify(b.expr - (1 - alpha)) == 0
        assert b.steps[-1].rule == "mixture"
        assert consts[kind]["upper"]["expr"] == "1 - alpha" and consts[kind]["upper"]["value"] == "1/2"
    assert sp.simplify(objects["attempts"]["local"].bound.expr - (1 - alpha) ** 2) == 0
    assert consts["local"]["lower"]["value"] == "1/4" and consts["local"]["tight"]
    a = mpmath.mpf(1) / 2
    for kind in ("kl_forward", "kl_reverse", "kl_pairwise"):
        c = consts[kind]
        low = float(c["lower"]["value"])
        # between the local rate (1-α)² and the mixture bound 1-α, strictly above the local
        assert 0.25 < low <= 0.5 and low > 0.45, (kind, low)
        assert c["tight"] is False and c["upper"]["exact"] is False
        assert c["lower"]["certified_by"] == "interval"
        check_replay(c, lambda p, q: arithmetic(a, p, q))
    # TV: the mixture bound is attained (q - r ∝ e_i - e_j): certified exactly
    assert consts["tv"]["lower"]["value"] == "1/2" and consts["tv"]["lower"]["certified_by"] == "exact"
    assert consts["tv"]["tight"] is True
    w = {k: [Fraction(x) for x in v] for k, v in consts["tv"]["lower"]["witness"].items()
         if isinstance(v, list)}
    image = {k: arithmetic(Fraction(1, 2), w["p"], w[k]) for k in ("q", "r")}
    assert tv(image["q"], image["r"]) / tv(w["q"], w["r"]) == Fraction(1, 2)   # exact replay


def test_arithmetic_lower_bound_at_another_point():
    consts, _, _ = run("arithmetic-anchoring", at={"alpha": Fraction(3, 10)})
    low = float(consts["kl_forward"]["lower"]["value"])
    assert 0.49 < low <= 0.7 and consts["kl_forward"]["upper"]["value"] == "7/10"
    check_replay(consts["kl_forward"], lambda p, q: arithmetic(mpmath.mpf(3) / 10, p, q))


# --- geometric anchoring --------------------------------------------------------------
def test_geometric_anchoring_constants():
    consts, _, objects = run("geometric-anchoring")
    fwd = objects["attempts"]["kl_forward"].bound
    assert sp.simplify(fwd.expr - (1 - alpha)) == 0           # κ_fwd ≤ 1 - α (Hölder)
    assert any(s.rule == "geometric anchoring (Hölder)" for s in fwd.steps)
    hil = objects["attempts"]["hilbert"].bound
    assert hil.exact and sp.simplify(hil.expr - (1 - alpha)) == 0
    assert consts["hilbert"]["tight"] is True
    assert abs(float(consts["hilbert"]["lower"]["value"]) - 0.5) < 1e-11
    a = mpmath.mpf(1) / 2
    phi = lambda p, q: geometric(a, p, q)
    for kind in ("kl_forward", "kl_reverse", "kl_pairwise", "tv", "hilbert"):
        check_replay(consts[kind], phi)
    assert float(consts["kl_forward"]["lower"]["value"]) <= 0.5
    # no rule for MT3p, and indeed it fails: a certified pairwise ratio far above 1
    assert consts["kl_pairwise"]["upper"] is None and float(consts["kl_pairwise"]["lower"]["value"]) > 10


@pytest.mark.parametrize("a", ["1/10", "1/2", "9/10"])
def test_geometric_reverse_ratio_tends_to_one_but_stays_below(a):
    """What is true about MT3r for geometric anchoring.  Along a ray from p̄ in natural
    parameters, Φ scales the displacement by c = 1-α, and s -> KL(p̄ + s·d ‖ p̄) is
    increasing, so the reverse ratio is < 1 at every point; but as q -> a vertex both
    KL(q‖p̄) and KL(Φq‖p̄) tend to log(1/p̄_vertex), so the supremum is 1.  Hence no
    κ < 1 works (MT3r fails as "exists κ < 1"), yet no single witness has ratio >= 1."""
    al = mpmath.mpf(Fraction(a).numerator) / Fraction(a).denominator
    p = [Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)]
    last = 0
    top = int(40 / (1 - Fraction(a)))                 # ε^(1-α) ≈ 1e-40: visible at 80 digits
    for k in (4, top // 4, top):
        eps = Fraction(1, 10**k)
        q = [1 - 2 * eps, eps, eps]
        P, Q = mp(p), mp(q)
        ratio = kl(geometric(al, P, Q), P) / kl(Q, P)
        assert last < ratio < 1
        last = ratio
    assert last > 1 - mpmath.mpf(10) ** -5
    rng = np.random.default_rng(3)                            # < 1 everywhere sampled
    fa = float(al)
    P = rng.dirichlet(np.full(3, 0.3), 20000)
    Q = rng.dirichlet(np.full(3, 0.3), 20000)
    G = P ** fa * Q ** (1 - fa)
    G /= G.sum(axis=1, keepdims=True)
    den = np.sum(Q * np.log(Q / P), axis=1)
    ok = den > 1e-6
    ratios = np.sum(G * np.log(G / P), axis=1)[ok] / den[ok]
    assert ratios.max() < 1


def test_geometric_reverse_any_claim_below_one_is_refuted():
    g = get_family("geometric-anchoring")
    ev = check_claimed_constant(g, "kl_reverse", Fraction(999999, 1000000))
    assert ev.status == "refuted" and ev.witness.certified_by == "interval"
    w = ev.witness.values
    a = mpmath.mpf(w["alpha"].numerator) / w["alpha"].denominator
    P, Q = mp(w["p"]), mp(w["q"])
    ratio = kl(geometric(a, P, Q), P) / kl(Q, P)
    assert mpmath.mpf(999999) / 1000000 < ratio < 1             # replays, and still < 1


def test_geometric_mt3r_is_not_refuted_by_a_single_witness():
    r = dp.verify("geometric-anchoring", axioms=["MT3r"])
    assert r["geometric-anchoring"].status("MT3r") == "unknown"


# --- kernels ---------------------------------------------------------------------------
def eta_brute(W):
    """Dobrushin's coefficient by brute force: the largest event-probability gap
    between two columns (output laws), over every event and column pair."""
    n = len(W)
    return max(sum((Fraction(W[i][j]) - Fraction(W[i][k]) for i in S), Fraction(0))
               for j, k in combinations(range(n), 2) for r in range(n + 1)
               for S in combinations(range(n), r))


def test_kernel_anchoring_bound_is_dobrushin():
    fam = get_family("kernel-anchoring")
    W = [[str(x) for x in row] for row in fam.map.atoms(dp.MatVec).pop().args[0].tolist()]
    eta = eta_brute(W)
    assert eta == Fraction(1, 4)
    consts, data, objects = run(fam)
    for kind in ("kl_forward", "kl_reverse", "kl_pairwise", "tv"):
        b = objects["attempts"][kind].bound
        assert sp.simplify(b.expr - (1 - alpha) * sp.Rational(eta.numerator, eta.denominator)) == 0
        assert any(s.rule == "data processing" for s in b.steps)
    assert consts["tv"]["lower"]["value"] == "1/8" and consts["tv"]["tight"]
    a = mpmath.mpf(1) / 2
    phi = lambda p, q: kernel(W, a, p, q)
    third = ["1/3"] * 3
    for kind in ("kl_forward", "kl_reverse", "kl_pairwise", "tv", "hilbert"):
        ratio = check_replay(consts[kind], phi, anchor=third)
        assert ratio <= mpmath.mpf(Fraction(consts[kind]["upper"]["value"]).numerator) / \
            Fraction(consts[kind]["upper"]["value"]).denominator + mpmath.mpf(10) ** -40
    # η_KL of the kernel step: witnessed, and below the exact η_TV bound
    assert 0 < float(consts["kl_pairwise"]["lower"]["value"]) <= 1 / 8
    assert data["fixed_point"]["point"] == ["1/3", "1/3", "1/3"]
    assert data["fixed_point"]["distance_from_anchor"] == "0"


def test_kernel_that_does_not_fix_the_anchor(tmp_path):
    spec = tmp_path / "skew.toml"
    spec.write_text(SKEW_SPEC)
    r = dp.verify(str(spec), axioms=["MT1", "MT2", "MT3"])
    fr = r.families[0]
    assert fr.status("MT2") == "refuted"
    data = r.to_json()["families"][0]
    consts = {c["kind"]: c for c in data["constants"]}
    assert consts["kl_forward"]["upper"] is None
    assert any("W p̄" in reason for reason in consts["kl_forward"]["reasons"])
    eta = eta_brute(SKEW)
    tv_bound = sp.sympify(consts["tv"]["upper"]["expr"], locals={"alpha": alpha})
    assert sp.simplify(tv_bound - (1 - alpha) * sp.Rational(eta.numerator, eta.denominator)) == 0
    fp = data["fixed_point"]
    # the true fixed point, solved by hand: (I - (1-α)W) q = α p̄ at α = 1/2, p̄ = (1,2,3)/6
    a, pbar = Fraction(1, 2), [Fraction(1, 6), Fraction(1, 3), Fraction(1, 2)]
    A = sp.eye(3) - (1 - sp.Rational(1, 2)) * sp.Matrix([[sp.Rational(x) for x in row] for row in SKEW])
    q = A.LUsolve(sp.Matrix([sp.Rational(a * x) for x in pbar]))
    assert fp["point"] == [sp.sstr(x) for x in q] and fp["exact"] and fp["certified"]
    assert fp["anchor"] == ["1/6", "1/3", "1/2"] and float(fp["distance_from_anchor"]) > 0
    assert data["theorem"]["holds"] is False and data["theorem"]["hypotheses"]["MT2"] == "refuted"


# --- temperature inside the loop --------------------------------------------------------
def test_tempered_geometric_fixed_point_and_region():
    consts, data, objects = run("tempered-geometric")
    assert objects["point"] == {"alpha": sp.Rational(1, 2), "T": 2}
    fp = data["fixed_point"]
    assert fp["exact"] and fp["expr"] == "normalize(p**(alpha/(T + alpha - 1)))"
    pbar = np.array([1 / 6, 1 / 3, 1 / 2])
    phi = lambda v: (lambda g: g / g.sum())((pbar ** 0.5 * v ** 0.5) ** 0.5)
    x = np.full(3, 1 / 3)
    for _ in range(200):
        x = phi(x)
    closed = pbar ** (1 / 3) / np.sum(pbar ** (1 / 3))         # α/(T+α-1) = 1/3 by hand
    assert np.allclose(x, closed, atol=1e-14)
    assert np.allclose([float(v) for v in fp["numeric"]], x, atol=1e-14)
    assert abs(float(fp["distance_from_anchor"]) - float(np.sum(pbar * np.log(pbar / x)))) < 1e-12
    region = objects["region"]
    assert region.exact and sp.simplify(region.relation.lhs - region.relation.rhs - (1 - alpha - T)) == 0
    assert consts["hilbert"]["region"]["on_domain"] == "violated"   # T ≤ 1 - α expands
    assert consts["hilbert"]["tight"] and consts["hilbert"]["upper"]["value"] == "1/4"
    check_replay(consts["hilbert"], lambda p, q: tempered(mpmath.mpf(1) / 2, 2, p, q))
    # below the threshold the map expands d_H exactly by (1-α)/T
    slow, _, _ = run("tempered-geometric", at={"alpha": Fraction(1, 2), "T": Fraction(1, 4)},
                     kinds=["hilbert"])
    assert abs(float(slow["hilbert"]["lower"]["value"]) - 2) < 1e-10
    assert float(fp["distance_from_anchor"]) > 0                 # the fixed point moved


def test_tempered_theorem_does_not_hold():
    _, data, _ = run("tempered-geometric", results=None, kinds=["kl_forward", "hilbert"])
    th = data["theorem"]
    assert th["hypotheses"]["MT2"] == "refuted" and th["holds"] is False
    assert th["a_priori_bounds"][0]["metric"] == "hilbert"


def test_memory_and_default_points():
    fam = get_family("memory-anchoring")
    pt = parameter_point(fam)
    assert sum(pt.values()) == 1 and all(v > 0 for v in pt.values())
    consts, data, _ = run(fam)
    assert data["theorem"]["generations_to"]["generations"] % 2 == 0   # κ^⌈t/L⌉, L = 2
    assert consts["local"]["tight"]


# --- the invariant over the whole catalogue ---------------------------------------------
@pytest.mark.parametrize("name", [f.name for f in catalogue()])
def test_upper_never_below_certified_lower(name):
    fam = get_family(name)
    data = constants_data(fam, None, results=NO_AXIOMS)
    if fam.kind == "aggregation":
        assert data == {}
        return
    for c in data["constants"]:
        up, low = c["upper"], c["lower"]
        if up is None or low is None:
            assert c["tight"] is False
            continue
        u, lo = float(up["float"]), float(Fraction(low["value"]))
        assert lo <= u * (1 + 1e-15) + 1e-300, (name, c["kind"], lo, u)
        if c["tight"]:
            assert abs(u - lo) <= 1e-9 * max(abs(u), 1e-300)


# --- claims -----------------------------------------------------------------------------
def test_claimed_constants():
    arith = get_family("arithmetic-anchoring")
    half = arith.with_values({"alpha": Fraction(1, 2)})
    assert check_claimed_constant(half, "kl_forward", Fraction(1, 2)).status == "proved"
    ev = check_claimed_constant(half, "kl_forward", Fraction(2, 5))
    assert ev.status == "refuted"
    w = ev.witness.values
    P, Q = mp(w["p"]), mp(w["q"])
    assert kl(P, arithmetic(mpmath.mpf(1) / 2, P, Q)) / kl(P, Q) > mpmath.mpf(2) / 5
    # over the whole domain 1 - alpha is not ≤ 1/2: a witness at a small alpha refutes it
    ev = check_claimed_constant(arith, "kl_forward", Fraction(1, 2))
    assert ev.status == "refuted" and ev.witness.values["alpha"] < Fraction(1, 2)
    assert check_claimed_constant(arith, "kl_forward", 1).status == "proved"
    kern = get_family("kernel-anchoring").with_values({"alpha": Fraction(1, 2)})
    ev = check_claimed_constant(kern, "kl_forward", Fraction(1, 10))
    assert ev.status == "unknown" and "≥" in ev.estimate
    assert check_claimed_constant(half, "local", Fraction(1, 5)).status == "refuted"


# --- the CLI ----------------------------------------------------------------------------
def test_derive_cli_text_and_latex():
    runner = CliRunner()
    res = runner.invoke(main, ["derive", "arithmetic-anchoring", "--at", "alpha=1/2",
                               "--claim", "kl_forward=1/2"])
    assert res.exit_code == 0, res.output
    out = res.output
    for text in ("mixture", "1 - alpha", "z3: unsat", "lower: kl_forward ≥ 0.4", "tight: no",
                 "fixed point", "main theorem", "holds: yes", "kl_forward ≤ 1/2: proved"):
        assert text in out, text
    res = runner.invoke(main, ["derive", "arithmetic-anchoring", "--latex", "--constant", "kl_forward"])
    assert res.exit_code == 0, res.output
    assert r"\begin{enumerate}" in res.output and r"\kappa_{\mathrm{fwd}}" in res.output
    assert r"\begin{align*}" in res.output and r"1 - \alpha" in res.output
    res = runner.invoke(main, ["derive", "arithmetic-anchoring", "--claim", "kl_sideways=1"])
    assert res.exit_code == 2


def test_derive_cli_on_a_spec(tmp_path):
    spec = tmp_path / "skew.toml"
    spec.write_text(SKEW_SPEC)
    runner = CliRunner()
    res = runner.invoke(main, ["derive", str(spec), "--at", "alpha=3/10"])
    assert res.exit_code == 0, res.output
    assert "data processing" in res.output and "upper: none - no rule applies" in res.output
    assert "MT2: refuted" in res.output and "holds: no" in res.output
    res = runner.invoke(main, ["derive", str(spec), "--latex"])
    assert res.exit_code == 0 and r"\section*" in res.output
    res = runner.invoke(main, ["derive", str(spec), "--json", "--constant", "tv"])
    data = json.loads(res.output)
    assert [c["kind"] for c in data["constants"]] == ["tv"]
    assert data["constants"][0]["upper"]["value"] == "1/4"


def test_verify_claim_option(tmp_path):
    res = CliRunner().invoke(main, ["verify", "arithmetic-anchoring", "--axiom", "MT2",
                                    "--at", "alpha=1/2", "--claim", "kl_forward=1/2",
                                    "--format", "json", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    fam = json.loads(res.output)["families"][0]
    assert fam["claims"][0]["status"] == "proved" and fam["claims"][0]["kind"] == "kl_forward"
    assert {c["kind"] for c in fam["constants"]} >= {"kl_forward", "local", "hilbert"}


def test_help_does_not_import_sympy():
    import subprocess
    import sys
    code = ("import sys; from distillproof.checker.cli import main; "
            "assert 'sympy' not in sys.modules, 'sympy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parameters_left_out_are_chosen_with_the_given_ones():
    """memory anchoring has alpha + beta1 + beta2 = 1: given alpha, the sampled betas
    must complete it (they once were sampled as if alpha were free)."""
    from distillproof.proofs.fixed_point import parameter_values
    fam = get_family("memory-anchoring")
    for given in ("1/5", "3/10", "9/10"):
        values, sampled = parameter_values(fam, {"alpha": given})
        assert sampled and values["alpha"] == sp.Rational(given)
        assert values["alpha"] + values["beta1"] + values["beta2"] == 1
        assert all(0 < v < 1 for v in values.values())
    with pytest.raises(ValueError, match="no point of its domain"):
        parameter_values(fam, {"alpha": "1/5", "beta1": "9/10"})
