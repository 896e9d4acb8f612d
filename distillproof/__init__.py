"""distillproof: theorem checking for recursive (multi-generation) knowledge distillation.

    import distillproof as dp
    result = dp.verify("geometric-anchoring")
    result.to_json()

Families are plain SymPy expressions over the vector symbols ``p`` (anchor) and ``q``
(student); see :class:`Family` and the README.  Names are imported lazily, so that
``distillproof --help`` starts fast.
"""
from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "Family": "distillproof.axioms.family", "FamilyError": "distillproof.axioms.family",
    "Parameter": "distillproof.axioms.family",
    "MatVec": "distillproof.axioms.vector", "normalize": "distillproof.axioms.vector",
    "softmax": "distillproof.axioms.vector", "vsum": "distillproof.axioms.vector",
    "Settings": "distillproof.checker.api", "Verification": "distillproof.checker.api",
    "resolve_family": "distillproof.checker.api", "verify": "distillproof.checker.api",
    "catalogue": "distillproof.axioms.catalogue", "load_spec": "distillproof.axioms.spec",
    "replay": "distillproof.checker.api",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'distillproof' has no attribute {name!r}")


def __dir__():
    return __all__
