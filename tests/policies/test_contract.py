import numpy as np
import pytest

from warmstart.data.bandit_log import training_log
from warmstart.policies.base import PolicyContext
from warmstart.policies.baselines import UniformRandom as RandomPolicy
from warmstart.policies.check import check_policy
from warmstart.policies.registry import available_policies, make_policy

EXPECTED = {"mixture_ts", "mixture_ids", "mixture_ids_cp", "mixture_greedy", "mixture_plan", "oracle_plan", "from_scratch_ts", "pooled_ts", "club", "vw_pooled", "oracle_type",
            "oracle", "random", "floored"}
FAST = {"vw_pooled": {"pretrain_events": 300}}


@pytest.fixture(scope="module")
def context(population, small_log):
    return PolicyContext(dim=10, population=population, train_log=training_log(small_log))


def test_every_expected_policy_is_registered():
    assert EXPECTED <= set(available_policies())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_policy_passes_the_public_check(name, context):
    if name == "vw_pooled":
        pytest.importorskip("vowpalwabbit")
    check_policy(name, context, **FAST.get(name, {}))


def test_unknown_policy_and_missing_context_are_clear(population):
    with pytest.raises(ValueError, match="policy: expected one of"):
        make_policy("nope", PolicyContext(dim=10, population=population))
    with pytest.raises(ValueError, match="population"):
        make_policy("mixture_ts", PolicyContext(dim=10))
    with pytest.raises(ValueError, match="ground truth"):
        make_policy("oracle", PolicyContext(dim=10)).new_user()


@pytest.mark.parametrize("name", ["random", "mixture_ts"])
def test_numbers_beyond_float64_are_bad_input(name, context):
    """A Python int too large for a float (``10**400``) is a ``ValueError`` naming the field, not an
    ``OverflowError``, and changes nothing."""
    policy = make_policy(name, context, seed=0)
    state = policy.new_user()
    X = np.eye(10)
    with pytest.raises(ValueError, match="^reward: expected a finite number, got one beyond float64's range$"):
        policy.update(state, X, 0, 10**400)
    with pytest.raises(ValueError, match="^actions: expected finite numbers, got one beyond float64's range$"):
        policy.act(state, [[10**400] + [0] * 9])
    with pytest.raises(ValueError, match=r"^rewards\[1\]: reward: expected a finite number"):
        policy.update_many([state, state], np.stack([X, X]), [0, 0], [1.0, 10**400])
    if name == "mixture_ts":
        assert policy.summarise_state(state).n_events == 0


def test_mixture_policies_identify_the_type_quickly(context, truth):
    rng = np.random.default_rng(0)
    users = truth.sample_users(30, rng, kind="population")
    for name in ("mixture_ids", "mixture_ts", "mixture_ids_cp", "mixture_greedy"):
        hits = 0
        policy = make_policy(name, context, seed=1)
        for u in range(len(users)):
            if users.type_id[u] < 0:
                hits += 1
                continue
            state = policy.new_user()
            for _ in range(10):
                X = truth.candidates(rng, ())
                a = policy.act(state, X).action
                policy.update(state, X, a, float(X[a] @ users.theta[u] + 0.5 * rng.normal()))
            # the fitted component whose mean is closest to the true type mean should hold the most mass
            k = int(np.argmax(state.type_probs()))
            means = context.population.components.mu[: context.population.n_types]
            true_k = int(np.argmin(((means - truth.type_means[users.type_id[u]]) ** 2).sum(1)))
            hits += k == true_k
        assert hits / len(users) >= 0.85, name


class _HalfBatch(RandomPolicy):
    """Breaks the batched contract: update_many forgets the last user of the batch."""

    def update_many(self, states, actions, chosen, rewards):
        super().update_many(states[:-1], actions[:-1], chosen[:-1], rewards[:-1])


class _EagerBatch(RandomPolicy):
    """Breaks the batched contract: update_many updates users before checking the later rewards."""

    def update_many(self, states, actions, chosen, rewards):
        for s, x, a, r in zip(states, actions, chosen, rewards):
            self.update(s, x, a, r)


class _Counting(RandomPolicy):
    """A policy whose state is how many rewards it saw (so a missed or extra update shows in its bytes)."""

    name = "counting"

    def _new_user(self, truth):
        return [0]

    def _update(self, state, X, action, reward):
        state[0] += 1

    def state_to_bytes(self, state):
        return int(state[0]).to_bytes(8, "little")

    def state_from_bytes(self, data):
        return [int.from_bytes(data, "little")]


def test_counting_policy_passes_and_broken_batches_fail():
    check_policy(_Counting(PolicyContext(dim=3)))
    half = type("Half", (_HalfBatch, _Counting), {})
    with pytest.raises(AssertionError, match="bad rewards.2. was accepted|update_many left a state other than update per user"):
        check_policy(half(PolicyContext(dim=3)))
    eager = type("Eager", (_EagerBatch, _Counting), {})
    with pytest.raises(AssertionError, match="error for bad rewards.2. does not name it|refused batch changed"):
        check_policy(eager(PolicyContext(dim=3)))
