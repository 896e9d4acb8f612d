"""The verdict table (families x axioms) on the terminal."""
from __future__ import annotations

from ..reports.markdown import verdict_matrix

STYLE = {"✔": "green", "✘": "red", "?": "yellow", "—": "dim"}


def print_table(data: dict) -> None:
    from rich.console import Console
    from rich.table import Table
    axioms, matrix = verdict_matrix(data)
    table = Table(title="distillproof: verdicts (✔ proved, ✘ refuted, ? unknown, — not applicable)")
    table.add_column("family", no_wrap=True)
    for a in axioms:
        table.add_column(a, justify="center")
    for name, row in matrix.items():
        table.add_row(name, *[f"[{STYLE[row[a]]}]{row[a]}[/]" for a in axioms])
    console = Console(width=max(120, 28 + 6 * len(axioms)))
    console.print(table)
