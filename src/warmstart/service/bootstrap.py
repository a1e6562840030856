"""A service that starts empty: before any population is fitted, it serves from one broad prior.

A product that adopts warmstart has no earlier users. With no active population, the first ``POST /v1/rank``
stores and activates a *bootstrap population*: one Gaussian prior ``theta ~ N(0, prior_var I)`` with noise
variance ``noise_var`` over the dimension of that request's candidates, and no types (its one component is the
broad "novel" one). The service's policy runs on it as on any population, so each user is learned from their
own rewards alone: with ``mixture_ts`` this is exactly linear Thompson sampling from a broad prior (what the
benchmarks call ``from_scratch_ts``), with the default ``mixture_ids`` information-directed sampling from the
same prior. Everything is logged as usual (with the exploration floor), and ``POST /v1/admin/fit`` fits the
first population of types from the logged events; once it is activated, new users start from its types and the
users served before are replayed under it from their logged events.

The defaults suit candidate features scaled like ``N(0, I / d)`` and rewards of order 1; set them to the scale
of your features and rewards (``warmstart serve --bootstrap-prior-var``, ``--bootstrap-noise-var``).

>>> prior = BootstrapPrior(prior_var=2.0)
>>> pop = prior.population(3)
>>> pop.dim, pop.n_types, pop.type_names(), float(pop.components.cov[0, 0, 0])
(3, 0, ['novel'], 2.0)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from warmstart.families.linear.model import GaussianTypes
from warmstart.families.linear.population import Population
from warmstart.store.store import Store


@dataclass(frozen=True, kw_only=True)
class BootstrapPrior:
    """The broad prior a service with no population serves from (see the module docstring)."""

    prior_var: float = 1.0
    noise_var: float = 1.0

    def __post_init__(self) -> None:
        for name in ("prior_var", "noise_var"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= 1e6):
                raise ValueError(f"{name}: expected a positive finite variance (at most 1e6), got {value!r}")

    def population(self, dim: int) -> Population:
        """The bootstrap population over ``dim`` features."""
        if not 1 <= dim <= 10_000:
            raise ValueError(f"dim: expected a number of features in [1, 10000], got {dim}")
        types = GaussianTypes(np.zeros((1, dim)), self.prior_var * np.eye(dim)[None], np.array([self.noise_var]))
        return Population(types, np.ones(1))


#: the default bootstrap prior (frozen: one instance serves every app)
DEFAULT_BOOTSTRAP = BootstrapPrior()


def ensure_population(store: Store, dim: int, prior: BootstrapPrior) -> int:
    """The active population version; with none, the bootstrap population over ``dim`` features, stored and
    activated (two workers racing here may both add one; the later activation wins and both serve the same
    prior, so nothing is lost)."""
    version = store.active_version()
    if version is not None:
        return version
    pop = prior.population(dim)
    version = store.add_population(pop.to_bytes(), fingerprint=pop.fingerprint(),
                                   meta={"fingerprint": pop.fingerprint(), "source": "bootstrap", **asdict(prior)})
    if store.active_version() is None:
        store.activate(version, note="bootstrap: no population yet, serving from a broad prior")
    return store.active_version() or version
