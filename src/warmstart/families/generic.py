"""What every family shares: the EM driver, the fitted population of types and its file, a user's belief and its
bytes. Each works for any ``warmstart.families.protocol.Family``; the families do the maths.

>>> import numpy as np
>>> from warmstart.families.generic import run_em
>>> class Coin:  # a toy two-coin mixture, enough to drive the EM loop
...     def n_users(self, stats):
...         return len(stats)
...     def e_step(self, stats, params, weights):
...         lik = params["p"] ** stats[:, None] * (1 - params["p"]) ** (1 - stats[:, None]) * weights
...         resp = lik / lik.sum(1, keepdims=True)
...         return float(np.log(lik.sum(1)).sum()), (resp.sum(0), resp.T @ stats)
...     def m_step(self, sums, params, n_users):
...         return {"p": sums[1] / sums[0]}, sums[0] / n_users
>>> fit = run_em(Coin(), np.array([1.0, 1.0, 0.0, 1.0]), {"p": np.array([0.9, 0.2])}, np.array([0.5, 0.5]))
>>> fit.converged, round(float(fit.weights @ fit.params["p"]), 6)
(True, 0.75)
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._io import atomic_write
from warmstart._persist import Array, ByteHeader, FormatError, NpzFormat
from warmstart._validate import all_finite, check_finite, check_shape, refuse_non_finite
from warmstart.families.protocol import FAMILIES, Family, Params, State
from warmstart.stats import normalised_exp

POPULATION_FORMAT = "warmstart.population"
POPULATION_VERSION = 1


class TypePopulationFormatError(FormatError):
    """A population file of a generic family that cannot be read.

    >>> TypePopulation.from_bytes(b"junk", source="junk.npz")
    Traceback (most recent call last):
    ...
    warmstart.families.generic.TypePopulationFormatError: population file junk.npz: not a readable ...
    """


POPULATION = NpzFormat(POPULATION_FORMAT, POPULATION_VERSION, (Array("weights", ndim=1),), TypePopulationFormatError,
                       "population file")


# ---------------------------------------------------------------------------------------------- EM
@dataclass(frozen=True, kw_only=True)
class EMResult:
    """One EM run: the parameters and weights it ended with, its log likelihood and how it stopped.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.families.registry import family
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> fam = family("linear_gaussian")
    >>> stats = fam.summarise(truth.logged(90, 20, seed=0))             # 90 users of 3 types
    >>> params, weights = fam.initial(stats, 3, np.random.default_rng(0))
    >>> result = run_em(fam, stats, params, weights)
    >>> result.converged, result.n_iter, round(result.loglik, 2), result.weights.round(2).tolist()
    (True, 19, -1561.98, [0.37, 0.3, 0.32, 0.01])
    """

    params: Params
    weights: np.ndarray
    loglik: float
    n_iter: int
    converged: bool


def run_em(family: Family, stats: Any, params: Params, weights: np.ndarray, *, max_iter: int = 200,
           tol: float = 1e-6) -> EMResult:
    """EM from ``params`` and ``weights`` until the log likelihood changes by at most ``tol`` (relative) or
    ``max_iter`` passes: each pass is ``family.e_step`` then ``family.m_step``. The reported log likelihood is
    that of the returned parameters.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.families.registry import family
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> fam = family("linear_gaussian")
    >>> stats = fam.summarise(truth.logged(90, 20, seed=0))             # 90 users of 3 types
    >>> params, weights = fam.initial(stats, 3, np.random.default_rng(0))
    >>> short = run_em(fam, stats, params, weights, max_iter=2)
    >>> short.converged, short.n_iter, run_em(fam, stats, params, weights).loglik > short.loglik
    (False, 2, True)
    """
    n_users = family.n_users(stats)
    prev, ll, it, converged = -math.inf, -math.inf, 0, False
    for it in range(1, max_iter + 1):
        ll, sums = family.e_step(stats, params, weights)
        if it > 1 and abs(ll - prev) <= tol * max(abs(ll), 1.0):
            converged = True
            break
        prev = ll
        params, weights = family.m_step(sums, params, n_users)
    return EMResult(params=params, weights=weights, loglik=ll, n_iter=it, converged=converged)


@dataclass(frozen=True, kw_only=True)
class TypesFit:
    """How a generic fit chose its types: the K tried with their log likelihood and BIC, and the chosen run.
    ``n_types`` and each K in ``tried`` count the types of the population the run gave, as its ``n_types``
    does (the linear family adds its novel type to the K it starts from, so a start from 3 types gives 4).

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.families.registry import family
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> fam = family("linear_gaussian")
    >>> stats = fam.summarise(truth.logged(90, 20, seed=0))             # 90 users of 3 types
    >>> population = fit_types(fam, stats, k_range=(1, 4), n_init=1)      # the generic EM, K by BIC
    >>> record = population.fit
    >>> record.n_types, [k for k, loglik, bic in record.tried], record.converged   # 3 types and the novel
    (4, [2, 3, 4, 5], True)
    >>> record.n_types == population.n_types
    True
    >>> TypesFit.from_dict(record.to_dict()) == record                     # what the file's metadata keeps
    True
    """

    n_users: int
    n_types: int
    loglik: float
    bic: float
    n_iter: int
    converged: bool
    tried: tuple[tuple[int, float, float], ...] = ()  # (K, log likelihood, BIC) per K tried
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"n_users": self.n_users, "n_types": self.n_types, "loglik": self.loglik, "bic": self.bic,
                "n_iter": self.n_iter, "converged": self.converged, "seed": self.seed,
                "tried": [{"n_types": k, "loglik": ll, "bic": b} for k, ll, b in self.tried]}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> TypesFit:
        tried = tuple((int(t["n_types"]), float(t["loglik"]), float(t["bic"])) for t in d.get("tried", ()))
        return TypesFit(n_users=int(d["n_users"]), n_types=int(d["n_types"]), loglik=float(d["loglik"]),
                        bic=float(d["bic"]), n_iter=int(d["n_iter"]), converged=bool(d["converged"]),
                        tried=tried, seed=int(d.get("seed", 0)))


def fit_types(family: Family, stats: Any, *, n_types: int | None = None, k_range: tuple[int, int] = (1, 6),
              n_init: int = 3, max_iter: int = 200, tol: float = 1e-6, seed: int = 0) -> TypePopulation:
    """Fit a population of types of ``family`` to the users in ``stats`` by EM: ``n_types`` types, or K in
    ``k_range`` chosen by BIC; ``n_init`` starts per K (``family.initial``), the best log likelihood kept.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.families.registry import family
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> fam = family("linear_gaussian")
    >>> stats = fam.summarise(truth.logged(90, 20, seed=0))             # 90 users of 3 types
    >>> population = fit_types(fam, stats, k_range=(1, 4), n_init=1)      # the generic EM, K by BIC
    >>> population.n_types, population.weights.round(2).tolist()   # 3 types and the linear family's novel
    (4, [0.32, 0.37, 0.3, 0.01])
    """
    lo, hi = (n_types, n_types) if n_types is not None else k_range
    if not 1 <= lo <= hi:
        raise ValueError(f"k_range: expected 1 <= low <= high, got {(lo, hi)}")
    if n_init < 1 or max_iter < 1 or tol <= 0:
        raise ValueError(f"n_init >= 1, max_iter >= 1 and tol > 0 are required, got {n_init}, {max_iter}, {tol}")
    n = family.n_users(stats)
    if n < 1:
        raise ValueError("stats: expected at least one user, got none")
    rng = np.random.default_rng(seed)
    best: tuple[float, int, EMResult] | None = None
    tried = []
    for k in range(lo, hi + 1):
        run: EMResult | None = None
        for _ in range(n_init if k > 1 else 1):
            params, weights = family.initial(stats, k, rng)
            fit = run_em(family, stats, params, weights, max_iter=max_iter, tol=tol)
            if run is None or fit.loglik > run.loglik:
                run = fit
        assert run is not None
        bic = -2.0 * run.loglik + (family.n_free(run.params) + k - 1) * math.log(n)
        # the record counts the population's types: a family may give more than k (the linear novel type)
        k_fitted = int(run.weights.size)
        tried.append((k_fitted, run.loglik, bic))
        if best is None or bic < best[0]:
            best = (bic, k_fitted, run)
    assert best is not None
    bic, k_fitted, run = best
    record = TypesFit(n_users=n, n_types=k_fitted, loglik=run.loglik, bic=bic, n_iter=run.n_iter,
                      converged=run.converged, tried=tuple(tried), seed=seed)
    return TypePopulation(family=family.name, weights=run.weights, params=run.params, fit=record)


# ---------------------------------------------------------------------------------------------- population
@dataclass(frozen=True, eq=False, kw_only=True)
class TypePopulation:
    """K fitted types of a family: their weights ``(K,)`` and the family's parameters (arrays whose first axis
    is the type), with the record of the fit.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.families.registry import family
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> fam = family("linear_gaussian")
    >>> stats = fam.summarise(truth.logged(90, 20, seed=0))             # 90 users of 3 types
    >>> population = fit_types(fam, stats, k_range=(1, 4), n_init=1)      # the generic EM, K by BIC
    >>> population.family, population.dim, population.type_names()
    ('linear_gaussian', 3, ['type 0', 'type 1', 'type 2', 'type 3'])
    >>> population.posterior(stats).shape, population.posterior(stats)[0].round(3).tolist()
    ((90, 4), [0.0, 0.999, 0.0, 0.001])
    >>> back = TypePopulation.from_bytes(population.save("types.npz").read_bytes())
    >>> back.fingerprint() == population.fingerprint(), len(population.fingerprint())
    (True, 16)
    >>> back.to_bytes() == population.to_bytes()
    True
    >>> from dataclasses import replace     # what chose it travels with the file, outside the fingerprint
    >>> chosen = TypePopulation.from_bytes(replace(population, record={"family": "by log loss"}).to_bytes())
    >>> chosen.record, chosen.fingerprint() == population.fingerprint()
    ({'family': 'by log loss'}, True)
    """

    family: str
    weights: np.ndarray
    params: Params
    fit: TypesFit | None = None
    #: how this population was chosen, as JSON (``warmstart fit --log`` records its choice of item space, K and
    #: family here); kept in the file's metadata, outside the fingerprint
    record: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=float)
        if w.ndim != 1 or w.size < 1 or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(f"weights: expected positive finite type weights, got {self.weights!r}")
        for name, arr in self.params.items():
            if np.shape(arr)[:1] != (w.size,):
                raise ValueError(f"params[{name!r}]: expected a first axis of {w.size} types, got shape "
                                 f"{np.shape(arr)}")
            check_finite(f"params[{name!r}]", arr)
        if self.fit is not None and self.fit.n_types != w.size:
            raise ValueError(f"fit.n_types: expected the population's {w.size} types, got {self.fit.n_types}")
        object.__setattr__(self, "weights", w)

    @cached_property
    def model(self) -> Family:
        return FAMILIES.get(self.family)()

    @property
    def n_types(self) -> int:
        return int(self.weights.size)

    @property
    def dim(self) -> int:
        return self.model.dim(self.params)

    @cached_property
    def log_weights(self) -> np.ndarray:
        return np.log(self.weights / self.weights.sum())

    def type_names(self) -> list[str]:
        return [f"type {k}" for k in range(self.n_types)]

    def fingerprint(self) -> str:
        """Short hash of the weights and parameters: beliefs remember which population they were made under."""
        h = hashlib.sha256(self.family.encode())
        for name in sorted(self.params):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.params[name], dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.weights, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]

    def posterior(self, stats: Any) -> np.ndarray:
        """``(n_users, K)``: each user's posterior over the types given their statistics."""
        return normalised_exp(self.model.log_evidence(stats, self.params) + self.log_weights)

    # ------------------------------------------------------------------------------------------ file
    def to_bytes(self) -> bytes:
        """The ``.npz`` file's bytes (``warmstart._persist``): the weights, each parameter as ``param_<name>``, and
        the family, the type names, the fingerprint and the record of the fit in the metadata."""
        meta = {"family": self.family, "n_types": self.n_types, "type_names": self.type_names(),
                "fingerprint": self.fingerprint()}
        arrays = {"weights": self.weights, **{f"param_{k}": np.asarray(v, dtype=np.float64)
                                              for k, v in self.params.items()}}
        tail = {"fit": None if self.fit is None else self.fit.to_dict(), "record": self.record}
        return POPULATION.to_bytes(arrays, meta, meta_tail=tail)

    def save(self, path: str | os.PathLike[str]) -> Path:
        return atomic_write(Path(path), self.to_bytes())

    @staticmethod
    def from_bytes(data: bytes, source: str = "bytes") -> TypePopulation:
        """Read what ``to_bytes`` wrote; a ``TypePopulationFormatError`` naming ``source`` for anything else."""
        meta, arrays = POPULATION.from_bytes(data, source, extra=lambda name: name.startswith("param_"))
        name = meta.get("family")
        if not isinstance(name, str) or name not in FAMILIES:
            raise POPULATION.fail(source, f"expected a registered family (one of {', '.join(sorted(FAMILIES.names()))}"
                                          f"), got {name!r}")
        try:
            params = {k[len("param_"):]: np.array(v, dtype=np.float64) for k, v in arrays.items()
                      if k.startswith("param_")}
            pop = TypePopulation(family=name, weights=arrays["weights"], params=params,
                                 fit=None if meta.get("fit") is None else TypesFit.from_dict(meta["fit"]),
                                 record=_record_of(meta.get("record"), source))
        except (ValueError, KeyError, TypeError) as exc:
            raise POPULATION.fail(source, str(exc)) from exc
        if meta.get("fingerprint") != pop.fingerprint():
            raise POPULATION.fail(source, f"parameters do not match their fingerprint (expected "
                                          f"{meta.get('fingerprint')!r} as stored, got {pop.fingerprint()!r})")
        return pop


def _record_of(record: Any, source: object) -> dict[str, Any] | None:
    """The stored ``record`` (a JSON object, or absent: files written before it existed have none)."""
    if record is not None and not isinstance(record, dict):
        raise POPULATION.fail(source, f"record: expected a JSON object or null, got {type(record).__name__}")
    return record


# ---------------------------------------------------------------------------------------------- belief
class TypeBeliefFormatError(FormatError):
    """Belief bytes of a generic family that cannot be read (damaged, unknown version, other population).

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.families.registry import family
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> fam = family("linear_gaussian")
    >>> stats = fam.summarise(truth.logged(90, 20, seed=0))             # 90 users of 3 types
    >>> population = fit_types(fam, stats, k_range=(1, 4), n_init=1)      # the generic EM, K by BIC
    >>> TypeBelief.from_bytes(b"WSG", population)
    Traceback (most recent call last):
    ...
    warmstart.families.generic.TypeBeliefFormatError: belief bytes: expected at least 22 bytes ...
    """


# magic, version, then: the number of types, the events observed, the population's fingerprint
HEADER = ByteHeader(b"WSG", 1, "Hd8s", TypeBeliefFormatError, "belief bytes", "warmstart belief of a generic family")


@dataclass(eq=False)
class TypeBelief:
    """One user's belief under a population of any family: the family's per-type filtering state and the log
    evidence of the user's events under each type, updated exactly at every event.

    >>> import numpy as np, warmstart as ws
    >>> from warmstart.families.registry import family
    >>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_types=3, minority_share=0.3,
    ...                                                                 outlier_share=0.0))
    >>> fam = family("linear_gaussian")
    >>> stats = fam.summarise(truth.logged(90, 20, seed=0))             # 90 users of 3 types
    >>> population = fit_types(fam, stats, k_range=(1, 4), n_init=1)      # the generic EM, K by BIC
    >>> belief = TypeBelief.fresh(population)
    >>> belief.observe(np.array([1.0, 0.0, 0.0]), -1.5)
    >>> belief.observe(np.array([0.0, 0.0, 1.0]), 1.0)
    >>> belief.type_probs().round(3).tolist(), belief.n, belief.dim
    ([0.0, 0.0, 0.994, 0.006], 2.0, 3)
    >>> other = belief.copy()
    >>> other.observe(np.array([0.0, 1.0, 0.0]), 0.0)
    >>> other.n, belief.n
    (3.0, 2.0)
    >>> again = TypeBelief.from_bytes(belief.to_bytes(), population)     # what a store keeps
    >>> again.type_probs().round(3).tolist()
    [0.0, 0.0, 0.994, 0.006]
    """

    population: TypePopulation
    state: State
    log_evidence: np.ndarray
    n: float = 0.0

    @staticmethod
    def fresh(population: TypePopulation) -> TypeBelief:
        return TypeBelief(population, population.model.new_state(population.params), np.zeros(population.n_types))

    @property
    def dim(self) -> int:
        return self.population.dim

    def type_probs(self) -> np.ndarray:
        return normalised_exp(self.log_evidence + self.population.log_weights)

    def observe(self, x: np.ndarray, reward: float) -> None:
        """Add one event (the chosen action's features, the reward). Bad input changes nothing."""
        x = np.asarray(x, dtype=float)
        check_shape("x", x, (self.dim,))
        check_finite("x", x)
        check_finite("reward", reward)
        self._observe_trusted(x, self.population.model.check_reward(float(reward)))

    def _observe_trusted(self, x: np.ndarray, reward: float) -> None:
        """The family's ``observe`` on a copy of the state, kept only when the state and the log evidence are
        finite; otherwise ``NonFiniteUpdateError`` and the belief is unchanged."""
        state = {k: v.copy() for k, v in self.state.items()}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            log_evidence = self.log_evidence + self.population.model.observe(state, self.population.params, x,
                                                                             reward)
        if not all_finite(log_evidence, *state.values()):
            raise refuse_non_finite("belief", x, reward)
        self.state, self.log_evidence = state, log_evidence
        self.n += 1.0

    def copy(self) -> TypeBelief:
        return TypeBelief(self.population, {k: v.copy() for k, v in self.state.items()}, self.log_evidence.copy(),
                          self.n)

    def to_bytes(self) -> bytes:
        """Versioned bytes: a header, the log evidence, then the state's arrays in name order (float64)."""
        head = HEADER.pack(self.population.n_types, self.n, bytes.fromhex(self.population.fingerprint()))
        body = [self.log_evidence] + [self.state[k] for k in sorted(self.state)]
        return head + b"".join(np.ascontiguousarray(a, dtype="<f8").tobytes() for a in body)

    @staticmethod
    def from_bytes(data: bytes, population: TypePopulation) -> TypeBelief:
        k, n, fp = HEADER.unpack(data)
        if k != population.n_types or fp.hex() != population.fingerprint():
            raise HEADER.fail(f"made under another population (fingerprint differs: expected "
                              f"{population.fingerprint()}, got {fp.hex()})")
        template = population.model.new_state(population.params)
        layout = [("log_evidence", "<f8", k)] + [(key, "<f8", int(np.size(template[key]))) for key in sorted(template)]
        body, _ = HEADER.body(data, layout, detail=f" for {k} types")
        for name, values in body.items():
            HEADER.check_finite(name, values)
        if not (math.isfinite(n) and n >= 0):
            raise HEADER.fail(f"expected a non-negative count of events, got {n}")
        state = {key: body[key].reshape(np.shape(template[key])).copy() for key in template}
        return TypeBelief(population, state, body["log_evidence"].copy(), float(n))
