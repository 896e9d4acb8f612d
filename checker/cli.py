"""The command line: a thin layer over the library API.

    distillproof verify [FAMILY|SPEC.toml ...]   verify families (default: the catalogue)
    distillproof list                            families and axioms
    distillproof replay FAMILY AXIOM k=v ...     re-check a witness exactly (R, C: --student)
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_OUT = "distillproof-out"


def _fail(message: str, code: int = 2):
    click.echo(f"distillproof: error: {message}", err=True)
    sys.exit(code)


def _parse_at(items) -> dict:
    from fractions import Fraction
    out = {}
    for item in items:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                _fail(f"--at expects name=value (an exact number like 3/10), got {part!r}")
            try:
                out[name.strip()] = Fraction(value.strip())
            except (ValueError, ZeroDivisionError):
                _fail(f"--at {name.strip()}: {value.strip()!r} is not an exact number (write 3/10 or 0.3)")
    return out


def _parse_classes(text):
    if text is None:
        return None
    try:
        ks = tuple(sorted({int(k) for k in text.split(",")}))
    except ValueError:
        _fail(f"--classes expects integers like 2,3, got {text!r}")
    if any(k < 2 or k > 8 for k in ks):
        _fail(f"--classes must lie between 2 and 8 for the exact checks, got {text!r}")
    return ks


def _resolve(refs, at):
    from ..axioms.family import FamilyError
    from .api import resolve_family
    try:
        families = [resolve_family(r) for r in refs] if refs else None
        if families is None:
            from ..axioms.catalogue import catalogue
            families = catalogue()
        if at:
            families = [f.with_values({k: v for k, v in at.items()
                                       if k in {p.name for p in f.parameters}}) for f in families]
            unknown = set(at) - {p.name for f in families for p in f.parameters}
            if unknown:
                _fail(f"--at names no parameter of these families: {sorted(unknown)}")
        return families
    except (KeyError, FamilyError, ValueError, OSError) as exc:
        _fail(str(exc).strip('"'))


def _resolve_students(refs) -> list:
    """``--student`` values as student families (an error names the bad one)."""
    from ..axioms.students import load_student
    out = []
    for ref in refs:
        try:
            out += load_student(ref)
        except (KeyError, ValueError, OSError) as exc:
            _fail(f"--student {ref}: {str(exc).strip(chr(34))}")
    return out


class _LazyGroup(click.Group):
    """Commands that live in their own modules are imported when they are used: the
    top-level ``--help`` lists them from :data:`LAZY` and loads nothing but click."""

    LAZY = {  # name: (module, attribute or None for its register(main), short help)
        "derive": ("cli_derive", None, "Derive the contraction constants of FAMILY (a catalogue..."),
        "exercise": ("cli_exercise", "exercise", "Classroom exercises graded by the engine."),
        "report": ("cli_report", "report", "Render RESULTS (a results.json written by..."),
        "simulate": ("cli_simulate", "simulate", "Run the recursion q_t = M(p̄, q_{t-1}) of FAMILY..."),
    }
    _registered = False

    def list_commands(self, ctx):
        return sorted(set(self.commands) | set(self.LAZY))

    def get_command(self, ctx, name):
        if name in ("verify", "derive") and not self._registered:
            from .cli_derive import register     # derive, and --claim on verify
            self._registered = True
            register(self)
        elif name in self.LAZY and name not in self.commands:
            import importlib
            module, attr, _ = self.LAZY[name]
            self.add_command(getattr(importlib.import_module(f"{__package__}.{module}"), attr), name)
        return self.commands.get(name)

    def format_commands(self, ctx, formatter):
        rows = [(n, self.commands[n].get_short_help_str(formatter.width - 6 - len(n))
                 if n in self.commands else self.LAZY[n][2]) for n in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="distillproof")
def main():
    """distillproof: is an iterative knowledge-distillation scheme mathematically sound?

    Every axiom of an operator family is proved (with its proof), refuted (with an
    exact, certified, replayable witness) or unknown (with the reason).
    Start with `distillproof verify` (the whole built-in catalogue) or
    `distillproof verify my_family.toml`.
    """


@main.command()
@click.argument("families", nargs=-1)
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
              help="Fix parameters to exact values, e.g. --at alpha=3/10 (repeatable).")
@click.option("--classes", metavar="K[,K..]", help="Numbers of classes for the exact checks (default: each family's own).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html", "latex", "junit"]),
              default="text", show_default=True, help="What to print on standard output.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=DEFAULT_OUT, show_default=True,
              help="Directory for the report files (results.json, report.md, report.html).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the numeric search.")
@click.option("--timeout", "timeout_ms", type=click.IntRange(100, 600000), default=4000, show_default=True,
              help="Solver time limit per query, in milliseconds (a timeout is 'unknown').")
@click.option("--samples", type=click.IntRange(10, 10**6), default=2000, show_default=True,
              help="Points sampled per claim by the numeric search.")
@click.option("--axiom", "axioms", multiple=True, metavar="ID", help="Check only these axioms (repeatable).")
@click.option("--fail-on", type=click.Choice(["never", "refuted", "unknown"]), default="never", show_default=True,
              help="Exit with status 1 when some verdict is refuted (or refuted/unknown): for CI.")
@click.option("--no-cache", "no_cache", is_flag=True,
              help="Do not read or write the on-disk result cache ($DISTILLPROOF_CACHE).")
@click.option("--student", "students", multiple=True, metavar="NAME|SPEC",
              help="Also check realizability, convexity and the capacity-constrained recursion "
                   "with this student family: a built-in name (e.g. independence-2x2) or a TOML "
                   "spec with a [student] table (repeatable).")
def verify(families, at, classes, fmt, out, seed, timeout_ms, samples, axioms, fail_on, no_cache,
           students):
    """Verify FAMILIES (catalogue names or TOML specs; default: the whole catalogue).

    Prints a verdict table (families x axioms), writes results.json, report.md and
    report.html (and report.tex / junit.xml with --format latex / junit) to --out, and
    says where they are.  A refuted axiom is a result, not an error: the
    exit status is 0 unless --fail-on says otherwise.
    """
    from .api import Settings, verify as run
    chosen = _resolve(families, _parse_at(at))
    settings = Settings(seed=seed, timeout_ms=timeout_ms, samples=samples,
                        classes=_parse_classes(classes))
    if axioms:
        from ..axioms.registry import get_axiom
        for a in axioms:
            try:
                get_axiom(a)
            except KeyError as exc:
                _fail(str(exc).strip('"'))
    from ._progress import progress_bar
    with progress_bar(chosen, axioms, enabled=fmt == "text") as tick:
        result = run(chosen, settings=settings, axioms=axioms or None, progress=tick,
                     cache=not no_cache, students=_resolve_students(students))
    data = result.to_json()
    from ..reports.render import FILENAMES, write_report
    out_dir = Path(out)
    formats = ["json", "md", "html"] + ([fmt] if fmt in ("latex", "junit") else [])
    write_report(data, out_dir, formats)
    if fmt != "text":
        key = {"markdown": "md"}.get(fmt, fmt)
        click.echo((out_dir / FILENAMES[key]).read_text(encoding="utf-8"), nl=False)
    else:
        from ._table import print_student_table, print_table
        print_table(data)
        print_student_table(data)
        click.echo(f"\nJSON:   {out_dir / 'results.json'}\nReport: {out_dir / 'report.md'}"
                   f"\nHTML report: {out_dir / 'report.html'}")
    statuses = {r["status"] for f in data["families"] for r in f["results"]}
    if fail_on == "refuted" and "refuted" in statuses or (
            fail_on == "unknown" and statuses & {"refuted", "unknown"}):
        sys.exit(1)


@main.command(name="list")
def list_():
    """List the built-in families and the axioms."""
    from ..axioms.catalogue import catalogue
    from ..axioms.registry import axioms_for
    click.echo("Families (distillproof verify NAME):")
    for f in catalogue():
        params = ", ".join(p.name if p.value is None else f"{p.name}={p.value}" for p in f.parameters)
        click.echo(f"  {f.name:<26} {f.kind:<13} {f.map}" + (f"   [{params}]" if params else ""))
    click.echo("\nAxioms:")
    for a in axioms_for():
        click.echo(f"  {a.id:<5} {a.applies_to:<13} {a.nature:<15} {a.name}: {a.statement}")


@main.command()
@click.argument("family")
@click.argument("axiom")
@click.argument("values", nargs=-1, required=True)
@click.option("--classes", type=int, required=True, help="The number of classes of the witness.")
@click.option("--student", metavar="NAME|SPEC",
              help="The student family, for AXIOM R (realizability) or C (convexity; "
                   "then FAMILY may be '-').")
def replay(family, axiom, values, classes, student):
    """Re-check a witness exactly: VALUES are name=v1,v2,.. for vectors and name=v for
    parameters, exact rationals (as printed in a report).  AXIOM is an axiom id, or R / C
    with --student.  Exit 0 when the violation is confirmed, 1 when the point does not
    violate the axiom."""
    from .api import resolve_family
    from .engine import replay as run
    if axiom in ("R", "C") and not student:
        _fail(f"{axiom} is about a student family: give --student NAME|SPEC")
    if family == "-" and axiom != "C":
        _fail("FAMILY '-' stands for 'no family', which only C (convexity) allows")
    try:
        fam = None if family == "-" else resolve_family(family)
        chosen = None
        if student:
            found = [s for s in _resolve_students([student]) if s.classes == classes]
            if not found:
                _fail(f"--student {student}: no member with K={classes}")
            chosen = found[0]
        parsed = {}
        for item in values:
            name, sep, v = item.partition("=")
            if not sep:
                _fail(f"expected name=value, got {item!r}")
            parts = v.split(",")
            parsed[name] = parts if len(parts) > 1 else parts[0]   # vectors have K >= 2 entries
        witness = run(fam, axiom, parsed, classes, chosen)
    except (KeyError, ValueError, ZeroDivisionError) as exc:
        _fail(str(exc).strip('"'))
    if witness is None:
        click.echo(f"not a counterexample: {axiom} holds at this point (or the point is outside the domain)")
        sys.exit(1)
    subject = " and ".join(x for x in (fam and fam.name, chosen and chosen.name) if x)
    click.echo(f"confirmed: {axiom} fails for {subject} at K={classes}: {witness.atom}; "
               f"value {witness.value} (certified by {witness.certified_by})")


# report, derive (with --claim on verify), exercise, simulate: _LazyGroup.LAZY

if __name__ == "__main__":
    main()
