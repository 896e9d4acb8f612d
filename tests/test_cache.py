"""The on-disk result cache (checker/_cache.py), in a private directory per test.

A warm run returns exactly the JSON of the cold one without recomputing; any change of
the family (its map, a domain, a fixed value, its name), of the settings, of the
axioms asked for or of the code is a miss; a damaged entry is a miss, not an error.
"""
from __future__ import annotations

import dataclasses
import os
import pickle

import sympy as sp
from click.testing import CliRunner

import distillproof as dp
from distillproof.axioms.catalogue import get_family
from distillproof.checker import _cache, engine
from distillproof.checker.cli import main
from distillproof.reports.data import dumps

FAMILY = "geometric-anchoring"
AXIOMS = ("MT1", "MT2", "MT6")


def _entries():
    return sorted(p.name for p in (_cache.cache_dir() / "verify").glob("*/*.pickle"))


def test_cache_lives_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv(_cache.ENV, str(tmp_path / "c"))
    assert _cache.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(_cache.ENV)
    assert _cache.cache_dir().parts[-2:] == (".cache", "distillproof") or \
        _cache.cache_dir().name == "distillproof"


def test_warm_hit_returns_identical_json_without_recomputing(monkeypatch):
    cold = dp.verify(FAMILY, axioms=AXIOMS)
    assert len(_entries()) == 1

    def boom(*a, **k):
        raise AssertionError("a warm run must not verify again")
    monkeypatch.setattr("distillproof.checker.api.verify_family", boom)
    warm = dp.verify(FAMILY, axioms=AXIOMS)
    assert dumps(warm.to_json()) == dumps(cold.to_json())
    assert warm[FAMILY].family is not None and warm[FAMILY].status("MT2") == cold[FAMILY].status("MT2")


def test_any_change_of_the_family_settings_or_axioms_misses():
    fam = get_family(FAMILY)
    settings = engine.Settings()
    key = _cache.family_key(fam, settings, AXIOMS)
    assert key == _cache.family_key(get_family(FAMILY), engine.Settings(), list(AXIOMS))
    alpha = fam.parameters[0].symbol
    changed = [
        dataclasses.replace(fam, map=dp.normalize(fam.map.args[0] ** 2)),
        dataclasses.replace(fam, name="renamed"),
        dataclasses.replace(fam, parameters=(dataclasses.replace(
            fam.parameters[0], domain=(0 < alpha, alpha < sp.Rational(1, 2))),)),
        fam.with_values({"alpha": sp.Rational(1, 3)}),
        dataclasses.replace(fam, classes=(2, 3, 4)),
    ]
    keys = {_cache.family_key(f, settings, AXIOMS) for f in changed}
    assert len(keys) == len(changed) and key not in keys
    assert _cache.family_key(fam, engine.Settings(seed=1), AXIOMS) != key
    assert _cache.family_key(fam, settings, ("MT1",)) != key
    assert _cache.family_key(fam, settings, None) != key


def test_code_change_misses(monkeypatch):
    fam = get_family(FAMILY)
    key = _cache.family_key(fam, engine.Settings(), AXIOMS)
    monkeypatch.setattr(_cache, "code_hash", lambda: "another version of the code")
    assert _cache.family_key(fam, engine.Settings(), AXIOMS) != key


def test_changed_family_is_recomputed_and_damaged_entries_are_misses():
    first = dp.verify(FAMILY, axioms=AXIOMS)
    other = dataclasses.replace(get_family(FAMILY), name="geometric-anchoring-2")
    dp.verify(other, axioms=AXIOMS)
    assert len(_entries()) == 2
    for path in (_cache.cache_dir() / "verify").glob("*/*.pickle"):
        path.write_bytes(b"not a pickle")
    again = dp.verify(FAMILY, axioms=AXIOMS)
    assert dumps(again.to_json()) == dumps(first.to_json())
    key = _cache.family_key(get_family(FAMILY), engine.Settings(), AXIOMS)
    with open(_cache._path(key), "rb") as fh:
        assert pickle.load(fh)["format"] == 1          # rewritten whole
    assert _cache.clear() == 2 and _entries() == []


def test_no_cache_flag_and_unwritable_directory(tmp_path, monkeypatch):
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["verify", FAMILY, "--axiom", "MT2", "--no-cache",
                                    "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert _entries() == []
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv(_cache.ENV, str(blocked))          # not a directory: store fails
    res = dp.verify(FAMILY, axioms=("MT2",))
    assert res[FAMILY].status("MT2") == "proved" and not os.path.isdir(blocked)


def test_a_student_spec_is_keyed_by_its_text_not_only_its_path(tmp_path):
    spec = tmp_path / "s.toml"
    fam, settings = get_family("arithmetic-anchoring"), engine.Settings()
    spec.write_text('[student]\nname = "s"\nclasses = [3]\nwhere = ["x[0] <= 1/2"]\n')
    before = _cache.family_key(fam, settings, None, [str(spec)])
    assert _cache.family_key(fam, settings, None, [str(spec)]) == before
    spec.write_text('[student]\nname = "s"\nclasses = [3]\nwhere = ["x[0] <= 1/3"]\n')
    assert _cache.family_key(fam, settings, None, [str(spec)]) != before
