"""warmstart: bootstrap personalized policies for new users from the types of people in a population.

The public API, imported on first use (``import warmstart`` itself is instant):

- the core path: ``fit_population``, ``load_population``, ``make_policy``, ``check_policy``,
  ``available_policies``, ``available_families``;
- records and loaders: ``load_events`` / ``EventData`` (an event file), ``load_log`` / ``TrainingLog``
  (logged bandit feedback), ``summarise_log``;
- the objects they return: ``FitConfig``, ``Population``, ``TypePopulation``, ``Belief``, ``PolicyContext``,
  ``Decision``, ``Policy``;
- ``warmstart.sim``: the Gymnasium simulators, as ``ws.sim``.

>>> import warmstart as ws
>>> "mixture_ids" in ws.available_policies()
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from warmstart._version import __version__

if TYPE_CHECKING:  # what the names below are, for type checkers (and the layering test)
    from warmstart import sim
    from warmstart.api import fit_population, load_population, make_policy
    from warmstart.data.bandit_log import TrainingLog, load_log
    from warmstart.data.events import EventData, load_events
    from warmstart.families.generic import TypePopulation
    from warmstart.families.linear.belief import Belief
    from warmstart.families.linear.fit import FitConfig
    from warmstart.families.linear.model import summarise_log
    from warmstart.families.linear.population import Population
    from warmstart.families.registry import available_families
    from warmstart.policies.base import Decision, Policy, PolicyContext
    from warmstart.policies.check import check_policy
    from warmstart.policies.registry import available_policies

_API = {
    "fit_population": "warmstart.api", "load_population": "warmstart.api", "make_policy": "warmstart.api",
    "check_policy": "warmstart.policies.check", "available_policies": "warmstart.policies.registry",
    "available_families": "warmstart.families.registry",
    "load_events": "warmstart.data.events", "EventData": "warmstart.data.events",
    "load_log": "warmstart.data.bandit_log", "TrainingLog": "warmstart.data.bandit_log",
    "summarise_log": "warmstart.families.linear.model",
    "FitConfig": "warmstart.families.linear.fit", "Population": "warmstart.families.linear.population",
    "TypePopulation": "warmstart.families.generic", "Belief": "warmstart.families.linear.belief",
    "PolicyContext": "warmstart.policies.base", "Decision": "warmstart.policies.base",
    "Policy": "warmstart.policies.base",
}

__all__ = [
    "Belief",
    "Decision",
    "EventData",
    "FitConfig",
    "Policy",
    "PolicyContext",
    "Population",
    "TrainingLog",
    "TypePopulation",
    "__version__",
    "available_families",
    "available_policies",
    "check_policy",
    "fit_population",
    "load_events",
    "load_log",
    "load_population",
    "make_policy",
    "sim",
    "summarise_log",
]


def __getattr__(name: str) -> Any:
    if name == "sim":
        value: Any = importlib.import_module("warmstart.sim")
    elif name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
    else:
        raise AttributeError(f"module 'warmstart' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
