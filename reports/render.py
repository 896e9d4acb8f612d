"""One entry point for every format, and the report files of a run.

``render(data, fmt)`` dispatches on ``fmt``; ``write_report(data, out_dir, formats)``
writes the chosen files with fixed names.  Output depends on the data alone: the same
data gives byte-identical files (no timestamps or timings; the data's own order;
LF newlines; UTF-8).
"""
from __future__ import annotations

from pathlib import Path

from .data import SCHEMA, dumps

__all__ = ["FORMATS", "FILENAMES", "render", "write_report", "validate", "ReportDataError"]

FORMATS = ("html", "md", "markdown", "latex", "junit", "json")
FILENAMES = {"html": "report.html", "md": "report.md", "latex": "report.tex",
             "junit": "junit.xml", "json": "results.json"}
_ALIASES = {"markdown": "md", "tex": "latex", "xml": "junit"}


class ReportDataError(ValueError):
    """The data is not a results file this version can render."""


def validate(data) -> dict:
    """``data`` when it is a results dict of schema :data:`SCHEMA`; otherwise a
    :class:`ReportDataError` saying what is wrong (the version first, then the
    problems :func:`.schema.problems` finds, at most five)."""
    if not isinstance(data, dict):
        raise ReportDataError(f"expected a JSON object at the top level, got {type(data).__name__}")
    schema = data.get("schema")
    if schema != SCHEMA:
        got = "no \"schema\" field" if schema is None else f"schema {schema!r}"
        raise ReportDataError(f"{got}; this version of distillproof reads {SCHEMA!r} "
                              "(re-run `distillproof verify --format json` to regenerate it)")
    from .schema import problems
    found = problems(data)
    if not isinstance(data.get("settings"), dict):
        found.append('"settings" missing or not an object')
    if found:
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise ReportDataError("not a valid results file: " + "; ".join(found[:5]) + more)
    return data


def _normalised(data: dict) -> dict:
    """Optional keys older writers may omit, filled in (never overwriting)."""
    fams = []
    for f in data["families"]:
        f = {"source": "catalogue", "parameters": [], "constraints": [], "classes": [],
             "doc": "", "reference": None, "not_applicable": {}, **f}
        fams.append(f)
    settings = {"seed": None, "timeout_ms": None, "samples": None, "classes": None,
                **data["settings"]}
    return {**data, "settings": settings, "families": fams}


def render(data: dict, fmt: str, *, check: bool = False) -> str:
    """The report of ``data`` in ``fmt``: html, md (markdown), latex, junit or json.
    ``check``: :func:`validate` first (for files from outside, e.g. ``report``)."""
    fmt = _ALIASES.get(fmt, fmt)
    if fmt not in FILENAMES:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if check:
        validate(data)
    if fmt == "json":
        return dumps(data)
    data = _normalised(data)
    if fmt == "html":
        from .html import render_html
        return render_html(data)
    if fmt == "md":
        from .markdown import render_markdown
        return render_markdown(data)
    if fmt == "latex":
        from .latex import render_latex
        return render_latex(data)
    from .junit import render_junit
    return render_junit(data)


def write_report(data: dict, out_dir, formats=("json", "md", "html"), *,
                 check: bool = False) -> list[Path]:
    """Write the report files of ``formats`` into ``out_dir`` (created); their paths,
    in the order of ``formats`` (each file once).  ``check`` as in :func:`render`."""
    if check:
        validate(data)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for fmt in formats:
        key = _ALIASES.get(fmt, fmt)
        if key not in FILENAMES:
            raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
        path = out / FILENAMES[key]
        if path in paths:
            continue
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(render(data, key))
        paths.append(path)
    return paths
