"""The response-dynamics family (``linear_dynamics``, ``warmstart.families.linear.dynamic_family``) driven through
the family protocol on a small ``Satiation-v0`` log: fit (the structure chosen on the training users), the
population file, a new user's belief (the dynamic state against ``history_states``, the type posterior against
the statistics'), serving with the generic policies against a static model, the state's bytes, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from warmstart.families.generic import TypeBelief, TypeBeliefFormatError, TypePopulation, fit_types, run_em
from warmstart.families.linear.dynamic_family import (
    LinearDynamics,
    candidate_rows,
    decode_spec,
    encode_spec,
    from_linear,
    static_dim,
    to_linear,
)
from warmstart.families.linear.dynamics import DynamicsSpec, LearnedDynamics, history_states
from warmstart.families.linear.dynamics_fit import DynamicsData, DynamicsFitConfig, fit_dynamics
from warmstart.families.linear.fit import FitConfig
from warmstart.families.linear.model import summarise_rows
from warmstart.families.registry import available_families, family, fit, load_population
from warmstart.policies import PolicyContext, make_policy
from warmstart.sim.satiation import SatiationConfig, SatiationPopulation

C = 6
QUICK = {"exposure_half_lives": (1.0, 2.0, 4.0), "habit_half_lives": (8.0, 16.0, 32.0), "refine_steps": 0,
         "polish_steps": 0, "practice": False, "fit": {"k_range": (1, 5), "n_init": 1, "split_merge": False}}


def events(log) -> DynamicsData:
    """A simulator log as events (user, time = the step, the served category, reward): static features are the
    categories themselves, nothing of the simulator's features is given."""
    N, T = log.action.shape
    cats = np.eye(C)[log.action.ravel()]
    return DynamicsData(np.repeat(np.arange(N), T), np.tile(np.arange(T), N).astype(float), cats, cats,
                        log.reward.ravel(), N)


@pytest.fixture(scope="module")
def truth():
    return SatiationPopulation(SatiationConfig())


@pytest.fixture(scope="module")
def data(truth):
    return events(truth.logged(300, 40, seed=0))


@pytest.fixture(scope="module")
def fitted(data):
    fam = family("linear_dynamics")
    return fit("linear_dynamics", fam.summarise(data), **QUICK)


def test_registered_and_fitted_with_the_structure_chosen_on_the_training_users(fitted):
    assert "linear_dynamics" in available_families()
    assert isinstance(fitted, TypePopulation) and fitted.family == "linear_dynamics"
    spec = decode_spec(fitted.params)
    assert spec.habit_categories == (5,)  # the simulator's clickbait, found from (user, time, category, reward)
    assert fitted.dim == C + C + 1 and static_dim(fitted.params) == C
    assert fitted.record["dynamics"]["spec"] == spec.to_dict()
    assert 2 <= fitted.n_types <= 6


def test_the_protocol_by_hand_is_the_linear_family_on_the_dynamic_features(fitted, data):
    """``initial``, ``e_step``, ``m_step``, ``log_evidence`` under a spec are the linear family's on the
    features that spec gives (the reference: ``DynamicsData.summary`` and ``linear_gaussian``)."""
    spec = decode_spec(fitted.params)
    fam, linear = LinearDynamics(spec), family("linear_gaussian")
    stats = fam.summarise(data)
    params, weights = fam.initial(stats, 3, np.random.default_rng(0))
    ref_params, ref_weights = linear.initial(data.summary(spec), 3, np.random.default_rng(0))
    np.testing.assert_array_equal(params["mu"], ref_params["mu"])
    ours = run_em(fam, stats, params, weights, max_iter=20)
    ref = run_em(linear, data.summary(spec), ref_params, ref_weights, max_iter=20)
    assert ours.loglik == pytest.approx(ref.loglik, rel=1e-12)
    assert decode_spec(ours.params) == spec and ours.params["dynamics"].shape[0] == ours.weights.size
    np.testing.assert_allclose(fam.log_evidence(stats, ours.params), linear.log_evidence(data.summary(spec), ref.params))
    assert fam.n_free(ours.params) == linear.n_free(ref.params)
    idx = np.array([7, 2, 250])
    np.testing.assert_allclose(fam.take(stats, idx).summary(spec).b, data.summary(spec).b[idx])
    generic = fit_types(fam, stats, n_types=2, n_init=1, max_iter=30)  # the generic EM driver runs it too
    assert generic.family == "linear_dynamics" and decode_spec(generic.params) == spec


def test_population_file_round_trip(fitted, tmp_path):
    back = load_population(fitted.save(tmp_path / "dynamics.npz"))
    assert isinstance(back, TypePopulation) and back.fingerprint() == fitted.fingerprint()
    assert decode_spec(back.params) == decode_spec(fitted.params) and back.record == fitted.record


def test_a_new_users_belief_keeps_the_state_and_the_exact_type_posterior(fitted, truth):
    """The belief after a user's events: the dynamic state is ``history_states``' (with gaps of 1 and 3 units),
    and the type posterior is the population's posterior from the user's statistics."""
    spec = decode_spec(fitted.params)
    log = truth.logged(1, 25, seed=5)
    times = np.cumsum(np.where(np.arange(25) % 4 == 0, 3.0, 1.0))
    cats = np.eye(C)[log.action[0]]
    data = DynamicsData(np.zeros(25, dtype=np.int64), times, cats, cats, log.reward[0], 1)
    belief = TypeBelief.fresh(fitted)
    for t in range(25):
        belief.observe(candidate_rows(cats[t : t + 1], cats[t : t + 1], times[t])[0], float(log.reward[0, t]))
    np.testing.assert_allclose(belief.type_probs(), fitted.posterior(fitted.model.summarise(data))[0], rtol=1e-8)
    # the state one unit after the last event is history_states' state before an event at that time
    later = np.r_[times, times[-1] + 1.0]
    states = history_states(np.zeros(26, dtype=np.int64), later, np.vstack([cats, cats[:1]]), spec)
    X = candidate_rows(np.eye(C), np.eye(C), later[-1])
    feats = fitted.model.features(belief.state, fitted.params, X)
    np.testing.assert_allclose(feats[:, C : 2 * C], np.eye(C) * states.exposure[-1], atol=1e-12)
    np.testing.assert_allclose(feats[:, 2 * C], states.habit[-1][list(spec.habit_categories)].sum(), rtol=1e-12)
    assert belief.state["count"].sum() == 25 and belief.state["clock"].tolist() == [1.0, times[-1]]


def _static_population(data: DynamicsData) -> TypePopulation:
    """The static model: the linear family on the categories alone (no history), fitted on the same log."""
    stats = summarise_rows(data.user, data.static, data.reward, data.n_users)
    return fit_types(family("linear_gaussian"), stats, k_range=(1, 5), n_init=1)


def _serve(policy, truth, users, dynamic: bool, steps: int = 60, seed: int = 0) -> np.ndarray:
    """Engagement (the simulator's mean reward of what was served), ``(n_users, steps)``."""
    dyn = truth.dynamics
    out = np.empty((len(users), steps))
    for u in range(len(users)):
        state, e, h = policy.new_user(), np.zeros(C), np.zeros(())
        noise = truth.config.noise_sd * np.random.default_rng([seed, u]).standard_normal(steps)
        for t in range(steps):
            means = dyn.features(e, h) @ users.theta[u]
            X = candidate_rows(np.eye(C), np.eye(C), float(t)) if dynamic else np.eye(C)
            a = policy.act(state, X).action
            policy.update(state, X, a, float(means[a] + noise[t]))
            out[u, t] = means[a]
            e, h = dyn.advance(e, h, np.asarray(a))
    return out


def test_serving_with_type_greedy_beats_a_static_model_on_satiating_users(fitted, data, truth):
    users = truth.sample_users(20, np.random.default_rng(11))
    static = make_policy("type_greedy", PolicyContext(population=_static_population(data)), seed=0)
    ours = make_policy("type_greedy", PolicyContext(population=fitted), seed=0)
    got, base = _serve(ours, truth, users, True), _serve(static, truth, users, False)
    diff = got.mean(1) - base.mean(1)
    assert diff.mean() > 0.1 and (diff > 0).mean() >= 0.8, (got.mean(), base.mean())
    # Thompson sampling serves it too, and better than on the static model
    few = truth.sample_users(8, np.random.default_rng(12))
    ts = make_policy("type_ts", PolicyContext(population=fitted), seed=0)
    static_ts = make_policy("type_ts", PolicyContext(population=_static_population(data)), seed=0)
    got_ts, base_ts = _serve(ts, truth, few, True, steps=40), _serve(static_ts, truth, few, False, steps=40)
    assert got_ts.mean() > base_ts.mean(), (got_ts.mean(), base_ts.mean())


def test_type_plan_plans_with_the_learned_dynamics(fitted, truth):
    """``type_plan`` (``mixture_plan``'s planner on the family's belief, the state kept in it) keeps more of the
    users' long-run engagement (steps 101-150) than the myopic ``type_greedy`` on the same fitted population."""
    users = truth.sample_users(12, np.random.default_rng(13))
    plan = make_policy("type_plan", PolicyContext(population=fitted), seed=0)
    greedy = make_policy("type_greedy", PolicyContext(population=fitted), seed=0)
    got, base = _serve(plan, truth, users, True, steps=150), _serve(greedy, truth, users, True, steps=150)
    assert got[:, 100:].mean() > base[:, 100:].mean(), (got[:, 100:].mean(), base[:, 100:].mean())
    assert plan.settings()["dynamics"]["clickbait"] == [5]
    state = plan.new_user()
    X = candidate_rows(np.eye(C), np.eye(C), 0.0)
    plan.update(state, X, plan.act(state, X).action, 2.0)
    assert plan.state_from_bytes(plan.state_to_bytes(state)).state["clock"].tolist() == [1.0, 0.0]


def test_the_state_round_trips_through_bytes(fitted):
    policy = make_policy("type_ts", PolicyContext(population=fitted), seed=0)
    state, rng = policy.new_user(), np.random.default_rng(1)
    for t in range(12):
        X = candidate_rows(np.eye(C), np.eye(C), 2.0 * t)
        policy.update(state, X, policy.act(state, X).action, float(rng.normal(2.0, 0.5)))
    back = policy.state_from_bytes(policy.state_to_bytes(state))
    for key in state.state:
        np.testing.assert_array_equal(back.state[key], state.state[key])
    np.testing.assert_array_equal(back.type_probs(), state.type_probs())
    X = candidate_rows(np.eye(C), np.eye(C), 30.0)
    a, b = policy.clone(), policy.clone()
    assert [a.act(state, X).action for _ in range(5)] == [b.act(back, X).action for _ in range(5)]
    other = TypePopulation(family="linear_dynamics", weights=fitted.weights,
                           params={**fitted.params, "dynamics": encode_spec(
                               DynamicsSpec(n_categories=C, habit_categories=(5,)), fitted.n_types)})
    with pytest.raises(TypeBeliefFormatError, match="another population"):
        TypeBelief.from_bytes(policy.state_to_bytes(state), other)


def test_bad_input_names_the_field(fitted):
    belief = TypeBelief.fresh(fitted)
    X = candidate_rows(np.eye(C), np.eye(C), 5.0)
    with pytest.raises(ValueError, match=r"x: expected shape \(13\), got shape \(12,\)"):
        belief.observe(X[0, :-1], 1.0)
    with pytest.raises(ValueError, match="x: expected candidates of shape"):
        fitted.model.observe(belief.state, fitted.params, X[0, :-1], 1.0)
    with pytest.raises(ValueError, match="reward: expected finite numbers"):
        belief.observe(X[0], float("nan"))
    with pytest.raises(ValueError, match="reward: expected a finite number"):
        fitted.model.check_reward(float("inf"))
    policy = make_policy("type_greedy", PolicyContext(population=fitted), seed=0)
    state = policy.new_user()
    with pytest.raises(ValueError, match="actions"):
        policy.act(state, np.eye(C))  # the static features alone: no categories, no time
    with pytest.raises(ValueError, match="reward"):
        policy.update(state, X, 0, float("nan"))
    policy.update(state, X, 0, 1.0)
    with pytest.raises(ValueError, match=r"X: expected times \(column 12\) not before the user's latest event"):
        policy.act(state, candidate_rows(np.eye(C), np.eye(C), 4.0))
    assert state.n == 1.0  # nothing changed by the bad input
    with pytest.raises(ValueError, match=r"params\['dynamics'\]: expected layout version 1"):
        decode_spec({"dynamics": np.r_[2.0, encode_spec(DynamicsSpec(n_categories=2), 1)[0, 1:]][None]})
    with pytest.raises(ValueError, match=r"params\['dynamics'\]: expected the same structure for every type"):
        decode_spec({"dynamics": np.vstack([encode_spec(DynamicsSpec(n_categories=2), 1),
                                            encode_spec(DynamicsSpec(n_categories=2, practice=True), 1)])})
    with pytest.raises(ValueError, match="n_categories: a TrainingLog's candidates"):
        LinearDynamics().summarise(truth_log_stub())


def truth_log_stub():
    from warmstart.data.bandit_log import TrainingLog

    return TrainingLog(np.zeros((1, 1, 2, 3)), np.zeros((1, 1), dtype=int), np.ones((1, 1)), np.zeros((1, 1)))


def test_a_population_of_the_dynamics_bench_is_saved_and_served(truth, tmp_path):
    """``fit_dynamics`` (what ``warmstart bench dynamics`` fits: the linear family's ``Population``) becomes a
    population of this family, saved, loaded by the registry and served; ``to_linear`` gives it back to
    ``mixture_plan`` with ``LearnedDynamics``."""
    cfg = DynamicsFitConfig(**{**QUICK, "fit": FitConfig(n_types=3, split_merge=False)})
    linear, spec = fit_dynamics(events(truth.logged(120, 30, seed=1)), cfg)
    ours = load_population(from_linear(linear).save(tmp_path / "bench.npz"))
    assert isinstance(ours, TypePopulation) and decode_spec(ours.params) == spec
    np.testing.assert_array_equal(ours.params["mu"], linear.components.mu)
    policy = make_policy("type_greedy", PolicyContext(population=ours), seed=0)
    state = policy.new_user()
    X = candidate_rows(np.eye(C), np.eye(C), 0.0)
    policy.update(state, X, policy.act(state, X).action, 2.0)
    back, back_spec = to_linear(ours)
    assert back.fingerprint() == linear.fingerprint() and back_spec == spec
    dyn = LearnedDynamics(back_spec)
    plan = make_policy("mixture_plan", PolicyContext(population=back), dynamics=dyn, seed=0)
    assert 0 <= plan.act(plan.new_user(), dyn.candidates(dyn.new_state())).action < C


def test_type_plan_decides_as_mixture_plan_given_the_learned_dynamics(fitted, truth):
    """The reference: ``mixture_plan`` on the same population as the linear family's (``to_linear``), planning
    with ``LearnedDynamics`` while the caller keeps the user's state from what was served (what ``bench dynamics``
    does). ``type_plan`` keeps the state in the belief itself; the decisions and propensities are the same."""
    linear, spec = to_linear(fitted)
    dyn = LearnedDynamics(spec)
    ours = make_policy("type_plan", PolicyContext(population=fitted), seed=4)
    ref = make_policy("mixture_plan", PolicyContext(population=linear), dynamics=dyn, seed=4)
    users = truth.sample_users(3, np.random.default_rng(21))
    for u in range(3):
        mine, theirs, tracked = ours.new_user(), ref.new_user(), dyn.new_state()
        noise = np.random.default_rng([7, u]).standard_normal(60)
        e, h = np.zeros(C), np.zeros(())
        for t in range(60):
            X, features = candidate_rows(np.eye(C), np.eye(C), float(t)), dyn.candidates(tracked)
            np.testing.assert_allclose(fitted.model.features(mine.state, fitted.params, X), features, atol=1e-9)
            a, b = ours.act(mine, X), ref.act(theirs, features)
            assert a.action == b.action
            np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-9)
            reward = float(truth.dynamics.features(e, h)[a.action] @ users.theta[u] + 0.5 * noise[t])
            ours.update(mine, X, a.action, reward)
            ref.update(theirs, features, b.action, reward)
            tracked = dyn.step(tracked, a.action)
            e, h = truth.dynamics.advance(e, h, np.asarray(a.action))
        np.testing.assert_allclose(mine.type_probs(), theirs.type_probs(), atol=1e-9)


@pytest.mark.parametrize("spec", [
    DynamicsSpec(n_categories=3, exposure_decay=0.6, habit_decay=0.9, habit_categories=(0, 2), practice=True),
    DynamicsSpec(n_categories=3, exposure_decay=0.8, habit_decay=0.97, habit_categories=(1, 2),
                 per_category_habit=True, per_category=False, practice=True, time_unit=60.0),
    DynamicsSpec(n_categories=3, exposure_decay=0.5, habit_decay=0.9),
])
def test_the_belief_computes_the_fits_features_before_every_event(spec):
    """Brute-force reference: the features the belief computes for each event from the events before it (one
    at a time, ``observe``) equal those the fit computes from the whole history (``DynamicsData.rows``), for
    items of several categories, irregular gaps, practice, per-category habit stocks and a time unit."""
    rng = np.random.default_rng(0)
    n, p = 30, 2
    time = np.cumsum(rng.exponential(spec.time_unit * 1.5, size=n))
    cats = (rng.random((n, 3)) < 0.4).astype(float)
    static = rng.normal(size=(n, p))
    data = DynamicsData(np.zeros(n, dtype=np.int64), time, cats, static, rng.normal(size=n), 1)
    rows = data.rows(spec)
    D = rows.shape[1]
    params = {"mu": rng.normal(size=(2, D)), "cov": np.stack([np.eye(D)] * 2), "noise_var": np.ones(2),
              "dynamics": encode_spec(spec, 2)}
    population = TypePopulation(family="linear_dynamics", weights=np.array([0.5, 0.5]), params=params)
    assert population.dim == p + 3 + 1
    belief = TypeBelief.fresh(population)
    for t in range(n):
        x = candidate_rows(static[t : t + 1], cats[t : t + 1], time[t])
        np.testing.assert_allclose(population.model.features(belief.state, params, x)[0], rows[t], atol=1e-10)
        belief.observe(x[0], float(data.reward[t]))
    stats = population.model.summarise(data)
    np.testing.assert_allclose(belief.type_probs(), population.posterior(stats)[0], rtol=1e-9)


def test_fitted_from_an_event_log_with_timestamps():
    """Events as a product logs them (user, timestamp in seconds, item, reward) and the items' categories: the
    family fits from them (``DynamicsData.from_events``, the decays per ``time_unit`` seconds) and serves."""
    from warmstart.data.events import EventData
    from warmstart.families.linear.dynamics_fit import _example_data

    base = _example_data(n_users=80, seed=3, n_events=20)  # 2 categories, one event per unit of time
    items = np.array(["news", "gossip"])[base.cats.argmax(1)]
    events = EventData.from_rows([f"u{u}" for u in base.user], 3600.0 * base.time, items, base.reward)
    # EventData numbers items in sorted order (gossip 0, news 1); categories: news 0, gossip 1
    data = DynamicsData.from_events(events, np.eye(2)[[1, 0]])
    cfg = {**QUICK, "time_unit": 3600.0, "fit": {"n_types": 2, "split_merge": False}}
    population = fit("linear_dynamics", family("linear_dynamics").summarise(data), **cfg)
    spec = decode_spec(population.params)
    assert spec.time_unit == 3600.0 and spec.habit_categories == (1,)  # gossip builds the habit
    policy = make_policy("type_greedy", PolicyContext(population=population), seed=0)
    state = policy.new_user()
    X = candidate_rows(np.eye(2), np.eye(2), 1.7e9)
    policy.update(state, X, policy.act(state, X).action, 2.0)
    assert state.n == 1.0


def test_the_batched_forms_agree_with_one_user_at_a_time_and_refuse_as_a_whole(fitted):
    policy = make_policy("type_ts", PolicyContext(population=fitted), seed=2)
    one, many = policy.clone(), policy.clone()
    singles, batch = [one.new_user() for _ in range(3)], [many.new_user() for _ in range(3)]
    rng = np.random.default_rng(4)
    for t in range(8):
        Xs = np.stack([candidate_rows(np.eye(C), np.eye(C), float(t + u)) for u in range(3)])
        rewards = rng.normal(2.0, 0.5, size=3)
        decided = many.act_many(batch, Xs)
        assert [d.action for d in decided] == [one.act(s, X).action for s, X in zip(singles, Xs)]
        many.update_many(batch, Xs, [d.action for d in decided], rewards.tolist())
        for s, X, d, r in zip(singles, Xs, decided, rewards):
            one.update(s, X, d.action, float(r))
    for s, b in zip(singles, batch):
        np.testing.assert_array_equal(s.state["exposure"], b.state["exposure"])
        np.testing.assert_allclose(s.type_probs(), b.type_probs(), rtol=1e-12)
    before = [b.to_bytes() for b in batch]
    late = np.stack([candidate_rows(np.eye(C), np.eye(C), t) for t in (20.0, 3.0, 20.0)])  # user 1: too early
    with pytest.raises(ValueError, match="not before the user's latest event"):
        many.update_many(batch, late, [0, 0, 0], [1.0, 1.0, 1.0])
    assert [b.to_bytes() for b in batch] == before  # nobody's state changed
