"""``distillproof simulate``: run a family's recursion generation by generation.

    distillproof simulate FAMILY|SPEC [--at alpha=3/10] [--generations 30] [--classes K]
                          [--start 1,2,3] [--noise 0.05 [--noise-kind lognormal]
                          [--replicates 64]] [--seed 0] [--student NAME|SPEC]
                          [--out DIR] [--format text|csv|json]

prints per generation ``KL(q*‖q_t)``, ``KL(q_t‖q*)``, ``TV`` and ``d_H`` to the fixed
point next to the proved bound ``κ^t KL(p̄‖q_0)`` (with stage noise: the mean KL and
the variance across replicates), writes ``simulate.json`` and ``simulate.csv`` to
``--out`` (the layout is in the README), and stops with an internal error (exit
status 3) if a proved bound is violated.  Heavy imports stay inside the command, so
``distillproof --help`` does not load NumPy or SymPy.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["simulate"]


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _print_table(sim) -> None:
    noise = sim.noise
    head = ["t", "KL(q*‖q_t)", "KL(q_t‖q*)", "TV", "d_H", "bound KL(p̄‖q_t)"]
    head += ["mean KL (noisy)", "clr variance"] if noise else []
    rows = []
    n = len(sim.generations)
    keep = set(range(n)) if n <= 41 else {0, n - 1} | set(range(0, n, max(1, n // 40)))
    for i in sorted(keep):
        row = [sim.generations[i]] + [sim.series[k][i] for k in ("kl_forward", "kl_reverse", "tv",
                                                                 "hilbert")] + [sim.bound[i]]
        if noise:
            row += [noise["mean_kl_forward"][i], noise["variance"][i]]
        rows.append([_fmt(v) for v in row])
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    click.echo("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for r in rows:
        click.echo("  ".join(v.rjust(w) for v, w in zip(r, widths)))


def _header(sim) -> None:
    at = ", ".join(f"{k}={v}" for k, v in sim.at.items()) or "no parameters"
    click.echo(f"{sim.family} at K={sim.classes} ({at}), {len(sim.generations) - 1} generations")
    click.echo(f"fixed point q*: {sim.fixed_point_method}")
    for kind, k in sim.kappa.items():
        value = "" if k["value"] is None else f" = {k['value']:.6g}"
        click.echo(f"proved: {kind} κ ≤ {k['expr']}{value}")
    if not sim.kappa:
        click.echo("proved: no contraction bound applies (nothing to check)")
    for note in sim.notes:
        click.echo(f"note: {note}")
    if sim.noise:
        nz = sim.noise
        click.echo(f"stage noise: {nz['kind']} sigma={nz['sigma']}, {nz['replicates']} replicates, "
                   f"seed {nz['seed']}")


@click.command()
@click.argument("family")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
              help="Parameter values, e.g. --at alpha=3/10 (others sampled from the domain).")
@click.option("--generations", type=click.IntRange(0, 10**6), default=30, show_default=True,
              help="Number of generations N.")
@click.option("--classes", type=click.IntRange(2, 10**7), default=None,
              help="Number of classes K (default: the family's own, else 3); a vocabulary works.")
@click.option("--start", metavar="V1,V2,..", default=None,
              help="The first student q0 (normalised); default q0_i ∝ K - i.")
@click.option("--noise", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Stage noise sigma (0: none).")
@click.option("--noise-kind", type=click.Choice(["lognormal", "dirichlet"]), default="lognormal",
              show_default=True, help="Multiplicative log-normal or Dirichlet perturbation.")
@click.option("--replicates", type=click.IntRange(2, 10**5), default=64, show_default=True,
              help="Noisy replicates for the bias-variance statistics.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--student", metavar="NAME|SPEC", default=None,
              help="Project each teacher onto this student family (KL projection).")
@click.option("--out", type=click.Path(file_okay=False), default="distillproof-out", show_default=True,
              help="Directory for simulate.json and simulate.csv.")
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text",
              show_default=True, help="What to print on standard output.")
def simulate(family, at, generations, classes, start, noise, noise_kind, replicates, seed,
             student, out, fmt):
    """Run the recursion q_t = M(p̄, q_{t-1}) of FAMILY (a catalogue name or a TOML
    spec) and compare it, generation by generation, with the proved bounds."""
    from .cli import _fail, _parse_at
    from ..axioms.family import FamilyError
    from .api import resolve_family
    try:
        fam = resolve_family(family)
        values = _parse_at(at)
        names = {p.name for p in fam.parameters}
        if set(values) - names:
            _fail(f"--at names no parameter of {fam.name}: {sorted(set(values) - names)}")
        stud = _student(student, fam) if student else None
        from .simulate import simulate as run, to_csv
        sim = run(fam, generations=generations, classes=classes, at=values or None,
                  start=None if start is None else start.split(","), noise=noise,
                  noise_kind=noise_kind, replicates=replicates, seed=seed, student=stud)
    except (KeyError, FamilyError, ValueError, ZeroDivisionError, OSError) as exc:
        _fail(str(exc).strip('"'))
    import json
    data = sim.to_json()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "simulate.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (out_dir / "simulate.csv").write_text(to_csv(sim), encoding="utf-8")
    if fmt == "json":
        click.echo(json.dumps(data, indent=1))
    elif fmt == "csv":
        click.echo(to_csv(sim), nl=False)
    else:
        _header(sim)
        _print_table(sim)
        click.echo(f"\nJSON: {out_dir / 'simulate.json'}\nCSV:  {out_dir / 'simulate.csv'}")
    if sim.violations:
        v = sim.violations[0]
        click.echo(f"distillproof: internal error: the proved {v['kind']} bound is violated at "
                   f"generation {v['generation']}: {v['distance']} = {v['value']:.17g} > bound "
                   f"{v['bound']:.17g} ({len(sim.violations)} violation(s) in all). A proved bound "
                   "can never fail: this is a bug in distillproof, please report it with this "
                   "command line.", err=True)
        sys.exit(3)


def _student(ref, family):
    try:
        from ..axioms.students import load_student
        from . import capacity  # noqa: F401  (the projection)
    except ImportError as exc:                    # pragma: no cover - optional module
        raise ValueError(f"--student needs the capacity module: {exc}")
    found = load_student(ref)
    if len(found) != 1:
        raise ValueError(f"--student {ref}: give a student family with one number of classes")
    return found[0]
