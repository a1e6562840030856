"""``warmstart bench sparse``: one tiny cell run end to end (the JSON's structure and figures that can be wrong),
the no-harm flag computed from the paired CI, the report's heat-maps and target rows, and the knowledge-tracing
part's truncation of the training students."""

import json
import math

import numpy as np
import pytest

from warmstart.bench.kt import KTBenchConfig
from warmstart.bench.sparse import AT, OURS, POLICIES, SparseConfig, cell_figures, no_harm, run_sparse
from warmstart.report.sparse import heatmaps_png, sparse_section
from warmstart.report.sparse_targets import sparse_rows


@pytest.fixture(scope="module")
def tiny_grid():
    cfg = SparseConfig(events=(5,), users=(200,), noise=(1.0,), n_test_users=16, n_bootstrap=100, workers=1)
    return run_sparse(cfg)


def test_tiny_grid_document(tiny_grid):
    doc = json.loads(json.dumps(tiny_grid))  # plain JSON: the per-user regret arrays were taken out
    assert doc["config"]["events"] == [5] and doc["machine"]["cpu_count"] >= 1
    assert "no_harm_definition" in doc and len(doc["cells"]) == 1
    cell = doc["cells"][0]
    assert (cell["events"], cell["users"], cell["noise"], cell["noise_sd"]) == (5, 200, 1.0, 0.5)
    assert cell["K"] >= 1 and set(cell["regret_at"]) == set(POLICIES)
    for t in map(str, AT):
        reg = {name: cell["regret_at"][name][t] for name in POLICIES}
        # G recomputed from the cell's own regrets; finite and plausible (between far worse and far better)
        g = (reg["from_scratch_ts"] - reg[OURS]) / (reg["from_scratch_ts"] - reg["oracle_type"])
        assert cell["G"][t] == pytest.approx(g) and -1.0 < g < 1.5
        lo, hi = cell["G_ci95"][t]
        assert lo <= g <= hi
        # the paired difference is ours minus pooled, its CI brackets it, and the flag follows the CI
        assert cell["diff_vs_pooled"][t] == pytest.approx(reg[OURS] - reg["pooled_ts"])
        lo, hi = cell["diff_vs_pooled_ci95"][t]
        assert lo <= cell["diff_vs_pooled"][t] <= hi
        assert cell["no_harm_at"][t] == (lo <= 0)
    assert cell["no_harm"] == all(cell["no_harm_at"].values())


def _doc(ours_extra: float, rng: np.random.Generator) -> dict:
    """A run_coldstart document with keep_regret, made by hand: ours' regret is pooled's plus ``ours_extra`` per
    step, for 40 users and 200 steps."""
    base = rng.uniform(0.0, 0.2, size=(40, 200))
    regret = {"from_scratch_ts": base + 0.1, "pooled_ts": base, "oracle_type": base * 0.2, OURS: base + ours_extra}
    policies = {name: {"regret_at": {str(t): float(r.cumsum(1)[:, t - 1].mean()) for t in AT}}
                for name, r in regret.items()}
    return {"fit": {"selected_k": 3, "fit_s": 1.0}, "policies": policies, "regret_per_user": regret}


def test_no_harm_flag_follows_the_paired_ci(rng):
    worse = cell_figures(_doc(0.05, rng), seed=0, n_boot=200)
    assert worse["diff_vs_pooled"]["200"] == pytest.approx(10.0) and not worse["no_harm"]
    assert worse["diff_vs_pooled_ci95"]["200"][0] > 0
    same = cell_figures(_doc(0.0, rng), seed=0, n_boot=200)
    assert same["no_harm"] and same["diff_vs_pooled"]["20"] == 0.0
    assert no_harm([-0.1, 0.2]) and not no_harm([0.01, 0.2])


def test_config_checks():
    with pytest.raises(ValueError, match="steps"):
        SparseConfig(steps=50)
    with pytest.raises(ValueError, match="noise"):
        SparseConfig(noise=(0.0,))
    with pytest.raises(ValueError, match="history"):
        KTBenchConfig(history=0)
    cells = SparseConfig(events=(3, 50), users=(5000, 500), noise=(1.0,)).cells()
    assert cells[0] == (3, 500, 1.0) and cells[-1] == (50, 5000, 1.0)  # the cheapest fits first


def test_report_heatmaps_and_rows(tiny_grid):
    doc = json.loads(json.dumps(tiny_grid))
    assert heatmaps_png(doc)[1:4] == b"PNG"
    assert "<table" in sparse_section(doc)
    rows = sparse_rows(doc)
    assert [r["met"] for r in rows[:2]] == [None, None]  # the grid had neither target's cell
    assert rows[2]["met"] == doc["cells"][0]["no_harm"] and "1 cells hold" in rows[2]["measured"]
    assert rows[2]["command"].startswith("warmstart bench sparse --events 5 --users 200 --noise 1")
    assert not any(math.isnan(v) for v in doc["cells"][0]["G"].values())


def test_cli_grid_options():
    from warmstart.cli._common import CliError
    from warmstart.cli.bench_sparse import _numbers

    assert _numbers("--noise", "1, 2,4", float) == (1.0, 2.0, 4.0)
    for bad in ("3,x", "", "0,5"):
        with pytest.raises(CliError, match="--events"):
            _numbers("--events", bad, int)
