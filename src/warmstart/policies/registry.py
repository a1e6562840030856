"""The policies by name: ``make_policy``, ``policy_class``, ``available_policies``.

A policy module registers its classes with ``@register_policy("name")`` (``warmstart.policies.base``) when it
is imported; the built-in modules are imported here. Adding a built-in policy is one module plus its name in
the import line below; a third-party policy registers itself the same way.
"""

from __future__ import annotations

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
    ValueError: policy: expected one of club, floored, from_scratch_ts, mixture_ids, ..., got 'mixture'
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
    """
    return policy_class(name)(context, seed=seed, **params)
