"""The result data every renderer starts from: the versioned JSON of DESIGN.md.

``SCHEMA`` names the version; any change to the shape bumps it.  The same dict feeds
the Markdown, HTML, LaTeX and JUnit renderers, so a report re-rendered from a saved
JSON file is the report ``verify`` would have written.  Nothing time-dependent goes in.
"""
from __future__ import annotations

import json

import sympy as sp

__all__ = ["SCHEMA", "family_data", "verification_data", "dumps", "replay_line"]

SCHEMA = "distillproof.verify/1"


def _family_ref(family) -> str:
    return family.name if family.source == "catalogue" else family.source


def replay_line(family, axiom_id: str, witness, student: str | None = None) -> str:
    """A shell line that re-checks ``witness`` exactly: paste it back.  For R and C,
    ``student`` is what ``--student`` takes; ``family`` is ``None`` for C ('-')."""
    quote = lambda s: f"'{s}'" if " " in s else s
    ref = "-" if family is None else quote(_family_ref(family))
    extra = "" if student is None else f" --student {quote(student)}"
    return (f"distillproof replay {ref} {axiom_id}{extra} --classes {witness.classes} "
            f"{witness.assignment_text()}")


def _parameter(p) -> dict:
    return {"name": p.name,
            "domain": " & ".join(str(r) for r in p.domain) if p.domain else None,
            "value": None if p.value is None else str(p.value)}


def family_data(fr) -> dict:
    f = fr.family
    out = {
        "name": f.name, "kind": f.kind, "map": sp.sstr(f.map), "source": f.source,
        "parameters": [_parameter(p) for p in f.parameters],
        "constraints": [sp.sstr(c) for c in f.constraints],
        "classes": list(f.classes), "doc": (f.doc or "").strip(), "reference": f.reference,
        "results": [], "not_applicable": dict(fr.not_applicable),
    }
    if f.kind == "meta-teacher":
        out["anchor"] = sp.sstr(f.anchor)
    if f.fixed_vectors:
        out["fixed_vectors"] = {k: [str(v) for v in vals] for k, vals in f.fixed.items()}
    if f.schedule is not None:
        out["schedule"] = sp.sstr(f.schedule)
    for r in fr.results:
        item = {"axiom": r.axiom.id, "name": r.axiom.name, "statement": r.axiom.statement,
                "nature": r.axiom.nature, **r.evidence.to_json()}
        if r.status == "refuted":
            item["replay"] = replay_line(f, r.axiom.id, r.evidence.witness)
        out["results"].append(item)
    if fr.contraction is not None:
        out.update(fr.contraction)
    return out


def verification_data(family_results, settings) -> dict:
    return {
        "schema": SCHEMA,
        "settings": {"seed": settings.seed, "timeout_ms": settings.timeout_ms,
                     "samples": settings.samples,
                     "classes": list(settings.classes) if settings.classes else None},
        "families": [family_data(fr) for fr in family_results],
    }


def dumps(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
