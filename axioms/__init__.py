"""The language: simplex, divergences, operator families, the axiom registry, the
catalogue and the family-spec parser."""
