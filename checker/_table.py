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


_MARK = {"proved": "✔", "refuted": "✘", "unknown": "?"}


def _capacity_cell(cap: dict) -> str:
    if not cap or "contraction" not in cap:
        return "—"
    parts = []
    for item in cap["contraction"]:
        mark = _MARK.get(item.get("status"), "?")
        rate = f" κ≈{item['rate']:.3g}" if item.get("rate") is not None else ""
        parts.append(f"{item['id']}{mark}{rate}")
    return " ".join(parts)


def print_student_table(data: dict) -> None:
    """Realizability (R), convexity (C) and the capacity statements (A, B, C of
    :mod:`.capacity`) per family and student family, when ``--student`` or a spec's
    ``[student]`` table asked for them."""
    rows = []
    for fam in data.get("families", []):
        caps = {(c.get("student"), c.get("classes")): c for c in fam.get("capacity", [])}
        for r, c in zip(fam.get("realizability", []), fam.get("convexity", [])):
            cap = caps.get((r["student"], r["student_classes"]), {})
            rows.append((fam["name"], r["student"], str(r["student_classes"]),
                         _MARK[r["status"]], _MARK[c["status"]], _capacity_cell(cap)))
    if not rows:
        return
    from rich.console import Console
    from rich.table import Table
    table = Table(title="Realizability and convexity (✔ proved, ✘ refuted, ? unknown; "
                        "capacity: A/B/C statements, κ≈ numeric rate)")
    for name in ("family", "student", "K", "R", "C", "capacity (Φ = Π_S∘M)"):
        table.add_column(name, justify="left" if name in ("family", "student") else "center")
    for row in rows:
        styled = [f"[{STYLE[x]}]{x}[/]" if x in STYLE else x for x in row]
        table.add_row(*styled)
    Console(width=120).print(table)
