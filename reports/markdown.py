"""Markdown report, rendered from the result data (``reports.data``).

Written for common code hosts: pipe tables, ``$..$`` / ``$$..$$`` mathematics (the
map, parameter domains, constants), user text escaped so that ``*`` or ``|`` in a
formula never turns into emphasis or a table cell.
"""
from __future__ import annotations

import re

from ._env import environment

__all__ = ["render_markdown", "verdict_matrix", "SYMBOL", "md_escape"]

SYMBOL = {"proved": "✔", "refuted": "✘", "unknown": "?", "n/a": "—"}
_SPECIAL = re.compile(r"([\\`*_\[\]<>|$])")


def md_escape(text) -> str:
    """``text`` with Markdown's inline specials backslash-escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", str(text)))


def md_code(text) -> str:
    """``text`` as inline code (a fence longer than any backtick run inside)."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


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


def _math(text, vectors=()) -> str:
    from ._math import latex_math, parse
    if text is None:
        return ""
    if parse(str(text), tuple(vectors)) is None:
        return md_code(text)
    return f"${latex_math(text, vectors)}$"


def render_markdown(data: dict) -> str:
    from . import _math as m
    from . import _view as v
    env = environment()
    views = [{"f": f, "counts": v.counts(f), "vectors": v.vectors(f),
              "constants": v.constants_rows(f), "point": v.constants_point(f), "doc": v.doc_paragraphs(f.get("doc", "")),
              "sections": [(key, title, v.fields(f[key])) for key, title in v.SECTIONS
                           if f.get(key) not in (None, [], {})]}
             for f in data["families"]]
    totals = {s: sum(x["counts"][s] for x in views) for s in v.STATUSES}
    text = env.get_template("report.md.j2").render(
        **data, views=views, totals=totals, matrices=v.matrices(data), symbol=SYMBOL,
        independence=v.independence(data) if len(data["families"]) > 1 else [],
        esc=md_escape, code=md_code, math=_math,
        mapmath=lambda text, kind, vectors=(): (
            f"$${m.map_latex(text, kind, vectors)}$$" if m.parse(str(text), tuple(vectors))
            is not None else md_code(text)),
        domain=lambda text: f"${m.relation_latex(text)}$" if m.relations_ok(text) else md_code(text),
        exact=lambda value: f"${m.fraction_latex(value)}$", num=v.fmt_number, slug=v.slug,
        value=lambda x: f"${m.fraction_latex(x)}$" if v._is_fraction(x) else md_escape(v.fmt_number(x)),
        assign=lambda name, value: f"${m.latex_math(name)} = {m.fraction_latex(value)}$")
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
