"""Policies: the contract (``base``), the registry by name (``registry``) and the built-in policies."""

from warmstart.policies.base import Decision, Policy, PolicyContext, UserTruth, register_policy
from warmstart.policies.check import check_policy
from warmstart.policies.registry import available_policies, make_policy, policy_class

__all__ = ["Decision", "Policy", "PolicyContext", "UserTruth", "available_policies", "check_policy",
           "make_policy", "policy_class", "register_policy"]
