"""Off-policy evaluation of a logged-feedback file: IPS, SNIPS, DM and DR with bootstrap intervals, and the
diagnostics of the importance weights that say how far to trust them.

With ``w_t = pi_e(a_t | x_t, k_t) / propensity_t``, the diagnostics are the effective sample size
``ESS = (sum w)^2 / sum w^2`` (Kish; ``n`` when every weight is equal, small when a few rounds carry the
estimate), the largest weight, the mean weight (about 1 when the propensities are right and the evaluation
policy only picks actions the logging policy could pick), the share of rounds whose logged action the
evaluation policy never picks (weight 0: those rounds only count through DM/DR's model), and the smallest
propensity. A warning is raised when propensities are tiny or the ESS is small.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.ope.estimators import OPEResult, estimate_all
from warmstart.ope.logs import OPELog
from warmstart.ope.reward_models import REWARD_MODELS, fit_reward_model

__all__ = ["MIN_ESS", "MIN_ESS_FRACTION", "MIN_PROPENSITY", "OPELogReport", "WeightDiagnostics",
           "evaluate_log",
           "weight_diagnostics"]

# a propensity below this gives its round a weight above 1,000 (IPS's variance grows like 1 / propensity)
MIN_PROPENSITY = 1e-3
# warn when the weights' ESS is below this share of the rounds, or below this many rounds
MIN_ESS_FRACTION = 0.1
MIN_ESS = 30.0


@dataclass(frozen=True)
class WeightDiagnostics:
    """How the importance weights ``w_t = pi_e(a_t | x_t, k_t) / propensity_t`` are spread over the rounds.

    >>> import numpy as np
    >>> weights, pscore = np.r_[np.ones(99), 1000.0], np.r_[np.full(99, 0.5), 0.0005]  # one huge weight
    >>> for warning in weight_diagnostics(weights, pscore).warnings():
    ...     print(warning[:80])
    1 of 100 rounds have a propensity below 0.001 (smallest 0.0005): their weights c
    the importance weights' effective sample size is 1.2 of 100 rounds (1.2%; warned
    """

    n_rounds: int
    ess: float
    ess_fraction: float
    max_weight: float
    mean_weight: float
    zero_mass_share: float
    min_propensity: float
    n_tiny_propensity: int

    def warnings(self) -> tuple[str, ...]:
        out = []
        if self.n_tiny_propensity:
            out.append(f"{self.n_tiny_propensity} of {self.n_rounds} rounds have a propensity below "
                       f"{MIN_PROPENSITY:g} (smallest {self.min_propensity:.3g}): their weights can reach "
                       f"{1 / self.min_propensity:.3g} and dominate IPS and DR; check the propensities were "
                       "logged right, and prefer SNIPS or DR")
        if self.ess < MIN_ESS or self.ess_fraction < MIN_ESS_FRACTION:
            out.append(f"the importance weights' effective sample size is {self.ess:.1f} of {self.n_rounds} "
                       f"rounds ({self.ess_fraction:.1%}; warned below {MIN_ESS:g} or "
                       f"{MIN_ESS_FRACTION:.0%}): the evaluation policy is far from the logging policy, so "
                       "IPS, SNIPS and DR rest on few rounds and their intervals may be too narrow")
        return tuple(out)


def weight_diagnostics(weights: np.ndarray, pscore: np.ndarray) -> WeightDiagnostics:
    """Diagnostics of per-round importance ``weights`` (``(n,)``, >= 0) and the logged propensities.

    >>> import numpy as np
    >>> d = weight_diagnostics(np.array([1.8, 0.2, 1.8, 0.2]), np.full(4, 0.5))
    >>> round(d.ess, 2), d.max_weight, d.mean_weight, d.zero_mass_share     # ESS = (sum w)^2 / sum w^2
    (2.44, 1.8, 1.0, 0.0)
    """
    w = np.asarray(weights, dtype=float)
    p = np.asarray(pscore, dtype=float)
    n = int(w.shape[0])
    sq = float((w**2).sum())
    ess = float(w.sum() ** 2 / sq) if sq > 0 else 0.0
    return WeightDiagnostics(n_rounds=n, ess=ess, ess_fraction=ess / n, max_weight=float(w.max()),
                             mean_weight=float(w.mean()), zero_mass_share=float((w == 0).mean()),
                             min_propensity=float(p.min()), n_tiny_propensity=int((p < MIN_PROPENSITY).sum()))


@dataclass(frozen=True)
class OPELogReport:
    """Estimates of the evaluation policy's value from one log, with the diagnostics and warnings.

    >>> import pathlib
    >>> from warmstart.ope.logs import load_ope_log
    >>> _ = pathlib.Path("log.csv").write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
    ...     "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\na,1,0.5,0.9,0.1\\nb,1,0.5,0.9,0.1\\n")  # pi_e: a 90%
    >>> report = evaluate_log(load_ope_log("log.csv"), reward_model="none", n_boot=200)
    >>> list(report.estimates), report.reward_model, round(report.diagnostics.ess, 2)
    (['ips', 'snips'], None, 2.44)
    >>> sorted(report.to_dict())[:5]
    ['alpha', 'diagnostics', 'estimates', 'eval_policy', 'n_actions']
    """

    estimates: dict[str, OPEResult]
    diagnostics: WeightDiagnostics
    warnings: tuple[str, ...]
    reward_model: str | None  # how DM / DR's q_hat was made; None when they were not run
    eval_source: str
    source: str
    n_actions: int
    n_positions: int
    n_boot: int
    alpha: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """Plain types for JSON."""
        return {"source": self.source, "n_rounds": self.diagnostics.n_rounds, "n_actions": self.n_actions,
                "n_positions": self.n_positions, "eval_policy": self.eval_source,
                "reward_model": self.reward_model,
                "estimates": {k: {"estimate": r.estimate, "ci95": list(r.ci95), "n": r.n}
                              for k, r in self.estimates.items()},
                "diagnostics": asdict(self.diagnostics), "warnings": list(self.warnings),
                "n_boot": self.n_boot,
                "alpha": self.alpha, "seed": self.seed, "warmstart_version": __version__}


def _reward_model(log: OPELog, name: str, n_folds: int, seed: int) -> tuple[np.ndarray | None, str | None]:
    if name == "none":
        return None, None
    if name == "auto":
        name = "columns" if log.estimated_rewards is not None else "mean"
    if name == "columns":
        if log.estimated_rewards is None:
            raise ValueError(f"--reward-model columns: expected q_<action> columns in {log.source}, got none")
        q = log.estimated_rewards
        if log.action_dist.ndim == 3:
            # the q_* columns hold q_hat at each round's logged position, the only slot DM and DR read
            full = np.zeros(log.action_dist.shape)
            full[np.arange(log.n), :, log.position if log.position is not None else 0] = q
            q = full
        return q, "the log's q_* columns"
    # a log shorter than the fold count gets one round per fold (the description says how many were used)
    fit = fit_reward_model(log, name, n_folds=min(n_folds, log.n) if n_folds >= 1 else n_folds, seed=seed)
    return fit.estimated_rewards, fit.description


REWARD_MODEL_CHOICES = ("auto", "columns", "none", *REWARD_MODELS)


def evaluate_log(log: OPELog, *, reward_model: str = "auto", n_folds: int = 5, n_boot: int = 2000,
                 alpha: float = 0.05, seed: int = 0) -> OPELogReport:
    """IPS and SNIPS always; DM and DR with the reward model ``reward_model``: ``"auto"`` (the ``q_*`` columns
    when the log has them, else ``"mean"``), ``"columns"``, ``"none"`` (no DM / DR) or a name in
    :data:`~warmstart.ope.reward_models.REWARD_MODELS`, cross-fitted over ``n_folds``. Each estimate has a
    ``1 - alpha`` percentile-bootstrap interval over rounds (the reward model held fixed).

    >>> import pathlib
    >>> from warmstart.ope.logs import load_ope_log
    >>> _ = pathlib.Path("log.csv").write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
    ...     "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\na,1,0.5,0.9,0.1\\nb,1,0.5,0.9,0.1\\n")  # pi_e: a 90%
    >>> report = evaluate_log(load_ope_log("log.csv"), n_boot=200)      # "auto": no q_* columns, so "mean"
    >>> report.reward_model
    'mean reward per action, cross-fitted over 4 folds'
    >>> {name: round(r.estimate, 3) for name, r in report.estimates.items()}
    {'ips': 0.95, 'snips': 0.95, 'dm': 0.95, 'dr': 0.95}
    >>> report.warnings[0][:60]                                           # 4 rounds are not many
    "the importance weights' effective sample size is 2.4 of 4 ro"
    """
    if reward_model not in REWARD_MODEL_CHOICES:
        raise ValueError(f"--reward-model: expected one of {', '.join(REWARD_MODEL_CHOICES)}, "
                         f"got {reward_model!r}")
    q, how = _reward_model(log, reward_model, n_folds, seed)
    positional = log.action_dist.ndim == 3
    weights = log.eval_prob_logged() / log.pscore
    diag = weight_diagnostics(weights, log.pscore)
    warnings = list(diag.warnings())
    names = ["ips", "snips"] + (["dm", "dr"] if q is not None else [])
    if weights.sum() == 0:
        names.remove("snips")
        warnings.append("the evaluation policy gives zero probability to every logged action: SNIPS is "
                        "undefined (0/0) and left out, IPS is 0 whatever the rewards")
    est = estimate_all(log.reward, log.action, log.pscore, log.action_dist,
                       position=log.position if positional else None, estimated_rewards=q,
                       estimators=tuple(names), n_boot=n_boot, alpha=alpha, seed=seed)
    return OPELogReport(estimates=est, diagnostics=diag, warnings=tuple(warnings), reward_model=how,
                        eval_source=log.eval_source, source=log.source, n_actions=log.n_actions,
                        n_positions=log.n_positions, n_boot=n_boot, alpha=alpha, seed=seed)
