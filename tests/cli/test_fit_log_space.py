"""`warmstart fit --log`: the item space and K chosen on the log's latest users (the default), kept in the
population file and printed; `--no-choose-space` is the fit it was before."""

import numpy as np
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.cli._common import CliError
from warmstart.data.events import EventData, save_events
from warmstart.families.generic import TypePopulation
from warmstart.families.linear.item_features import load_item_features
from warmstart.families.linear.population import Population
from warmstart.policies.registry import served_policy

runner = CliRunner()


def tastes_log(path, n_users=120, seed=0, liked=False):
    """Two kinds of users with opposite tastes over 15 items, no feature columns; the reward is the taste plus
    noise, or with ``liked`` 0/1 with P(like) logistic in three times the taste."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(2, size=n_users)
    rows = []
    for u in range(n_users):
        taste = np.linspace(-1, 1, 15) * (1 if kind[u] else -1)
        for t, i in enumerate(rng.choice(15, size=12, replace=False)):
            reward = (float(rng.random() < 1.0 / (1.0 + np.exp(-3.0 * taste[i]))) if liked
                      else taste[i] + 0.3 * rng.standard_normal())
            rows.append((f"user{u:03d}", 100 * u + t, f"item{i:02d}", reward))
    save_events(EventData.from_rows(*zip(*rows)), path)
    return path


def test_fit_log_chooses_the_space_and_k_and_keeps_the_table(tmp_path):
    log = tastes_log(tmp_path / "log.csv")
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "pop.npz"), "--k-max", "4"])
    assert res.exit_code == 0, res.output
    population = Population.load(tmp_path / "pop.npz")
    space = population.diagnostics.space
    assert population.diagnostics.selection == "early events" and space["config"]["n_types"] == [1, 2, 4]
    chosen = space["chosen"]["ours"]
    assert chosen["n_types"] == population.n_types >= 2 and chosen["space"]["n_factors"] >= 2
    assert space["n_validation_users"] == 24 and space["n_fit_users"] == 96
    _, features, meta = load_item_features(tmp_path / "pop.items.npz")
    assert features.shape == (15, population.dim) and meta["info"]["source"] == "learned"
    assert "item space and K" in res.stdout and "chosen by early events" in res.stdout
    # the item bias's penalty, chosen first on every user in folds, is recorded, printed and used by the refit
    bias = space["bias_penalty"]
    assert bias["chosen"] in (3.0, 10.0, 30.0, 100.0) and bias["n_users"] == 120
    assert population.diagnostics.item_features["factorisation"]["config"]["bias_reg"] == bias["chosen"]
    assert f"item bias penalty {bias['chosen']:g}" in res.stdout
    # the rounds of the items refined by the types, tried for ours and pooled: recorded, printed, and the
    # chosen count is in ours' space and in the refitted features' record
    refinement = space["refinement"]
    assert set(refinement) == {"ours", "pooled"} and refinement["ours"]["rounds_tried"] == [0, 1, 2]
    assert chosen["space"].get("type_rounds", 0) == refinement["ours"]["chosen"]
    assert population.diagnostics.item_features["space"]["name"] == chosen["space"]["name"]
    assert f"ours: items refined by the types, rounds tried 0: {refinement['ours']['scores'][0]:.4f}" in res.stdout
    # how ours acts, chosen by replaying the validation users, recorded and served when no policy is named
    decision = population.diagnostics.decision
    scores = decision["scores"]
    assert set(scores) == {"mixture_ids", "mixture_greedy"} and all(np.isfinite(v) for v in scores.values())
    assert decision["policy"] == max(scores, key=lambda d: (round(scores[d], 12), d == "mixture_ids"))
    assert served_policy(population) == decision["policy"] and f"serve with {decision['policy']}" in res.stdout
    # --type-rounds 0: no rounds tried, none recorded
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "r0.npz"), "--k-max", "4",
                              "--type-rounds", "0"])
    assert res.exit_code == 0, res.output
    none = Population.load(tmp_path / "r0.npz").diagnostics.space
    assert none["refinement"] == {} and "type_rounds" not in none["chosen"]["ours"]["space"]
    assert none["config"]["type_rounds"] == 0 and "items refined by the types" not in res.stdout
    # --n-types fixes K and leaves the space to choose
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "k3.npz"), "--n-types", "3"])
    assert res.exit_code == 0, res.output
    assert Population.load(tmp_path / "k3.npz").diagnostics.space["config"]["n_types"] == [3]


def test_type_rounds_is_checked(tmp_path):
    log = tastes_log(tmp_path / "log.csv", n_users=30)
    for extra, message in ((["--type-rounds", "-1"], "--type-rounds: expected a non-negative integer, got -1"),
                           (["--type-rounds", "3", "--no-choose-space"],
                            "--type-rounds: expected --log with the space choice")):
        res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "p.npz"), *extra])
        assert res.exit_code != 0 and isinstance(res.exception, CliError) and message in str(res.exception)
    assert not (tmp_path / "p.npz").exists()


def test_no_choose_space_is_the_fit_by_bic(tmp_path):
    log = tastes_log(tmp_path / "log.csv", n_users=60)
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "pop.npz"), "--k-max", "3",
                              "--no-choose-space"])
    assert res.exit_code == 0, res.output
    population = Population.load(tmp_path / "pop.npz")
    assert population.diagnostics.space is None and population.diagnostics.selection == "bic"
    assert population.dim == 4 and "item space and K" not in res.stdout  # 2 learned factors, as before


def test_fit_log_chooses_the_family_on_a_binary_log(tmp_path):
    """On a 0/1 log the family is chosen by the validation users' log loss, and the choice is kept in the
    file: the logistic family unless the linear one's log loss is clearly lower; the logistic population is
    served by the generic policy over the items' features."""
    from warmstart.families.registry import load_population
    from warmstart.policies.base import PolicyContext
    from warmstart.policies.registry import make_policy

    log = tastes_log(tmp_path / "liked.csv", liked=True)
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "auto.npz"), "--k-max", "2"])
    assert res.exit_code == 0, res.output
    assert "family (chosen:" in res.stdout
    auto = load_population(tmp_path / "auto.npz")
    record = auto.record["family"] if isinstance(auto, TypePopulation) else auto.diagnostics.family
    linear, logistic = record["linear_gaussian"], record["logistic_bernoulli"]
    best = min(logistic["by_n_types"].values(), key=lambda row: row["log_loss"])
    assert logistic["by_n_types"][str(logistic["n_types"])] == best and set(logistic["by_n_types"]) == {"1", "2"}
    lead = linear["log_loss"] - best["log_loss"]  # the linear family must lead by 2 standard errors
    winner = "linear_gaussian" if lead < -2 * record["margin_se"] else "logistic_bernoulli"
    assert record["chosen"] == winner and getattr(auto, "family", "linear_gaussian") == winner
    # named: the logistic family, with the space and the family's scores in its record
    res = runner.invoke(app, ["fit", "--log", str(log), "--out", str(tmp_path / "lg.npz"), "--n-types", "2",
                              "--family", "logistic_bernoulli"])
    assert res.exit_code == 0, res.output
    population = load_population(tmp_path / "lg.npz")
    assert population.family == "logistic_bernoulli" and population.n_types == 2
    assert population.record["family"]["chosen"] == "logistic_bernoulli (--family)"
    assert population.record["space"]["chosen"]["ours"]["n_types"] == 2 and population.record["selection"]
    _, features, _ = load_item_features(tmp_path / "lg.items.npz")
    decision = population.record["decision"]
    assert set(decision["scores"]) == {"type_ts", "type_greedy"} and served_policy(population) == decision["policy"]
    assert features.shape == (15, population.dim) and f"serve with {decision['policy']}" in res.stdout
    policy = make_policy("type_ts", PolicyContext(population=population), seed=0)
    state = policy.new_user()
    for _ in range(6):  # a user of the kind that likes the last items: the liked items come to be chosen
        decision = policy.act(state, features)
        policy.update(state, features, decision.action, float(decision.action >= 10))
    assert state.type_probs().max() > 0.9


def test_family_options_are_checked_with_the_field_named(tmp_path):
    ratings = tastes_log(tmp_path / "ratings.csv", n_users=30)
    for args, message in [
        (["--log", str(ratings), "--family", "poisson"],
         "--family: expected one of auto, linear_gaussian, logistic_bernoulli, linear_dynamics, got 'poisson'"),
        (["--log", str(ratings), "--family", "logistic_bernoulli"],
         "--family logistic_bernoulli: expected rewards 0 or 1 in --log, got values such as"),
        (["--log", str(ratings), "--family", "logistic_bernoulli", "--no-choose-space"], "expected --choose-space"),
        ([str(ratings), "--family", "linear_gaussian"], "--family linear_gaussian: expected --log FILE"),
    ]:
        res = runner.invoke(app, ["fit", *args, "--out", str(tmp_path / "x.npz")])
        assert isinstance(res.exception, CliError) and message in str(res.exception), (args, res.exception)
        assert not (tmp_path / "x.npz").exists()
