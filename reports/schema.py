"""The shape of ``distillproof.verify/1`` (README "The JSON format"), checked by hand.

:func:`problems` lists every way a document departs from the schema (an empty list
means valid); the ``report`` command refuses documents with problems, and the tests
validate every JSON the tool writes.
"""
from __future__ import annotations

import re

from .data import SCHEMA

__all__ = ["problems", "RATIONAL"]

RATIONAL = re.compile(r"^-?\d+(/\d+)?$")
STATUSES = ("proved", "refuted", "unknown")


def _classes_ok(v) -> bool:
    return v is None or isinstance(v, int) or (isinstance(v, list) and all(isinstance(k, int) for k in v))


def _result(where: str, r: dict) -> list[str]:
    out = []
    for key in ("axiom", "status", "method", "classes"):
        if key not in r:
            out.append(f"{where}: missing {key!r}")
    status = r.get("status")
    if status not in STATUSES:
        out.append(f"{where}: status {status!r} is not one of {STATUSES}")
    if not _classes_ok(r.get("classes")):
        out.append(f"{where}: classes must be null, an integer or a list of integers")
    if status == "proved" and not isinstance(r.get("steps"), list):
        out.append(f"{where}: a proved result needs a list of steps")
    if status == "unknown" and not r.get("reason"):
        out.append(f"{where}: an unknown result needs a reason")
    if status == "refuted":
        w = r.get("witness")
        if not isinstance(w, dict) or not isinstance(w.get("values"), dict):
            out.append(f"{where}: a refuted result needs a witness with values")
        else:
            for name, v in w["values"].items():
                vals = v if isinstance(v, list) else [v]
                bad = [x for x in vals if not (isinstance(x, str) and RATIONAL.match(x))]
                if bad:
                    out.append(f"{where}: witness value {name} = {v!r} is not exact rational strings")
            if w.get("certified_by") not in ("exact", "interval"):
                out.append(f"{where}: witness certified_by must be exact or interval")
        if not str(r.get("replay", "")).startswith("distillproof replay "):
            out.append(f"{where}: a refuted result needs a replay line")
    return out


def problems(data) -> list[str]:
    if not isinstance(data, dict):
        return ["the document is not a JSON object"]
    out = []
    if data.get("schema") != SCHEMA:
        out.append(f"schema is {data.get('schema')!r}, expected {SCHEMA!r}")
    families = data.get("families")
    if not isinstance(families, list):
        return out + ["families must be a list"]
    for i, f in enumerate(families):
        where = f"families[{i}] ({f.get('name', '?') if isinstance(f, dict) else '?'})"
        if not isinstance(f, dict):
            out.append(f"{where}: not an object")
            continue
        for key in ("name", "kind", "map", "parameters", "classes", "results", "not_applicable"):
            if key not in f:
                out.append(f"{where}: missing {key!r}")
        for j, r in enumerate(f.get("results", [])):
            out.extend(_result(f"{where}.results[{j}] ({r.get('axiom', '?')})", r))
        for c in f.get("constants", []) or []:
            if c.get("kind") not in ("kl_forward", "kl_reverse", "kl_pairwise", "local", "tv", "hilbert"):
                out.append(f"{where}: constant kind {c.get('kind')!r} is unknown")
    return out
