"""LaTeX report (an ``article`` with amsthm environments) and its PDF.

Proved claims are theorems with their derivation as the proof; refuted claims are
counterexamples with the witness in exact form (``\\frac{p}{q}``) and the replay line;
undecided claims are "open claims" with the reason.  All text from the data is
escaped (:func:`._tex.tex_escape`); mathematics is SymPy's LaTeX printer applied to
expressions read back by the project's whitelisting parser.  Only base LaTeX packages
are used, so a minimal TeX installation compiles it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from . import _math, _view
from ._env import latex_environment
from ._tex import tex_escape

__all__ = ["render_latex", "compile_pdf", "PDFLATEX_TIMEOUT"]

PDFLATEX_TIMEOUT = 120   # seconds per pdflatex run
MARK = {"proved": r"\proved{}", "refuted": r"\refuted{}", "unknown": r"\unknown{}",
        "n/a": r"\notapplicable{}"}


def render_latex(data: dict) -> str:
    """The LaTeX source of the report of ``data`` (the JSON of :mod:`.data`)."""
    env = latex_environment()
    env.filters["tex"] = tex_escape
    views = [{"f": f, "id": _view.slug(f["name"]), "counts": _view.counts(f),
              "vectors": _view.vectors(f), "constants": _view.constants_rows(f),
              "point": _view.constants_point(f),
              "doc": _view.doc_paragraphs(f.get("doc", "")),
              "sections": [(key, title, _view.fields(f[key])) for key, title in _view.SECTIONS
                           if f.get(key) not in (None, [], {})]}
             for f in data["families"]]
    totals = {s: sum(v["counts"][s] for v in views) for s in _view.STATUSES}
    text = env.get_template("report.tex.j2").render(
        **data, views=views, totals=totals, matrices=_view.matrices(data), mark=MARK,
        independence=_view.independence(data) if len(data["families"]) > 1 else [],
        math=_math.latex_math, mapmath=_math.map_latex, domain=_math.relation_latex,
        exact=_math.fraction_latex, name=_math.latex_math, num=_view.fmt_number,
        value=lambda x: (_math.fraction_latex(x) if _view._is_fraction(x)
                         else r"\text{" + tex_escape(_view.fmt_number(x)) + "}"),
        slug=_view.slug)
    return re.sub(r"\n{3,}", "\n\n", text).lstrip()


def compile_pdf(tex_path, *, timeout: int = PDFLATEX_TIMEOUT) -> Path | None:
    """Compile ``tex_path`` with pdflatex (twice, for the contents and references) in
    its own folder; the PDF's path, or ``None`` when no ``pdflatex`` is installed.

    Runs without a shell, in batch mode with ``-no-shell-escape``, with a timeout.
    Raises ``RuntimeError`` with the end of the log when pdflatex fails."""
    exe = shutil.which("pdflatex")
    if exe is None:
        return None
    tex_path = Path(tex_path).resolve()
    cmd = [exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
           "-file-line-error", tex_path.name]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0", "FORCE_SOURCE_DATE": "1"}
    for _ in range(2):
        try:
            proc = subprocess.run(cmd, cwd=tex_path.parent, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"pdflatex timed out after {timeout} s on {tex_path}") from exc
        if proc.returncode != 0:
            tail = proc.stdout.decode("utf-8", "replace")[-3000:]
            raise RuntimeError(f"pdflatex failed on {tex_path} (exit {proc.returncode}):\n{tail}")
    pdf = tex_path.with_suffix(".pdf")
    return pdf if pdf.exists() else None
