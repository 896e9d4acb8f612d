"""A progress bar on standard error for long runs (only on a terminal)."""
from __future__ import annotations

import contextlib
import sys


@contextlib.contextmanager
def progress_bar(families, axioms, enabled: bool = True):
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from ..axioms.registry import axioms_for
    total = sum(len(axioms) if axioms else len(axioms_for(f.kind)) for f in families)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("verifying", total=total)

        def tick(family, axiom, evidence):
            bar.update(task, advance=1, description=f"{family.name} {axiom.id}: {evidence.status}")
        yield tick
