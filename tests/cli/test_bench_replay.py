"""`warmstart bench replay`: binary rewards from a threshold, the policies replayed, MovieLens's genre features,
and one-line errors for options that do not go together."""

import csv
import json

import numpy as np
import pytest
from support.cli import run


@pytest.fixture(scope="module")
def ratings(tmp_path_factory):
    """A small log of star ratings: 80 users, 12 items each, two kinds of taste."""
    path = tmp_path_factory.mktemp("replay") / "ratings.csv"
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["user", "time", "item", "reward"])
        for u in range(80):
            taste = u % 2
            for t, item in enumerate(rng.permutation(30)[:12]):
                stars = np.clip(np.round(2 * (3 + (1.5 if (item % 2) == taste else -1.0) + rng.normal(0, 0.5))) / 2,
                                0.5, 5)
                w.writerow([u, 100 * u + t, f"m{item}", stars])
    return path


def test_liked_at_makes_binary_rewards_and_the_first_policy_is_ours(ratings, tmp_path):
    proc = run("bench", "replay", "--log", ratings, "--liked-at", "4", "--steps", "10",
               "--policies", "pooled_ts,popularity,random", "--out", tmp_path)
    doc = json.loads((tmp_path / "replay.json").read_text())
    assert doc["data"]["source"]["liked_at"] == 4.0 and 0 < doc["data"]["mean_reward"] < 1
    assert list(doc["policies"]) == ["pooled_ts", "popularity", "random"]
    assert doc["paired"]["ours"] == "pooled_ts" and set(doc["paired"]["vs"]) == {"popularity", "random"}
    for p in doc["policies"].values():
        assert set(p["mean_reward"]) == {"1-5", "1-10"} and all(0 <= v <= 1 for v in p["mean_reward"].values())
    assert "pooled_ts minus each policy" in proc.stdout and "oracle_user" in proc.stdout
    # the space and K are chosen on the training users by default; the peer is served in its own space
    assert doc["config"]["choose"] and doc["fit"]["policies"]["pooled_ts"]["chosen_for"] == "pooled"
    assert "item space and K chosen on" in proc.stdout
    # 0/1 rewards: ours' family is chosen on the validation users too (no extra policy without ours)
    assert doc["fit"]["family"]["chosen"] in ("linear_gaussian", "logistic_bernoulli")
    assert "ours' family chosen on the validation users" in proc.stdout


def test_no_choose_shares_one_fit(ratings, tmp_path):
    proc = run("bench", "replay", "--log", ratings, "--steps", "5", "--policies", "mixture_ids,random",
               "--no-choose", "--out", tmp_path)
    doc = json.loads((tmp_path / "replay.json").read_text())
    assert not doc["config"]["choose"] and "space" not in doc["fit"]
    assert "item space and K chosen on" not in proc.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--log", "{ratings}", "--genres"], "--genres: expected with --data movielens, got '--log'"),
    (["--data", "netflix"], "--data: expected assistments2009 or movielens, got 'netflix'"),
    (["--log", "{ratings}", "--policies", "oracle"], "policies: 'oracle' needs the simulator's ground truth"),
    (["--log", "{ratings}", "--liked-at", "nan"], "--liked-at: expected a finite number"),
])
def test_bad_options_are_one_line_errors(ratings, tmp_path, args, message):
    args = [a.format(ratings=ratings) for a in args]
    proc = run("bench", "replay", "--out", tmp_path, *args, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr


def test_movielens_genre_features_are_the_19_genres_and_a_constant():
    from warmstart.data.movielens import load_movielens, load_movielens_movies, movielens_genre_features

    events = load_movielens()  # shipped with warmstart
    features, names = movielens_genre_features(events, load_movielens_movies())
    assert features.shape == (events.n_items, 20) and len(names) == 19 and "(no genres listed)" not in names
    assert (features[:, 0] == 1).all() and set(np.unique(features)) == {0.0, 1.0}
    toy_story = list(events.item_ids).index("1")
    assert [names[j - 1] for j in np.flatnonzero(features[toy_story])[1:]] == [
        "Adventure", "Animation", "Children", "Comedy", "Fantasy"]
