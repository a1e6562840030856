"""The functions of the public API (``import warmstart as ws``): the core path from a log to a new user's
decisions, for any registered family.

>>> import numpy as np
>>> import warmstart as ws
>>> truth = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig())        # 8 simulated types of people
>>> log = truth.logged(n_users=600, n_events=20, seed=0)                     # earlier users' logged feedback
>>> population = ws.fit_population(log, ws.FitConfig(n_types=8, split_merge=False, seed=0))
>>> policy = ws.make_policy("mixture_ids", population, seed=0)               # the dimension is the population's
>>> state = policy.new_user()
>>> actions = truth.candidates(np.random.default_rng(1), ())                  # 20 candidates, 10 features each
>>> decision = policy.act(state, actions)
>>> policy.update(state, actions, decision.action, reward=1.0)
>>> blob = policy.state_to_bytes(state)                                       # what a store keeps
>>> bool(np.allclose(policy.state_from_bytes(blob).type_probs(), state.type_probs()))
True
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from warmstart.data.bandit_log import TrainingLog
from warmstart.families.generic import TypePopulation
from warmstart.families.linear.fit import FitConfig
from warmstart.families.linear.fit import fit_population as _fit_linear
from warmstart.families.linear.model import Summary, summarise_log
from warmstart.families.linear.population import Population
from warmstart.families.linear.shards import SummaryShards
from warmstart.families.registry import AnyPopulation
from warmstart.families.registry import family as _family
from warmstart.families.registry import fit as _fit_family
from warmstart.families.registry import load_population as _load_population
from warmstart.policies.base import Policy, PolicyContext
from warmstart.policies.registry import make_policy as _make_policy

LINEAR = "linear_gaussian"


def fit_population(data: TrainingLog | Summary | SummaryShards | Any, config: FitConfig | None = None, *,
                   family: str = LINEAR, progress: Callable[[str, float], None] | None = None,
                   **options: Any) -> Population | TypePopulation:
    """Fit the types of people in ``data``: a logged-feedback record (``TrainingLog``, such as a simulator's
    log or ``load_log``), or, for the linear family, users' statistics already summarised (``Summary``, Parquet
    ``SummaryShards``). ``config`` (``FitConfig``) sets the linear fit (K chosen from the data by default);
    another registered ``family`` is fitted by its own fit or the generic EM, with ``options`` passed on
    (``n_types``, ``k_range``, ``seed``, ...).

    >>> import warmstart as ws
    >>> log = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig()).logged(300, 20, seed=0)
    >>> ws.fit_population(log, ws.FitConfig(n_types=3, split_merge=False)).n_types
    3
    """
    if family == LINEAR:
        if options:
            raise ValueError(f"options: the linear family takes its settings in config (FitConfig), got "
                             f"{sorted(options)}")
        stats = summarise_log(data) if isinstance(data, TrainingLog) else data
        return _fit_linear(stats, config, progress=progress)
    if config is not None:
        raise ValueError(f"config: FitConfig sets the linear family's fit; the family {family!r} takes keyword "
                         "options (n_types, k_range, seed, ...)")
    fam = _family(family)
    stats = fam.summarise(data) if isinstance(data, TrainingLog) else data
    return _fit_family(family, stats, **options)


def load_population(path: str | os.PathLike[str]) -> AnyPopulation:
    """Read a population file of any family (``docs/formats.md``); a ``ValueError`` naming the file and what
    is wrong for anything else.

    >>> import warmstart as ws, tempfile, pathlib
    >>> log = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig()).logged(200, 10, seed=0)
    >>> population = ws.fit_population(log, ws.FitConfig(n_types=2, split_merge=False))
    >>> path = population.save(pathlib.Path(tempfile.mkdtemp()) / "population.npz")
    >>> ws.load_population(path).fingerprint() == population.fingerprint()
    True
    """
    return _load_population(path)


def make_policy(name: str, population: AnyPopulation | PolicyContext | None = None, *,
                train_log: TrainingLog | None = None, dim: int = 0, seed: int = 0, **params: Any) -> Policy:
    """The policy registered as ``name`` (``available_policies()``), built for a fitted ``population`` and/or a
    training log (``PolicyContext``; the dimension comes from them), with its own random stream from ``seed``
    and the policy's settings in ``params``.

    >>> import warmstart as ws
    >>> policy = ws.make_policy("random", dim=4, seed=0)
    >>> policy.act(policy.new_user(), [[1.0, 0, 0, 0], [0, 1.0, 0, 0]]).propensity
    0.5
    """
    if isinstance(population, PolicyContext):
        if train_log is not None or dim:
            raise ValueError("train_log, dim: expected them inside the PolicyContext given, got them beside it")
        context = population
    else:
        context = PolicyContext(dim=dim, population=population, train_log=train_log)  # type: ignore[arg-type]
    return _make_policy(name, context, seed=seed, **params)
