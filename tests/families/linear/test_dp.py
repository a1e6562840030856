import math
from dataclasses import replace

import dp_accounting
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from warmstart.bench.coldstart import ColdStartConfig, run_coldstart
from warmstart.families.linear.dp import em_contributions, em_sums, fit_population_dp, second_bound
from warmstart.families.linear.dp_budget import (
    STAT_BLOCKS,
    DPConfig,
    calibrate_noise,
    epsilon_spent,
    round_multipliers,
)
from warmstart.families.linear.fit import FitConfig
from warmstart.families.linear.model import GaussianTypes, Summary, summarise
from warmstart.families.linear.population import Population
from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation, logged_summary

# a well-separated population: 4 equal types (the "minority" share set to the others'), 2% outliers
SEPARATED = LinearTypesConfig(n_types=4, minority_share=0.245, outlier_share=0.02, population_seed=7)


@pytest.fixture(scope="module")
def separated():
    truth = LinearTypesPopulation(SEPARATED)
    return truth, logged_summary(truth, 20_000, 50, seed=3)


@pytest.fixture(scope="module")
def small_dp_pop():
    truth = LinearTypesPopulation(LinearTypesConfig())
    summary = logged_summary(truth, 3000, 30, seed=5)
    return summary, fit_population_dp(summary, DPConfig(iterations=3, seed=1))


def test_accountant_epsilon_is_within_the_target_and_close_to_it():
    cfg = DPConfig(epsilon=1.0, delta=1e-6)
    z = calibrate_noise(cfg)
    # an independent ledger: every round as its own Gaussian event, composed by a fresh PLD accountant
    z_init, z_em = round_multipliers(z, cfg)
    events = [dp_accounting.GaussianDpEvent(z_init)] * cfg.init_iterations
    events += [dp_accounting.GaussianDpEvent(z_em)] * cfg.iterations
    acc = dp_accounting.pld.PLDAccountant(dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE)
    eps = acc.compose(dp_accounting.ComposedDpEvent(events)).get_epsilon(cfg.delta)
    assert eps <= cfg.epsilon + 1e-9
    assert eps >= 0.99 * cfg.epsilon  # not wastefully private
    assert epsilon_spent(z, cfg) == pytest.approx(eps, rel=1e-6)
    # the budget split loses nothing: Gaussian rounds compose like one Gaussian of multiplier z, whose exact
    # (analytic, Balle and Wang 2018) calibration the accounted one matches
    total = cfg.init_iterations / z_init**2 + cfg.iterations / z_em**2
    assert total == pytest.approx(1.0 / z**2)
    analytic = dp_accounting.get_sigma_gaussian(cfg.epsilon, cfg.delta)
    assert analytic <= z <= 1.01 * analytic
    # Renyi DP (Mironov 2017) is looser, so it asks for more noise for the same guarantee
    z_rdp = calibrate_noise(DPConfig(accountant="rdp"))
    assert z_rdp > z
    assert epsilon_spent(z_rdp, DPConfig(accountant="rdp")) <= 1.0 + 1e-9


def test_larger_epsilon_gives_less_noise():
    zs = [calibrate_noise(DPConfig(epsilon=e, accountant="rdp")) for e in (0.5, 1.0, 2.0)]
    assert zs[0] > zs[1] > zs[2] > 0
    # more rounds at the same budget: each round gets more noise
    z = zs[1]
    _, z_em10 = round_multipliers(z, DPConfig(iterations=10))
    _, z_em20 = round_multipliers(z, DPConfig(iterations=20))
    assert z_em20 > z_em10


def test_same_seed_same_population_and_other_seed_other_noise(small_dp_pop):
    summary, pop = small_dp_pop
    again = fit_population_dp(summary, DPConfig(iterations=3, seed=1))
    other = fit_population_dp(summary, DPConfig(iterations=3, seed=2))
    assert again.fingerprint() == pop.fingerprint()
    assert other.fingerprint() != pop.fingerprint()


def _extreme_user(d: int, rng) -> Summary:
    """One user with 5,000 events, a parameter vector of norm 60 (along one axis) and very noisy rewards."""
    X = rng.standard_normal((1, 5000, d)) / math.sqrt(d)
    theta = np.zeros(d)
    theta[1] = 60.0
    r = X[0] @ theta + 10.0 * rng.standard_normal(5000)
    return summarise(X, r[None])


def _broad_types(d: int) -> tuple[GaussianTypes, np.ndarray]:
    """Two very broad types (and a novel component), so that even an extreme user belongs to a type."""
    mu = np.zeros((3, d))
    mu[1, 0] = 3.0
    return GaussianTypes(mu, np.repeat(400.0 * np.eye(d)[None], 3, 0), np.full(3, 0.25)), np.array(
        [0.8, 0.19, 0.01])


@pytest.mark.parametrize("covariance", ["full", "diag", "spherical"])
def test_clipping_bounds_each_users_contribution(rng, covariance):
    cfg = DPConfig(covariance=covariance)
    d = 10
    truth = LinearTypesPopulation(LinearTypesConfig(dim=d))
    normal = logged_summary(truth, 50, 30, seed=9)
    extreme = _extreme_user(d, rng)
    both = Summary.concatenate([normal, extreme])
    comps, w = _broad_types(d)
    part = em_contributions(extreme, comps, w, cfg)
    assert part["count"][part["comp"] < 2].sum() > 0.98  # it belongs to the types, hardly to the novel one
    bounds = {"count": 1.0, "mean": cfg.clip_dev, "second": second_bound(cfg, d),
              "residual": cfg.clip_events * cfg.clip_residual, "events": cfg.clip_events}
    # unclipped, this user would dominate: 5,000 events, a deviation of norm ~ 60, squared residuals ~ 100
    assert extreme.n[0] > 10 * cfg.clip_events
    # sensitivity: adding the user changes the released sums by its contribution, within every block's bound
    with_user, without = em_sums(both, comps, w, cfg), em_sums(normal, comps, w, cfg)
    scaled = 0.0
    shares = cfg.shares()
    for b in STAT_BLOCKS:
        norm = float(np.linalg.norm(with_user[b] - without[b]))
        assert norm <= bounds[b] * (1 + 1e-9), b
        assert norm == pytest.approx(float(np.linalg.norm(part[b])), rel=1e-6, abs=1e-9)
        # clipped, not dropped: near the bound (the user splits about 0.8 / 0.2 between the two types)
        assert norm >= 0.7 * bounds[b], b
        scaled += shares[b] * (norm / bounds[b]) ** 2
    assert scaled <= 1.0 + 1e-9


def test_metadata_holds_the_guarantee_after_save_and_load(small_dp_pop, tmp_path):
    _, pop = small_dp_pop
    back = Population.load(pop.save(tmp_path / "dp.npz"))
    assert back.fingerprint() == pop.fingerprint()
    dp = back.diagnostics.dp
    assert dp["epsilon"] == 1.0 and dp["delta"] == 1e-6
    assert dp["unit"] == "user" and dp["iterations"] == 3
    assert dp["noise_multiplier"] == pytest.approx(pop.diagnostics.dp["noise_multiplier"])
    assert dp["epsilon_accounted"] <= 1.0 + 1e-9
    assert set(dp["clip"]) == {"theta", "dev", "second", "events", "residual"}
    assert "Accountant" in dp["accountant"]
    # nothing computed from the raw data outside the mechanisms, and never the noise seed
    assert "seed" not in back.diagnostics.config
    assert not {"n_users", "n_events", "loglik", "bic"} & set(back.diagnostics.to_dict())


def test_dp_fit_recovers_well_separated_types(separated):
    truth, summary = separated
    pop = fit_population_dp(summary, DPConfig(n_types=4, seed=0))
    true_mu = truth.type_means
    cost = np.sqrt(((pop.components.mu[:4, None] - true_mu[None]) ** 2).sum(-1))
    rows, cols = linear_sum_assignment(cost)
    err = cost[rows, cols]
    # ~4,900 users per type at epsilon = 1: each type mean within 0.15 (the types are ~4.5 apart and a
    # user's own parameters spread 0.3 per coordinate around them)
    assert err.max() < 0.15, err
    shares = SEPARATED.type_shares()[:4]
    assert np.abs(pop.weights[rows] - shares[cols]).max() < 0.03
    assert np.allclose(pop.components.noise_var[:4], SEPARATED.noise_sd**2, rtol=0.2)
    within = np.einsum("kii->k", pop.components.cov[:4]) / truth.config.dim
    assert np.allclose(within, SEPARATED.within_sd**2, rtol=0.35)


@pytest.mark.parametrize(("field", "value"), [
    ("epsilon", 0.0), ("epsilon", float("inf")), ("delta", 1.0), ("delta", 0.0), ("n_types", 0),
    ("iterations", 0), ("covariance", "banded"), ("clip_dev", -1.0), ("clip_events", 0.0),
    ("init_share", 1.0), ("init_centres", 3), ("stat_shares", (1.0, 1.0, 1.0, 1.0)),
    ("stat_shares", (1.0, 0.0, 1.0, 1.0, 1.0)), ("accountant", "moments"), ("seed", -1), ("n_types", 2.5),
])
def test_bad_config_raises_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        DPConfig(**{field: value})


def test_coldstart_runs_from_summaries_without_a_log(small_dp_pop):
    truth = LinearTypesPopulation(LinearTypesConfig())
    summary, pop = small_dp_pop
    types = np.zeros(summary.n_users, dtype=int)
    cfg = ColdStartConfig.make(seed=1, workers=1, n_train_users=summary.n_users, n_train_events=30,
                               n_test_users=6, n_minority_users=2, n_outlier_users=2, steps=10, n_bootstrap=20,
                               policies=("mixture_ids", "from_scratch_ts", "oracle_type"),
                               fit=FitConfig(n_types=8))
    doc = run_coldstart(cfg, population=pop, summary=summary, true_types=types)
    assert len(doc["gain_captured"]["G"]) == 10
    with pytest.raises(ValueError, match="pooled_ts"):
        run_coldstart(replace(cfg, policies=("mixture_ids", "pooled_ts")), population=pop, summary=summary,
                      true_types=types)
    with pytest.raises(ValueError, match="true_types"):
        run_coldstart(cfg, population=pop, summary=summary, true_types=types[:5])
    assert truth.config.dim == pop.dim
