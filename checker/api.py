"""The library API behind ``import distillproof as dp`` and the CLI."""
from __future__ import annotations

from pathlib import Path

from ..reports.data import verification_data
from .engine import FamilyResult, Settings, verify_family

__all__ = ["Verification", "verify", "resolve_family", "replay", "Settings"]


def resolve_family(ref):
    """A family from a :class:`Family`, a catalogue name, or a TOML spec path."""
    from ..axioms.family import Family
    if isinstance(ref, Family):
        return ref
    ref = str(ref)
    if ref.endswith(".toml") or Path(ref).is_file():
        from ..axioms.spec import load_spec
        return load_spec(Path(ref))
    from ..axioms.catalogue import get_family
    return get_family(ref)


class Verification:
    """The results of one run; renders itself (JSON, Markdown, and HTML in Jupyter)."""

    def __init__(self, families: list[FamilyResult], settings: Settings):
        self.families = families
        self.settings = settings

    def __getitem__(self, name: str) -> FamilyResult:
        for fr in self.families:
            if fr.family.name == name:
                return fr
        raise KeyError(name)

    def to_json(self) -> dict:
        return verification_data(self.families, self.settings)

    def to_markdown(self) -> str:
        from ..reports.markdown import render_markdown
        return render_markdown(self.to_json())

    def _repr_html_(self) -> str:
        try:
            from ..reports.html import render_html
            return render_html(self.to_json(), fragment=True)
        except ImportError:
            import html
            return "<pre>" + html.escape(self.to_markdown()) + "</pre>"


def verify(families, *, settings: Settings | None = None, axioms=None, progress=None, **kw) -> Verification:
    """Verify one family or several (Family objects, catalogue names or spec paths).

    Keyword arguments ``seed``, ``timeout_ms``, ``samples``, ``classes`` build the
    :class:`Settings` when ``settings`` is not given.
    """
    settings = settings or Settings(**kw)
    if not isinstance(families, (list, tuple)):
        families = [families]
    results = []
    for f in families:
        fam = resolve_family(f)
        fr = verify_family(fam, settings, axioms=axioms, progress=progress)
        _attach_contraction(fr, settings)
        results.append(fr)
    return Verification(results, settings)


def _attach_contraction(fr: FamilyResult, settings: Settings) -> None:
    """Constants and the fixed point (when the contraction calculus is present)."""
    try:
        from ._constants import constants_data
    except ImportError:
        return
    results = {r.axiom.id: r.status for r in fr.results}
    fr.contraction = constants_data(fr.family, settings, results=results)


def replay(family, axiom: str, values: dict, classes: int):
    """Re-check a witness exactly: the certified violation, or ``None``."""
    from .engine import replay as _replay
    return _replay(resolve_family(family), axiom, values, classes)
