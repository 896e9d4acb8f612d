"""The built-in catalogue (THEORY.md §8): one module per family, declaring structure.

A module exports ``FAMILY`` or ``FAMILIES``; :func:`catalogue` collects them in a fixed
order.  Verdicts are never declared here: the engine derives them.
"""
from __future__ import annotations

import importlib

from ..family import Family

__all__ = ["catalogue", "get_family", "MODULES"]

MODULES = ("arithmetic", "multi_teacher", "geometric", "memory", "schedule", "kernel",
           "tempered", "tempered_arithmetic", "capacity", "softening", "pools", "trivial")


def catalogue() -> list[Family]:
    out = []
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        out.extend(getattr(module, "FAMILIES", ()) or (module.FAMILY,))
    return out


def get_family(name: str) -> Family:
    for family in catalogue():
        if family.name == name:
            return family
    known = ", ".join(f.name for f in catalogue())
    raise KeyError(f"no family named {name!r} in the catalogue; known: {known}")
