"""Internal conversions to SymPy never parse text as code (only the project's parser
reads text): a string reaching them is refused, not evaluated."""
import pytest
import sympy as sp

from distillproof.checker._certify import sign
from distillproof.proofs._bound import as_expr

HOSTILE = "__import__('os').system('touch /tmp/distillproof-pwned')"


def test_numbers_as_text_are_exact_and_code_is_refused():
    assert as_expr("3/10") == sp.Rational(3, 10)
    with pytest.raises((TypeError, ValueError)):
        as_expr(HOSTILE)


def test_certification_refuses_text():
    assert sign(sp.Rational(-1, 3)) == -1
    with pytest.raises(sp.SympifyError):
        sign(HOSTILE)
