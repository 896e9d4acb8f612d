"""The engine: orchestration, SymPy/Z3/NumPy/interval backends, shrinking, CLI."""
