"""The Jinja2 environment: templates from the package, strict about undefined names."""
from functools import lru_cache

import jinja2


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("distillproof.reports", "templates"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=False, lstrip_blocks=False, autoescape=False)
