"""HTML report: one self-contained file, rendered from the result data.

Inline CSS, no script, no external resource of any kind: mathematics is MathML from
SymPy's presentation printer (:mod:`._math`), plots are inline SVG (:mod:`._plots`).
Responsive (tables scroll sideways on a phone) and printable (``@media print``).
``fragment=True`` gives a ``<div>`` with scoped styles for Jupyter's ``_repr_html_``.
"""
from __future__ import annotations

from markupsafe import Markup

from . import _math, _view
from ._env import html_environment
from ._plots import plots

__all__ = ["render_html"]


def _family_view(f: dict) -> dict:
    fid = _view.slug(f["name"])
    return {"f": f, "id": fid, "counts": _view.counts(f), "vectors": _view.vectors(f),
            "constants": _view.constants_rows(f), "point": _view.constants_point(f), "doc": _view.doc_paragraphs(f.get("doc", "")),
            "sections": [(key, title, _view.fields(f[key])) for key, title in _view.SECTIONS
                         if f.get(key) not in (None, [], {})],
            "plots": [{"title": p["title"], "svg": Markup(p["svg"])} for p in plots(f, fid)]}


def _exact(value) -> Markup:
    inner = _math.fraction_mathml(value)
    return Markup(f'<math xmlns="{_math.MATHML_NS}" display="inline">{inner}</math>')


def _value(x) -> Markup | str:
    """A constant's value: exact rationals as MathML, measurements as text."""
    if _view._is_fraction(x):
        return _exact(str(x))
    return _view.fmt_number(x)


def _cell(x, column: str = "", vectors=()) -> Markup | str:
    """A table cell of a generic section: expressions as MathML, numbers as text."""
    if isinstance(x, list):
        return ", ".join(_view.fmt_number(v) for v in x)
    if x is None:
        return "—"
    if isinstance(x, str) and column in _view.MATH_KEYS:
        return _exact(x) if _view._is_fraction(x) else Markup(_math.math_html(x, False, vectors))
    return _view.fmt_number(x)


def render_html(data: dict, *, fragment: bool = False, title: str | None = None) -> str:
    """The HTML report of ``data`` (the JSON of :mod:`.data`): a full document, or with
    ``fragment`` a ``<div class="dp-report">`` without ``<html>``/``<head>``."""
    env = html_environment()
    template = env.get_template("report.html.j2")
    views = [_family_view(f) for f in data["families"]]
    totals = {s: sum(v["counts"][s] for v in views) for s in _view.STATUSES}
    if title is None:
        names = [f["name"] for f in data["families"]]
        title = ("distillproof: " + ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
                 if names else "distillproof report")
    return template.render(
        **data, views=views, totals=totals, matrices=_view.matrices(data),
        independence=_view.independence(data) if len(data["families"]) > 1 else [],
        fragment=fragment, title=title,
        math=lambda text, display=False, vectors=(): Markup(_math.math_html(text, display, vectors)),
        mapmath=lambda text, kind, vectors=(): Markup(_math.map_html(text, kind, vectors)),
        domain=lambda text: Markup(_math.relation_html(text)),
        witness=lambda name, value: Markup(_math.witness_mathml(str(name), value)),
        exact=_exact, value=_value, num=_view.fmt_number, cell=_cell, slug=_view.slug,
        fieldsof=_view.fields)
