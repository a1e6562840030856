"""Every stored user's type, read from the store in batches: all users once, probabilities equal to decoding each
belief on its own, one batch in memory at a time, nothing written on failure."""

import csv
import tracemalloc

import numpy as np
import pytest
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.service.engine import Engine
from warmstart.service.export import export_types
from warmstart.store.store import Store


@pytest.fixture
def store_with_users(tmp_path, population):
    store = Store.open(tmp_path / "svc.db")
    first = store.add_population(population.to_bytes(), fingerprint=population.fingerprint())
    store.activate(first)
    eng = Engine(store, explore=0)  # the policy itself (its replay), not the floor around it
    rng = np.random.default_rng(0)
    means = population.components.mu[:-1]
    for i in range(600):
        theta = means[i % len(means)] + 0.05 * rng.standard_normal(population.dim)
        X = rng.standard_normal((8, population.dim))
        belief = eng.policy.replay(X, X @ theta + 0.1 * rng.standard_normal(8))
        store.put_belief(f"user-{i:04d}", belief.to_bytes(), population_version=first, n_events=8,
                         expected_version=None)
    yield store, eng
    store.close()


def test_batches_cover_every_user_once_in_order(store_with_users):
    store, eng = store_with_users
    batches = list(store.iter_beliefs(batch_size=70))
    assert [len(b) for b in batches] == [70] * 8 + [40]
    ids = [u for b in batches for u, _ in b]
    assert ids == sorted(ids) and len(set(ids)) == 600
    assert store.count_beliefs(eng.version) == 600 and store.count_beliefs(eng.version + 1) == 0
    assert list(store.iter_beliefs(batch_size=70, population_version=eng.version + 1)) == []
    with pytest.raises(ValueError, match="batch_size"):
        next(store.iter_beliefs(batch_size=0))


def test_export_matches_each_belief_decoded_alone(store_with_users, tmp_path):
    store, eng = store_with_users
    result = export_types(store, tmp_path / "types.csv", batch_size=64)
    assert (result.users, result.batches, result.largest_batch, result.unreadable) == (600, 10, 64, 0)
    with open(tmp_path / "types.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = eng.population.type_names()
    assert len(rows) == 600 and list(rows[0])[4:] == [f"p_{n}" for n in names]
    for row in rows[::37]:
        probs = eng.belief(row["user_id"])[0].type_probs()
        got = np.array([float(row[f"p_{n}"]) for n in names])
        np.testing.assert_allclose(got, probs, rtol=1e-12)
        assert row["top_type"] == names[int(np.argmax(probs))]
    # users were made around each type's mean in turn: most are found in their own type
    own = sum(r["top_type"] == names[int(r["user_id"][5:]) % (len(names) - 1)] for r in rows)
    assert own > 0.8 * 600


def test_memory_holds_one_batch(store_with_users, tmp_path):
    store, _ = store_with_users

    def peak(batch_size: int) -> int:
        tracemalloc.start()
        export_types(store, tmp_path / f"t{batch_size}.csv", batch_size=batch_size)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, whole = peak(20), peak(600)
    assert small < 0.5 * whole, (small, whole)


def test_parquet_and_errors(store_with_users, tmp_path):
    import pyarrow.parquet as pq

    store, _ = store_with_users
    export_types(store, tmp_path / "types.parquet", batch_size=100)
    table = pq.read_table(tmp_path / "types.parquet")
    assert table.num_rows == 600 and table.column_names[:2] == ["user_id", "top_type"]
    with pytest.raises(ValueError, match="out: expected a .csv or .parquet"):
        export_types(store, tmp_path / "types.json")
    with pytest.raises(ValueError, match="policy"):
        export_types(store, tmp_path / "bad.csv", policy="nonesuch")
    assert not list(tmp_path.glob("bad.csv*"))


def test_types_command(store_with_users, tmp_path):
    res = CliRunner().invoke(app, ["types", "--db", str(tmp_path / "svc.db"), "--out", str(tmp_path / "x.csv"),
                                   "--batch-size", "250"])
    assert res.exit_code == 0, res.output
    assert "600 users" in res.output and "3 batches" in res.output
    res = CliRunner().invoke(app, ["types", "--db", str(tmp_path / "svc.db"), "--out", str(tmp_path / "y.csv"),
                                   "--batch-size", "0"])
    assert res.exit_code != 0 and "batch_size" in str(res.exception)
