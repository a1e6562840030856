"""Simulated users: ground truth (``UserBatch``) and how the simulators draw it (a type each, with a minority
type and outliers drawn from no type)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from warmstart.data.bandit_log import OUTLIER_TYPE

OUTLIER = OUTLIER_TYPE


def type_shares(n_types: int, minority_share: float, outlier_share: float) -> np.ndarray:
    """``(n_types + 1,)``: each type's share of users (the last type the minority, the others equal) and, last,
    the outliers' share. Shared by the simulators with a minority type and outliers.

    >>> type_shares(3, minority_share=0.1, outlier_share=0.05).round(3).tolist()
    [0.425, 0.425, 0.1, 0.05]
    """
    rest = (1.0 - minority_share - outlier_share) / max(n_types - 1, 1)
    shares = np.full(n_types, rest)
    if n_types > 1:
        shares[n_types - 1] = minority_share
    else:
        shares[0] = 1.0 - outlier_share
    return np.append(shares, outlier_share)


def draw_type_ids(shares: np.ndarray, n: int, rng: np.random.Generator,
                  kind: Literal["population", "minority", "outlier"] = "population") -> np.ndarray:
    """Type of each of ``n`` users (``OUTLIER`` for outliers): drawn with ``shares`` (``type_shares``) for
    ``"population"``, all of the minority type (the last) or all outliers.

    >>> shares = type_shares(3, minority_share=0.1, outlier_share=0.05)
    >>> draw_type_ids(shares, 8, np.random.default_rng(0)).tolist()
    [1, 0, 0, 0, 1, 2, 1, 1]
    >>> draw_type_ids(shares, 2, np.random.default_rng(0), kind="minority").tolist()
    [2, 2]
    """
    n_types = shares.shape[0] - 1
    if kind == "population":
        labels = rng.choice(n_types + 1, size=n, p=shares / shares.sum())
        return np.where(labels == n_types, OUTLIER, labels)
    if kind == "minority":
        return np.full(n, n_types - 1)
    if kind == "outlier":
        return np.full(n, OUTLIER)
    raise ValueError(f"kind: expected 'population', 'minority' or 'outlier', got {kind!r}")


def draw_users(shares: np.ndarray, type_means: np.ndarray, within_sd: float | np.ndarray, outlier_mean: np.ndarray,
               outlier_sd: float | np.ndarray, n: int, rng: np.random.Generator,
               kind: Literal["population", "minority", "outlier"] = "population") -> UserBatch:
    """``n`` users: a type each (``draw_type_ids``), then ``theta`` Gaussian around their type's mean with
    ``within_sd`` per coordinate, or around ``outlier_mean`` with ``outlier_sd`` for outliers.

    >>> means = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> rng = np.random.default_rng(0)
    >>> users = draw_users(type_shares(2, 0.5, 0.0), means, 0.1, np.zeros(2), 1.0, 3, rng)
    >>> users.type_id.tolist(), users.theta.round(2).tolist()        # near their type's mean
    ([1, 0, 0], [[0.01, 0.95], [1.04, 0.13], [1.09, -0.07]])
    """
    type_id = draw_type_ids(shares, n, rng, kind)
    z = rng.standard_normal((n, type_means.shape[1]))
    theta = np.where((type_id == OUTLIER)[:, None], outlier_mean + outlier_sd * z,
                     type_means[np.maximum(type_id, 0)] + within_sd * z)
    return UserBatch(theta, type_id)


@dataclass(frozen=True)
class UserBatch:
    """Ground truth of users: ``theta (N, d)``, ``type_id (N,)`` (``-1`` for outliers).

    >>> users = UserBatch(theta=np.array([[1.0, 0.0], [0.0, 2.0]]), type_id=np.array([0, OUTLIER]))
    >>> len(users), users[1].type_id.tolist(), users[1].theta.tolist()       # a batch of one
    (2, [-1], [[0.0, 2.0]])
    """

    theta: np.ndarray
    type_id: np.ndarray

    def __len__(self) -> int:
        return int(self.theta.shape[0])

    def __getitem__(self, i: int) -> UserBatch:
        return UserBatch(self.theta[i : i + 1], self.type_id[i : i + 1])
