"""Evidence: what a decided (or undecided) claim carries.

Three values, never collapsed (STYLE.md 5):

* :class:`Proved` - the proof as data: steps (rule, statement, side conditions and how
  each was discharged) or the SMT-LIB2 text of an ``unsat`` query; ``classes`` is the
  ``K`` it covers (``None`` = every ``K``).
* :class:`Refuted` - a :class:`Witness`: exact rational inputs and parameters, and the
  violation re-checked exactly or with interval arithmetic.
* :class:`Unknown` - the reason, and any numeric estimate gathered on the way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Union

__all__ = ["Step", "Proved", "Refuted", "Unknown", "Witness", "Evidence", "PROVED",
           "REFUTED", "UNKNOWN", "rational_str"]

PROVED, REFUTED, UNKNOWN = "proved", "refuted", "unknown"


def rational_str(x) -> str:
    """An exact rational as the string ``"p/q"`` (or ``"n"``)."""
    f = Fraction(str(x)) if not isinstance(x, Fraction) else x
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


@dataclass(frozen=True)
class Step:
    """One step of a proof: a rule applied, its statement, its side conditions."""
    rule: str
    statement: str
    conditions: tuple[tuple[str, str], ...] = ()   # (condition, how discharged)

    def to_json(self) -> dict:
        return {"rule": self.rule, "statement": self.statement,
                "conditions": [{"condition": c, "discharged_by": h} for c, h in self.conditions]}


@dataclass(frozen=True)
class Witness:
    """Exact inputs violating a claim, and the certified violation.

    ``values`` maps each vector name to a tuple of exact rationals and each parameter
    name to one exact rational.  ``violation`` says which atom fails, its exact value
    or certified enclosure, and how it was certified (``exact`` or ``interval``).
    """
    values: dict[str, Union[Fraction, tuple[Fraction, ...]]]
    atom: str
    value: str
    certified_by: str
    classes: int

    def to_json(self) -> dict:
        vals = {}
        for k, v in self.values.items():
            vals[k] = [rational_str(x) for x in v] if isinstance(v, tuple) else rational_str(v)
        return {"classes": self.classes, "values": vals, "violated": self.atom,
                "value": self.value, "certified_by": self.certified_by}

    def assignment_text(self) -> str:
        parts = []
        for k, v in self.values.items():
            if isinstance(v, tuple):
                parts.append(f"{k}=" + ",".join(rational_str(x) for x in v))
            else:
                parts.append(f"{k}={rational_str(v)}")
        return " ".join(parts)


@dataclass(frozen=True)
class Proved:
    """``classes``: the ``K`` the proof covers -- one, several, or ``None`` (every K)."""
    method: str
    steps: tuple[Step, ...] = ()
    classes: int | tuple[int, ...] | None = None
    smt: str | None = None
    status: str = field(default=PROVED, init=False)

    def to_json(self) -> dict:
        classes = list(self.classes) if isinstance(self.classes, tuple) else self.classes
        out = {"status": self.status, "method": self.method,
               "classes": classes, "steps": [s.to_json() for s in self.steps]}
        if self.smt is not None:
            out["smt2"] = self.smt
        return out


@dataclass(frozen=True)
class Refuted:
    method: str
    witness: Witness
    smt: str | None = None
    status: str = field(default=REFUTED, init=False)

    @property
    def classes(self) -> int:
        return self.witness.classes

    def to_json(self) -> dict:
        out = {"status": self.status, "method": self.method, "classes": self.classes,
               "witness": self.witness.to_json()}
        if self.smt is not None:
            out["smt2"] = self.smt
        return out


@dataclass(frozen=True)
class Unknown:
    reason: str
    method: str = "none"
    classes: int | None = None
    estimate: str | None = None
    status: str = field(default=UNKNOWN, init=False)

    def to_json(self) -> dict:
        out = {"status": self.status, "method": self.method, "classes": self.classes,
               "reason": self.reason}
        if self.estimate is not None:
            out["estimate"] = self.estimate
        return out


Evidence = Union[Proved, Refuted, Unknown]
