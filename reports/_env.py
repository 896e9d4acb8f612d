"""The Jinja2 environments: templates from the package, strict about undefined names.

* :func:`environment` - Markdown (no escaping: the template decides what is code);
* :func:`html_environment` - HTML, autoescaped; MathML and SVG enter as ``Markup``;
* :func:`latex_environment` - LaTeX, with ``\\VAR{..}`` / ``\\BLOCK{..}`` delimiters so
  that TeX's braces never clash with Jinja's, and every value escaped by the ``tex``
  filter unless the template says it is already LaTeX.
"""
from functools import lru_cache

import jinja2

__all__ = ["environment", "html_environment", "latex_environment"]


def _loader() -> jinja2.BaseLoader:
    return jinja2.PackageLoader("distillproof.reports", "templates")


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=_loader(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, autoescape=False)


@lru_cache(maxsize=None)
def html_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=_loader(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, autoescape=True)


@lru_cache(maxsize=None)
def latex_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=_loader(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, autoescape=False,
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        line_comment_prefix="%#")
