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

register()

__all__ = ["OUTLIER", "EventLog", "LinearTypesConfig", "LinearTypesEnv", "LinearTypesPopulation", "UserBatch"]
