"""``distillproof report RESULTS.json``: re-render a saved run without recomputing.

    distillproof report distillproof-out/results.json --format html --out site/
    distillproof report results.json --format latex --out paper/ --pdf

The file must carry ``"schema": "distillproof.verify/1"``; anything else (another
version, not JSON, not a results file) fails with a message saying what is wrong.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

__all__ = ["report"]


def _fail(message: str, code: int = 2):
    click.echo(f"distillproof: error: {message}", err=True)
    sys.exit(code)


@click.command()
@click.argument("results", type=click.Path(dir_okay=False, exists=True, readable=True))
@click.option("--format", "formats", multiple=True, default=("html",), show_default=True,
              type=click.Choice(["html", "md", "markdown", "latex", "junit", "json"]),
              help="Report format (repeatable: --format html --format junit).")
@click.option("--out", "out", type=click.Path(file_okay=False), default="distillproof-out",
              show_default=True, help="Directory for the report files.")
@click.option("--pdf", is_flag=True, help="Also compile report.tex to PDF with pdflatex "
              "(implies --format latex; needs a TeX installation).")
def report(results, formats, out, pdf):
    """Render RESULTS (a results.json written by `distillproof verify`) as a report.

    Writes report.html, report.md, report.tex or junit.xml into --out and prints
    their paths.  The output depends only on the file: rendering twice gives
    byte-identical reports."""
    from ..reports.render import ReportDataError, write_report
    try:
        data = json.loads(Path(results).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        _fail(f"{results}: not a UTF-8 text file")
    except json.JSONDecodeError as exc:
        _fail(f"{results}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    formats = list(dict.fromkeys("md" if f == "markdown" else f for f in formats))
    if pdf and "latex" not in formats:
        formats.append("latex")
    try:
        paths = write_report(data, Path(out), formats, check=True)
    except ReportDataError as exc:
        _fail(f"{results}: {exc}")
    except (KeyError, TypeError, AttributeError) as exc:
        _fail(f"{results}: malformed results file ({type(exc).__name__}: {exc})")
    labels = {"report.html": "HTML report", "report.md": "Markdown", "report.tex": "LaTeX",
              "junit.xml": "JUnit XML", "results.json": "JSON"}
    for p in paths:
        click.echo(f"{labels.get(p.name, p.name)}: {p}")
    if pdf:
        from ..reports.latex import compile_pdf
        try:
            made = compile_pdf(Path(out) / "report.tex")
        except RuntimeError as exc:
            _fail(str(exc), code=1)
        if made is None:
            _fail("--pdf: no TeX installation found (pdflatex is not on PATH); report.tex was "
                  "written: compile it with any LaTeX distribution, or install one "
                  "(e.g. apt-get install texlive-latex-base)", code=1)
        click.echo(f"PDF: {made}")
