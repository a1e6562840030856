import json

import numpy as np
import pytest

from warmstart.bench.tutoring import POLICIES, run_tutoring, simulate_policy
from warmstart.policies.tutoring import TutoringSetup
from warmstart.sim.tutoring import StudentBatch, tutoring_population, tutoring_single_type

METRICS = {"n_students", "steps_to_mastery", "steps_ci95", "false_mastery_rate", "false_mastery_ci95",
           "true_mastery_rate", "declared_all_rate", "n_declarations"}


@pytest.fixture(scope="module")
def quick():
    calls = []
    doc = run_tutoring(n_students=80, seed=1, quick=True, n_boot=50, progress=lambda m, f: calls.append(f))
    assert calls[0] == 0.0 and calls[-1] == 1.0
    return doc


def test_quick_bench_has_every_key_and_is_json(quick):
    assert {"config", "version", "machine", "population", "policies", "targets"} <= set(quick)
    assert set(quick["policies"]) == set(POLICIES)
    n_types = quick["population"]["n_types"]
    for doc in quick["policies"].values():
        assert METRICS <= set(doc)
        assert set(doc["per_type"]) == {str(k) for k in range(n_types)}
        for per in doc["per_type"].values():
            assert METRICS <= set(per)
        assert 0 <= doc["steps_to_mastery"] <= quick["config"]["budget"]
        lo, hi = doc["steps_ci95"]
        assert lo <= doc["steps_to_mastery"] <= hi
        assert 0 <= doc["false_mastery_rate"] <= 1 and 0 <= doc["true_mastery_rate"] <= 1
    assert {"steps_ours_over_bkt_mastery", "steps_ours_over_bkt_mastery_per_type",
            "false_mastery_ours_vs_bkt_mastery", "steps_ours_over_oracle_type"} <= set(quick["targets"])
    assert quick["population"]["slow_minority"] is not None
    assert quick["config"]["quick"] is True and quick["config"]["n_students"] == 80
    json.loads(json.dumps(quick, allow_nan=False))


def test_same_seed_same_numbers(quick):
    again = run_tutoring(n_students=80, seed=1, quick=True, n_boot=50)
    assert again["policies"] == {k: {**v, "wall_s": again["policies"][k]["wall_s"]}
                                 for k, v in quick["policies"].items()}


def test_common_random_numbers_make_order_irrelevant_for_n_in_a_row():
    """Every skill's answers depend only on how often it was practised, and the N-in-a-row rule looks at one
    skill at a time, so round robin and random need the same steps for students finished within the budget."""
    setup = TutoringSetup(population=tutoring_population(), single_type=tutoring_single_type())
    students = StudentBatch.sample(setup.population, 200, np.random.default_rng(5), budget=200)
    rr = simulate_policy("round_robin", setup, students)
    rnd = simulate_policy("random", setup, students, seed=9)
    done = rr["declared_all"] & rnd["declared_all"]
    assert done.mean() > 0.5
    assert np.array_equal(rr["steps"][done], rnd["steps"][done])
    assert np.array_equal(rr["false_declarations"][done], rnd["false_declarations"][done])


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="n_students"):
        run_tutoring(n_students=0)
    with pytest.raises(ValueError, match="budget"):
        run_tutoring(n_students=5, budget=0)
    with pytest.raises(ValueError, match="policies"):
        run_tutoring(n_students=5, policies=["nope"])


def test_threshold_sweep_trades_errors_for_steps(quick):
    """A stricter mastery threshold costs steps and buys fewer false declarations, for both belief tutors;
    ours' steps at bkt_mastery's error rate lie on ours' own curve."""
    f = quick["frontier"]
    for name in ("ours", "bkt_mastery"):
        steps = [c["steps_to_mastery"] for c in f["curve"][name]]
        false = [c["false_mastery_rate"] for c in f["curve"][name]]
        assert steps[0] < steps[-1] and false[0] > false[-1]
    at = f["ours_steps_at_bkt_false_mastery"]
    if at is not None:
        ours = [c["steps_to_mastery"] for c in f["curve"]["ours"]]
        assert min(ours) <= at <= max(ours)
        assert f["ratio_to_bkt_steps"] == at / quick["policies"]["bkt_mastery"]["steps_to_mastery"]
