"""``warmstart bench responsible --merge``: the parts just run replace theirs in the responsible.json already
there, the others are kept; runs of other settings are refused."""

import json

import pytest
from support.cli import run

from warmstart.cli._common import CliError
from warmstart.cli.bench import merge_responsible


def test_merge_keeps_the_other_parts(tmp_path):
    path = tmp_path / "responsible.json"
    old = {"seed": 0, "quick": False, "machine": {"cpu": "a"}, "parts": ["fairness", "leakage"], "leakage": {"auc": 0.9},
           "fairness": {"G50": 0.94}, "timings_s": {"fairness": 30.0, "leakage": 15.0}}
    path.write_text(json.dumps(old))
    new = {"seed": 0, "quick": False, "machine": {"cpu": "b"}, "parts": ["fair"], "fair_types": {"fair_auc": 0.5}, "timings_s": {"fair": 900.0}}
    merged = merge_responsible(path, new)
    assert merged["parts"] == ["fairness", "leakage", "fair"] and merged["fairness"] == {"G50": 0.94}
    assert merged["fair_types"] == {"fair_auc": 0.5} and merged["timings_s"]["leakage"] == 15.0
    assert merged["machine"] == {"cpu": "a"} and merged["machine_by_part"] == {"fair": {"cpu": "b"}}
    with pytest.raises(CliError, match="--merge: .* has quick = False, this run True"):
        merge_responsible(path, {**new, "quick": True})
    with pytest.raises(CliError, match="--merge: expected an existing"):
        merge_responsible(tmp_path / "none.json", new)


def test_an_unknown_part_names_the_option_and_the_parts_of_either_benchmark(tmp_path):
    for bench, allowed in (("responsible", "fairness, drift"), ("dynamics", "satiation, movielens")):
        proc = run("bench", bench, "--part", "nope", "--out", tmp_path, check=False)
        assert proc.returncode == 2 and "--part" in proc.stderr and allowed in proc.stderr, proc.stderr
        assert "got nope" in proc.stderr and not list(tmp_path.iterdir())   # nothing written
