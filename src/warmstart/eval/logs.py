"""Conversions between logged feedback records and user summaries."""

from __future__ import annotations

import numpy as np

from warmstart.models.linear_gaussian import Summary, summarise
from warmstart.policies.base import TrainingLog
from warmstart.sim.linear_types import EventLog


def training_log(log: EventLog) -> TrainingLog:
    """The part of a simulated log a policy may see: no ground truth."""
    return TrainingLog(log.candidates, log.action, log.propensity, log.reward)


def log_summary(log: TrainingLog, discount: float = 1.0) -> Summary:
    """Per-user sufficient statistics of a training log; padded events (``action == -1``) are skipped."""
    mask = log.action >= 0
    idx = np.where(mask, log.action, 0)
    chosen = np.take_along_axis(log.candidates, idx[:, :, None, None], axis=2)[:, :, 0]
    return summarise(chosen, np.where(mask, log.reward, 0.0), mask=mask, discount=discount)
