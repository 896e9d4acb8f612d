"""Statements of exercises: the ``{placeholders}`` of a variant in plain text or LaTeX.

A statement is text with ``$math$``.  In the ``text`` format the dollar signs go and
common LaTeX macros become Unicode (``\\alpha`` is α, ``\\le`` is ≤); in ``markdown``
the math is kept and placeholders inside it are filled with LaTeX (``\\frac{1}{2}``),
outside it with text.  Maps print with matrices by name (``W @ q``, ``W\\, q``).
"""
from __future__ import annotations

import re
import string

import sympy as sp

from .exercise import CONSTANT_NAMES, ExerciseError, Variant, _rational

__all__ = ["render", "placeholders"]


def _printers(matrix: str):
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.str import StrPrinter

    class Text(StrPrinter):
        def _print_MatVec(self, e):
            return f"({matrix} @ {self._print(e.args[1])})"

        def _print_Relational(self, e):
            op = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤"}.get(e.rel_op, e.rel_op)
            return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

    class Tex(LatexPrinter):
        def _print_MatVec(self, e):
            return f"{matrix}\\, {self._print(e.args[1])}"

    return Text().doprint, Tex().doprint


_TEX_WORDS = {r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\kappa": "κ",
              r"\lambda": "λ", r"\varepsilon": "ε", r"\eta": "η", r"\Phi": "Φ",
              r"\le": "≤", r"\ge": "≥", r"\ne": "≠", r"\notin": "∉", r"\in": "∈",
              r"\Rightarrow": "⇒", r"\mapsto": "↦", r"\|": "‖", r"\sum": "Σ",
              r"\cdot": "·", r"\,": " ", r"\bar p": "p̄", r"\infty": "∞",
              r"\propto": "∝"}
_TEX_WORD = re.compile("|".join(sorted((re.escape(k) for k in _TEX_WORDS), key=len,
                                       reverse=True)) + r"(?![A-Za-z])")


_GROUP = re.compile(r"([_^])\{([^{}]*)\}")


def _plain_math(text: str) -> str:
    """LaTeX of a statement's math as plain text: macros as Unicode, ``x^{e}`` as
    ``x^e``, ``q_{t-1}`` as ``q_(t-1)``."""
    text = _TEX_WORD.sub(lambda m: _TEX_WORDS[m.group(0)], text)
    return _GROUP.sub(lambda m: m.group(1) + (m.group(2) if m.group(2).isalnum()
                                              else f"({m.group(2)})"), text)


def _text(v) -> str:
    if isinstance(v, list) and v and all(isinstance(r, list) for r in v):
        return "[" + ", ".join("[" + ", ".join(_text(x) for x in r) + "]" for r in v) + "]"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(_text(x) for x in v) + ")"
    if isinstance(v, sp.Basic):
        return sp.sstr(v)
    return str(v)


def _tex(v) -> str:
    if isinstance(v, list) and v and all(isinstance(r, list) for r in v):
        rows = r" \\ ".join(" & ".join(_tex(x) for x in r) for r in v)
        return r"\begin{pmatrix}" + rows + r"\end{pmatrix}"
    if isinstance(v, (list, tuple)):
        return r"\left(" + ", ".join(_tex(x) for x in v) + r"\right)"
    if isinstance(v, sp.Basic):
        return sp.latex(v)
    if isinstance(v, str):
        try:
            return sp.latex(_rational(v, "value"))
        except ExerciseError:
            return r"\text{" + v.replace("_", r"\_") + "}"
    return str(v)


def placeholders(variant: Variant) -> dict[str, tuple[str, str]]:
    """``{name: (text, latex)}`` for the statement of ``variant``."""
    out: dict[str, tuple[str, str]] = {}
    fam = variant.family
    for k, v in {**variant.choice, **variant.settings}.items():
        if k != "case":
            out[k] = (_text(v), _tex(v))
    out["K"] = (str(variant.classes),) * 2
    if fam is not None:
        matrices = list((variant.exercise.spec or {}).get("matrices", {})) or ["W"]
        text, tex = _printers(matrices[0])
        out["family"] = (fam.name, r"\text{" + fam.name + "}")
        out["map"] = (text(fam.expr), tex(fam.expr))
        dom = fam.domain
        out["domain"] = (", ".join(text(r) for r in dom) or "no free parameters",
                         ", ".join(sp.latex(r) for r in dom) or r"\text{no free parameters}")
        names = [p.name for p in fam.free_parameters]
        out["params"] = (", ".join(names) or "none", ", ".join(sp.latex(sp.Symbol(n))
                                                              for n in names))
    if variant.anchor is not None:
        out["anchor"] = (_text(variant.anchor), _tex(variant.anchor))
    if "constant" in variant.settings:
        name = CONSTANT_NAMES.get(variant.settings["constant"], variant.settings["constant"])
        out["constant_name"] = (name, r"\text{" + name + "}")
    return out


class _Safe(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def render(variant: Variant, fmt: str = "text", *, answer_help: str = "") -> str:
    """The statement of ``variant``: ``fmt`` ``text`` (math as plain text) or
    ``markdown`` (``$...$`` kept, placeholders inside it as LaTeX)."""
    if fmt not in ("text", "markdown"):
        raise ValueError(f"format must be text or markdown, got {fmt!r}")
    values = placeholders(variant)
    parts = variant.exercise.statement.strip().split("$")
    out = []
    for i, part in enumerate(parts):
        math = i % 2 == 1
        table = _Safe({k: (tex if math and fmt == "markdown" else text)
                       for k, (text, tex) in values.items()})
        try:
            body = string.Formatter().vformat(part, (), table)
        except (ValueError, IndexError) as exc:
            raise ExerciseError(f"{variant.exercise.source}: statement: {exc}") from None
        out.append(f"${body}$" if math and fmt == "markdown" else
                   _plain_math(body) if math else body)
    text = "".join(out)
    ex = variant.exercise
    head = (f"# {ex.title}\n\n" if fmt == "markdown" else f"{ex.title}\n{'=' * len(ex.title)}\n\n")
    tail = f"\n\nVariant {variant.label} · {ex.points:g} point{'s' if ex.points != 1 else ''}"
    if ex.hint:
        tail += f"\n\nHint: {ex.hint.strip()}"
    if answer_help:
        tail += f"\n\nAnswer format: {answer_help}"
    return head + text + tail + "\n"
