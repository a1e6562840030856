"""Forgetting a user in the service's store: the refit equals a fit that never saw them."""

import pytest

from warmstart.bench.forget import forget_check


def test_refit_after_forget_equals_the_fit_that_never_saw_the_users(tmp_path):
    doc = forget_check(n_users=40, n_events=10, n_forget=3, seed=3, k_max=4, directory=tmp_path)
    assert doc["events_deleted"] == 30
    assert doc["users_fitted"] == {"after_forget": 37, "never_saw": 37}
    assert doc["max_abs_diff"] <= 1e-9 and doc["fingerprints_equal"]
    # the forgotten users did change the fit: the check compares something that differs without forgetting
    assert doc["max_abs_diff_before_forget"] > 1e-6


def test_forget_check_rejects_a_bad_count():
    with pytest.raises(ValueError, match="n_forget"):
        forget_check(n_users=5, n_forget=4)
