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

from .markdown import SYMBOL, verdict_matrix

__all__ = ["STATUSES", "counts", "by_kind", "matrices", "independence", "constants_rows",
           "fields", "slug", "vectors", "fmt_number", "is_claim", "SECTIONS",
           "doc_paragraphs", "constants_point", "label", "LABELS", "MATH_KEYS"]

STATUSES = ("proved", "refuted", "unknown")
_STATUS_OF = {v: k for k, v in SYMBOL.items()}
# Optional per-family sections, in report order, with their headings.
SECTIONS = (("fixed_point", "Fixed point"), ("theorem", "Main theorem, instantiated"),
            ("claims", "Claimed constants"), ("realizability", "Realizability (R)"),
            ("convexity", "Convexity (C)"))
MATH_KEYS = {"expr", "map", "bound", "kappa", "point", "closed_form", "anchor", "factor",
              "value", "kappa_value", "epsilon", "q0"}


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
    known = {"expr", "value", "steps", "witness", "kind", "certified_by", "enclosure", "note"}
    return {"expr": b.get("expr"), "value": _first(b, "value", "numeric"),
            "steps": b.get("steps") or [], "witness": b.get("witness"),
            "certified_by": b.get("certified_by"), "enclosure": b.get("enclosure"),
            "note": b.get("note"),
            "rest": {k: v for k, v in b.items() if k not in known and v is not None}}


def constants_rows(family: dict) -> list[dict]:
    """The ``constants`` of a family as rows ``{"kind", "upper", "lower", "tight",
    "reasons", "estimate", "region", "rest"}`` from a list of entries with a ``kind``
    (or a dict keyed by kind); ``upper``/``lower`` as :func:`_bound` gives them."""
    consts = family.get("constants")
    if not consts:
        return []
    items = (list(consts.items()) if isinstance(consts, dict)
             else [(c.get("kind", "?") if isinstance(c, dict) else "?", c) for c in consts])
    rows = []
    known = {"kind", "upper", "lower", "tight", "reasons", "estimate", "region", "at"}
    for kind, c in items:
        c = c if isinstance(c, dict) else {"upper": c}
        reasons = c.get("reasons") or []
        rows.append({"kind": kind, "upper": _bound(c.get("upper")),
                     "lower": _bound(c.get("lower")), "tight": c.get("tight"),
                     "reasons": [reasons] if isinstance(reasons, str) else list(reasons),
                     "estimate": c.get("estimate"), "region": c.get("region"),
                     "rest": {k: v for k, v in c.items() if k not in known and v is not None}})
    return rows


def constants_point(family: dict) -> dict:
    """The parameter point the constants' values are taken at (``at`` of the entries)."""
    for c in family.get("constants") or []:
        if isinstance(c, dict) and isinstance(c.get("at"), dict):
            return c["at"]
    return {}


_RATIONAL = re.compile(r"-?[0-9]+(/[0-9]+)?")


def _is_fraction(x) -> bool:
    """An exact rational written ``p/q`` or an integer (decimals are measurements)."""
    if isinstance(x, bool) or not isinstance(x, (str, int)):
        return False
    return bool(_RATIONAL.fullmatch(str(x).strip()))


def _flat(d: dict) -> bool:
    return all(not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], (dict, list)))
               for v in d.values())


_VERDICT_WORDS = set(STATUSES) | {"assumed", "discharged", "open", "violated"}


def _verdict_word(x) -> str | None:
    word = str(x).split(" ", 1)[0].strip("():,")
    return word if word in _VERDICT_WORDS else None


# Friendlier labels for keys the engine writes (others: the key, "_" as " ").
LABELS = {"point": "q*", "expr": "closed form", "numeric": "numerically",
          "distance_from_anchor": "distance from the anchor", "generations_to": "generations to ε",
          "initial_kl": "KL(p̄ ‖ q₀)", "q0": "q₀", "a_priori_bounds": "metric bounds (Banach)",
          "d_q1_q0": "d(q₁, q₀)", "holds": "theorem applies", "epsilon": "ε",
          "kappa": "κ", "kappa_value": "κ value", "generations_to_epsilon": "generations to ε",
          "a_posteriori": "a-posteriori bound", "classes": "K"}


def label(key) -> str:
    return LABELS.get(key, str(key).replace("_", " "))


def fields(d, depth: int = 0) -> list[dict]:
    """Generic display of a section: a list of ``{"label", "kind", "value"}`` with
    ``kind`` one of ``math relation mathvector text bool exact vector steps statuses
    claim claims table fields``."""
    if is_claim(d):
        return [{"label": "", "kind": "claims", "value": [{**d, "axiom": _claim_title(d, "")}]}]
    if isinstance(d, list) and d and all(is_claim(x) for x in d):
        return [{"label": "", "kind": "claims",
                 "value": [{**x, "axiom": _claim_title(x, str(i))} for i, x in enumerate(d, 1)]}]
    if not isinstance(d, dict):
        d = {"value": d}
    out = []
    for key, v in d.items():
        label_ = label(key)
        if v is None or v == [] or v == {}:
            continue
        if key == "steps" and isinstance(v, list):
            out.append({"label": label_, "kind": "steps", "value": v})
        elif is_claim(v):
            out.append({"label": label_, "kind": "claim", "value": {**v, "axiom": _claim_title(v, label_)}})
        elif isinstance(v, list) and all(is_claim(x) for x in v):
            out.append({"label": label_, "kind": "claims",
                        "value": [{**x, "axiom": _claim_title(x, f"{label_} {i}")}
                                  for i, x in enumerate(v, 1)]})
        elif isinstance(v, dict) and all(is_claim(x) for x in v.values()):
            out.append({"label": label_, "kind": "claims",
                        "value": [{**x, "axiom": _claim_title(x, k)} for k, x in v.items()]})
        elif isinstance(v, dict) and all(isinstance(x, str) and _verdict_word(x) for x in v.values()):
            out.append({"label": label_, "kind": "statuses",
                        "value": [(k, _verdict_word(x), x) for k, x in v.items()]})
        elif isinstance(v, list) and all(isinstance(x, dict) and _flat(x) for x in v):
            cols = list(dict.fromkeys(k for x in v for k in x))
            out.append({"label": label_, "kind": "table",
                        "value": {"columns": cols, "labels": [label(c) for c in cols],
                                  "rows": [[x.get(c) for c in cols] for x in v]}})
        elif isinstance(v, list) and all(_is_fraction(x) for x in v):
            out.append({"label": label_, "kind": "exact", "value": [str(x) for x in v]})
        elif isinstance(v, list) and key in MATH_KEYS and all(isinstance(x, str) for x in v):
            out.append({"label": label_, "kind": "mathvector", "value": v})
        elif isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v):
            out.append({"label": label_, "kind": "vector", "value": [fmt_number(x) for x in v]})
        elif isinstance(v, dict) and depth < 3:
            out.append({"label": label_, "kind": "fields", "value": fields(v, depth + 1)})
        elif isinstance(v, bool):
            out.append({"label": label_, "kind": "bool", "value": v})
        elif isinstance(v, str) and key == "relation":
            out.append({"label": label_, "kind": "relation", "value": v})
        elif isinstance(v, str) and key in MATH_KEYS and not _is_fraction(v):
            out.append({"label": label_, "kind": "math", "value": v})
        elif isinstance(v, (str, int)) and _is_fraction(v) and ("/" in str(v) or key in MATH_KEYS):
            out.append({"label": label_, "kind": "exact", "value": str(v)})
        else:
            out.append({"label": label_, "kind": "text", "value": fmt_number(v) if not isinstance(
                v, (list, dict)) else repr(v)})
    return out


def _claim_title(x: dict, default: str) -> str:
    if x.get("kind") and x.get("value") is not None and not x.get("axiom"):
        return f"{x['kind']} ≤ {x['value']}"          # a claimed constant
    return str(x.get("axiom") or x.get("student") or x.get("kind") or default)


_ROLE = re.compile(r":math:`([^`]*)`|``([^`]+)``")


def doc_paragraphs(text: str) -> list[list[tuple[str, str]]]:
    """A family docstring as paragraphs of ``("text" | "math" | "code", s)`` segments:
    lines joined, reStructuredText ``:math:`..``` roles and ````literals```` picked
    out (the roles' LaTeX is shown as code or ``$..$``, never fed to a TeX engine: it
    is user text)."""
    out = []
    for para in re.split(r"\n\s*\n", (text or "").strip()):
        para = " ".join(line.strip() for line in para.splitlines()).strip()
        if not para:
            continue
        segs, pos = [], 0
        for m in _ROLE.finditer(para):
            if m.start() > pos:
                segs.append(("text", para[pos:m.start()]))
            segs.append(("math", m.group(1)) if m.group(1) is not None else ("code", m.group(2)))
            pos = m.end()
        if pos < len(para):
            segs.append(("text", para[pos:]))
        out.append(segs)
    return out
