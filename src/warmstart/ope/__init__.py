"""Off-policy evaluation from logged propensities: IPS, SNIPS, DM and DR estimators with bootstrap intervals
(``warmstart.ope.estimators``), and the Open Bandit Dataset sample with its BTS-from-random check
(``warmstart.ope.obd``)."""

from warmstart.ope.estimators import (
    ESTIMATORS,
    LoggedFeedback,
    OPEResult,
    bootstrap_ci,
    dm,
    dr,
    estimate_all,
    ips,
    logged_feedback,
    snips,
)
from warmstart.ope.obd import OBDLog, bts_action_dist, click_model, load_obd, obd_root, run_ope_obd

__all__ = [
    "ESTIMATORS",
    "LoggedFeedback",
    "OBDLog",
    "OPEResult",
    "bootstrap_ci",
    "bts_action_dist",
    "click_model",
    "dm",
    "dr",
    "estimate_all",
    "ips",
    "load_obd",
    "logged_feedback",
    "obd_root",
    "run_ope_obd",
    "snips",
]
