import numpy as np
import pytest

from warmstart.families.generic import TypePopulation
from warmstart.families.registry import available_families  # noqa: F401 - registers the built-in families
from warmstart.policies import PolicyContext, make_policy
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


def test_a_generic_population_is_refused_with_the_policy_that_serves_it():
    """A linear-Gaussian population fitted by the generic EM is a TypePopulation of the family
    'linear_gaussian': the message says which kind was given (not 'expected linear-Gaussian, got
    linear_gaussian')."""
    params = {"mu": np.array([[1.0, 0.0], [-1.0, 0.0]]), "cov": np.stack([0.1 * np.eye(2)] * 2),
              "noise_var": np.full(2, 0.25)}
    generic = TypePopulation(family="linear_gaussian", weights=np.array([0.5, 0.5]), params=params)
    with pytest.raises(ValueError, match=r"^policy 'mixture_ts': expected a Population \(the linear-Gaussian "
                                         r"family's own fit\), got a TypePopulation of the family 'linear_gaussian' "
                                         r"\(serve it with 'type_ts'\)$"):
        make_policy("mixture_ts", PolicyContext(population=generic))
    assert make_policy("type_ts", PolicyContext(population=generic)).dim == 2
