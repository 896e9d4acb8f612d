"""Derivations: proof rules of the contraction calculus, evidence types, exercises."""
