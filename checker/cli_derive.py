"""``distillproof derive``: the contraction constants of one family, step by step.

    distillproof derive FAMILY|SPEC [--constant KIND] [--at alpha=3/10] [--latex]
                        [--claim kl_forward=1/2]

prints, for each constant kind (THEORY §4), the derivation (rule, statement, side
conditions and how each was discharged) or why no rule applied, the certified upper
bound, the witnessed lower bound and whether they meet; then the local rate, the
fixed point, the Hilbert region and the main theorem instantiated.  ``--latex``
prints the same as a LaTeX fragment.  :func:`register` also gives ``verify`` the
repeatable ``--claim KIND=VALUE`` option.  Heavy imports stay inside the functions,
so that ``distillproof --help`` does not load SymPy.
"""
from __future__ import annotations

import functools
import json
import sys

import click

__all__ = ["derive", "register"]

KINDS = ("kl_forward", "kl_reverse", "kl_pairwise", "local", "tv", "hilbert")
TITLES = {"kl_forward": ("κ_fwd", r"\kappa_{\mathrm{fwd}}", "sup_q KL(p̄‖Φq) / KL(p̄‖q)"),
          "kl_reverse": ("κ_rev", r"\kappa_{\mathrm{rev}}", "sup_q KL(Φq‖p̄) / KL(q‖p̄)"),
          "kl_pairwise": ("κ_pair", r"\kappa_{\mathrm{pair}}", "sup KL(Φq‖Φr) / KL(q‖r)"),
          "local": ("κ_loc", r"\kappa_{\mathrm{loc}}", "ρ(DΦ(q*)|Σv=0)²"),
          "tv": ("η_TV", r"\eta_{\mathrm{TV}}", "sup TV(Φq, Φr) / TV(q, r)"),
          "hilbert": ("κ_H", r"\kappa_{H}", "sup d_H(Φq, Φr) / d_H(q, r)")}
_CLAIM_HELP = ("A claimed constant, e.g. kl_forward=1/2: proved when the certified upper "
               "bound is below it on the domain, refuted by a certified witness above it "
               "(repeatable).")


def _fail(message: str):
    from .cli import _fail as fail
    fail(message)


def parse_claims(items) -> list[tuple[str, object]]:
    """``KIND=VALUE`` items as ``(kind, Fraction)`` pairs (exact numbers only)."""
    from fractions import Fraction
    out = []
    for item in items:
        kind, sep, value = item.partition("=")
        kind = kind.strip()
        if not sep or kind not in KINDS:
            _fail(f"--claim expects KIND=VALUE with KIND one of {', '.join(KINDS)}, got {item!r}")
        try:
            out.append((kind, Fraction(value.strip())))
        except (ValueError, ZeroDivisionError):
            _fail(f"--claim {kind}: {value.strip()!r} is not an exact number (write 1/2 or 0.5)")
    return out


def _claim_line(name, kind, value, ev) -> str:
    detail = {"proved": lambda: f"({ev.method})",
              "refuted": lambda: f"witness {ev.witness.assignment_text()}, ratio "
                                 f"{ev.witness.value} ({ev.witness.certified_by})",
              "unknown": lambda: f"({ev.reason}{'; ' + ev.estimate if ev.estimate else ''})"}
    return f"  {name}: {kind} ≤ {value}: {ev.status} {detail[ev.status]()}"


def _with_claims(inner):
    @functools.wraps(inner)
    def run(*args, claims=(), **kw):
        if not claims:
            return inner(*args, **kw)
        from ._constants import claims_context
        with claims_context(parse_claims(claims)) as collected:
            try:
                return inner(*args, **kw)
            finally:
                if kw.get("fmt", "text") == "text" and collected:
                    click.echo("\nClaimed constants:")
                    for item in collected:
                        click.echo(_claim_line(*item))
    return run


def register(main) -> None:
    """Add ``derive`` to the CLI group ``main`` and ``--claim`` to its ``verify``."""
    main.add_command(derive)
    verify = main.commands.get("verify")
    if verify is not None and not any(p.name == "claims" for p in verify.params):
        verify.params.append(click.Option(["--claim", "claims"], multiple=True,
                                          metavar="KIND=VALUE", help=_CLAIM_HELP))
        verify.callback = _with_claims(verify.callback)


@click.command()
@click.argument("family")
@click.option("--constant", "kinds", multiple=True, type=click.Choice(KINDS),
              help="Only this constant kind (repeatable; default: every kind).")
@click.option("--at", "at", multiple=True, metavar="NAME=VALUE",
              help="Evaluate at these exact parameter values, e.g. --at alpha=3/10.")
@click.option("--latex", is_flag=True, help="Print LaTeX instead of text.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON data instead of text.")
@click.option("--claim", "claims", multiple=True, metavar="KIND=VALUE", help=_CLAIM_HELP)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the numeric search.")
@click.option("--timeout", "timeout_ms", type=click.IntRange(100, 600000), default=4000,
              show_default=True, help="Solver time limit per query, in milliseconds.")
@click.option("--samples", type=click.IntRange(10, 10**6), default=2000, show_default=True,
              help="Points sampled by the lower-bound search.")
def derive(family, kinds, at, latex, as_json, claims, seed, timeout_ms, samples):
    """Derive the contraction constants of FAMILY (a catalogue name or a TOML spec):
    the proof of each upper bound, a certified lower witness, the fixed point and the
    main theorem."""
    from ..axioms.family import FamilyError
    from .api import Settings, resolve_family
    from .cli import _parse_at
    values = _parse_at(at)
    parsed = parse_claims(claims)
    try:
        fam = resolve_family(family)
        fixed = fam.with_values(values) if values else fam
    except (KeyError, FamilyError, ValueError, OSError) as exc:
        _fail(str(exc).strip('"'))
    if fam.kind == "aggregation":
        _fail(f"family {fam.name!r} is an aggregation operator: it has no recursion, so no "
              "contraction constants (try a meta-teacher or softening family)")
    from ._constants import check_claimed_constant, constants_data
    settings = Settings(seed=seed, timeout_ms=timeout_ms, samples=samples)
    results = None
    if fam.kind == "meta-teacher":
        from ..axioms.registry import get_axiom
        from .engine import decide_axiom
        results = {a: decide_axiom(get_axiom(a), fixed, settings).status
                   for a in ("MT1", "MT2", "MT3")}
    objects: dict = {}
    data = constants_data(fam, settings, at=values, results=results, kinds=kinds or None,
                          objects=objects)
    verdicts = [(fam.name, k, v, check_claimed_constant(fixed, k, v, settings))
                for k, v in parsed]
    if as_json:
        data["claims"] = [{"kind": k, "value": str(v), **ev.to_json()} for _, k, v, ev in verdicts]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    render = render_latex if latex else render_text
    click.echo(render(fam, data, objects, verdicts))


# --- text ------------------------------------------------------------------------------
def _steps_text(steps, indent="    ") -> list[str]:
    out = []
    for i, s in enumerate(steps, 1):
        out.append(f"{indent}{i}. {s['rule']}: {s['statement']}")
        out += [f"{indent}     - {c['condition']}  [{c['discharged_by']}]"
                for c in s["conditions"]]
    return out


def _witness_text(w) -> str:
    return " ".join(f"{k}=" + (",".join(v) if isinstance(v, list) else v) for k, v in w.items())


def render_text(fam, data, objects, verdicts) -> str:
    point = objects.get("point", {})
    lines = [f"{fam.name}  ({fam.kind})   map: {fam.map}",
             "parameter point: " + (", ".join(f"{k} = {v}" for k, v in point.items()) or "none")
             + f"   classes: K = {objects.get('classes')}", ""]
    for c in data["constants"]:
        short, _, meaning = TITLES[c["kind"]]
        lines.append(f"{short} ({c['kind']}) = {meaning}")
        up, low = c["upper"], c["lower"]
        if up is not None:
            lines.append("  derivation:")
            lines += _steps_text(up["steps"])
            lines.append(f"  upper: {c['kind']} ≤ {up['expr']}" + (
                f" = {up['value']}" if up["value"] != up["expr"] else "") + (
                "  (the rule is exact: this is the constant)" if up["exact"] else "") + (
                f"  [K = {up['classes']}]" if up.get("classes") else ""))
        else:
            lines.append("  upper: none - no rule applies")
            lines += [f"    - {r}" for r in c.get("reasons", [])]
        if low is not None:
            lines.append(f"  lower: {c['kind']} ≥ {low['value']}  (certified by "
                         f"{low['certified_by']}; witness {_witness_text(low['witness'])})")
        elif c.get("estimate"):
            lines.append(f"  lower: none certified; numeric estimate {c['estimate']}")
        else:
            lines.append("  lower: none")
        lines.append(f"  tight: {'yes' if c['tight'] else 'no'}")
        if "region" in c:
            r = c["region"]
            lines.append("  Hilbert region: the bound is never below 1 (no d_H contraction proved)"
                         if r["relation"] == "False" else
                         f"  Hilbert region: contracts where {r['relation']} "
                         f"({'exactly there' if r['exact'] else 'at least there'}; on the whole "
                         f"domain: {r['on_domain']})")
        lines.append("")
    fp = data.get("fixed_point")
    if fp:
        lines.append(f"fixed point (K = {fp['classes']}, {fp['method']}): " + (
            f"q* = {fp['expr']}; " if fp.get("expr") else "") + (
            "q* = (" + ", ".join(fp["point"]) + ")" if fp["point"] else "not located"))
        lines.append((f"  anchor ({', '.join(fp['anchor'])}), KL(p̄‖q*) = "
                      f"{fp['distance_from_anchor']}, " if fp.get("anchor") else "  ")
                     + f"exact: {fp['exact']}, certified: {fp['certified']}")
        lines.append("")
    th = data.get("theorem")
    if th:
        lines.append("main theorem (THEORY §2): " + ", ".join(
            f"{k}: {v}" for k, v in th["hypotheses"].items()))
        lines.append(f"  holds: {'yes' if th['holds'] else 'no'}" + (
            f"; rate κ = {th['rate']['expr']} = {th['rate']['value']}" if th["rate"] else ""))
        g = th.get("generations_to")
        if g:
            lines.append(f"  {g['statement']}; from q0 = ({', '.join(g['q0'])}), KL0 = "
                         f"{g['initial_kl']}: {g['generations']} generations to ε = {g['epsilon']}")
        for b in th["a_priori_bounds"]:
            lines.append(f"  {b['statement']}; {b['a_posteriori']}; d(q1,q0) = {b['d_q1_q0']}: "
                         f"{b['generations_to_epsilon']} generations to ε")
        if th.get("schedule"):
            s = th["schedule"]
            lines.append(f"  schedule: factor over t generations {s['factor']}, converges: "
                         f"{s['converges']}")
    if verdicts:
        lines += ["", "claimed constants:"] + [_claim_line(*v) for v in verdicts]
    return "\n".join(lines).rstrip() + "\n"


# --- LaTeX -----------------------------------------------------------------------------
_TEX = {"κ": r"\kappa", "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "λ": r"\lambda",
        "μ": r"\mu", "η": r"\eta", "ρ": r"\rho", "χ": r"\chi", "Δ": r"\Delta", "Σ": r"\Sigma",
        "Φ": r"\Phi", "ε": r"\varepsilon", "‖": r"\|", "≤": r"\le", "≥": r"\ge", "≠": r"\ne",
        "∘": r"\circ", "⊙": r"\odot", "·": r"\cdot", "→": r"\to", "−": "-", "²": "^2",
        "√": r"\surd", "∞": r"\infty", "⌈": r"\lceil", "⌉": r"\rceil", "∈": r"\in",
        "ᵀ": "^T", "p̄": r"\bar p", "⊂": r"\subset", "∀": r"\forall", "∃": r"\exists",
        "∝": r"\propto", "∂": r"\partial", "≈": r"\approx", "×": r"\times", "↦": r"\mapsto",
        "ℓ": r"\ell", "∏": r"\prod", "⇒": r"\Rightarrow", "±": r"\pm", "θ": r"\theta"}


def tex_text(s: str) -> str:
    """Plain text (with the unicode mathematics of the proof steps) as LaTeX text."""
    out, i = [], 0
    special = {"\\": r"\textbackslash{}", "_": r"\_", "^": r"\^{}", "&": r"\&", "%": r"\%",
               "#": r"\#", "{": r"\{", "}": r"\}", "~": r"\~{}", "$": r"\$"}
    while i < len(s):
        two = s[i:i + 2]
        if two in _TEX:
            out.append(f"${_TEX[two]}$")
            i += 2
            continue
        ch = s[i]
        out.append(f"${_TEX[ch]}$" if ch in _TEX else special.get(ch, ch))
        i += 1
    return "".join(out)


def _tex_steps(steps) -> list[str]:
    if not steps:
        return []
    out = [r"\begin{enumerate}"]
    for s in steps:
        out.append(rf"  \item \textbf{{{tex_text(s['rule'])}.}} {tex_text(s['statement'])}")
        if s["conditions"]:
            out.append(r"    \begin{itemize}")
            out += [rf"      \item {tex_text(c['condition'])} --- \emph{{{tex_text(c['discharged_by'])}}}"
                    for c in s["conditions"]]
            out.append(r"    \end{itemize}")
    return out + [r"\end{enumerate}"]


def render_latex(fam, data, objects, verdicts) -> str:
    import sympy as sp
    point = objects.get("point", {})
    attempts = objects.get("attempts", {})
    at = ", ".join(rf"{sp.latex(sp.Symbol(k))} = {sp.latex(v)}" for k, v in point.items())
    lines = [rf"\section*{{Contraction constants of \texttt{{{tex_text(fam.name)}}}}}",
             rf"Map: $\Phi(q) = {sp.latex(fam.map)}$" + (f", at ${at}$" if at else "") +
             rf", $K = {objects.get('classes')}$.", ""]
    for c in data["constants"]:
        _, sym, meaning = TITLES[c["kind"]]
        lines.append(rf"\subsection*{{${sym}$: {tex_text(meaning)}}}")
        bound = attempts.get(c["kind"]).bound if c["kind"] in attempts else None
        if c["upper"] is not None:
            lines += _tex_steps(c["upper"]["steps"])
        else:
            lines.append("No rule applies: " + tex_text("; ".join(c.get("reasons", []))) + ".")
        rows = []
        if bound is not None and bound.generations is None:
            val = bound.value(point)
            rows.append(rf"{sym} &\le {sp.latex(bound.expr)}" + (
                rf" = {sp.latex(val)}" if val != bound.expr else "") +
                rf" && \text{{certified upper bound{', exact' if bound.exact else ''}}}")
        if c["lower"] is not None:
            v = c["lower"]["value"]
            v = sp.latex(sp.Rational(v)) if "/" in v and "e" not in v else v
            rows.append(rf"{sym} &\ge {v} && \text{{witness, certified by "
                        rf"{c['lower']['certified_by']}}}")
        if rows:
            lines += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
        lines.append(rf"Tight: {'yes' if c['tight'] else 'no'}." + (
            rf" Contracts in $d_H$ where ${sp.latex(objects['region'].relation)}$."
            if "region" in c and "region" in objects else ""))
        lines.append("")
    fp = objects.get("fixed_point")
    if fp is not None and fp.point is not None:
        expr = fp.point if not isinstance(fp.point, tuple) else sp.Matrix(fp.point).T
        lines.append(rf"Fixed point ({tex_text(fp.method)}): $q^* = {sp.latex(expr)}$, "
                     rf"$\mathrm{{KL}}(\bar p\,\|\,q^*) = {data['fixed_point']['distance_from_anchor']}$.")
    th = data.get("theorem")
    if th:
        hyp = ", ".join(f"{k}: {tex_text(v)}" for k, v in th["hypotheses"].items())
        lines.append("")
        lines.append(rf"Main theorem: {hyp}; holds: {'yes' if th['holds'] else 'no'}.")
        g = th.get("generations_to")
        if g and g["generations"] is not None:
            lines.append(rf"$\mathrm{{KL}}(\bar p\,\|\,q_t) \le \varepsilon = {g['epsilon']}$ "
                         rf"after $t = {g['generations']}$ generations from "
                         rf"$\mathrm{{KL}}(\bar p\,\|\,q_0) = {g['initial_kl']}$.")
    if verdicts:
        lines += ["", r"\begin{itemize}"] + [rf"  \item {tex_text(_claim_line(*v).strip())}"
                                              for v in verdicts] + [r"\end{itemize}"]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":                                    # pragma: no cover
    sys.exit(derive())
