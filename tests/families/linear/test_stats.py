"""Per-user statistics by DuckDB against the numpy summaries, on CSV, Parquet and a separate items table."""

import csv

import numpy as np
import pytest

from warmstart.data.events import events_from_log, save_events
from warmstart.families.linear.events import event_summary
from warmstart.families.linear.stats import log_statistics
from warmstart.sim.biglog import write_parquet_log
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation


@pytest.fixture(scope="module")
def events():
    return events_from_log(LinearTypesPopulation(LinearTypesConfig()).logged(120, 15, seed=2))


@pytest.mark.parametrize("name", ["events.csv", "events.parquet"])
def test_statistics_equal_the_numpy_summaries(tmp_path, events, name):
    path = save_events(events, tmp_path / name)
    stats = log_statistics(path, batch_rows=50)  # several batches
    ref = event_summary(events, events.features)
    assert stats.user_ids.tolist() == [int(u) for u in events.user_ids]
    for got, want in ((stats.summary.A, ref.A), (stats.summary.b, ref.b), (stats.summary.c, ref.c),
                      (stats.summary.n, ref.n)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_features_joined_from_an_items_table(tmp_path, events):
    path = save_events(events, tmp_path / "events.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    feats = [c for c in rows[0] if c.startswith("f_")]
    with open(tmp_path / "log.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user", "time", "item", "reward"])
        w.writerows([r["user"], r["time"], r["item"], r["reward"]] for r in rows)
    with open(tmp_path / "items.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item", *feats])
        w.writerows([item, *events.features[k]] for k, item in enumerate(events.item_ids))
    joined = log_statistics(tmp_path / "log.csv", items=tmp_path / "items.csv")
    direct = log_statistics(path)
    np.testing.assert_allclose(joined.summary.A, direct.summary.A, atol=1e-12)
    np.testing.assert_allclose(joined.summary.b, direct.summary.b, atol=1e-12)


def test_the_parquet_generator_is_seeded_and_its_statistics_add_up(tmp_path):
    pop = LinearTypesPopulation(LinearTypesConfig())
    a = write_parquet_log(pop, tmp_path / "a.parquet", n_users=300, n_events=4, chunk=128, seed=5,
                          truth_path=tmp_path / "truth.parquet")
    b = write_parquet_log(pop, tmp_path / "b.parquet", n_users=300, n_events=4, chunk=128, seed=5)
    sa, sb = log_statistics(a), log_statistics(b)
    assert sa.summary.n_users == 300 and np.all(sa.summary.n == 4)
    np.testing.assert_array_equal(sa.summary.A, sb.summary.A)
    with pytest.raises(ValueError, match="n_users"):
        write_parquet_log(pop, tmp_path / "c.parquet", n_users=0, n_events=4)


def test_errors_name_the_column_or_the_file(tmp_path, events):
    path = save_events(events, tmp_path / "events.csv")
    with pytest.raises(ValueError, match="user column 'who'"):
        log_statistics(path, user="who")
    with pytest.raises(ValueError, match="feature columns g_0"):
        log_statistics(path, feature_prefix="g_")
    with pytest.raises(ValueError, match="plain column name"):
        log_statistics(path, reward='r"; DROP')
    with pytest.raises(ValueError, match=".csv, .csv.gz, .parquet"):
        log_statistics(_touch(tmp_path / "x.json"))
    with pytest.raises(FileNotFoundError):
        log_statistics(tmp_path / "missing.parquet")
    (tmp_path / "gap.csv").write_text("user,reward,f_0,f_2\n1,1.0,0.5,0.5\n")
    with pytest.raises(ValueError, match="without gaps"):
        log_statistics(tmp_path / "gap.csv")
    (tmp_path / "text.csv").write_text("user,reward,f_0\n1,,0.5\n2,,0.1\n")
    with pytest.raises(ValueError, match="column 'reward': expected numbers, got VARCHAR"):
        log_statistics(tmp_path / "text.csv")
    (tmp_path / "hole.csv").write_text("user,reward,f_0\n1,1.0,0.5\n2,,0.1\n3,0.5,0.2\n")
    with pytest.raises(ValueError, match="'reward' or a feature column has empty values"):
        log_statistics(tmp_path / "hole.csv")


def _touch(path):
    path.write_text("{}")
    return path
