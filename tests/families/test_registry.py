"""``load_population`` and ``population_from_bytes`` read each kind of population file as the kind it is."""

from __future__ import annotations

import warmstart as ws
from warmstart.families.generic import TypePopulation, fit_types
from warmstart.families.linear.population import Population
from warmstart.families.registry import family, fit, load_population, population_from_bytes


def test_a_generic_population_of_the_linear_family_reads_back_as_itself(tmp_path):
    """The linear family fitted by the generic EM writes a generic file (``param_*`` arrays), not the linear
    family's own: it reads back as the ``TypePopulation`` it is, not as a broken linear ``Population``."""
    truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
                                                                    outlier_share=0.0))
    stats = family("linear_gaussian").summarise(truth.logged(90, 20, seed=0))
    generic = fit_types(family("linear_gaussian"), stats, n_types=2, n_init=1)
    path = generic.save(tmp_path / "generic.npz")
    for back in (load_population(path), ws.load_population(path), population_from_bytes(generic.to_bytes())):
        assert isinstance(back, TypePopulation) and back.family == "linear_gaussian"
        assert back.fingerprint() == generic.fingerprint() and back.fit == generic.fit
    own = fit("linear_gaussian", stats, n_types=2, split_merge=False)  # the linear family's own file
    assert type(load_population(own.save(tmp_path / "own.npz"))) is Population
