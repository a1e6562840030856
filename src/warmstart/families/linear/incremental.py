"""A new population version from new users only: incremental EM that keeps the earlier users' sufficient sums.

The M-step of the population fit needs only sums over users of responsibility-weighted posterior moments
(``warmstart.families.linear.fit``). At the end of a fit those sums, taken at the fitted parameters, summarise every
user seen so far (``em_sums``: one pass). A new version then runs EM over the *new* users only, adding the kept
sums of the earlier users in every M-step (``fit_incremental``), and returns the new population with the sums
of everyone for the next increment. The earlier users' responsibilities stay where the earlier fit left them, as
in the incremental EM of Neal and Hinton (1998, "A view of the EM algorithm that justifies incremental, sparse,
and other variants") when old users are not revisited: cheap in proportion to the new users, and close to a
full refit when the new users come from the same population (measured by ``warmstart bench scale``). A full
refit remains the way to let the earlier users move.

Sums are saved as ``.npz`` (format ``warmstart.em_sums``, version 1, through ``warmstart._persist``: read
without pickle, checked; ``EMSumsFormatError``, a ``ValueError``, for anything else).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._persist import Array, FormatError, NpzFormat
from warmstart.families.linear.em import _m_step, _pass
from warmstart.families.linear.fit import FitConfig
from warmstart.families.linear.model import Summary
from warmstart.families.linear.population import Population

FORMAT = "warmstart.em_sums"
VERSION = 1
_ARRAYS = ("W", "Sm", "Smm", "Sres", "Sn")


class EMSumsFormatError(FormatError):
    """EM sums (a file or a store's metadata) that cannot be read: wrong format, unknown version or damaged.

    >>> EMSums.from_dict({"format": "warmstart.population"}, source="the store's metadata")
    Traceback (most recent call last):
    ...
    warmstart.families.linear.incremental.EMSumsFormatError: the store's metadata: expected format ...
    """


#: the EM sums file (``warmstart._persist``; no ``warmstart_version`` in its metadata, as before)
_FILE = NpzFormat(FORMAT, VERSION, tuple(Array(name) for name in _ARRAYS), EMSumsFormatError, "EM sums file",
                  stamp=False)


@dataclass(frozen=True)
class EMSums:
    """M-step sums over ``n_users`` users: weights ``W (K1,)``, means ``Sm (K1, d)``, second moments
    ``Smm (K1, d, d)``, residuals ``Sres (K1,)`` and events ``Sn (K1,)``, under the population
    ``fingerprint``.

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> earlier = ws.summarise_log(truth.logged(90, 20, seed=0))          # the users fitted first
    >>> population = ws.fit_population(earlier, ws.FitConfig(n_types=3, split_merge=False))
    >>> sums = em_sums(earlier, population)
    >>> sums.n_users, sums.W.round(2).tolist(), len(sums.arrays())       # responsibility mass per component
    (90, [33.95, 26.91, 28.97, 0.17], 5)
    >>> EMSums.from_dict(sums.to_dict()).n_users, EMSums.load(sums.save("sums.npz")).n_users   # JSON; file
    (90, 90)
    >>> (sums + EMSums.of(sums.arrays(), 10, sums.fingerprint)).n_users                         # sums add
    100
    """

    W: np.ndarray
    Sm: np.ndarray
    Smm: np.ndarray
    Sres: np.ndarray
    Sn: np.ndarray
    n_users: int
    fingerprint: str

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(getattr(self, name) for name in _ARRAYS)

    @staticmethod
    def of(arrays: tuple[np.ndarray, ...], n_users: int, fingerprint: str) -> EMSums:
        W, Sm, Smm, Sres, Sn = arrays
        return EMSums(W, Sm, Smm, Sres, Sn, n_users, fingerprint)

    def __add__(self, other: EMSums) -> EMSums:
        return EMSums.of(tuple(a + b for a, b in zip(self.arrays(), other.arrays(), strict=True)),
                         self.n_users + other.n_users, other.fingerprint)

    def to_dict(self) -> dict[str, Any]:
        """The sums as JSON-ready data (floats round-trip exactly), for a store's population metadata."""
        return {"format": FORMAT, "format_version": VERSION, "n_users": self.n_users,
                "fingerprint": self.fingerprint, **{name: getattr(self, name).tolist() for name in _ARRAYS}}

    @staticmethod
    def from_dict(data: dict[str, Any], source: str = "EM sums") -> EMSums:
        """Read what ``to_dict`` made, with the checks of the file's reader; ``EMSumsFormatError`` names
        ``source``."""
        data = _FILE.check_meta(data, source)
        try:
            arrays = {name: _FILE.check_array(name, data[name], source) for name in _ARRAYS}
            return EMSums(**arrays, n_users=int(data["n_users"]), fingerprint=str(data["fingerprint"]))
        except FormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise EMSumsFormatError(f"{source}: not readable ({type(exc).__name__}: {exc})") from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        meta = {"n_users": self.n_users, "fingerprint": self.fingerprint}
        return _FILE.save(path, {name: getattr(self, name) for name in _ARRAYS}, meta)

    @staticmethod
    def load(path: str | os.PathLike[str]) -> EMSums:
        """Read what ``save`` wrote; ``EMSumsFormatError`` (naming the file) for anything else."""
        meta, arrays = _FILE.load(path)
        try:
            return EMSums(**arrays, n_users=int(meta["n_users"]), fingerprint=str(meta["fingerprint"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise _FILE.fail(path, f"meta: expected n_users and fingerprint ({type(exc).__name__}: {exc})") from exc


def _config(population: Population, config: FitConfig | None) -> FitConfig:
    if config is not None:
        return config
    saved: dict[str, Any] = dict(population.diagnostics.config or {})
    keep = {k: v for k, v in saved.items() if k in FitConfig.__dataclass_fields__}
    if "k_range" in keep:
        keep["k_range"] = tuple(keep["k_range"])
    keep["init_sample"] = None
    return replace(FitConfig(**keep), n_types=population.n_types)


def em_sums(summary: Summary, population: Population, chunk: int = 2000) -> EMSums:
    """The M-step sums of ``summary``'s users at ``population``'s parameters (one pass over them).

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> earlier = ws.summarise_log(truth.logged(90, 20, seed=0))          # the users fitted first
    >>> population = ws.fit_population(earlier, ws.FitConfig(n_types=3, split_merge=False))
    >>> sums = em_sums(earlier, population)
    >>> sums.n_users, sums.fingerprint == population.fingerprint(), sums.Smm.shape
    (90, True, (4, 3, 3))
    """
    summary.validate()
    if summary.dim != population.dim:
        raise ValueError(f"summary: expected dimension {population.dim}, got {summary.dim}")
    _, stats = _pass(summary, population.components, population.weights, chunk)
    return EMSums.of(stats, summary.n_users, population.fingerprint())


def fit_incremental(population: Population, earlier: EMSums, new: Summary, config: FitConfig | None = None
                    ) -> tuple[Population, EMSums]:
    """EM over the ``new`` users from ``population``, with the ``earlier`` users' sums held fixed; returns the new
    population and the sums of everyone under it (for the next increment). ``config`` defaults to the one the
    population was fitted with (K fixed at its number of types).

    >>> import warmstart as ws
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> earlier = ws.summarise_log(truth.logged(90, 20, seed=0))          # the users fitted first
    >>> population = ws.fit_population(earlier, ws.FitConfig(n_types=3, split_merge=False))
    >>> new = ws.summarise_log(truth.logged(30, 20, seed=1))               # 30 users who came later
    >>> updated, sums = fit_incremental(population, em_sums(earlier, population), new)
    >>> sums.n_users, updated.diagnostics.incremental["new_users"], sums.fingerprint == updated.fingerprint()
    (120, 30, True)
    >>> updated.components.mu[0].round(2).tolist(), population.components.mu[0].round(2).tolist()  # a bit
    ([0.07, 0.83, 2.88], [0.06, 0.78, 2.89])
    """
    if earlier.fingerprint != population.fingerprint():
        raise ValueError("earlier: expected the sums taken under this population (fingerprint differs); "
                         "compute them with em_sums(summary, population)")
    new.validate()
    if new.dim != population.dim:
        raise ValueError(f"new: expected dimension {population.dim}, got {new.dim}")
    cfg = _config(population, config)
    comps, weights = population.components, population.weights
    n_total = earlier.n_users + new.n_users
    prev, converged, it = -math.inf, False, 0
    for it in range(1, cfg.max_iter + 1):
        ll, stats = _pass(new, comps, weights, cfg.chunk)
        if it > 1 and abs(ll - prev) <= cfg.tol * max(abs(ll), 1.0):
            converged = True
            break
        prev = ll
        total = tuple(a + b for a, b in zip(earlier.arrays(), stats, strict=True))
        comps, weights = _m_step(total, comps, cfg, n_total)
    if not converged:  # the sums handed on must be those at the parameters returned
        ll, stats = _pass(new, comps, weights, cfg.chunk)
    diagnostics = population.diagnostics.replace(
        n_users=n_total,
        incremental={"from": population.fingerprint(), "earlier_users": earlier.n_users,
                     "new_users": new.n_users, "n_iter": it, "converged": converged, "new_users_loglik": ll},
    )
    out = Population(comps, weights, diagnostics)
    new_sums = EMSums.of(stats, new.n_users, out.fingerprint())
    return out, replace(earlier, fingerprint=out.fingerprint()) + new_sums
