"""Shared test set-up: backends raise instead of reporting 'could not be decided'."""
import os

os.environ.setdefault("DISTILLPROOF_STRICT", "1")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_result_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own empty on-disk result cache (checker/_cache.py), so no
    test depends on what an earlier test or run left there."""
    monkeypatch.setenv("DISTILLPROOF_CACHE", str(tmp_path_factory.mktemp("cache")))
