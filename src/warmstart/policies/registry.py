"""The policies by name: ``make_policy``, ``policy_class``, ``available_policies``.

A policy module registers its classes with ``@register_policy("name")`` (``warmstart.policies.base``) when it
is imported; the built-in modules are imported here. Adding a built-in policy is one module plus its name in
the import line below; a third-party policy registers itself the same way.
"""

from __future__ import annotations

import inspect
from typing import Any

from warmstart.policies import baselines, club, floor, mixture, planning, types, vw  # noqa: F401 - importing registers them
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
