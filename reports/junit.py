"""JUnit XML for CI: one ``<testcase classname=FAMILY name=AXIOM>`` per family x claim.

proved -> a passing test case (the method in ``<system-out>``); refuted -> ``<failure>``
whose message carries the exact witness and the replay line; unknown -> ``<skipped>``
with the reason; an axiom that does not apply -> ``<skipped>`` saying why.  Claims of
the claimed-constant, realizability and convexity sections, when present, are test
cases named ``claims:..`` / ``realizability:..`` / ``convexity:..``.  Built with ``xml.etree`` (always valid XML),
deterministic (no timestamps, no timings).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from . import _view

__all__ = ["render_junit"]


def _witness_text(w: dict) -> str:
    vals = " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}"
                    for k, v in w.get("values", {}).items())
    return f"K={w.get('classes')} {vals}".strip()


def _claims(family: dict):
    """``(name, claim)`` for every claim of the family, axioms first."""
    for r in family.get("results", []):
        yield r["axiom"], r
    for key, _title in _view.SECTIONS:
        if key not in ("claims", "realizability", "convexity") or not family.get(key):
            continue
        seen: set[str] = set()
        for it in _view.fields(family[key]):
            claims = [it["value"]] if it["kind"] == "claim" else (
                it["value"] if it["kind"] == "claims" else [])
            for i, c in enumerate(claims, 1):
                name = f"{key}:{c.get('axiom') or it['label'] or i}"
                name = name if name not in seen else f"{name}:{i}"
                seen.add(name)
                yield name, c


def _testcase(parent, family: str, name: str, r: dict) -> str:
    case = ET.SubElement(parent, "testcase", classname=family, name=name)
    status = r["status"]
    title = f"{name} ({r['name']})" if r.get("name") else name
    if status == "refuted":
        w = r.get("witness") or {}
        replay = r.get("replay")
        message = f"{title} refuted: {_witness_text(w)}"
        if w.get("violated"):
            message += f"; violated {w['violated']} = {w.get('value')}"
        if replay:
            message += f"; replay: {replay}"
        fail = ET.SubElement(case, "failure", message=message, type="refuted")
        lines = [f"statement: {r.get('statement', '')}", f"method: {r.get('method', '')}",
                 f"witness (exact, K={w.get('classes')}):"]
        lines += [f"  {k} = {', '.join(v) if isinstance(v, list) else v}"
                  for k, v in w.get("values", {}).items()]
        lines += [f"violated: {w.get('violated')}",
                  f"value: {w.get('value')} (certified by {w.get('certified_by')})"]
        if replay:
            lines.append(f"replay: {replay}")
        fail.text = "\n".join(lines) + "\n"
    elif status == "unknown":
        reason = r.get("reason") or "undecided"
        if r.get("estimate"):
            reason += f" (numeric estimate: {r['estimate']})"
        ET.SubElement(case, "skipped", message=f"{title} unknown: {reason}")
    else:
        classes = r.get("classes")
        cover = ("every K" if classes is None else f"K = {classes}" if isinstance(classes, int)
                 else "K = " + ", ".join(map(str, classes)))
        out = ET.SubElement(case, "system-out")
        out.text = f"{title} proved by {r.get('method', '?')} for {cover}\n"
    return status


def render_junit(data: dict) -> str:
    """The JUnit XML document of ``data`` (the JSON of :mod:`.data`), as text."""
    root = ET.Element("testsuites", name="distillproof")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for f in data["families"]:
        suite = ET.SubElement(root, "testsuite", name=f["name"])
        props = ET.SubElement(suite, "properties")
        for k in ("kind", "map", "source"):
            ET.SubElement(props, "property", name=k, value=str(f.get(k, "")))
        n = {"tests": 0, "failures": 0, "skipped": 0}
        for name, r in _claims(f):
            status = _testcase(suite, f["name"], name, r)
            n["tests"] += 1
            n["failures"] += status == "refuted"
            n["skipped"] += status == "unknown"
        for axiom, why in f.get("not_applicable", {}).items():
            case = ET.SubElement(suite, "testcase", classname=f["name"], name=axiom)
            ET.SubElement(case, "skipped", message=f"{axiom} not applicable: {why}")
            n["tests"] += 1
            n["skipped"] += 1
        suite.set("tests", str(n["tests"]))
        suite.set("failures", str(n["failures"]))
        suite.set("errors", "0")
        suite.set("skipped", str(n["skipped"]))
        for k in totals:
            totals[k] += n[k]
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(totals["skipped"]))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
