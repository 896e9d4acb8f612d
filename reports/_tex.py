"""Escaping text for LaTeX: every character of user text reaches pdflatex as text.

ASCII specials are escaped; the mathematical Unicode the engine writes in proof steps
(``κ ≤ Σ λ_i``, ``p̄``) becomes the matching ``\\ensuremath`` command, so the document
compiles with a plain pdflatex (no Unicode engine, no extra fonts); Latin letters with
accents go through ``inputenc``; anything else is shown by its code point.
"""
from __future__ import annotations

import unicodedata

__all__ = ["tex_escape"]

_ASCII = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
          "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "~": r"\textasciitilde{}",
          "%": r"\%", "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
          '"': "''", "\n": " ", "\t": " ", "\r": " "}

_MATH = {
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "∝": r"\propto",
    "∈": r"\in", "∉": r"\notin", "⊆": r"\subseteq", "∘": r"\circ", "·": r"\cdot",
    "×": r"\times", "−": "-", "→": r"\to", "←": r"\leftarrow", "↦": r"\mapsto",
    "⇒": r"\Rightarrow", "⇔": r"\Leftrightarrow", "∞": r"\infty", "‖": r"\|",
    "∂": r"\partial", "∑": r"\sum", "∏": r"\prod", "√": r"\surd", "∀": r"\forall",
    "∃": r"\exists", "±": r"\pm", "⋅": r"\cdot", "∇": r"\nabla", "∫": r"\int",
    "⟨": r"\langle", "⟩": r"\rangle", "°": r"^\circ", "∧": r"\wedge", "∨": r"\vee",
    "¬": r"\neg", "∅": r"\emptyset", "⊂": r"\subset", "∪": r"\cup", "∩": r"\cap",
    "Δ": r"\Delta", "ℓ": r"\ell", "≡": r"\equiv", "∼": r"\sim", "…": r"\ldots",
}
_TEXT = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "\u00a0": "~",
         "§": r"\S{}"}
_SUPER = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-"))
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋", "0123456789+-"))
_GREEK_UPPER = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
                "Psi", "Omega"}
_ACCENTS = {"\u0304": r"\bar", "\u0302": r"\hat", "\u0303": r"\tilde", "\u0307": r"\dot"}


def _greek(ch: str) -> str | None:
    name = unicodedata.name(ch, "")
    if " WITH " in name or "SYMBOL" in name:
        return None
    for case, prefix in (("small", "GREEK SMALL LETTER "), ("capital", "GREEK CAPITAL LETTER ")):
        if name.startswith(prefix):
            word = name[len(prefix):].lower().replace(" ", "").replace("lamda", "lambda")
            if word == "finalsigma":
                return r"\varsigma"
            if word == "omicron":
                return "o" if case == "small" else "O"
            if case == "capital":
                word = word.capitalize()
                return "\\" + word if word in _GREEK_UPPER else {"Chi": "X"}.get(word, word[0])
            return "\\" + word
    return None


def _char(ch: str) -> tuple[str, bool]:
    """LaTeX for one character, and whether it is math (for accents)."""
    if ch in _ASCII:
        return _ASCII[ch], False
    if ord(ch) < 128:
        return ch, False
    if ch in _MATH:
        return _MATH[ch], True
    if ch in _TEXT:
        return _TEXT[ch], False
    if ch in _SUPER:
        return "^{" + _SUPER[ch] + "}", True
    if ch in _SUB:
        return "_{" + _SUB[ch] + "}", True
    greek = _greek(ch)
    if greek is not None:
        return greek, True
    if unicodedata.name(ch, "").startswith("LATIN") and unicodedata.category(ch).startswith("L"):
        return ch, False                      # accented letters: inputenc
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    if plain:
        return "".join(_char(c)[0] for c in plain), False
    return r"\texttt{[U+%04X]}" % ord(ch), False


def tex_escape(text) -> str:
    """``text`` as LaTeX text: safe for any input, mathematical symbols typeset."""
    text = unicodedata.normalize("NFC", "" if text is None else str(text))
    out: list[str] = []
    for ch in text:
        if ch in _ACCENTS and out:
            prev = out.pop()
            body = prev[len(r"\ensuremath{"):-1] if prev.startswith(r"\ensuremath{") else prev
            out.append(r"\ensuremath{" + _ACCENTS[ch] + "{" + body + "}}")
            continue
        tex, is_math = _char(ch)
        out.append(r"\ensuremath{" + tex + "}" if is_math else tex)
    return "".join(out)
