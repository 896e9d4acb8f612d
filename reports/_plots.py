"""Plots of a family's simulation data, as inline SVG (deterministic bytes).

Accepted shape of ``family["simulation"]`` (issue 5 writes it; every key optional)::

    {"generations": [0, 1, ...],                      # x axis
     "distance": {"kl_forward": [...], "tv": [...]},  # to the fixed point, per generation
     "bound":    {"kl_forward": [...]},               # the proved bound, per generation
     "ratios":   [...] | {"kl_forward": [...]},       # sampled one-step contraction ratios
     "kappa":    0.7}                                 # the certified constant (a line)

or ``"generations"`` as records ``[{"generation": 0, "kl_forward": .., "kl_forward_bound":
..}, ..]`` (a key containing ``bound`` is a bound).  Without usable numbers, no plot.

Determinism: the SVG backend with a fixed ``svg.hashsalt``, no date metadata, text
as ``<text>`` (``svg.fonttype = none``: no embedded glyphs, the page's font); the XML
prolog, DOCTYPE and RDF metadata are stripped (no external references), ``xlink:href``
becomes ``href`` and ids get a per-plot prefix so several plots share one page.
"""
from __future__ import annotations

import io
import math
import re

__all__ = ["distance_series", "ratio_series", "distance_svg", "ratio_svg", "plots"]

_SALT = "distillproof"
_COLORS = ("#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490")


def _floats(xs) -> list[float] | None:
    try:
        out = [float(x) for x in xs]
    except (TypeError, ValueError):
        return None
    return out if out and all(math.isfinite(x) for x in out) else None


def distance_series(sim: dict):
    """``(generations, {metric: values}, {metric: bound values})`` or None."""
    if not isinstance(sim, dict):
        return None
    gens = sim.get("generations")
    dist, bound = {}, {}
    if isinstance(gens, list) and gens and isinstance(gens[0], dict):
        keys = list(dict.fromkeys(k for g in gens for k in g if k not in ("generation", "t")))
        for k in keys:
            vals = _floats(g.get(k) for g in gens)
            if vals is None:
                continue
            if "bound" in k:
                bound[k.replace("_bound", "").replace("bound_", "") or "bound"] = vals
            else:
                dist[k] = vals
        gens = [g.get("generation", g.get("t", i)) for i, g in enumerate(gens)]
    else:
        for src, dst in ((sim.get("distance"), dist), (sim.get("bound"), bound)):
            if isinstance(src, dict):
                dst.update({k: v for k, v in ((k, _floats(v)) for k, v in src.items()) if v})
            elif isinstance(src, list) and _floats(src):
                dst["distance" if dst is dist else "bound"] = _floats(src)
    if not dist:
        return None
    n = max(len(v) for v in dist.values())
    gens = _floats(gens) if isinstance(gens, list) and len(gens) == n else list(map(float, range(n)))
    return gens, dist, bound


def ratio_series(sim: dict) -> dict[str, list[float]]:
    """``{name: ratios}`` of sampled contraction ratios (possibly empty)."""
    if not isinstance(sim, dict):
        return {}
    r = sim.get("ratios", sim.get("contraction_ratios"))
    if isinstance(r, dict):
        return {k: v for k, v in ((k, _floats(v)) for k, v in r.items()) if v}
    vals = _floats(r) if isinstance(r, list) else None
    return {"sampled ratios": vals} if vals else {}


_RC = {"svg.hashsalt": _SALT, "svg.fonttype": "none", "font.family": "sans-serif",
       "font.size": 9, "axes.titlesize": 9, "legend.fontsize": 8}


def _svg(fig, prefix: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None,
                                             "Format": None, "Type": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s*xmlns:xlink="[^"]*"', "", text).replace("xlink:href", "href")
    used = set(re.findall(r'(?:href="#|url\(#)([^")]+)', text))
    text = re.sub(r'\s*id="([^"]+)"', lambda m: m.group(0) if m.group(1) in used else "", text)
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r"(href=\"#|url\(#)([^\")]+)", lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    text = re.sub(r"<svg ", '<svg role="img" class="plot" ', text, count=1)
    return text.strip()


def _figure():
    """A figure without pyplot (no global state, no GUI backend)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.4, 3.4), dpi=72)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(True, which="major", color="#e5e7eb", linewidth=0.6)
    return fig, ax


def _plain_log_labels(axis) -> None:
    """Decades labelled ``1e-05`` as plain text, minor ticks unlabelled: the default
    ``$10^{-5}$`` goes through mathtext layout, which took most of a warm ``verify``."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}" if v > 0 else ""))
    axis.set_minor_formatter(NullFormatter())


def distance_svg(sim: dict, prefix: str = "d") -> str | None:
    """Distance to the fixed point per generation (log scale) against the proved bound."""
    series = distance_series(sim)
    if series is None:
        return None
    import matplotlib
    with matplotlib.rc_context(_RC):
        return _distance(series, prefix)


def _distance(series, prefix: str) -> str:
    gens, dist, bound = series
    fig, ax = _figure()
    for i, (name, vals) in enumerate(dist.items()):
        c = _COLORS[i % len(_COLORS)]
        pos = [(g, v) for g, v in zip(gens, vals) if v > 0]
        if pos:
            ax.plot(*zip(*pos), marker="o", markersize=2.5, linewidth=1.4, color=c,
                    label=f"{name} (simulated)")
        b = bound.get(name) or (bound.get("bound") if len(dist) == 1 else None)
        if b:
            bpos = [(g, v) for g, v in zip(gens, b) if v > 0]
            if bpos:
                ax.plot(*zip(*bpos), linestyle="--", linewidth=1.2, color=c,
                        label=f"{name} (proved bound)")
    ax.set_yscale("log")
    _plain_log_labels(ax.yaxis)
    ax.set_xlabel("generation t")
    ax.set_ylabel("distance to the fixed point")
    ax.legend(frameon=True, framealpha=0.92, edgecolor="#e5e7eb", fontsize=8, loc="best")
    fig.tight_layout()
    return _svg(fig, prefix)


def ratio_svg(sim: dict, prefix: str = "r") -> str | None:
    """Histogram of sampled contraction ratios, with the certified constant if given."""
    ratios = ratio_series(sim)
    if not ratios:
        return None
    import matplotlib
    with matplotlib.rc_context(_RC):
        return _ratios(ratios, sim.get("kappa"), prefix)


def _ratios(ratios: dict, kappa, prefix: str) -> str:
    fig, ax = _figure()
    for i, (name, vals) in enumerate(ratios.items()):
        ax.hist(vals, bins=min(40, max(5, int(len(vals) ** 0.5))), alpha=0.55,
                color=_COLORS[i % len(_COLORS)], label=name, edgecolor="white", linewidth=0.4)
    if isinstance(kappa, (int, float)) and not isinstance(kappa, bool) and math.isfinite(kappa):
        ax.axvline(float(kappa), color="#111827", linestyle="--", linewidth=1.2,
                   label=f"certified bound {kappa:.4g}")
    ax.set_xlabel("one-step contraction ratio")
    ax.set_ylabel("samples")
    ax.legend(frameon=True, framealpha=0.92, edgecolor="#e5e7eb", fontsize=8, loc="best")
    fig.tight_layout()
    return _svg(fig, prefix)


def plots(family: dict, prefix: str) -> list[dict]:
    """The plots of a family: ``[{"title", "svg"}]`` (empty without simulation data)."""
    sim = family.get("simulation")
    if not isinstance(sim, dict):
        return []
    out = []
    d = distance_svg(sim, prefix + "-d")
    if d:
        out.append({"title": "Distance to the fixed point per generation, against the proved bound",
                    "svg": d})
    r = ratio_svg(sim, prefix + "-r")
    if r:
        out.append({"title": "Distribution of sampled contraction ratios", "svg": r})
    return out
