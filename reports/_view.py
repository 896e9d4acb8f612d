"""What every renderer derives from the result data: summaries, matrices, the
axiom-independence table, normalised constants, and generic sections.

All functions are pure functions of the JSON dict (``reports.data``), tolerant of the
per-family keys later issues add (``constants``, ``fixed_point``, ``theorem``,
``realizability``, ``convexity``, ``simulation``): a key that is absent yields nothing,
a shape that is not recognised is shown as generic fields, never dropped and never a
crash.
"""
from __future__ import annotations

import re
from fractions import Fraction

from .markdown import SYMBOL, verdict_matrix

__all__ = ["STATUSES", "counts", "by_kind", "matrices", "independence", "constants_rows",
           "fields", "slug", "vectors", "fmt_number", "is_claim", "SECTIONS",
           "doc_paragraphs"]

STATUSES = ("proved", "refuted", "unknown")
_STATUS_OF = {v: k for k, v in SYMBOL.items()}
# Optional per-family sections, in report order, with their headings.
SECTIONS = (("fixed_point", "Fixed point"), ("theorem", "Main theorem, instantiated"),
            ("realizability", "Realizability (R)"), ("convexity", "Convexity (C)"))
_MATH_KEYS = {"expr", "map", "bound", "rate", "kappa", "relation", "region", "point",
              "closed_form", "upper", "lower_expr", "anchor", "generations_expr"}


def slug(text: str) -> str:
    """An HTML id / LaTeX label for a family or axiom name."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def vectors(family: dict) -> tuple[str, ...]:
    """Vector names a family's expressions use beyond ``p``, ``q``, ``x`` (numbered)."""
    return tuple(sorted(family.get("fixed_vectors") or {}))


def counts(family: dict) -> dict[str, int]:
    out = {s: 0 for s in STATUSES}
    for r in family.get("results", []):
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def by_kind(data: dict) -> list[tuple[str, list[dict]]]:
    """Families grouped by kind, kinds in order of first appearance."""
    groups: dict[str, list[dict]] = {}
    for f in data["families"]:
        groups.setdefault(f["kind"], []).append(f)
    return list(groups.items())


def matrices(data: dict) -> list[dict]:
    """One families x axioms matrix per kind (``verdict_matrix`` on that kind's
    families), each cell ``{"axiom", "status", "symbol"}``."""
    out = []
    for kind, fams in by_kind(data):
        axioms, matrix = verdict_matrix({"families": fams})
        rows = [{"name": f["name"], "id": slug(f["name"]),
                 "cells": [{"axiom": a, "symbol": matrix[f["name"]][a],
                            "status": _STATUS_OF.get(matrix[f["name"]][a], "n/a")}
                           for a in axioms]} for f in fams]
        out.append({"kind": kind, "axioms": axioms, "rows": rows})
    return out


def independence(data: dict) -> list[dict]:
    """For each axiom in the data: a family that proves every other applicable axiom
    of its kind and refutes this one (``family``), or None; ``nearest`` is a family
    refuting it with the fewest other axioms not proved (``open`` lists them)."""
    rows = []
    for m in matrices(data):
        fams = [f for f in data["families"] if f["kind"] == m["kind"]]
        for a in m["axioms"]:
            best = None
            for f in fams:
                status = {r["axiom"]: r["status"] for r in f["results"]}
                if status.get(a) != "refuted":
                    continue
                others = sorted((x for x, s in status.items() if x != a and s != "proved"),
                                key=m["axioms"].index)
                if best is None or len(others) < len(best[1]):
                    best = (f["name"], others)
            rows.append({"axiom": a, "kind": m["kind"],
                         "family": best[0] if best and not best[1] else None,
                         "nearest": best[0] if best else None,
                         "open": best[1] if best else []})
    return rows


def fmt_number(x) -> str:
    """Numbers as short deterministic text (floats to 6 significant digits)."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def is_claim(x) -> bool:
    return isinstance(x, dict) and x.get("status") in STATUSES


def _first(d: dict, *keys):
    for k in keys:
        if isinstance(d, dict) and d.get(k) is not None:
            return d[k]
    return None


def _bound(b) -> dict:
    """An upper or lower bound entry: ``{"expr", "value", "steps", "witness", "rest"}``."""
    if b is None:
        return {}
    if not isinstance(b, dict):
        return {"value": b}
    known = {"expr", "value", "steps", "witness", "kind"}
    return {"expr": b.get("expr"), "value": _first(b, "value", "numeric"),
            "steps": b.get("steps") or [], "witness": b.get("witness"),
            "rest": {k: v for k, v in b.items() if k not in known and v is not None}}


def constants_rows(family: dict) -> list[dict]:
    """The ``constants`` of a family as rows ``{"kind", "upper", "lower", "tight",
    "local"}``, from a list of entries with a ``kind`` or a dict keyed by kind."""
    consts = family.get("constants")
    if not consts:
        return []
    items = (list(consts.items()) if isinstance(consts, dict)
             else [(c.get("kind", "?") if isinstance(c, dict) else "?", c) for c in consts])
    rows = []
    for kind, c in items:
        if not isinstance(c, dict):
            rows.append({"kind": kind, "upper": _bound(c), "lower": {}, "tight": None,
                         "local": None, "rest": {}})
            continue
        known = {"kind", "upper", "lower", "tight", "local"}
        rows.append({"kind": kind, "upper": _bound(c.get("upper")),
                     "lower": _bound(c.get("lower")), "tight": c.get("tight"),
                     "local": c.get("local"),
                     "rest": {k: v for k, v in c.items() if k not in known and v is not None}})
    return rows


def _is_fraction(x) -> bool:
    if isinstance(x, bool) or not isinstance(x, (str, int)):
        return False
    try:
        Fraction(str(x))
        return True
    except (ValueError, ZeroDivisionError):
        return False


def _flat(d: dict) -> bool:
    return all(not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], (dict, list)))
               for v in d.values())


def fields(d, depth: int = 0) -> list[dict]:
    """Generic display of a section: a list of ``{"label", "kind", "value"}`` with
    ``kind`` one of ``math text exact vector steps claim claims table fields``."""
    if is_claim(d):
        return [{"label": "", "kind": "claim", "value": d}]
    if not isinstance(d, dict):
        d = {"value": d}
    out = []
    for key, v in d.items():
        label = str(key).replace("_", " ")
        if v is None or v == [] or v == {}:
            continue
        if key == "steps" and isinstance(v, list):
            out.append({"label": label, "kind": "steps", "value": v})
        elif is_claim(v):
            out.append({"label": label, "kind": "claim", "value": {**v, "axiom": v.get("axiom", key)}})
        elif isinstance(v, list) and all(is_claim(x) for x in v):
            out.append({"label": label, "kind": "claims", "value": v})
        elif isinstance(v, dict) and v and all(is_claim(x) for x in v.values()):
            out.append({"label": label, "kind": "claims",
                        "value": [{**x, "axiom": x.get("axiom", k)} for k, x in v.items()]})
        elif isinstance(v, list) and all(isinstance(x, dict) and _flat(x) for x in v):
            cols = list(dict.fromkeys(k for x in v for k in x))
            out.append({"label": label, "kind": "table",
                        "value": {"columns": cols, "rows": [[x.get(c) for c in cols] for x in v]}})
        elif isinstance(v, list) and all(_is_fraction(x) for x in v):
            out.append({"label": label, "kind": "exact", "value": [str(x) for x in v]})
        elif isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v):
            out.append({"label": label, "kind": "vector", "value": [fmt_number(x) for x in v]})
        elif isinstance(v, dict) and depth < 3:
            out.append({"label": label, "kind": "fields", "value": fields(v, depth + 1)})
        elif isinstance(v, str) and key in _MATH_KEYS:
            out.append({"label": label, "kind": "math", "value": v})
        elif isinstance(v, (str, int)) and not isinstance(v, bool) and _is_fraction(v) and "/" in str(v):
            out.append({"label": label, "kind": "exact", "value": str(v)})
        else:
            out.append({"label": label, "kind": "text", "value": fmt_number(v) if not isinstance(
                v, (list, dict)) else repr(v)})
    return out


_ROLE = re.compile(r":math:`([^`]*)`")


def doc_paragraphs(text: str) -> list[list[tuple[str, str]]]:
    """A family docstring as paragraphs of ``("text" | "math", s)`` segments: lines
    joined, reStructuredText ``:math:`..``` roles picked out (their LaTeX is shown as
    code or ``$..$``, never fed to a TeX engine: it is user text)."""
    out = []
    for para in re.split(r"\n\s*\n", (text or "").strip()):
        para = " ".join(line.strip() for line in para.splitlines()).strip()
        if not para:
            continue
        segs, pos = [], 0
        for m in _ROLE.finditer(para):
            if m.start() > pos:
                segs.append(("text", para[pos:m.start()]))
            segs.append(("math", m.group(1)))
            pos = m.end()
        if pos < len(para):
            segs.append(("text", para[pos:]))
        out.append(segs)
    return out
