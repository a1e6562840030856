import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmstart.data.events import (
    EventData,
    events_from_log,
    export_events,
    from_kt,
    load_events,
    save_events,
)
from warmstart.data.kt import KTData
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation


@pytest.fixture(scope="module")
def sim_log():
    return LinearTypesPopulation(LinearTypesConfig(dim=3, n_actions=4)).logged(5, 4, seed=1)


def write(tmp_path, text: str, name: str = "log.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_same(a: EventData, b: EventData) -> None:
    for name in ("user", "time", "item", "reward", "starts", "user_ids", "item_ids"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("features", "propensity"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.time_kind == b.time_kind


# --- simulator round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_export_then_load_round_trips_a_simulator_log(sim_log, tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    path = export_events(sim_log, tmp_path / f"log{suffix}")
    ev = load_events(path)
    assert_same(ev, events_from_log(sim_log))
    N, T = sim_log.action.shape
    assert (ev.n_users, ev.n_events, ev.n_items, ev.dim) == (N, N * T, N * T, 3)
    np.testing.assert_array_equal(ev.reward, sim_log.reward.ravel())
    np.testing.assert_array_equal(ev.propensity, sim_log.propensity.ravel())
    np.testing.assert_array_equal(ev.features[ev.item], sim_log.chosen.reshape(N * T, 3))
    # users arrive in log order, each with their events in order
    assert ev.user_ids.tolist() == list(range(N))
    assert np.all(np.diff(ev.first_times()) > 0)
    assert ev.item_ids[0] == f"u0-t0-a{sim_log.action[0, 0]}"


def test_save_events_round_trips_timestamps_and_text_ids(tmp_path):
    ev = EventData.from_rows(["b", "a", "b"], ["2020-01-02T00:00:00Z", "2020-01-01 12:00:00", "2020-01-01T23:00:00"],
                             ["x", "y", "y"], [1, 0, 0.25])
    assert ev.time_kind == "timestamp"
    assert ev.time.tolist() == [1577880000.0, 1577919600.0, 1577923200.0]
    back = load_events(save_events(ev, tmp_path / "ev.csv"))
    assert_same(back, ev)


# --- parsing -----------------------------------------------------------------------------------------------


def test_load_sorts_users_and_times_and_reads_optional_columns(tmp_path):
    path = write(tmp_path, "user,time,item,reward,propensity,f_1,f_0,other\n"
                           "10,5,b,1.5,0.5,2,1,x\n"
                           "9,3,a,0,1,4,3,y\n"
                           "10,1,a,-1,0.25,4,3,z\n")
    ev = load_events(path)
    assert ev.user_ids.tolist() == [9, 10]  # integer ids sort numerically
    assert ev.user.tolist() == [0, 1, 1]
    assert ev.time.tolist() == [3.0, 1.0, 5.0]
    assert ev.item_ids.tolist() == ["a", "b"]
    assert ev.item.tolist() == [0, 0, 1]
    assert ev.reward.tolist() == [0.0, -1.0, 1.5]
    assert ev.propensity.tolist() == [1.0, 0.25, 0.5]
    assert ev.features.tolist() == [[3.0, 4.0], [1.0, 2.0]]  # f_0, f_1 in index order
    assert ev.lengths().tolist() == [1, 2]
    without = load_events(path, propensity=None, feature_prefix=None)
    assert without.propensity is None and without.features is None and without.dim is None


def test_custom_column_names_and_feature_prefix(tmp_path):
    path = write(tmp_path, "who,when,what,score,x0,x1\nu,2,i,1,0.5,1\nu,1,j,0,1,0\n")
    ev = load_events(path, user="who", time="when", item="what", reward="score", feature_prefix="x")
    assert ev.item_ids[ev.item].tolist() == ["j", "i"] and ev.features.shape == (2, 2)


def test_duplicate_user_time_item_rows_are_kept(tmp_path):
    path = write(tmp_path, "user,time,item,reward\nu,1,a,1\nu,1,a,0\nu,0,b,1\n")
    ev = load_events(path)
    assert ev.n_events == 3
    assert ev.item_ids[ev.item].tolist() == ["b", "a", "a"]
    assert ev.reward.tolist() == [1.0, 1.0, 0.0]  # ties keep file order


def test_text_user_ids_keep_leading_zeros(tmp_path):
    ev = load_events(write(tmp_path, "user,time,item,reward\n007,1,a,1\n7,1,a,0\n"))
    assert ev.user_ids.tolist() == ["007", "7"]


@given(st.permutations(range(8)))
@settings(max_examples=25, deadline=None)
def test_row_order_in_the_file_does_not_change_the_data(perm):
    users = np.array(["a", "b", "a", "c", "b", "a", "c", "c"])
    times = np.arange(8.0)[::-1]
    items = np.array(["x", "y", "z", "x", "x", "y", "z", "z"])
    rewards = np.linspace(-1, 1, 8)
    feats = {"x": [1.0, 0.0], "y": [0.0, 1.0], "z": [1.0, 1.0]}
    F = np.array([feats[i] for i in items])
    ref = EventData.from_rows(users, times, items, rewards, features=F)
    p = np.array(perm)
    assert_same(EventData.from_rows(users[p], times[p], items[p], rewards[p], features=F[p]), ref)


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("user,time,item\nu,1,a\n", r"expected columns reward='reward'"),
        ("user,item,reward\nu,a,1\n", r"time='time'"),
        ("user,time,item,reward\nu,1,a,nan\n", r"reward: expected finite numbers in every row, got nan in row 1"),
        ("user,time,item,reward\nu,1,a,1\nu,2,a,inf\n", r"reward: expected finite.*row 2"),
        ("user,time,item,reward\nu,1,a,yes\n", r"reward: expected a number in every row, got 'yes'"),
        ("user,time,item,reward\nu,1,a,\n", r"reward: expected a number in every row, got ''"),
        ("user,time,item,reward,propensity\nu,1,a,1,0\n", r"propensity: expected probabilities in \(0, 1\].*got 0.0"),
        ("user,time,item,reward,propensity\nu,1,a,1,1.5\n", r"propensity: expected probabilities in \(0, 1\]"),
        ("user,time,item,reward,propensity\nu,1,a,1,nan\n", r"propensity: expected probabilities"),
        ("user,time,item,reward\nu,1,a,1\nu,2020-01-01,a,1\n", r"time: expected all numbers or all ISO 8601"),
        ("user,time,item,reward\nu,yesterday,a,1\n", r"time: expected a number or an ISO 8601 timestamp.*'yesterday'"),
        ("user,time,item,reward\nu,nan,a,1\n", r"time: expected finite numbers"),
        ("user,time,item,reward\n,1,a,1\n", r"user: expected an id in every row, got an empty id in row 1"),
        ("user,time,item,reward\nu,1,,1\n", r"item: expected an item id in every row"),
        ("user,time,item,reward,f_0,f_1\nu,1,a,1,0,1\nv,1,a,1,0,2\n",
         r"f_\*: expected the same features in every row of an item, got item 'a'"),
        ("user,time,item,reward,f_0\nu,1,a,1,x\n", r"f_0: expected a number in every row, got 'x' in row 1"),
        ("user,time,item,reward,f_0,f_1\nu,1,a,1,0,inf\n", r"f_1: expected finite numbers in every row, got inf in row 1"),
        ("user,time,item,reward\nu,1,a,1\nu,2,a,1e160\n",
         r"reward: expected a finite number with \|value\| <= 1e\+06 \(max_reward\), got 1e\+160 in row 2"),
        ("user,time,item,reward,f_0,f_1\nu,1,a,1,0,1\nu,2,b,1,-1e308,1\n",
         r"f_0: expected a finite number with \|value\| <= 1e\+06 \(max_feature\), got -1e\+308 in row 2"),
        ("user,time,item,reward,f_0,f_2\nu,1,a,1,0,1\n", r"expected feature columns f_0..f_2 without gaps.*missing f_1"),
        ("user,time,item,reward\n", r"reward: expected at least one event, got an empty log"),
        ("", r"expected a header row, got an empty file"),
    ],
)
def test_bad_files_name_the_column_and_the_problem(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        load_events(write(tmp_path, text))


def test_the_bounds_are_an_argument(tmp_path):
    from warmstart._validate import Bounds

    path = write(tmp_path, "user,time,item,reward,f_0\nu,1,a,5e8,2e7\n")
    with pytest.raises(ValueError, match="max_reward"):
        load_events(path)
    with pytest.raises(ValueError, match="f_0.*max_feature"):
        load_events(path, bounds=Bounds(max_reward=1e9))
    assert load_events(path, bounds=Bounds(max_reward=1e9, max_feature=1e8)).reward.tolist() == [5e8]
    assert load_events(path, bounds=None).features.tolist() == [[2e7]]
    with pytest.raises(ValueError, match=r"reward: .* in row 2"):
        EventData.from_rows(["a", "b"], [1, 2], ["x", "y"], [0.5, -1e300])


def test_bad_paths_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match=r"expected a \.csv, \.csv\.gz, \.parquet or \.pq file, got 'log.txt'"):
        load_events(tmp_path / "log.txt")
    with pytest.raises(ValueError, match="expected a readable file"):
        load_events(tmp_path / "missing.csv")
    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress(b"user,time,item,reward\nu,1,a,1\n"))
    assert load_events(path).n_events == 1


def test_event_data_checks_its_layout():
    ev = EventData.from_rows(["a", "b"], [1, 2], ["x", "y"], [0.0, 1.0])
    with pytest.raises(ValueError, match="user: expected rows sorted by user"):
        EventData(user=np.array([1, 0]), time=ev.time, item=ev.item, reward=ev.reward, user_ids=ev.user_ids,
                  item_ids=ev.item_ids, starts=ev.starts)
    with pytest.raises(ValueError, match="time: expected each user's events in time order"):
        EventData(user=np.array([0, 0]), time=np.array([2.0, 1.0]), item=ev.item, reward=ev.reward,
                  user_ids=np.array(["a"]), item_ids=ev.item_ids, starts=np.array([0, 2]))
    with pytest.raises(ValueError, match=r"features: expected shape \(2, d\)"):
        EventData(user=ev.user, time=ev.time, item=ev.item, reward=ev.reward, user_ids=ev.user_ids,
                  item_ids=ev.item_ids, starts=ev.starts, features=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"features: expected shape \(3, d\), one row per event"):
        EventData.from_rows(["a", "b", "c"], [1, 2, 3], ["x", "y", "x"], [0, 1, 0], features=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="user_indices: expected indices in"):
        ev.subset([2])


def test_subset_keeps_items_and_features():
    ev = EventData.from_rows(["a", "b", "b"], [3, 1, 2], ["x", "y", "x"], [0.0, 1.0, 2.0],
                             features=np.array([[1.0], [2.0], [1.0]]))
    s = ev.subset([1])
    assert s.user_ids.tolist() == ["b"] and s.reward.tolist() == [1.0, 2.0]
    assert s.item_ids.tolist() == ["x", "y"] and s.features.tolist() == [[1.0], [2.0]]
    assert s.first_times().tolist() == [1.0]


# --- knowledge tracing -------------------------------------------------------------------------------------


def test_from_kt_maps_students_skills_and_correctness():
    kt = KTData.from_responses(["s2", "s1", "s2", "s1"], [0, 1, 1, 1], [1, 0, 0, 1], skill_names=["add", "sub"])
    ev = from_kt(kt)
    assert ev.user_ids.tolist() == ["s1", "s2"]
    assert ev.item_ids.tolist() == ["add", "sub"]
    assert ev.item_ids[ev.item].tolist() == ["sub", "sub", "add", "sub"]
    assert ev.reward.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert ev.features is None and ev.propensity is None
    # time is the row order: students one after another, so first events follow the student order
    assert ev.first_times().tolist() == [0.0, 2.0]
