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

A row whose reward or features are not finite or beyond the service's magnitude bounds (stored before the bounds
were checked, or under wider ones) is skipped, not fatal: the fit runs on the usable rows and reports how many
rows (and users whose statistics would overflow) it left out, in its answer and in the version's metadata.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from warmstart._validate import DEFAULT_BOUNDS, Bounds
from warmstart.families.linear.fit import FitConfig, fit_population
from warmstart.families.linear.incremental import EMSums, em_sums, fit_incremental
from warmstart.families.linear.model import Summary, summarise_rows
from warmstart.families.linear.population import Population
from warmstart.store.store import Store

T = TypeVar("T")


class NotEnoughDataError(ValueError):
    """Fewer users with rewarded events than the fit asks for."""


class IncrementalRefusedError(ValueError):
    """The active version cannot be extended incrementally (no sums stored, or users erased since)."""


class FitFailedError(ValueError):
    """The usable rows could not be fitted (the fit raised on them)."""


@dataclass(frozen=True)
class StoreFit:
    population: Population
    n_users: int
    n_events: int
    meta: dict[str, Any]  # stored with the version
    skipped: Skipped = field(default_factory=lambda: Skipped())


@dataclass(frozen=True)
class Skipped:
    """What a fit left out: rows with a reward or a feature that is not finite or beyond the bounds (stored
    before the bounds were checked, or under wider ones), and users whose statistics would not be finite."""

    rows: int = 0
    users: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"skipped_rows": self.rows, "skipped_users": self.users}


def usable_rows(user: np.ndarray, X: np.ndarray, r: np.ndarray, bounds: Bounds
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The rows whose reward and features are finite and within ``bounds``, users renumbered ``0..``, and the
    number of rows left out."""
    with np.errstate(invalid="ignore"):
        keep = (np.abs(r) <= bounds.max_reward) & (np.abs(X) <= bounds.max_feature).all(axis=1)
    if keep.all():
        return user, X, r, 0
    _, renumbered = np.unique(user[keep], return_inverse=True)
    return renumbered.astype(np.int64), X[keep], r[keep], int((~keep).sum())


def _summary_since(store: Store, after: float | None, min_users: int, bounds: Bounds
                   ) -> tuple[Summary, int, float | None, Skipped]:
    user, X, r, latest = store.rewarded_events_since(after)
    user, X, r, skipped_rows = usable_rows(user, X, r, bounds)
    n_users = int(user.max()) + 1 if user.size else 0
    summary = summarise_rows(user, X, r, n_users) if n_users else None
    skipped_users = 0
    if summary is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            ok = (np.isfinite(summary.A).all(axis=(1, 2)) & np.isfinite(summary.b).all(axis=1)
                  & np.isfinite(summary.c))
        if not ok.all():  # sums that overflow float64 (only under bounds near their ceiling)
            skipped_users = int((~ok).sum())
            skipped_rows += int(summary.n[~ok].sum())
            summary, n_users = summary[ok], int(ok.sum())
    skipped = Skipped(skipped_rows, skipped_users)
    if n_users < min_users:
        who = "users" if after is None else "new users (first reward after the active version's fit)"
        left = (f" ({skipped_rows} rows left out: a reward or feature not finite or beyond the bounds)"
                if skipped_rows else "")
        raise NotEnoughDataError(f"fit: expected rewarded events of at least {min_users} {who}, got {n_users}{left}")
    assert summary is not None
    return summary, int(summary.n.sum()), latest, skipped


def _fitted(fit: Callable[[], T]) -> T:
    """The result of a fit, or ``FitFailedError`` when the usable rows still defeat it (a ``ValueError`` from
    the fit, such as a population that is not finite)."""
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return fit()
    except ValueError as exc:  # np.linalg.LinAlgError is a ValueError
        raise FitFailedError(f"fit: the rewarded events could not be fitted ({exc})") from exc


def _full_fit(store: Store, k_max: int, seed: int, min_users: int, bounds: Bounds
              ) -> tuple[Population, Summary, int, float | None, Skipped]:
    summary, n_events, latest, skipped = _summary_since(store, None, max(min_users, 2), bounds)
    population = _fitted(lambda: fit_population(summary, FitConfig(k_range=(1, k_max), seed=seed)))
    return population, summary, n_events, latest, skipped


def fit_from_store(store: Store, *, k_max: int = 12, seed: int = 0, min_users: int = 2,
                   bounds: Bounds = DEFAULT_BOUNDS) -> tuple[Population, int, int]:
    """``(population, n_users, n_events)`` fitted on every usable rewarded event of users who were not erased."""
    population, summary, n_events, _, _ = _full_fit(store, k_max, seed, min_users, bounds)
    return population, summary.n_users, n_events


def fit_version(store: Store, *, k_max: int = 12, seed: int = 0, min_users: int = 2,
                bounds: Bounds = DEFAULT_BOUNDS) -> StoreFit:
    """A full fit on every usable rewarded event of users who were not erased, with what an incremental fit
    needs. Rows with a reward or a feature beyond ``bounds`` (or not finite) are left out and counted."""
    started = time.time()
    population, summary, n_events, latest, skipped = _full_fit(store, k_max, seed, min_users, bounds)
    meta = {"fingerprint": population.fingerprint(), "source": "event log", "n_users": summary.n_users,
            "n_events": n_events, **skipped.to_dict(), "sums_from": started, "rewards_through": latest,
            "em_sums": em_sums(summary, population).to_dict()}
    return StoreFit(population, summary.n_users, n_events, meta, skipped)


def fit_version_incremental(store: Store, base_version: int, *, min_users: int = 1,
                            bounds: Bounds = DEFAULT_BOUNDS) -> StoreFit:
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
    new, n_events, latest, skipped = _summary_since(store, float(base["rewards_through"]), max(min_users, 1), bounds)
    fitted, sums = _fitted(lambda: fit_incremental(population, earlier, new))
    meta = {"fingerprint": fitted.fingerprint(), "source": "incremental", "base_version": base_version,
            "n_users": sums.n_users, "n_new_users": new.n_users, "n_events": int(base["n_events"]) + n_events,
            **skipped.to_dict(), "sums_from": base["sums_from"], "rewards_through": latest,
            "em_sums": sums.to_dict()}
    return StoreFit(fitted, sums.n_users, meta["n_events"], meta, skipped)
