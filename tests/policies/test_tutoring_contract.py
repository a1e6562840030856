"""Every tutoring policy passes ``check_tutoring_policy``, and the check fails a policy that breaks the contract."""

from __future__ import annotations

import numpy as np
import pytest

from warmstart.families.learner.population import LearnerPopulation
from warmstart.policies.tutoring import (
    RoundRobinPolicy,
    TutoringSetup,
    TutoringStateFormatError,
    make_tutoring_policy,
    tutoring_policy_names,
)
from warmstart.policies.tutoring_check import check_tutoring_policy

S = 4
TYPES = LearnerPopulation(np.array([0.7, 0.3]), L0=np.full((2, S), 0.2), T=np.array([[0.3] * S, [0.05] * S]),
                          F=np.zeros((2, S)), G=np.full((2, S), 0.2), S=np.full((2, S), 0.1))
ONE = LearnerPopulation(np.ones(1), L0=np.full((1, S), 0.2), T=np.full((1, S), 0.2), F=np.zeros((1, S)),
                        G=np.full((1, S), 0.2), S=np.full((1, S), 0.1))
SETUP = TutoringSetup(population=TYPES, single_type=ONE)


@pytest.mark.parametrize("name", tutoring_policy_names())
def test_every_tutoring_policy_passes_the_check(name):
    check_tutoring_policy(make_tutoring_policy(name, SETUP, seed=4))


@pytest.mark.parametrize("name", ["ours", "bkt_mastery", "round_robin", "random"])
def test_state_bytes_of_one_policy_are_refused_by_another(name):
    policy = make_tutoring_policy(name, SETUP)
    blob = policy.state_to_bytes(policy.new_student())
    other = "random" if name != "random" else "round_robin"
    with pytest.raises(TutoringStateFormatError, match=f"made by another policy .*got {name!r}"):
        make_tutoring_policy(other, SETUP).state_from_bytes(blob)
    with pytest.raises(TutoringStateFormatError):
        policy.state_from_bytes(blob[:-1])


def test_oracle_state_is_not_stored():
    oracle = make_tutoring_policy("oracle_type", SETUP)
    with pytest.raises(NotImplementedError, match="ground truth"):
        oracle.state_to_bytes(oracle.new_student(true_type=0))


class _Forgetful(RoundRobinPolicy):
    """Breaks the contract: a wrong answer undeclares every skill declared before it."""

    name = "forgetful"

    def _observe(self, state, rows, skills, correct):
        state.declared[rows] &= correct[:, None]
        super()._observe(state, rows, skills, correct)


class _Sloppy(RoundRobinPolicy):
    """Breaks the contract: an out-of-range skill is clipped instead of refused."""

    name = "sloppy"

    def observe(self, state, skill, correct):
        super().observe(state, min(max(int(skill), 0), self.n_skills - 1), correct)


@pytest.mark.parametrize(("broken", "message"), [(_Forgetful, "undeclared"), (_Sloppy, "bad skill was accepted")])
def test_the_check_fails_a_broken_policy(broken, message):
    with pytest.raises(AssertionError, match=message):
        check_tutoring_policy(broken(SETUP))
