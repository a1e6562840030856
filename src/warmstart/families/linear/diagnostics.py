"""``FitDiagnostics``: the typed record of how a linear-Gaussian population was fitted, stored as the
``diagnostics`` object of the population file's metadata (``docs/formats.md``).

A field is ``None`` when the fit that made the population does not report it (a differentially private fit
reports no log likelihood; only a fit from an event log says where its item features came from). Keys a file
holds that this release does not know are kept in ``extra``, and the keys' order as read is kept, so a file
read and written again holds the same bytes.

>>> from warmstart.families.linear.diagnostics import FitDiagnostics
>>> d = FitDiagnostics.from_dict({"selected_k": 3, "n_iter": 12, "converged": True})
>>> d.selected_k, d.loglik
(3, None)
>>> d.replace(item_features={"source": "log"}).to_dict()
{'selected_k': 3, 'n_iter': 12, 'converged': True, 'item_features': {'source': 'log'}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warmstart._record import OrderedRecord


@dataclass(frozen=True, kw_only=True)
class FitDiagnostics(OrderedRecord):
    """How a population was fitted; every field optional (see the module docstring).

    >>> d = FitDiagnostics.from_dict({"selected_k": 3, "converged": True, "from_the_future": 1})
    >>> d.selected_k, d.loglik, d.extra                       # unknown keys are kept, not dropped
    (3, None, {'from_the_future': 1})
    >>> d.replace(n_iter=12).to_dict()                        # the keys in the order read, new ones last
    {'selected_k': 3, 'converged': True, 'from_the_future': 1, 'n_iter': 12}
    """

    n_users: int | None = None
    n_events: float | None = None
    dim: int | None = None
    selected_k: int | None = None
    selection: str | None = None  # "bic", "heldout", "fixed", "fixed (private)" or "early events" (space.py)
    k_path: list[dict[str, Any]] | None = None  # one entry per K tried: K, loglik, bic, n_iter, converged, ...
    moves: list[dict[str, Any]] | None = None  # split and merge moves tried and kept
    loglik: float | None = None
    bic: float | None = None
    n_iter: int | None = None
    converged: bool | None = None
    config: dict[str, Any] | None = None  # the FitConfig (or DPConfig) the fit ran with
    init_sample: dict[str, Any] | None = None  # the fit on a sample that EM on all users started from
    dp: dict[str, Any] | None = None  # the privacy guarantee and how it was met
    n_users_noisy: float | None = None
    init: dict[str, Any] | None = None  # the private fit's initialisation
    incremental: dict[str, Any] | None = None  # the population extended with new users, and from which
    item_features: dict[str, Any] | None = None  # where a fit from an event log took its item features
    space: dict[str, Any] | None = None  # the item space and K chosen on validation users, with the scores
    family: dict[str, Any] | None = None  # on a 0/1 log (fit --log): both families' scores, the linear chosen
    decision: dict[str, Any] | None = None  # fit --log: the policy to serve with, chosen on validation users
    fair: dict[str, Any] | None = None  # a fair fit (fit_population(fair_attribute=)): the attribute and the check
    dynamics: dict[str, Any] | None = None  # learned response dynamics: the structure chosen and every score
