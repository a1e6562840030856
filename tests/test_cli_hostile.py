"""``warmstart fit --log`` on event logs with hostile values (hypothesis): a value beyond the bounds, not finite
or not a number is one error line naming the column, the row and (for a magnitude) the bound; a log within
the bounds, however extreme, is fitted to a finite population with no numpy warning.

Examples: ``WARMSTART_HYPOTHESIS_EXAMPLES`` / 20 (at least 10); see tests/service/test_hostile_values.py."""

from __future__ import annotations

import csv
import json
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from warmstart.cli import app
from warmstart.families.linear.item_features import load_item_features
from warmstart.families.linear.population import Population

EXAMPLES = max(10, int(os.environ.get("WARMSTART_HYPOTHESIS_EXAMPLES") or 250) // 20)
runner = CliRunner()

N_USERS, N_EVENTS, N_ITEMS, DIM = 12, 4, 6, 2
BAD_TEXT = ["1e300", "-1e300", "1e160", "1e308", "-1.7976931348623157e308", "1e7", "nan", "inf", "-inf", "NaN",
            "1" + "0" * 400, "abc", "", "1e6.5", "0x10", "--1"]
GOOD_TEXT = ["1e6", "-1e6", "5e-324", "-5e-324", "0", "999999.9999", "1e-300", "0.5", "-2"]


def _write(path, rewards: list[str], features: list[list[str]] | None) -> None:
    rows = [["user", "time", "item", "reward"] + ([f"f_{j}" for j in range(DIM)] if features else [])]
    for r in range(N_USERS * N_EVENTS):
        item = (r * 7 + r // N_EVENTS) % N_ITEMS
        rows.append([f"u{r // N_EVENTS}", str(r % N_EVENTS), f"i{item}", rewards[r]]
                    + (features[item] if features else []))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _fit(tmp_path, *extra: str):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = runner.invoke(app, ["fit", "--log", str(tmp_path / "log.csv"), "--out", str(tmp_path / "pop.npz"),
                                     "--n-types", "2", *extra])
    numeric = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    return result, numeric


@st.composite
def logs(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rewards = [f"{v:.6g}" for v in rng.normal(size=N_USERS * N_EVENTS)]
    features = [[f"{v:.6g}" for v in rng.normal(size=DIM)] for _ in range(N_ITEMS)] if draw(st.booleans()) else None
    bad: list[tuple[str, int]] = []  # (column, 1-based row) of every bad value written
    for _ in range(draw(st.integers(0, 3))):
        r = draw(st.integers(0, len(rewards) - 1))
        rewards[r] = draw(st.sampled_from(BAD_TEXT + GOOD_TEXT))
    if features is not None:
        for _ in range(draw(st.integers(0, 2))):
            i, j = draw(st.integers(0, N_ITEMS - 1)), draw(st.integers(0, DIM - 1))
            features[i][j] = draw(st.sampled_from(BAD_TEXT + GOOD_TEXT))
    for r, text in enumerate(rewards):
        if text in BAD_TEXT:
            bad.append(("reward", r + 1))
    if features is not None:
        for r in range(N_USERS * N_EVENTS):
            item = (r * 7 + r // N_EVENTS) % N_ITEMS
            for j in range(DIM):
                if features[item][j] in BAD_TEXT:
                    bad.append((f"f_{j}", r + 1))
    return rewards, features, bad


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(log=logs())
def test_fit_log_with_hostile_values_fits_or_names_the_row_and_column(tmp_path, log):
    rewards, features, bad = log
    _write(tmp_path / "log.csv", rewards, features)
    result, numeric = _fit(tmp_path)
    assert not numeric, [str(w.message) for w in numeric]
    if not bad:
        assert result.exit_code == 0, (result.output, result.exception)
        pop = Population.load(tmp_path / "pop.npz")
        assert np.isfinite(pop.weights).all() and np.isfinite(pop.components.mu).all()
        assert np.isfinite(pop.components.cov).all() and np.isfinite(pop.components.noise_var).all()
        return
    exc = result.exception
    assert isinstance(exc, ValueError) or type(exc).__name__ == "CliError", (result.output, repr(exc))
    message = str(exc)
    assert any(f"{column}" in message and f"row {row}" in message for column, row in bad), message
    if "|value| <=" in message:
        assert "1e+06 (--max-reward)" in message or "1e+06 (--max-feature)" in message, message


def test_the_cli_bounds_are_options(tmp_path):
    rewards = ["0.5"] * (N_USERS * N_EVENTS)
    rewards[9] = "5e8"
    _write(tmp_path / "log.csv", rewards, None)
    result, _ = _fit(tmp_path)
    assert "reward: expected a finite number with |value| <= 1e+06 (--max-reward), got 5e+08 in row 10" in str(
        result.exception)
    result, numeric = _fit(tmp_path, "--max-reward", "1e9")
    assert result.exit_code == 0 and not numeric, (result.output, result.exception)
    result, _ = _fit(tmp_path, "--max-feature", "1e13")
    assert "--max-feature" in str(result.exception) and "1e+12" in str(result.exception)


def test_fit_error_is_one_line_through_the_entry_point(tmp_path):
    """The issue's case through the real command: one line naming the row, the column and the bound."""
    import subprocess
    import sys

    rewards = ["0.1"] * (N_USERS * N_EVENTS)
    rewards[4] = "1e160"
    _write(tmp_path / "log.csv", rewards, None)
    proc = subprocess.run([sys.executable, "-m", "warmstart.cli", "fit", "--log", str(tmp_path / "log.csv"),
                           "--out", str(tmp_path / "pop.npz")], capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1 and "reward" in line and "row 5" in line and "1e+06" in line, line
    assert json.dumps(line)  # printable as one JSON string: no control characters


@pytest.mark.parametrize("value", ["1e6", "-1e6", "5e-324"])
def test_rewards_at_the_bound_fit_cleanly(tmp_path, value):
    rng = np.random.default_rng(0)
    rewards = [f"{v:.4f}" for v in rng.normal(size=N_USERS * N_EVENTS)]
    rewards[::5] = [value] * len(rewards[::5])
    _write(tmp_path / "log.csv", rewards, [[f"{v:.4f}" for v in rng.normal(size=DIM)] for _ in range(N_ITEMS)])
    result, numeric = _fit(tmp_path)
    assert result.exit_code == 0 and not numeric, (result.output, result.exception, [str(w.message) for w in numeric])


@pytest.mark.parametrize("value", ["1e6", "-1e6"])
def test_rewards_at_the_bound_in_learned_spaces_fit_cleanly(tmp_path, value):
    """No feature columns: the spaces are learned and ours' and pooled's items are refined by the types (the
    alternation of ``type_refine``); rewards at the bound leave every array finite and raise no numpy warning."""
    rng = np.random.default_rng(1)
    rewards = [f"{v:.4f}" for v in rng.normal(size=N_USERS * N_EVENTS)]
    rewards[::7] = [value] * len(rewards[::7])
    _write(tmp_path / "log.csv", rewards, None)
    result, numeric = _fit(tmp_path)
    assert result.exit_code == 0 and not numeric, (result.output, result.exception, [str(w.message) for w in numeric])
    pop = Population.load(tmp_path / "pop.npz")
    assert set(pop.diagnostics.space["refinement"]) == {"ours", "pooled"}
    assert np.isfinite(pop.components.mu).all() and np.isfinite(pop.components.cov).all()
    assert np.isfinite(pop.weights).all() and np.isfinite(pop.components.noise_var).all()
    _, features, _ = load_item_features(tmp_path / "pop.items.npz")
    assert np.isfinite(features).all()
