"""Simulated recursions (checker/simulate.py) against the proved bounds.

A simulation of a catalogue family never violates a bound the contraction calculus
proved (that would be a bug), at several parameter points and class counts; the
trajectory bound is ``κ^⌈t/L⌉`` times the initial distance.  With stage noise the
variance of ``clr q_t`` grows linearly when ``α = 0`` and stays bounded when ``α > 0``
(fixed seeds, many replicates, generous tolerances: the statistics are robust).
"""
from __future__ import annotations

import json
import math
from fractions import Fraction as F

import numpy as np
import pytest
from click.testing import CliRunner

from distillproof.axioms.catalogue import catalogue, get_family
from distillproof.axioms.divergences import kl
from distillproof.checker.cli import main
from distillproof.checker.simulate import simulate, to_csv
from distillproof.proofs.contraction import derive

META = [f for f in catalogue() if f.kind == "meta-teacher"]
POINTS = [{}, {"alpha": F(1, 10)}, {"alpha": F(9, 10)}, {"alpha": F(1, 2), "T": F(3, 2)},
          {"alpha": F(1, 5), "T": F(1, 2)}]


def _at(family, point):
    names = {p.name for p in family.free_parameters}
    return {k: v for k, v in point.items() if k in names} or None


@pytest.mark.parametrize("family", META, ids=lambda f: f.name)
def test_catalogue_simulations_never_violate_a_proved_bound(family):
    for point in POINTS:
        for k in ([None] if family.fixed else [3, 6]):
            sim = simulate(family, generations=40, classes=k, at=_at(family, point))
            assert sim.violations == [], (family.name, point, k, sim.violations[:2])
            for kind, bound in sim.bounds.items():
                assert len(bound) == 41


def test_kl_forward_bound_is_kappa_to_the_t_times_the_start():
    fam = get_family("arithmetic-anchoring")
    sim = simulate(fam, generations=12, classes=4, at={"alpha": F(1, 4)})
    kappa = float(derive(fam, "kl_forward").value({"alpha": F(1, 4)}))
    assert kappa == 0.75 and sim.kappa["kl_forward"]["value"] == 0.75
    e0 = float(kl(sim.anchor, sim.start))
    assert sim.bound == pytest.approx([kappa ** t * e0 for t in range(13)], rel=1e-12)
    assert all(v <= b for v, b in zip(sim.series["kl_forward"], sim.bound))
    assert np.allclose(sim.fixed_point, sim.anchor)


def test_memory_bound_uses_ceil_t_over_L_and_schedule_uses_its_factor():
    sim = simulate(get_family("memory-anchoring"), generations=6, classes=3,
                   at={"alpha": F(1, 5), "beta1": F(1, 2), "beta2": F(3, 10)})
    e0 = sim.series["kl_anchor"][0]
    assert sim.bound == pytest.approx([0.8 ** math.ceil(t / 2) * e0 for t in range(7)])
    sched = simulate(get_family("scheduled-anchoring"), generations=5, classes=3)
    e0 = sched.series["kl_anchor"][0]
    assert sched.bound == pytest.approx([e0] + [2 / (t + 2) * e0 for t in range(1, 6)])
    assert sched.violations == []


def test_tempered_fixed_point_is_the_closed_form_and_large_k_runs():
    fam = get_family("tempered-geometric")
    sim = simulate(fam, generations=30, classes=5, at={"alpha": F(1, 2), "T": F(2)})
    p, q = sim.anchor, sim.fixed_point
    want = p ** (0.5 / (2 + 0.5 - 1))
    assert np.allclose(q, want / want.sum(), rtol=1e-12)
    assert sim.series["hilbert"][-1] < 1e-12           # contracts: (1 - alpha)/T < 1
    big = simulate(get_family("geometric-anchoring"), generations=5, classes=100000,
                   at={"alpha": F(3, 10)})
    assert big.violations == [] and big.to_json()["anchor"] is None    # K > 64: omitted


def test_bias_variance_alpha_zero_grows_linearly_alpha_positive_stays_bounded():
    zero = simulate(get_family("self-distillation"), generations=60, classes=4, noise=0.05,
                    replicates=400, seed=1).noise["variance"]
    assert zero[60] / zero[30] == pytest.approx(2.0, rel=0.2)
    assert zero[30] / zero[15] == pytest.approx(2.0, rel=0.2)
    slope = zero[60] / 60
    assert slope == pytest.approx(0.05 ** 2 * 3, rel=0.2)      # σ² (K - 1) per generation
    anchored = simulate(get_family("arithmetic-anchoring"), generations=120, classes=4,
                        at={"alpha": F(1, 5)}, noise=0.05, replicates=400, seed=1)
    var = anchored.noise["variance"]
    assert var[120] == pytest.approx(var[60], rel=0.25)           # stationary
    assert var[120] < zero[60] / 4
    # Dirichlet resampling drifts toward the faces (as in Wright-Fisher): growth, not linear
    drift = simulate(get_family("self-distillation"), generations=40, classes=4,
                     noise=0.05, noise_kind="dirichlet", replicates=300, seed=2).noise["variance"]
    assert drift[10] < drift[20] < drift[40]
    held = simulate(get_family("arithmetic-anchoring"), generations=80, classes=4,
                    at={"alpha": F(1, 5)}, noise=0.05, noise_kind="dirichlet", replicates=300,
                    seed=2).noise["variance"]
    assert held[80] == pytest.approx(held[40], rel=0.3) and held[80] < drift[40]


def test_seeded_runs_repeat_and_csv_json_layout():
    fam = get_family("arithmetic-anchoring")
    a = simulate(fam, generations=8, classes=3, noise=0.1, replicates=8, seed=5)
    b = simulate(fam, generations=8, classes=3, noise=0.1, replicates=8, seed=5)
    assert a.to_json() == b.to_json()
    data = json.loads(json.dumps(a.to_json()))
    for key in ("generations", "kl_forward", "kl_reverse", "tv", "hilbert", "bound", "bounds",
                "kappa", "fixed_point", "noise", "violations", "schema"):
        assert key in data
    assert len(data["kl_forward"]) == len(data["generations"]) == 9
    lines = to_csv(a).splitlines()
    assert lines[0].startswith("generation,kl_forward,kl_reverse,tv,hilbert")
    assert len(lines) == 10


def test_cli_simulate_writes_data_and_prints_the_table(tmp_path):
    run = CliRunner().invoke(main, ["simulate", "arithmetic-anchoring", "--at", "alpha=3/10",
                                    "--generations", "5", "--classes", "4", "--out", str(tmp_path)])
    assert run.exit_code == 0, run.output
    assert "KL(q*‖q_t)" in run.output and "κ ≤ 1 - alpha = 0.7" in run.output
    data = json.loads((tmp_path / "simulate.json").read_text())
    assert data["generations"] == [0, 1, 2, 3, 4, 5]
    assert (tmp_path / "simulate.csv").read_text().count("\n") == 7
    bad = CliRunner().invoke(main, ["simulate", "softening", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "meta-teacher" in bad.output
    noisy = CliRunner().invoke(main, ["simulate", "self-distillation", "--noise", "0.1",
                                      "--generations", "3", "--format", "json",
                                      "--out", str(tmp_path)])
    assert noisy.exit_code == 0 and json.loads(noisy.output)["noise"]["replicates"] == 64
