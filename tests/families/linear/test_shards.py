"""Per-user statistics in Parquet shards: exact round trip, gathering rows across shards, a versioned manifest,
nothing half-written, and DuckDB writing shards straight from a log."""

import json

import numpy as np
import pytest

from warmstart.data.events import events_from_log, save_events
from warmstart.families.linear.model import Summary
from warmstart.families.linear.shards import ShardWriter, SummaryShards, write_summary_shards
from warmstart.families.linear.stats import log_statistics, log_statistics_to_shards
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary


@pytest.fixture(scope="module")
def summary():
    return logged_summary(LinearTypesPopulation(LinearTypesConfig()), 257, 12, seed=3)


def _equal(a: Summary, b: Summary) -> None:
    for x, y in ((a.A, b.A), (a.b, b.b), (a.c, b.c), (a.n, b.n)):
        np.testing.assert_array_equal(x, y)


def test_round_trip_is_exact_and_in_user_order(tmp_path, summary):
    shards = write_summary_shards(tmp_path / "s", summary, user_ids=np.arange(1000, 1257), shard_users=100)
    assert [s.n_users for s in shards.shards] == [100, 100, 57]
    assert shards.n_users == 257 and shards.dim == summary.dim
    assert shards.n_events == pytest.approx(float(summary.n.sum()))
    _equal(shards.read_all(), summary)
    _equal(shards.read(1), summary[100:200])
    assert shards.user_ids(2).tolist() == list(range(1200, 1257))
    _equal(SummaryShards.open(tmp_path / "s").head(2).read_all(), summary[:200])


def test_gathering_rows_across_shards_keeps_the_requested_order(tmp_path, summary):
    shards = write_summary_shards(tmp_path / "s", summary, shard_users=64)
    rows = np.array([256, 3, 64, 63, 130, 3])
    _equal(shards[rows], summary[rows])
    with pytest.raises(IndexError, match="257"):
        shards[np.array([257])]


def test_the_writer_takes_batches_of_any_size_and_string_ids(tmp_path, summary):
    writer = ShardWriter(tmp_path / "s", summary.dim, shard_users=50)
    ids = np.array([f"u{i:03d}" for i in range(257)], dtype=object)
    for a, b in ((0, 7), (7, 120), (120, 257)):
        writer.add(ids[a:b], summary[a:b])
    shards = writer.close()
    assert [s.n_users for s in shards.shards] == [50] * 5 + [7]
    _equal(shards.read_all(), summary)
    assert shards.user_ids(5).tolist() == [f"u{i:03d}" for i in range(250, 257)]


def test_manifest_errors_name_the_problem(tmp_path, summary):
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        SummaryShards.open(tmp_path)
    write_summary_shards(tmp_path / "s", summary, shard_users=100)
    manifest = tmp_path / "s" / "manifest.json"
    meta = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(ValueError, match="version"):
        SummaryShards.open(tmp_path / "s")
    manifest.write_text(json.dumps({**meta, "shards": [{**meta["shards"][0], "n_users": 99}, *meta["shards"][1:]]}))
    with pytest.raises(ValueError, match="n_users"):
        SummaryShards.open(tmp_path / "s")
    (tmp_path / "s" / "shard-00002.parquet").unlink()
    manifest.write_text(json.dumps(meta))
    with pytest.raises(FileNotFoundError, match="shard-00002"):
        SummaryShards.open(tmp_path / "s")
    with pytest.raises(FileExistsError, match="empty folder"):
        write_summary_shards(tmp_path / "s", summary)


def test_nothing_is_left_when_writing_fails(tmp_path, summary):
    bad = Summary(summary.A.copy(), summary.b.copy(), summary.c.copy(), summary.n.copy())
    bad.n[5] = -1.0
    with pytest.raises(ValueError, match="summary.n"):
        write_summary_shards(tmp_path / "s", bad)
    assert not (tmp_path / "s").exists()
    with pytest.raises(ValueError, match="shard_users"):
        ShardWriter(tmp_path / "t", 3, shard_users=0)


def test_duckdb_writes_shards_equal_to_its_in_memory_statistics(tmp_path):
    events = events_from_log(LinearTypesPopulation(LinearTypesConfig()).logged(90, 6, seed=5))
    path = save_events(events, tmp_path / "events.parquet")
    shards = log_statistics_to_shards(path, tmp_path / "s", shard_users=40, batch_rows=25)
    stats = log_statistics(path)
    assert [s.n_users for s in shards.shards] == [40, 40, 10]
    _equal(shards.read_all(), stats.summary)
    assert np.concatenate([shards.user_ids(i) for i in range(3)]).tolist() == stats.user_ids.tolist()
    bad = tmp_path / "bad.csv"
    bad.write_text("user,reward,f_0\n1,0.5,abc\n")
    with pytest.raises(ValueError, match="f_0"):
        log_statistics_to_shards(bad, tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_merging_partitions_keeps_every_user_once(tmp_path, summary):
    from warmstart.families.linear.shards import merge_shards

    a = write_summary_shards(tmp_path / "a", summary[:100], user_ids=np.arange(100), shard_users=60)
    b = write_summary_shards(tmp_path / "b", summary[100:], user_ids=np.arange(100, 257), shard_users=60)
    merged = merge_shards([tmp_path / "a", tmp_path / "b"], tmp_path / "m")
    assert [s.n_users for s in merged.shards] == [60, 40, 60, 60, 37]
    assert merged.n_users == a.n_users + b.n_users == 257
    _equal(merged.read_all(), summary)
    other = write_summary_shards(tmp_path / "c", Summary.zeros(3, summary.dim + 1))
    with pytest.raises(ValueError, match="one dimension"):
        merge_shards([tmp_path / "a", other.folder], tmp_path / "n")
    assert not (tmp_path / "n").exists()


def test_docstring_examples_run(tmp_path, monkeypatch):
    import doctest

    import warmstart.families.linear.backend as backend_module
    import warmstart.families.linear.shards as shards_module
    import warmstart.families.linear.stats as stats_module

    for module in (shards_module, stats_module, backend_module):
        (tmp_path / module.__name__).mkdir()
        monkeypatch.chdir(tmp_path / module.__name__)  # the examples write their files here
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
