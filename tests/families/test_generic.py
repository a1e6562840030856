"""The generic EM's population (``warmstart.families.generic``) on the linear family: its record of the fit
counts the population's types."""

from __future__ import annotations

import pytest

import warmstart as ws
from warmstart.families.generic import TypePopulation, TypesFit, fit_types
from warmstart.families.registry import family


@pytest.fixture(scope="module")
def stats():
    truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
                                                                    outlier_share=0.0))
    return family("linear_gaussian").summarise(truth.logged(90, 20, seed=0))


def test_the_record_counts_the_populations_types(stats):
    """The linear family adds its novel type to the K it starts from: the record counts it too."""
    fam = family("linear_gaussian")
    chosen = fit_types(fam, stats, k_range=(1, 3), n_init=1)
    assert chosen.fit.n_types == chosen.n_types
    assert chosen.n_types in [k for k, _, _ in chosen.fit.tried]
    fixed = fit_types(fam, stats, n_types=2, n_init=1)
    assert fixed.fit.n_types == fixed.n_types == 3 and [k for k, _, _ in fixed.fit.tried] == [3]


def test_a_record_of_another_number_of_types_is_refused(stats):
    population = fit_types(family("linear_gaussian"), stats, n_types=2, n_init=1)
    other = TypesFit(n_users=90, n_types=2, loglik=0.0, bic=0.0, n_iter=1, converged=True)
    with pytest.raises(ValueError, match=r"^fit.n_types: expected the population's 3 types, got 2$"):
        TypePopulation(family="linear_gaussian", weights=population.weights, params=population.params,
                       fit=other)
