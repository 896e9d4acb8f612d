"""Markdown report, rendered from the result data (``reports.data``)."""
from __future__ import annotations

from ._env import environment

__all__ = ["render_markdown", "verdict_matrix", "SYMBOL"]

SYMBOL = {"proved": "✔", "refuted": "✘", "unknown": "?", "n/a": "—"}


def verdict_matrix(data: dict) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The axiom columns present in ``data`` (registry order) and family -> axiom -> symbol."""
    from ..axioms.registry import axioms_for
    present = {r["axiom"] for f in data["families"] for r in f["results"]}
    present |= {a for f in data["families"] for a in f["not_applicable"]}
    axioms = [a.id for a in axioms_for() if a.id in present]
    matrix = {}
    for f in data["families"]:
        status = {r["axiom"]: r["status"] for r in f["results"]}
        matrix[f["name"]] = {a: SYMBOL[status.get(a, "n/a")] for a in axioms}
    return axioms, matrix


def render_markdown(data: dict) -> str:
    axioms, matrix = verdict_matrix(data)
    return environment().get_template("report.md.j2").render(**data, axioms=axioms, matrix=matrix)
