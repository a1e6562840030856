import json
import zipfile

import numpy as np
import pytest

from warmstart.bench.metrics import adjusted_rand_index
from warmstart.families.linear.fit import FitConfig, fit_population, responsibilities
from warmstart.families.linear.population import Population, PopulationFormatError
from warmstart.sim import LinearTypesConfig, LinearTypesPopulation


@pytest.fixture(scope="module")
def selected(truth):
    """K chosen from the data (BIC over 1..12) on a default-preset log with a 3% minority and 2% outliers."""
    log = truth.logged(2000, 50, seed=11)
    return log, fit_population(log.summary(), FitConfig(seed=0))


def test_em_recovers_planted_types_and_keeps_the_three_percent_type(selected, truth):
    log, pop = selected
    assert pop.n_types == truth.config.n_types
    lab = responsibilities(log.summary(), pop).argmax(1)
    true = log.users.type_id
    inliers = true >= 0
    assert adjusted_rand_index(true[inliers], lab[inliers]) >= 0.9
    # the minority type (3% of users) is its own fitted type, not absorbed by a big one
    minority = true == truth.config.minority_type
    assert minority.sum() >= 40
    claimed, counts = np.unique(lab[minority], return_counts=True)
    host = claimed[np.argmax(counts)]
    assert counts.max() / minority.sum() >= 0.9
    assert np.mean(true[lab == host] == truth.config.minority_type) >= 0.9
    # outliers fall to the novel component
    assert np.mean(lab[true < 0] == pop.novel_index) >= 0.8


def test_fit_keeps_diagnostics_of_the_k_search(selected):
    _, pop = selected
    d = pop.diagnostics
    ks = [e["K"] for e in d.k_path]
    assert ks[0] == 1 and d.selected_k == pop.n_types and d.selection == "bic"
    bics = {e["K"]: e["bic"] for e in d.k_path}
    assert all(np.isfinite(list(bics.values())))


def test_heldout_selection_runs_and_reports(truth):
    log = truth.logged(500, 30, seed=4)
    pop = fit_population(log.summary(), FitConfig(k_range=(1, 4), selection="heldout", split_merge=False))
    assert all("heldout_loglik" in e for e in pop.diagnostics.k_path)


def test_same_seed_same_fit(small_log):
    cfg = FitConfig(k_range=(2, 4), seed=5)
    a = fit_population(small_log.summary(), cfg)
    b = fit_population(small_log.summary(), cfg)
    assert a.fingerprint() == b.fingerprint()



def test_a_warm_start_continues_em_from_the_population_it_is_given(small_log, population, truth):
    """``start``: EM from the given types, their K kept; from a converged fit on the same users it stops at
    once where it was, and on other users of the same kinds it only climbs from the start."""
    summary = small_log.summary()
    again = fit_population(summary, FitConfig(n_types=3, split_merge=False, seed=9), start=population)
    assert again.n_types == population.n_types == 8 and again.diagnostics.k_path == []
    assert again.diagnostics.n_iter <= 3
    np.testing.assert_allclose(again.components.mu, population.components.mu, atol=1e-3)
    other = truth.logged(600, 30, seed=21).summary()
    from_start = fit_population(other, FitConfig(split_merge=False, max_iter=1), start=population)
    warmed = fit_population(other, FitConfig(split_merge=False), start=population)
    assert warmed.n_types == 8 and warmed.diagnostics.loglik >= from_start.diagnostics.loglik
    assert warmed.diagnostics.selection == "fixed"
    small = LinearTypesPopulation(LinearTypesConfig(dim=3, n_types=2)).logged(40, 10, seed=1).summary()
    with pytest.raises(ValueError, match=r"start: expected a population of dimension 3 .*got 10"):
        fit_population(small, start=population)

@pytest.mark.parametrize("cov", ["diag", "spherical"])
def test_covariance_options(small_log, cov):
    pop = fit_population(small_log.summary(), FitConfig(n_types=3, covariance=cov, split_merge=False))
    off = pop.components.cov[:3] - np.einsum("kii->ki", pop.components.cov[:3])[:, :, None] * np.eye(10)
    assert np.allclose(off, 0)


def test_bad_config_and_input_name_the_field(small_log):
    with pytest.raises(ValueError, match="k_range"):
        FitConfig(k_range=(3, 2))
    with pytest.raises(ValueError, match="covariance"):
        FitConfig(covariance="banana")  # type: ignore[arg-type]
    s = small_log.summary()
    with pytest.raises(ValueError, match="at least 2 users"):
        fit_population(s[:1])


def test_persistence_round_trip(population, tmp_path):
    path = population.save(tmp_path / "pop.npz")
    back = Population.load(path)
    assert back.fingerprint() == population.fingerprint()
    assert np.array_equal(back.components.cov, population.components.cov)
    assert back.diagnostics.n_iter == population.diagnostics.n_iter


def test_the_counts_say_what_they_count(population):
    """``n_types``: the fitted types; ``n_components``: those and the novel component, the rows of every
    parameter array; the novel component is the last row."""
    K = population.n_types
    assert population.n_components == population.components.n_components == K + 1
    assert population.weights.shape == (K + 1,) and population.components.mu.shape[0] == K + 1
    assert population.novel_index == K and population.type_names()[K] == "novel"
    assert population.components.n_types == population.components.n_components  # the former name, kept


def test_corrupted_and_unknown_files_are_rejected(population, tmp_path):
    path = population.save(tmp_path / "pop.npz")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(raw))
    with pytest.raises(PopulationFormatError):
        Population.load(tmp_path / "bad.npz")
    (tmp_path / "text.npz").write_text("not a population")
    with pytest.raises(PopulationFormatError, match="not a readable"):
        Population.load(tmp_path / "text.npz")
    with pytest.raises(PopulationFormatError, match="existing file"):
        Population.load(tmp_path / "missing.npz")
    # a future format version
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(np.load(path)["meta"].item())
    meta["format_version"] = 99
    import io

    buf = io.BytesIO()
    np.save(buf, np.array(json.dumps(meta)))
    members["meta.npy"] = buf.getvalue()
    with zipfile.ZipFile(tmp_path / "future.npz", "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    with pytest.raises(PopulationFormatError, match="format_version 99"):
        Population.load(tmp_path / "future.npz")
