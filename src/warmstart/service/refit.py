"""A new population from the store's rewarded events: what ``POST /v1/admin/fit`` runs.

Erased users (``DELETE /v1/users/{id}``) are left out: their events are deleted and their accounts marked, so a
refit after forgetting a user is the fit that never saw them. Users are ordered by id and each user's events by
time, so the same events give the same summaries and, with the same seed, the same population.
"""

from __future__ import annotations

from warmstart.models.linear_gaussian import summarise_rows
from warmstart.population.fit import FitConfig, fit_population
from warmstart.population.population import Population
from warmstart.service.store import Store


class NotEnoughDataError(ValueError):
    """Fewer users with rewarded events than the fit asks for."""


def fit_from_store(store: Store, *, k_max: int = 12, seed: int = 0, min_users: int = 2) -> tuple[Population, int, int]:
    """``(population, n_users, n_events)`` fitted on every rewarded event of users who were not erased."""
    user, X, r = store.rewarded_events()
    n_users = int(user.max()) + 1 if user.size else 0
    if n_users < max(min_users, 2):
        raise NotEnoughDataError(f"fit: expected rewarded events of at least {max(min_users, 2)} users, "
                                 f"got {n_users}")
    summary = summarise_rows(user, X, r, n_users)
    return fit_population(summary, FitConfig(k_range=(1, k_max), seed=seed)), n_users, int(user.size)
