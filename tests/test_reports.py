"""Reports: golden Markdown and JUnit, valid HTML and MathML, no external resources,
determinism, LaTeX that compiles, and the ``report`` command.

Everything renders from ``tests/golden/fixture.json``: a fixed results file of the
whole catalogue (``distillproof verify`` output, SMT-LIB2 text cut to its first
query), so the goldens change only when the *renderers* change, not the engine.
Regenerate the goldens with ``DISTILLPROOF_UPDATE_GOLDEN=1 pytest tests/test_reports.py``.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from distillproof.checker.cli import main
from distillproof.reports import render as R
from distillproof.reports._view import independence
from distillproof.reports.html import render_html
from distillproof.reports.junit import render_junit
from distillproof.reports.latex import compile_pdf, render_latex
from distillproof.reports.markdown import render_markdown

GOLDEN = Path(__file__).parent / "golden"
FIXTURE = GOLDEN / "fixture.json"
GOLDEN_FAMILIES = ("arithmetic-anchoring", "geometric-anchoring")
UPDATE = os.environ.get("DISTILLPROOF_UPDATE_GOLDEN") == "1"
ALLOWED_URLS = {"http://www.w3.org/1998/Math/MathML", "http://www.w3.org/2000/svg"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def catalogue() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def subset(data: dict, *names: str) -> dict:
    return {**data, "families": [f for f in data["families"] if f["name"] in names]}


def with_sections(data: dict) -> dict:
    """``data`` with the optional sections of later issues on its first family:
    simulation (plots), realizability and convexity claims, a claimed constant."""
    data = copy.deepcopy(data)
    f = data["families"][0]
    gens = list(range(16))
    f["simulation"] = {"generations": gens,
                       "distance": {"kl_forward": [0.9 * 0.45 ** t for t in gens],
                                    "tv": [0.5 * 0.5 ** t for t in gens]},
                       "bound": {"kl_forward": [0.9 * 0.5 ** t for t in gens]},
                       "ratios": [0.05 + 0.44 * ((7 * i) % 97) / 97 for i in range(300)],
                       "kappa": 0.5}
    f["realizability"] = [
        {"student": "independence 2x2", "student_classes": 4, "statement": "q in S => M(p, q) in S",
         "status": "refuted", "method": "z3", "classes": 4,
         "witness": {"classes": 4, "values": {"p": ["1/4", "1/4", "1/4", "1/4"],
                                              "q": ["1/9", "2/9", "2/9", "4/9"], "alpha": "1/2"},
                     "violated": "x0*x3 == x1*x2", "value": "-1/324", "certified_by": "exact"}},
        {"student": "support {0, 1}", "student_classes": 3, "statement": "closure",
         "status": "proved", "method": "sympy", "classes": None,
         "steps": [{"rule": "identity", "statement": "zeros stay zero", "conditions": []}]}]
    f["claims"] = [{"kind": "kl_forward", "value": "1/2", "status": "proved",
                    "method": "contraction calculus", "classes": None,
                    "steps": [{"rule": "claimed constant", "statement": "1 - alpha <= 1/2",
                               "conditions": []}]}]
    f["convexity"] = {"student": "box", "statement": "S convex", "status": "unknown",
                      "method": "z3", "classes": 3, "reason": "timeout after 4000 ms"}
    return data


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8", newline="\n")
    assert path.exists(), f"golden {name} is missing: generate it with DISTILLPROOF_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden; if the change is intended, regenerate with "
        "DISTILLPROOF_UPDATE_GOLDEN=1")


class StrictHTML(HTMLParser):
    """Balanced tags, no stray end tags, at most one document element each."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [v for k, v in attrs if k == "id"]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.ids += [v for k, v in attrs if k == "id"]

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> at {self.getpos()} closes {self.stack[-1:] or 'nothing'}")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def assert_valid_html(text: str) -> None:
    p = StrictHTML()
    p.feed(text)
    p.close()
    assert not p.problems, p.problems[:5]
    assert not p.stack, f"unclosed: {p.stack[-5:]}"
    dup = {i for i in p.ids if p.ids.count(i) > 1}
    assert not dup, f"duplicate ids: {sorted(dup)[:5]}"


# --- goldens -------------------------------------------------------------------------
@pytest.mark.parametrize("family", GOLDEN_FAMILIES)
def test_markdown_golden(family):
    check_golden(f"{family}.md", render_markdown(subset(catalogue(), family)))


@pytest.mark.parametrize("family", GOLDEN_FAMILIES)
def test_junit_golden(family):
    check_golden(f"{family}.junit.xml", render_junit(subset(catalogue(), family)))


# --- HTML ----------------------------------------------------------------------------
@pytest.mark.parametrize("fragment", [False, True])
def test_html_is_valid_and_self_contained(fragment):
    text = render_html(with_sections(catalogue()), fragment=fragment)
    assert_valid_html(text)
    urls = set(re.findall(r"""https?://[^\s"'<>)]*""", text))
    assert urls <= ALLOWED_URLS, urls - ALLOWED_URLS
    assert not re.search(r"<(script|link|img|iframe|object)\b", text)
    assert not re.search(r"""\b(src|srcset)\s*=|@import|url\((?!#)""", text)
    if fragment:
        assert text.startswith('<div class="dp-report">')
        assert not re.search(r"<(html|head|body)\b", text)
    else:
        assert text.startswith("<!DOCTYPE html>")
        assert '<meta name="viewport"' in text and "@media print" in text


def test_every_mathml_fragment_is_xml():
    text = render_html(with_sections(catalogue()))
    fragments = re.findall(r"<math\b.*?</math>", text, flags=re.S)
    assert len(fragments) > 100
    for m in fragments:
        root = ET.fromstring(m)
        assert root.tag == "{http://www.w3.org/1998/Math/MathML}math"


def test_html_shows_the_content_of_a_family():
    data = subset(with_sections(catalogue()), "arithmetic-anchoring")
    text = render_html(data)
    assert "<mi>&#945;</mi>" in text                       # the map as MathML, not code
    assert "distillproof replay arithmetic-anchoring MT7" in text
    for heading in ("Verdict summary", "Contraction constants", "Fixed point",
                    "Main theorem, instantiated", "Claimed constants", "Realizability (R)",
                    "Convexity (C)", "Claims"):
        assert heading in text, heading
    assert text.count("<svg") == 2
    assert "<mfrac><mn>2</mn><mn>9</mn></mfrac>" in text      # an exact witness value
    bare = render_html(subset(catalogue(), "arithmetic-pool"))
    assert "Contraction constants" not in bare and "<svg" not in bare and "Fixed point" not in bare


def test_unparseable_expressions_fall_back_to_code():
    data = subset(catalogue(), "arithmetic-anchoring")
    data["families"][0]["map"] = "alpha*p + __import__('os')"
    text = render_html(data)
    assert "<code>alpha*p + __import__(&#x27;os&#x27;)</code>" in text


# --- catalogue-level content ---------------------------------------------------------
def test_independence_is_computed_from_the_data():
    rows = {r["axiom"]: r for r in independence(catalogue())}
    assert rows["MT7"]["family"] == "arithmetic-anchoring"
    assert rows["A5s"]["family"] == "arithmetic-pool"
    data = subset(catalogue(), "arithmetic-anchoring", "geometric-anchoring")
    for f in data["families"]:                    # make MT7 refuted only with others open
        for r in f["results"]:
            if r["axiom"] == "MT1":
                r.update(status="unknown", reason="test")
    rows = {r["axiom"]: r for r in independence(data)}
    assert rows["MT7"]["family"] is None and rows["MT7"]["nearest"] == "arithmetic-anchoring"
    assert rows["MT7"]["open"] == ["MT1"]


def test_catalogue_markdown_has_index_matrix_and_independence():
    text = render_markdown(catalogue())
    assert "## Contents" in text and "## Verdicts" in text and "## Axiom independence" in text
    assert "| arithmetic-anchoring | ✔ |" in text
    assert "$$M(p, q) = \\alpha p + q \\left(1 - \\alpha\\right)$$" in text


# --- determinism ---------------------------------------------------------------------
def test_rendering_is_deterministic(tmp_path):
    data = with_sections(catalogue())
    for fmt in ("html", "md", "latex", "junit", "json"):
        assert R.render(data, fmt) == R.render(copy.deepcopy(data), fmt), fmt
    a = R.write_report(data, tmp_path / "a", R.FILENAMES)
    b = R.write_report(data, tmp_path / "b", R.FILENAMES)
    assert [p.name for p in a] == ["report.html", "report.md", "report.tex", "junit.xml", "results.json"]
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes(), pa.name


def test_render_rejects_unknown_formats_and_schemas():
    with pytest.raises(ValueError, match="unknown report format"):
        R.render(catalogue(), "pdf")
    with pytest.raises(R.ReportDataError, match="distillproof.verify/1"):
        R.render({**catalogue(), "schema": "distillproof.verify/0"}, "html", check=True)
    R.validate(catalogue())                      # the fixture itself is a valid results file


# --- JUnit ---------------------------------------------------------------------------
def test_junit_cases_failures_and_skips():
    root = ET.fromstring(render_junit(with_sections(catalogue())))
    cases = root.findall(".//testcase")
    n_claims = sum(len(f["results"]) + len(f["not_applicable"]) for f in catalogue()["families"])
    assert len(cases) == n_claims + 4             # + 1 claimed constant, 2 R, 1 C
    fail = root.find(".//testcase[@classname='arithmetic-anchoring'][@name='MT7']/failure")
    assert "p=1/2,1/2" in fail.get("message") and "distillproof replay" in fail.get("message")
    assert int(root.get("failures")) == len(root.findall(".//failure"))
    assert int(root.get("skipped")) == len(root.findall(".//skipped"))
    assert root.find(".//testcase[@name='realizability:independence 2x2']/failure") is not None
    assert root.find(".//testcase[@name='claims:kl_forward ≤ 1/2']/system-out") is not None


# --- LaTeX ---------------------------------------------------------------------------
EVIL = "evil_{x}$ \\input{/etc/passwd} % # & ~ ^ κ ≤ p̄"


def evil_data() -> dict:
    data = subset(with_sections(catalogue()), "arithmetic-anchoring", "geometric-anchoring")
    f = data["families"][0]
    f["name"], f["doc"] = EVIL, EVIL + " :math:`\\input{x}`"
    f["results"][0]["statement"] = EVIL
    return data


def test_latex_escapes_user_text():
    tex = render_latex(evil_data())
    assert "\\input{/etc/passwd}" not in tex and "\\input{x}" not in tex
    assert "evil\\_\\{x\\}\\$ \\textbackslash{}input\\{/etc/passwd\\} \\% \\# \\&" in tex
    assert "\\begin{theorem}" in tex and "\\begin{counterexample}" in tex
    assert "\\frac{2}{3}" in tex                               # the MT7 witness, exact


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX installation (pdflatex)")
@pytest.mark.parametrize("which", ["catalogue", "evil"])
def test_latex_compiles(tmp_path, which):
    data = with_sections(catalogue()) if which == "catalogue" else evil_data()
    tex = tmp_path / "report.tex"
    tex.write_text(render_latex(data), encoding="utf-8")
    pdf = compile_pdf(tex)
    assert pdf is not None and pdf.read_bytes().startswith(b"%PDF")


def test_compile_pdf_without_tex_returns_none(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert compile_pdf(tmp_path / "report.tex") is None


# --- the report command ----------------------------------------------------------------
def test_report_command_round_trip(tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["report", str(FIXTURE), "--format", "html", "--format", "md",
                                  "--format", "junit", "--out", str(out)])
    assert r.exit_code == 0, r.output
    data = catalogue()
    assert (out / "report.html").read_text(encoding="utf-8") == render_html(data)
    assert (out / "report.md").read_text(encoding="utf-8") == render_markdown(data)
    assert (out / "junit.xml").read_text(encoding="utf-8") == render_junit(data)
    assert r.output.splitlines()[0] == f"HTML report: {out / 'report.html'}"


def test_report_command_pdf_without_tex(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    r = CliRunner().invoke(main, ["report", str(FIXTURE), "--format", "latex", "--pdf",
                                  "--out", str(tmp_path)])
    assert r.exit_code == 1
    assert "no TeX installation found" in r.output
    assert (tmp_path / "report.tex").exists()


@pytest.mark.parametrize("content, message", [
    ('{"schema": "distillproof.verify/2", "families": []}', "this version of distillproof reads"),
    ('{"families": []}', 'no "schema" field'),
    ("[1, 2]", "expected a JSON object"),
    ('{"schema": "distillproof.verify/1", "settings": {}, "families": [{"name": "x"}]}',
     "not a valid results file"),
    ("{not json", "not valid JSON"),
])
def test_report_command_rejects_bad_files(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    r = CliRunner().invoke(main, ["report", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert message in r.output and "distillproof: error:" in r.output


# --- verify writes the reports; Jupyter gets a fragment ------------------------------
FAST = ["constant", "--axiom", "MT2", "--samples", "10", "--timeout", "500"]


def test_verify_writes_html_and_ends_with_its_path(tmp_path):
    r = CliRunner().invoke(main, ["verify", *FAST, "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert r.output.rstrip().splitlines()[-1] == f"HTML report: {tmp_path / 'report.html'}"
    for name in ("results.json", "report.md", "report.html"):
        assert (tmp_path / name).exists(), name
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == render_html(data)


@pytest.mark.parametrize("fmt, file, start", [("html", "report.html", "<!DOCTYPE html>"),
                                               ("latex", "report.tex", "\\documentclass"),
                                               ("junit", "junit.xml", "<?xml")])
def test_verify_prints_the_chosen_format(tmp_path, fmt, file, start):
    r = CliRunner().invoke(main, ["verify", *FAST, "--format", fmt, "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(start)
    assert r.output == (tmp_path / file).read_text(encoding="utf-8")


def test_repr_html_is_a_fragment():
    import distillproof as dp
    v = dp.verify("constant", axioms=["MT2"], samples=10, timeout_ms=500)
    text = v._repr_html_()
    assert text.startswith('<div class="dp-report">') and "<html" not in text
    assert_valid_html(text)
