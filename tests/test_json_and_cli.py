"""The JSON schema, the CLI's behaviour on good and bad input, and determinism."""
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from distillproof.checker.cli import main
from distillproof.reports.schema import problems

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FAST = ["--samples", "800", "--timeout", "3000"]


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def geometric_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    r = run("verify", "geometric-anchoring", "--format", "json", "--out", str(out), *FAST)
    assert r.exit_code == 0, r.output
    return json.loads(r.output), out


def test_json_follows_the_schema(geometric_json):
    data, out = geometric_json
    assert problems(data) == []
    assert json.loads((out / "results.json").read_text()) == data
    mt6 = next(r for r in data["families"][0]["results"] if r["axiom"] == "MT6")
    assert mt6["status"] == "refuted"


def test_replay_line_from_the_json_confirms_the_witness(geometric_json):
    data, _ = geometric_json
    mt6 = next(r for r in data["families"][0]["results"] if r["axiom"] == "MT6")
    args = mt6["replay"].split()[2:]          # drop "distillproof replay"
    r = run("replay", *args)
    assert r.exit_code == 0 and r.output.startswith("confirmed"), r.output


def test_replay_rejects_a_point_where_the_axiom_holds():
    r = run("replay", "arithmetic-anchoring", "MT6", "--classes", "2", "p=1/2,1/2", "q=1/3,2/3", "alpha=1/2")
    assert r.exit_code == 1 and "not a counterexample" in r.output


def test_schema_catches_bad_documents():
    assert problems({"schema": "distillproof.verify/0", "families": []})
    bad = {"schema": "distillproof.verify/1", "families": [{
        "name": "x", "kind": "meta-teacher", "map": "q", "parameters": [], "classes": [2],
        "not_applicable": {}, "results": [{"axiom": "MT2", "status": "refuted", "method": "m",
                                           "classes": 2, "witness": {"values": {"p": ["0.5", "1/2"]},
                                                                     "certified_by": "exact"}}]}]}
    found = problems(bad)
    assert any("exact rational" in p for p in found) and any("replay" in p for p in found)


def test_same_seed_same_json():
    a = run("verify", "arithmetic-pool", "--format", "json", "--seed", "3", "--out", "/tmp/dp-a", *FAST)
    b = run("verify", "arithmetic-pool", "--format", "json", "--seed", "3", "--out", "/tmp/dp-b", *FAST)
    assert a.output == b.output


def test_user_spec_is_verified_without_code_changes(tmp_path):
    r = run("verify", str(EXAMPLES / "power_mean.toml"), "--format", "json", "--out", str(tmp_path), *FAST)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert problems(data) == []
    fam = data["families"][0]
    status = {x["axiom"]: x["status"] for x in fam["results"]}
    assert status["MT2"] == "proved"      # normalize((alpha p^r + (1-alpha) p^r)^(1/r)) = p
    assert status["MT1"] == "proved"


def test_unseen_family_spec(tmp_path):
    spec = tmp_path / "harmonic.toml"
    spec.write_text('[family]\nname = "harmonic anchoring"\nkind = "meta-teacher"\nclasses = [2]\n'
                    '[parameters]\nalpha = "0 < alpha < 1"\n'
                    '[map]\nvalue = "normalize(1/(alpha/p + (1 - alpha)/q))"\n')
    r = run("verify", str(spec), "--format", "json", "--out", str(tmp_path / "o"), *FAST)
    assert r.exit_code == 0, r.output
    status = {x["axiom"]: x["status"] for x in json.loads(r.output)["families"][0]["results"]}
    assert status["MT2"] == "proved" and status["MT1"] == "proved"


@pytest.mark.parametrize("args, message", [
    (["verify", "no-such-family"], "no family named"),
    (["verify", "arithmetic-anchoring", "--at", "alpha=3/2"], "outside its domain"),
    (["verify", "arithmetic-anchoring", "--at", "beta=1/2"], "names no parameter"),
    (["verify", "arithmetic-anchoring", "--at", "alpha=abc"], "not an exact number"),
    (["verify", "arithmetic-anchoring", "--classes", "1"], "between 2 and 8"),
    (["verify", "arithmetic-anchoring", "--axiom", "MT99"], "unknown axiom"),
])
def test_usage_errors_are_clear(args, message):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2
    assert message in r.output


def test_hostile_spec_is_rejected_with_a_location(tmp_path):
    spec = tmp_path / "evil.toml"
    spec.write_text('[family]\nname = "evil"\nkind = "meta-teacher"\n[map]\nvalue = "__import__(\'os\')"\n')
    r = CliRunner().invoke(main, ["verify", str(spec)])
    assert r.exit_code == 2
    assert "evil.toml:5" in r.output


def test_fail_on_refuted_sets_the_exit_status(tmp_path):
    r = run("verify", "identity", "--axiom", "NT", "--fail-on", "refuted", "--out", str(tmp_path), *FAST)
    assert r.exit_code == 1


def test_list_shows_families_and_axioms():
    r = run("list")
    assert "geometric-anchoring" in r.output and "MT3p" in r.output and "S5" in r.output
