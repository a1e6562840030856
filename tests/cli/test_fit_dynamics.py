"""``warmstart fit --log FILE --family linear_dynamics --categories SPEC``: a ``Satiation-v0`` log written as a
product would log it (ISO timestamps an hour apart, rows shuffled, a ``genre`` column per item, two items per
genre) is fitted through the real command (the README's example, run as written); the population loads through
the registry, the habit genre is found, ``warmstart serve --population`` accepts it and serves the documented
candidate rows; each bad input is one error naming the option or the column."""

from __future__ import annotations

import csv
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.cli.fit_dynamics import catalogue_from_features, read_catalogue
from warmstart.data.events import load_events
from warmstart.families.generic import TypePopulation
from warmstart.families.linear.dynamic_family import decode_spec
from warmstart.families.linear.item_features import load_item_features
from warmstart.families.registry import load_population
from warmstart.sim.satiation import SatiationConfig, SatiationPopulation

runner = CliRunner()
README = Path(__file__).resolve().parents[2] / "README.md"
GENRES = ["news", "sport", "music", "film", "games", "gossip"]  # Satiation-v0's category 5 builds the habit
START = datetime(2024, 1, 1, tzinfo=UTC)


def write_satiation_log(path: Path, n_users: int = 150, n_events: int = 30, seed: int = 0) -> Path:
    """A ``Satiation-v0`` log (uniform-random logging, one event an hour per user, each user starting at their
    own minute) as ``user, time, item, reward, genre, f_0 .. f_5`` (the genre one-hot), rows shuffled."""
    log = SatiationPopulation(SatiationConfig()).logged(n_users, n_events, seed=seed)
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for t in range(n_events):
            c = int(log.action[u, t])
            when = START + timedelta(minutes=7 * u, hours=t)
            rows.append([f"u{u}", when.isoformat().replace("+00:00", "Z"), f"{GENRES[c]}-{rng.integers(2)}",
                         f"{log.reward[u, t]:.6f}", GENRES[c], *np.eye(6, dtype=int)[c].tolist()])
    rows = [rows[i] for i in rng.permutation(len(rows))]
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([["user", "time", "item", "reward", "genre", *(f"f_{j}" for j in range(6))], *rows])
    return path


def readme_fit_command() -> list[str]:
    """The ``warmstart fit ... --family linear_dynamics`` command of the README's example, as arguments."""
    text = README.read_text()
    block = re.search(r"<!-- example: linear_dynamics -->\n```\n(.*?)```", text, flags=re.DOTALL)
    assert block, "the README should carry the linear_dynamics example"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    (command,) = [line for line in lines if line.startswith("warmstart fit")]
    return shlex.split(command)[1:]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """The README's command, run as written in a folder holding the log as ``events.csv``."""
    root = tmp_path_factory.mktemp("fit-dynamics")
    write_satiation_log(root / "events.csv")
    args = readme_fit_command()
    args = [str(root / a) if a in ("events.csv", "dynamics.npz") else a for a in args]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, (res.output, res.exception)
    return root, res.output


def test_the_readme_command_fits_the_family_and_finds_the_habit_genre(fitted):
    root, output = fitted
    with open(root / "events.csv") as fh:
        times = [row["time"] for row in csv.DictReader(fh) if row["user"] == "u0"]
    assert times != sorted(times)  # the file is not in time order: the loader sorts each user's events
    population = load_population(root / "dynamics.npz")
    assert isinstance(population, TypePopulation) and population.family == "linear_dynamics"
    spec = decode_spec(population.params)
    assert spec.habit_categories == (sorted(GENRES).index("gossip"),)  # the genres numbered in sorted order
    record = population.record["candidates"]
    assert record["categories"] == sorted(GENRES) and record["time_unit"] == 3600.0 and spec.time_unit == 1.0
    assert record["time_origin"] == START.timestamp() and record["time"].endswith("hours since 2024-01-01T00:00:00Z")
    assert record["static"] == [f"category {g}" for g in sorted(GENRES)]  # f_0..f_5 and the constant dropped
    assert record["dropped"] == [*(f"f_{j}" for j in range(6)), "1"]
    assert record["columns"] == [*record["static"], *(f"in {g}" for g in sorted(GENRES)), "time"]
    assert population.dim == 6 + 6 + 1
    assert "habit: built by gossip, half-life" in output and "satiation: exposure half-life" in output
    assert f"warmstart serve --db warmstart.db --population {root / 'dynamics.npz'} (type_ts" in output
    assert "type_plan plans" in output and "hours since 2024-01-01T00:00:00Z" in output
    ids, rows, meta = load_item_features(root / "dynamics.items.npz")
    assert len(ids) == 12 and rows.shape == (12, 12) and meta["info"]["columns"] == record["columns"][:-1]


def test_serve_accepts_the_population_and_the_documented_rows(fitted, tmp_path):
    """What ``warmstart serve --population FILE`` does with the file (read, add and activate it), then the API
    in process (its default bounds): candidates are the items' rows (``dynamics.items.npz``) with the time
    appended, in hours since the recorded origin."""
    from fastapi.testclient import TestClient

    from warmstart.cli.service import _activate, _read_population
    from warmstart.service.app import create_app
    from warmstart.store.store import Store

    root, _ = fitted
    population = _read_population(root / "dynamics.npz")
    ids, rows, _ = load_item_features(root / "dynamics.items.npz")
    store = Store.open(tmp_path / "svc.db")
    try:
        _activate(store, population, "dynamics.npz")
        client = TestClient(create_app(store, policy="type_plan", seed=0, explore=0.0),
                            raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {store.create_api_key('client')}"
        pick = [i for i, name in enumerate(ids) if name.endswith("-0")]  # one item per genre
        record = population.record["candidates"]

        def hours(when: datetime) -> float:  # the row's time: (seconds since 1970 - origin) / unit
            return (when.timestamp() - record["time_origin"]) / record["time_unit"]

        for step in range(3):
            when = hours(START + timedelta(days=30, hours=step))
            actions = [{"id": str(ids[i]), "features": [*rows[i], when]} for i in pick]
            body = client.post("/v1/rank", json={"user_id": "new", "actions": actions}).json()
            assert "action_id" in body, body
            assert body["action_id"] in {str(ids[i]) for i in pick}, body
            reward = client.post(f"/v1/events/{body['event_id']}/reward", json={"reward": 2.0})
            assert reward.json()["status"] == "recorded"
        assert client.get("/v1/users/new/profile").json()["events_learned_from"] == 3
        late = [{"id": str(ids[i]), "features": [*rows[i], hours(START + timedelta(days=30))]} for i in pick]
        r = client.post("/v1/rank", json={"user_id": "new", "actions": late})
        assert r.status_code == 422 and "not before the user's latest event" in r.text
    finally:
        store.close()


def test_both_spellings_of_the_categories_give_the_same_catalogue(fitted):
    root, _ = fitted
    events = load_events(root / "events.csv")
    by_column = read_catalogue(root / "events.csv", events, "genre")
    by_features = read_catalogue(root / "events.csv", events, ",".join(f"f_{GENRES.index(g)}" for g in sorted(GENRES)))
    np.testing.assert_array_equal(by_column.cats, by_features.cats)
    np.testing.assert_array_equal(by_column.static, by_features.static)


def test_other_features_and_the_constant_are_kept_when_they_add_something():
    catalogue = catalogue_from_features(np.array(["a", "b", "c"]), np.array([[1.0, 0.0, 0.3], [0.0, 1.0, 0.1],
                                                                           [0.0, 0.0, 0.2]]), ["f_0", "f_1"])
    assert catalogue.static_names == ["category f_0", "category f_1", "f_2"] and catalogue.dropped == ["1"]
    assert catalogue.rows().shape == (3, 3 + 2)


def test_feature_columns_numeric_times_and_the_median_gap(tmp_path):
    """``--categories f_0,..,f_5`` on a log whose times are numbers (two units between a user's events) and no
    ``--time-unit``: the unit is the median gap (2), the rows' time is the log's time / 2 from 0."""
    log = write_satiation_log(tmp_path / "raw.csv", n_users=80, n_events=20, seed=1)
    with open(log) as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:  # hours since START, doubled: a log of numbers two units apart
        row["time"] = str(2 * (datetime.fromisoformat(row["time"]) - START).total_seconds() / 3600)
    with open(tmp_path / "events.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "p.npz"
    res = runner.invoke(app, ["fit", "--log", str(tmp_path / "events.csv"), "--family", "linear_dynamics",
                              "--categories", ",".join(f"f_{j}" for j in range(6)), "--exposure-half-lives", "1,2",
                              "--habit-half-lives", "8,16", "--no-refine", "--no-practice", "--n-types", "2",
                              "--out", str(out)])
    assert res.exit_code == 0, (res.output, res.exception)
    population = load_population(out)
    record = population.record["candidates"]
    assert record["time_unit"] == 2.0 and record["time_unit_source"] == "median gap between a user's events"
    assert record["time_origin"] == 0.0 and record["categories"] == [f"f_{j}" for j in range(6)]
    assert decode_spec(population.params).practice is False and population.record["linear"]["n_types"] == 2
    assert "time unit: 2 (median gap between a user's events)" in res.output and "--max-feature" not in res.output


# ---------------------------------------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Tiny logs for the errors (each fails before any fit)."""
    root = tmp_path_factory.mktemp("fit-dynamics-errors")
    head = "user,time,item,reward,genre,group,f_0,f_1,f_2\n"
    (root / "ok.csv").write_text(head + "u1,2,a,1.0,news,x,1,0,0.5\nu1,1,b,0.5,gossip,x,0,1,0.5\n"
                                        "u2,1,a,0.2,news,y,1,0,0.5\n")
    (root / "mixed.csv").write_text(head + "u1,1,a,1.0,news,x,1,0,0\nu2,2,a,0.5,gossip,y,1,0,0\n")
    (root / "nonbinary.csv").write_text(head + "u1,1,a,1.0,news,x,1,0.5,0\nu2,2,b,0.5,news,y,0,1,0\n")
    (root / "rows.csv").write_text(head + "u1,1,a,1.0,news,x,1,0,0\nu2,2,a,0.5,news,y,0,0,0\n")
    (root / "zero.csv").write_text(head + "u1,1,a,1.0,news,x,1,0,0\nu2,2,b,0.5,news,y,1,0,0\n")
    return root


@pytest.mark.parametrize(("log", "extra", "message"), [
    ("ok.csv", [], "--categories: expected with --family linear_dynamics"),
    ("ok.csv", ["--categories", "nope"], "got no column 'nope' (columns: user, time, item"),
    ("ok.csv", ["--categories", "f_0,f_7"], "--categories: expected columns of the log, got no column 'f_7'"),
    ("ok.csv", ["--categories", "genre,group"], "--categories: expected f_* feature columns (0/1, comma-separated)"),
    ("ok.csv", ["--categories", "reward"], "other than user, time, item, reward, propensity, got 'reward'"),
    ("ok.csv", ["--categories", "f_2"], "--categories f_2: expected 0 or 1 for every item, got 0.5 for item 'a'"),
    ("nonbinary.csv", ["--categories", "f_0,f_1"], "--categories f_1: expected 0 or 1 for every item, got 0.5"),
    ("zero.csv", ["--categories", "f_0,f_1"], "--categories f_1: expected at least one item in the category"),
    ("mixed.csv", ["--categories", "genre"], "got item 'a' with 'news' in row 1 and 'gossip' in row 2"),
    ("rows.csv", ["--categories", "f_0"], "f_*: expected the same features in every row of an item, got item 'a'"),
    ("ok.csv", ["--categories", "genre", "--time-unit", "0"], "--time-unit: expected a positive number"),
    ("ok.csv", ["--categories", "genre", "--habit-half-lives", "8,4"], "--habit-half-lives: expected increasing"),
    ("ok.csv", ["--categories", "genre", "--exposure-half-lives", "1,x"], "--exposure-half-lives: expected half-"),
    ("ok.csv", ["--categories", "genre", "--dp-epsilon", "1", "--n-types", "2"], "--dp-epsilon: expected no diff"),
    ("ok.csv", ["--categories", "genre", "--fair-attribute", "group"], "--fair-attribute: expected no fair-types"),
    ("ok.csv", ["--categories", "genre", "--choose-space"], "--choose-space: expected no space choice with --family"),
])
def test_bad_input_is_one_error_naming_the_option(small, tmp_path, log, extra, message):
    out = tmp_path / "p.npz"
    res = runner.invoke(app, ["fit", "--log", str(small / log), "--family", "linear_dynamics", *extra,
                              "--out", str(out)])
    assert res.exit_code != 0 and message in str(res.exception), str(res.exception)
    assert not out.exists()


def test_dynamics_options_need_the_family(small, tmp_path):
    res = runner.invoke(app, ["fit", "--log", str(small / "ok.csv"), "--categories", "genre", "--no-practice",
                              "--out", str(tmp_path / "p.npz")])
    assert res.exit_code != 0
    assert str(res.exception) == ("--categories, --no-practice: expected only with --family linear_dynamics, got "
                                  "--family auto")
    res = runner.invoke(app, ["fit", str(small / "ok.csv"), "--family", "linear_dynamics", "--categories", "genre"])
    assert res.exit_code != 0 and "--family linear_dynamics: expected --log FILE" in str(res.exception)


def test_a_log_without_gaps_asks_for_the_time_unit(tmp_path):
    """No user has two events at different times: no median gap to default --time-unit to."""
    (tmp_path / "one.csv").write_text("user,time,item,reward,genre\nu1,1,a,1.0,news\nu2,1,a,0.5,news\n")
    res = runner.invoke(app, ["fit", "--log", str(tmp_path / "one.csv"), "--family", "linear_dynamics",
                              "--categories", "genre", "--out", str(tmp_path / "p.npz")])
    assert res.exit_code != 0 and "--time-unit: could not be chosen from the log" in str(res.exception)
