import numpy as np
import pytest

from warmstart.data.bandit_log import TrainingLog
from warmstart.families.linear.model import summarise_log
from warmstart.policies.base import Decision, PolicyContext
from warmstart.policies.club import ClubPolicy, confidence_bound
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation

DIM = 10


@pytest.fixture(scope="module")
def sim() -> LinearTypesPopulation:
    return LinearTypesPopulation(LinearTypesConfig())


def as_training_log(log) -> TrainingLog:
    return TrainingLog(log.candidates, log.action, log.propensity, log.reward)


@pytest.fixture(scope="module")
def context(sim) -> PolicyContext:
    return PolicyContext(dim=DIM, train_log=as_training_log(sim.logged(300, 20, seed=0)))


@pytest.fixture(scope="module")
def policy(context) -> ClubPolicy:
    return ClubPolicy(context, seed=0)


def rollout(policy, theta, steps, seed, n_actions=20):
    """Play ``steps`` rounds for one user; returns actions and the per-step regret."""
    rng = np.random.default_rng(seed)
    state = policy.new_user()
    actions, regret = [], []
    for _ in range(steps):
        X = rng.standard_normal((n_actions, DIM)) / np.sqrt(DIM)
        d = policy.act(state, X)
        means = X @ theta
        policy.update(state, X, d.action, float(means[d.action] + 0.5 * rng.standard_normal()))
        actions.append(d.action)
        regret.append(means.max() - means[d.action])
    return actions, np.array(regret), state


def test_registered_under_its_name_with_its_settings(policy):
    assert ClubPolicy.name == "club" and ClubPolicy.needs_train_log
    s = policy.settings()
    assert (s["alpha"], s["alpha_2"], s["reg"]) == (0.25, 1.5, 0.25)
    assert s["n_train_users"] == 300 and s["n_clusters"] == policy.n_clusters >= 1


def test_construction_needs_a_valid_training_log(sim, context):
    with pytest.raises(ValueError, match="training log"):
        ClubPolicy(PolicyContext(dim=DIM))
    log = context.train_log
    with pytest.raises(ValueError, match="candidates"):
        ClubPolicy(PolicyContext(dim=DIM + 1, train_log=log))
    with pytest.raises(ValueError, match="action"):
        ClubPolicy(
            PolicyContext(
                dim=DIM, train_log=TrainingLog(log.candidates, log.action + 50, log.propensity, log.reward)
            )
        )
    with pytest.raises(ValueError, match="alpha_2"):
        ClubPolicy(context, alpha_2=-1.0)


def test_padding_is_skipped_and_empty_users_are_left_out(sim):
    log = sim.logged(4, 6, seed=1)
    action = log.action.copy()
    action[0, 3:] = -1
    action[1, :] = -1
    padded = TrainingLog(log.candidates, action, log.propensity, log.reward)
    stats = summarise_log(padded)
    A, b, n = stats.A, stats.b, stats.n
    assert n.tolist() == [3, 0, 6, 6]
    x = log.chosen[0, :3]
    np.testing.assert_allclose(A[0], x.T @ x)
    np.testing.assert_allclose(b[0], x.T @ log.reward[0, :3])
    assert np.all(A[1] == 0) and np.all(b[1] == 0)
    assert ClubPolicy(PolicyContext(dim=DIM, train_log=padded)).n_train_users == 3


def test_decisions_are_valid_and_one_hot(policy, sim):
    theta = sim.sample_users(1, np.random.default_rng(3)).theta[0]
    rng = np.random.default_rng(4)
    state = policy.new_user()
    for _ in range(20):
        X = rng.standard_normal((20, DIM)) / np.sqrt(DIM)
        d = policy.act(state, X)
        assert isinstance(d, Decision) and isinstance(d.action, int) and 0 <= d.action < 20
        assert d.propensity == 1.0
        assert (
            d.probabilities.shape == (20,)
            and d.probabilities.sum() == 1.0
            and d.probabilities[d.action] == 1.0
        )
        policy.update(state, X, d.action, float(X[d.action] @ theta))


def test_same_seed_gives_the_same_actions(context, sim):
    theta = sim.sample_users(1, np.random.default_rng(5)).theta[0]
    a1, _, _ = rollout(ClubPolicy(context, seed=7), theta, 30, seed=11)
    a2, _, _ = rollout(ClubPolicy(context, seed=7), theta, 30, seed=11)
    assert a1 == a2


def test_ties_are_broken_by_the_policys_generator(context):
    # identical candidates tie exactly; the choice must come from the seeded generator
    X = np.tile(np.linspace(-1, 1, DIM), (8, 1))
    policy_a, policy_b = ClubPolicy(context, seed=3), ClubPolicy(context, seed=3)
    sa, sb = policy_a.new_user(), policy_b.new_user()
    seq_a = [policy_a.act(sa, X).action for _ in range(20)]
    seq_b = [policy_b.act(sb, X).action for _ in range(20)]
    assert seq_a == seq_b and len(set(seq_a)) > 1


def test_edge_deletion_keeps_the_aggregates_consistent(policy, sim):
    theta = sim.sample_users(1, np.random.default_rng(8)).theta[0]
    rng = np.random.default_rng(9)
    state = policy.new_user()
    seen = [state.n_connected]
    for _ in range(40):
        X = rng.standard_normal((20, DIM)) / np.sqrt(DIM)
        d = policy.act(state, X)
        policy.update(state, X, d.action, float(X[d.action] @ theta + 0.5 * rng.standard_normal()))
        seen.append(state.n_connected)
        np.testing.assert_allclose(state.agg_A, policy.cluster_A[state.connected].sum(axis=0), atol=1e-9)
        np.testing.assert_allclose(state.agg_b, policy.cluster_b[state.connected].sum(axis=0), atol=1e-9)
    assert seen == sorted(seen, reverse=True) and seen[-1] < seen[0]
    # every cluster still connected passes CLUB's test against the user's own ridge estimate
    w_u = np.linalg.solve(policy.reg * np.eye(DIM) + state.A, state.b)
    gap = np.linalg.norm(policy.cluster_w[state.connected] - w_u, axis=1)
    assert np.all(gap <= policy.alpha_2 * (confidence_bound(state.n) + policy.cluster_cb[state.connected]))


def test_learns_a_new_user_far_better_than_random(policy, sim, uniform_regret):
    theta = sim.sample_users(1, np.random.default_rng(21)).theta[0]
    _, regret, _ = rollout(policy, theta, 150, seed=22)
    random_regret = uniform_regret(theta, 150, seed=22)  # same candidate sets
    assert regret[-50:].mean() < 0.25 * random_regret[-50:].mean()


def test_clusters_recover_the_planted_types(sim):
    log = sim.logged(1000, 30, seed=2)
    policy = ClubPolicy(PolicyContext(dim=DIM, train_log=as_training_log(log)))
    labels, types = policy.labels, log.users.type_id
    sizes = np.bincount(labels)
    big = np.flatnonzero(sizes >= 10)
    assert 5 <= big.size <= 12
    majority = {}
    for c in big:
        counts = np.bincount(types[labels == c] + 1)
        assert counts.max() / counts.sum() >= 0.9  # pure
        majority[c] = int(counts.argmax()) - 1
    # each of the seven majority types has its own large cluster holding at least half of it
    for k in range(7):
        own = [c for c in big if majority[c] == k]
        assert len(own) >= 1
        assert max((labels[types == k] == c).mean() for c in own) >= 0.5
