"""Gymnasium population simulators, registered under ``warmstart/...-v0`` ids on import."""

from warmstart.sim.linear_types import (
    EventLog,
    LinearTypesConfig,
    LinearTypesEnv,
    LinearTypesPopulation,
    register,
)
from warmstart.sim.satiation import SatiationConfig, SatiationEnv, SatiationPopulation, register_satiation
from warmstart.sim.tutoring import StudentBatch, TutoringEnv, register_tutoring
from warmstart.sim.users import OUTLIER, UserBatch

register()
register_tutoring()
register_satiation()

__all__ = ["OUTLIER", "EventLog", "LinearTypesConfig", "LinearTypesEnv", "LinearTypesPopulation", "SatiationConfig",
           "SatiationEnv", "SatiationPopulation", "StudentBatch", "TutoringEnv", "UserBatch"]
