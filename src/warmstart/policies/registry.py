"""The policies by name: ``make_policy``, ``policy_class``, ``available_policies``; ``served_policy``, the one a
population's fit recorded as the rule to serve it with (``resolve_policy`` turns ``"auto"`` into it).

A policy module registers its classes with ``@register_policy("name")`` (``warmstart.policies.base``) when it
is imported; the built-in modules are imported here. Adding a built-in policy is one module plus its name in
the import line below; a third-party policy registers itself the same way.
"""

from __future__ import annotations

import inspect
from typing import Any

from warmstart.families.generic import TypePopulation
from warmstart.policies import baselines, club, floor, identify, mixture, planning, types, vw  # noqa: F401 - importing registers them
from warmstart.policies.base import POLICIES, Policy, PolicyContext


def available_policies() -> list[str]:
    """The registered policy names, sorted.

    >>> names = available_policies()
    >>> {"mixture_ids", "mixture_ts", "random", "club"} <= set(names), names == sorted(names)
    (True, True)
    """
    return sorted(POLICIES.names())


def policy_class(name: str) -> type[Policy]:
    """The class registered under ``name``; a ``ValueError`` listing the names for an unknown one.

    >>> policy_class("mixture_ids").__name__, policy_class("mixture_ids").needs_population
    ('MixtureIDS', True)
    >>> policy_class("mixture")
    Traceback (most recent call last):
    ...
    ValueError: policy: expected one of club, floored, from_scratch_ts, mixture_greedy, ..., got 'mixture'
    """
    return POLICIES.get(name)


def make_policy(name: str, context: PolicyContext, *, seed: int = 0, **params: Any) -> Policy:
    """Build the policy registered under ``name`` for ``context``, with its own generator seeded by ``seed``.

    >>> import numpy as np
    >>> policy = make_policy("random", PolicyContext(dim=2), seed=3)
    >>> policy.name, policy.seed, policy.act(policy.new_user(), np.eye(2)).propensity
    ('random', 3, 0.5)
    >>> make_policy("mixture_ts", PolicyContext(dim=2))         # this one learns from a fitted population
    Traceback (most recent call last):
    ...
    ValueError: policy 'mixture_ts': expected a fitted population in the context, got none
    >>> make_policy("random", PolicyContext(dim=2), temperature=0.5)
    Traceback (most recent call last):
    ...
    ValueError: params: policy 'random' takes no parameter temperature; it takes seed
    """
    cls = policy_class(name)
    accepted = inspect.signature(cls.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            takes = [p for p, v in accepted.items() if p not in ("self", "context") and v.kind is v.KEYWORD_ONLY]
            raise ValueError(f"params: policy {name!r} takes no parameter {', '.join(unknown)}; it takes "
                             f"{', '.join(takes) or 'none'}")
    return cls(context, seed=seed, **params)


#: the policy name that means "the rule the population's fit chose" (``served_policy``)
AUTO = "auto"


def served_policy(population: Any) -> str:
    """The policy ``population`` should be served with: the registered name its fit recorded (``fit --log``
    chooses it by replaying the training users' validation users: ``decision.policy`` in the linear family's
    diagnostics, in a generic family's ``record``), else the default of its kind (``mixture_ids`` for the
    linear family's ``Population``, ``type_ts`` for any other family's ``TypePopulation``).

    >>> import numpy as np
    >>> params = {"mu": np.zeros((1, 2)), "cov": np.eye(2)[None]}
    >>> served_policy(TypePopulation(family="logistic_bernoulli", weights=np.ones(1), params=params))
    'type_ts'
    >>> served_policy(TypePopulation(family="logistic_bernoulli", weights=np.ones(1), params=params,
    ...                              record={"decision": {"policy": "type_greedy"}}))
    'type_greedy'
    """
    if isinstance(population, TypePopulation):
        recorded, default = (population.record or {}).get("decision"), "type_ts"
    else:
        recorded, default = getattr(population.diagnostics, "decision", None), "mixture_ids"
    name = recorded.get("policy") if isinstance(recorded, dict) else None
    return name if isinstance(name, str) and name in POLICIES.names() else default


def resolve_policy(name: str, population: Any) -> str:
    """``name``, or for ``"auto"`` the policy ``population``'s fit recorded (``served_policy``).

    >>> import numpy as np
    >>> from warmstart.policies.baselines import single_gaussian
    >>> resolve_policy("auto", single_gaussian(np.zeros(2), np.eye(2), 0.25)), resolve_policy("mixture_ts", None)
    ('mixture_ids', 'mixture_ts')
    """
    return served_policy(population) if name == AUTO else name
