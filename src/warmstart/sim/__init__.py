"""Gymnasium population simulators, registered under ``warmstart/...-v0`` ids on import."""

from warmstart.sim.linear_types import (
    OUTLIER,
    EventLog,
    LinearTypesConfig,
    LinearTypesEnv,
    LinearTypesPopulation,
    UserBatch,
    register,
)
from warmstart.sim.satiation import SatiationConfig, SatiationEnv, SatiationPopulation, register_satiation
from warmstart.sim.tutoring import StudentBatch, TutoringEnv, register_tutoring

register()
register_tutoring()
register_satiation()

__all__ = ["OUTLIER", "EventLog", "LinearTypesConfig", "LinearTypesEnv", "LinearTypesPopulation", "SatiationConfig",
           "SatiationEnv", "SatiationPopulation", "StudentBatch", "TutoringEnv", "UserBatch"]
