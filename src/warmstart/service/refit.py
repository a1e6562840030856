"""A new population from the store's rewarded events: what ``POST /v1/admin/fit`` runs.

Erased users (``DELETE /v1/users/{id}``) are left out: their events are deleted and their accounts marked, so a
refit after forgetting a user is the fit that never saw them. Users are ordered by id and each user's events by
time, so the same events give the same summaries and, with the same seed, the same population.

A full fit stores, with the version, the M-step sums of its users (``warmstart.families.linear.incremental``) and the
time of the latest reward it read. An incremental fit (``{"incremental": true}``) starts from the active version
and takes only the users whose first reward came after that time, with the earlier users' sums kept: it never
re-reads the history. Two things it cannot do, and refuses or leaves to the next full fit: forget a user erased
after the version it starts from (their contributions are in the sums: it refuses, a full fit forgets them), and
take later events of users it already had (they wait for the next full fit).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.incremental import EMSums, em_sums, fit_incremental
from warmstart.families.linear.model import Summary, summarise_rows
from warmstart.families.linear.population import Population
from warmstart.store.store import Store


class NotEnoughDataError(ValueError):
    """Fewer users with rewarded events than the fit asks for."""


class IncrementalRefusedError(ValueError):
    """The active version cannot be extended incrementally (no sums stored, or users erased since)."""


@dataclass(frozen=True)
class StoreFit:
    population: Population
    n_users: int
    n_events: int
    meta: dict[str, Any]  # stored with the version


def _summary_since(store: Store, after: float | None, min_users: int) -> tuple[Summary, int, float | None]:
    user, X, r, latest = store.rewarded_events_since(after)
    n_users = int(user.max()) + 1 if user.size else 0
    if n_users < min_users:
        who = "users" if after is None else "new users (first reward after the active version's fit)"
        raise NotEnoughDataError(f"fit: expected rewarded events of at least {min_users} {who}, got {n_users}")
    return summarise_rows(user, X, r, n_users), int(user.size), latest


def _full_fit(store: Store, k_max: int, seed: int, min_users: int
              ) -> tuple[Population, Summary, int, float | None]:
    summary, n_events, latest = _summary_since(store, None, max(min_users, 2))
    return fit_population(summary, FitConfig(k_range=(1, k_max), seed=seed)), summary, n_events, latest


def fit_from_store(store: Store, *, k_max: int = 12, seed: int = 0, min_users: int = 2) -> tuple[Population, int, int]:
    """``(population, n_users, n_events)`` fitted on every rewarded event of users who were not erased."""
    population, summary, n_events, _ = _full_fit(store, k_max, seed, min_users)
    return population, summary.n_users, n_events


def fit_version(store: Store, *, k_max: int = 12, seed: int = 0, min_users: int = 2) -> StoreFit:
    """A full fit on every rewarded event of users who were not erased, with what an incremental fit needs."""
    started = time.time()
    population, summary, n_events, latest = _full_fit(store, k_max, seed, min_users)
    meta = {"fingerprint": population.fingerprint(), "source": "event log", "n_users": summary.n_users,
            "n_events": n_events, "sums_from": started, "rewards_through": latest,
            "em_sums": em_sums(summary, population).to_dict()}
    return StoreFit(population, summary.n_users, n_events, meta)


def fit_version_incremental(store: Store, base_version: int, *, min_users: int = 1) -> StoreFit:
    """Version ``base_version`` (a full or incremental fit that stored its sums) extended with the users whose
    first reward came after it, without re-reading the earlier users."""
    data, base = store.population(base_version)
    if "em_sums" not in base or base.get("rewards_through") is None or "sums_from" not in base:
        raise IncrementalRefusedError(f"incremental: version {base_version} has no stored EM sums (fitted "
                                      "elsewhere or before they were kept); run a full fit")
    erased = store.erased_since(float(base["sums_from"]))
    if erased:
        raise IncrementalRefusedError(f"incremental: {erased} users were erased since version {base_version} was "
                                      "fitted and their contributions are in its sums; run a full fit to forget them")
    population = Population.from_bytes(data, source=f"population version {base_version}")
    earlier = EMSums.from_dict(base["em_sums"], source=f"version {base_version}'s EM sums")
    new, n_events, latest = _summary_since(store, float(base["rewards_through"]), max(min_users, 1))
    fitted, sums = fit_incremental(population, earlier, new)
    meta = {"fingerprint": fitted.fingerprint(), "source": "incremental", "base_version": base_version,
            "n_users": sums.n_users, "n_new_users": new.n_users, "n_events": int(base["n_events"]) + n_events,
            "sums_from": base["sums_from"], "rewards_through": latest,
            "em_sums": sums.to_dict()}
    return StoreFit(fitted, sums.n_users, meta["n_events"], meta)
