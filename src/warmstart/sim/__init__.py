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
from warmstart.sim.tutoring import StudentBatch, TutoringEnv, register_tutoring

register()
register_tutoring()

__all__ = ["OUTLIER", "EventLog", "LinearTypesConfig", "LinearTypesEnv", "LinearTypesPopulation", "StudentBatch",
           "TutoringEnv", "UserBatch"]
