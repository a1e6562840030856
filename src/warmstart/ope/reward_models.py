"""Reward models ``q_hat(x, a[, k])`` for DM and DR on a logged-feedback file, cross-fitted over folds.

Each round's prediction comes from a model fitted on the other folds (``n_folds=1``: in-sample), so DR's
correction term ``w (r - q_hat(x, a))`` is not computed with a model that saw the same reward. Models register
by name in :data:`REWARD_MODELS`:

- ``mean``: the mean reward of each action (of each (action, position) when the log has positions); an action
  with no training rounds gets the training folds' mean reward.
- ``ridge``: one ridge regression per action on the context columns (standardised on the training folds) plus
  a one-hot of the position, with an unpenalised intercept.

The output has the shape of the log's ``action_dist``: ``(n, n_actions)`` (at each round's logged position) or
``(n, n_actions, n_positions)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from warmstart.ope.logs import OPELog

__all__ = ["REWARD_MODELS", "RewardModel", "RewardModelFit", "fit_reward_model", "register_reward_model"]


@dataclass(frozen=True, eq=False)
class RewardModelFit:
    """A reward model's predictions for every round and action, and a few words on how they were made.

    >>> import pathlib
    >>> from warmstart.ope.logs import load_ope_log
    >>> _ = pathlib.Path("log.csv").write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
    ...     "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\na,1,0.5,0.9,0.1\\nb,1,0.5,0.9,0.1\\n")  # pi_e: a 90%
    >>> fit = fit_reward_model(load_ope_log("log.csv"), "mean", n_folds=1)
    >>> fit.estimated_rewards.shape, fit.description
    ((4, 2), 'mean reward per action, fitted in-sample (one fold)')
    """

    estimated_rewards: np.ndarray
    description: str


# fit(log, train rows, alpha) -> predict(rows, position per row) -> (len(rows), n_actions)
Predictor = Callable[[np.ndarray, np.ndarray], np.ndarray]
Fitter = Callable[[OPELog, np.ndarray, float], Predictor]


@dataclass(frozen=True)
class RewardModel:
    """A registered reward model: ``fit(log, train_rows, alpha)`` returns ``predict(rows, positions)``, and
    ``describe(log, alpha)`` says what it is in a few words.

    >>> import pathlib
    >>> from warmstart.ope.logs import load_ope_log
    >>> _ = pathlib.Path("log.csv").write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
    ...     "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\na,1,0.5,0.9,0.1\\nb,1,0.5,0.9,0.1\\n")  # pi_e: a 90%
    >>> log = load_ope_log("log.csv")
    >>> predict = REWARD_MODELS["mean"].fit(log, np.arange(log.n), 1.0)     # trained on every round
    >>> REWARD_MODELS["mean"].describe(log, 1.0), predict(np.arange(2), np.zeros(2, dtype=int)).tolist()
    ('mean reward per action', [[1.0, 0.5], [1.0, 0.5]])
    """

    fit: Fitter
    describe: Callable[[OPELog, float], str]


REWARD_MODELS: dict[str, RewardModel] = {}
"""Reward models by name."""


def register_reward_model(name: str, describe: Callable[[OPELog, float], str]) -> Callable[[Fitter], Fitter]:
    """Register a reward model under ``name``: decorate ``fit(log, train_rows, alpha) -> predict(rows,
    positions)``; ``describe(log, alpha)`` says what it is. A name can be registered once.

    >>> import pathlib
    >>> from warmstart.ope.logs import load_ope_log
    >>> _ = pathlib.Path("log.csv").write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
    ...     "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\na,1,0.5,0.9,0.1\\nb,1,0.5,0.9,0.1\\n")  # pi_e: a 90%
    >>> @register_reward_model("zero", lambda log, alpha: "zero for every action")
    ... def fit_zero(log, train, alpha):
    ...     return lambda rows, positions: np.zeros((rows.size, log.n_actions))
    >>> fit_reward_model(load_ope_log("log.csv"), "zero", n_folds=2).description
    'zero for every action, cross-fitted over 2 folds'
    >>> register_reward_model("zero", lambda log, alpha: "again")(fit_zero)
    Traceback (most recent call last):
    ...
    ValueError: reward model name 'zero' is already registered
    >>> del REWARD_MODELS["zero"]                                   # leave the registry as it was
    """
    def deco(fn: Fitter) -> Fitter:
        if name in REWARD_MODELS:
            raise ValueError(f"reward model name {name!r} is already registered")
        REWARD_MODELS[name] = RewardModel(fit=fn, describe=describe)
        return fn

    return deco


def _and_position(log: OPELog) -> str:
    return " and position" if log.position is not None else ""


def _positions(log: OPELog) -> np.ndarray:
    return np.zeros(log.n, dtype=np.int64) if log.position is None else log.position


@register_reward_model("mean", lambda log, alpha: f"mean reward per action{_and_position(log)}")
def _fit_mean(log: OPELog, train: np.ndarray, alpha: float) -> Predictor:
    n_pos = log.n_positions
    cell = log.action[train] * n_pos + _positions(log)[train]
    count = np.bincount(cell, minlength=log.n_actions * n_pos).reshape(log.n_actions, n_pos)
    total = np.bincount(cell, weights=log.reward[train], minlength=count.size).reshape(count.shape)
    table = np.where(count > 0, total / np.maximum(count, 1), log.reward[train].mean())

    def predict(rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        return table[:, pos].T

    return predict


@register_reward_model("ridge", lambda log, alpha: f"ridge regression per action on "
                       f"{', '.join(log.context_cols)}{_and_position(log)} (alpha {alpha:g})")
def _fit_ridge(log: OPELog, train: np.ndarray, alpha: float) -> Predictor:
    if log.context is None:
        raise ValueError("--context-cols: expected at least one context column for the ridge reward model, "
                         "got none")
    context = log.context
    X = context[train]
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    n_pos = log.n_positions

    def design(rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        onehot = np.eye(n_pos)[pos][:, 1:]  # slot 0 is the intercept's
        return np.hstack([np.ones((rows.size, 1)), (context[rows] - mu) / sd, onehot])

    phi = design(train, _positions(log)[train])
    penalty = alpha * np.eye(phi.shape[1])
    penalty[0, 0] = 0.0
    y = log.reward[train]
    coef = np.zeros((phi.shape[1], log.n_actions))
    coef[0] = y.mean()  # an action with no training rounds predicts the overall mean
    for a in range(log.n_actions):
        mine = log.action[train] == a
        if mine.any():
            # lstsq, not solve: a one-round action with alpha = 0 leaves the system singular
            gram = phi[mine].T @ phi[mine] + penalty
            coef[:, a] = np.linalg.lstsq(gram, phi[mine].T @ y[mine], rcond=None)[0]

    def predict(rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
        return design(rows, pos) @ coef

    return predict


def fit_reward_model(log: OPELog, name: str = "mean", *, n_folds: int = 5, seed: int = 0,
                     alpha: float = 1.0) -> RewardModelFit:
    """Predictions of the reward model ``name`` for every round, action (and position), cross-fitted over
    ``n_folds`` random folds drawn from ``seed`` (``n_folds=1``: fitted and predicted in-sample).
    ``alpha`` is the ridge penalty.

    >>> import pathlib
    >>> from warmstart.ope.logs import load_ope_log
    >>> _ = pathlib.Path("log.csv").write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
    ...     "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\na,1,0.5,0.9,0.1\\nb,1,0.5,0.9,0.1\\n")  # pi_e: a 90%
    >>> fit = fit_reward_model(load_ope_log("log.csv"), "mean", n_folds=2, seed=0)
    >>> fit.estimated_rewards.tolist()        # each round's from the other fold's mean reward per action
    [[1.0, 1.0], [1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]
    """
    if name not in REWARD_MODELS:
        raise ValueError(f"--reward-model: expected one of {', '.join(REWARD_MODELS)}, got {name!r}")
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or not 1 <= n_folds <= log.n:
        raise ValueError(f"--folds: expected an integer in [1, {log.n}] (the log's rounds), got {n_folds!r}")
    if not alpha >= 0:
        raise ValueError(f"alpha: expected a ridge penalty >= 0, got {alpha!r}")
    fold = np.random.default_rng(seed).permutation(log.n) % n_folds
    positional = log.action_dist.ndim == 3
    out = np.empty(log.action_dist.shape)
    pos = _positions(log)
    for f in range(n_folds):
        test = np.flatnonzero(fold == f)
        train = np.flatnonzero(fold != f) if n_folds > 1 else test
        predict = REWARD_MODELS[name].fit(log, train, alpha)
        if positional:
            for k in range(log.n_positions):
                out[test, :, k] = predict(test, np.full(test.size, k))
        else:
            out[test] = predict(test, pos[test])
    how = f"cross-fitted over {n_folds} folds" if n_folds > 1 else "fitted in-sample (one fold)"
    what = REWARD_MODELS[name].describe(log, alpha)
    return RewardModelFit(estimated_rewards=out, description=f"{what}, {how}")
