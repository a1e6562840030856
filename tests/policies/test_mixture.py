import numpy as np
import pytest

from warmstart.policies.mixture import tempered


@pytest.mark.parametrize("temper", [0.0, 0.5])
def test_tempering_flattens_the_types_and_keeps_the_novel_weight(population, temper):
    w = population.weights / population.weights.sum()
    out = tempered(population, temper).weights
    K = population.n_types
    assert out.sum() == pytest.approx(1.0)
    assert out[K] == pytest.approx(w[K])
    expected = w[:K] ** temper / (w[:K] ** temper).sum() * (1 - w[K])
    np.testing.assert_allclose(out[:K], expected)
    # flatter than the fitted weights: the smallest type gains, the largest loses
    assert out[:K].min() >= w[:K].min() and out[:K].max() <= w[:K].max()


def test_no_tempering_is_the_population_itself(population):
    assert tempered(population, 1.0) is population
