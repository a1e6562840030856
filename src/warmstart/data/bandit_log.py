"""Logged bandit feedback: the record every bandit fit and policy reads, and its ``.npz`` file.

``TrainingLog`` holds, for ``N`` users with ``T`` events each, the offered candidates, the chosen index, its
logging propensity and the reward. Simulators produce it (``warmstart.sim.linear_types.EventLog`` adds the
ground truth); ``load_log`` reads it from the versioned ``.npz`` format (``docs/formats.md``); the linear family
summarises it (``warmstart.families.linear.summarise_log``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warmstart._persist import Array, FormatError, NpzFormat
from warmstart._validate import (
    DEFAULT_BOUNDS,
    Bounds,
    bound_message,
    check_finite,
    check_shape,
    first_out_of_bounds,
)

#: the type id of an outlier (a user drawn from no type) in simulated logs' ground truth
OUTLIER_TYPE = -1


@dataclass(frozen=True)
class TrainingLog:
    """Logged bandit feedback of training users: ``candidates (N, T, A, d)``, ``action (N, T)``,
    ``propensity (N, T)``, ``reward (N, T)``. Ragged logs pad with ``action = -1``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> log = TrainingLog(candidates=rng.normal(size=(2, 3, 4, 5)), action=np.array([[0, 3, 1], [2, -1, -1]]),
    ...                   propensity=np.full((2, 3), 0.25), reward=rng.normal(size=(2, 3)))
    >>> log.validate().chosen.shape                   # 2 users, 3 events, 5 features; user 1 logged one
    (2, 3, 5)
    >>> TrainingLog(log.candidates, log.action, np.zeros((2, 3)), log.reward).validate()
    Traceback (most recent call last):
    ...
    ValueError: train_log.propensity: expected probabilities in (0, 1] on logged events
    """

    candidates: np.ndarray
    action: np.ndarray
    propensity: np.ndarray
    reward: np.ndarray

    @property
    def chosen(self) -> np.ndarray:
        """Features of the chosen action, ``(N, T, d)`` (padded events take candidate 0)."""
        idx = np.where(self.action >= 0, self.action, 0)
        return np.take_along_axis(self.candidates, idx[:, :, None, None], axis=2)[:, :, 0]

    def validate(self, dim: int | None = None) -> TrainingLog:
        """Check shapes, action indices, propensities and finite values of logged events; return self.
        Errors name the field, what was expected and what was given."""
        cands = np.asarray(self.candidates)
        if cands.ndim != 4 or (dim is not None and cands.shape[3] != dim):
            want = f"(N, T, A, {dim if dim is not None else 'd'})"
            raise ValueError(f"train_log.candidates: expected shape {want}, got shape {cands.shape}")
        n_users, n_events, n_actions, _ = cands.shape
        for name in ("action", "propensity", "reward"):
            check_shape(f"train_log.{name}", getattr(self, name), (n_users, n_events))
        action = np.asarray(self.action)
        if not np.issubdtype(action.dtype, np.integer):
            raise ValueError(f"train_log.action: expected integer action indices, got dtype {action.dtype}")
        out_of_range = (action < -1) | (action >= n_actions)
        if np.any(out_of_range):
            raise ValueError(
                f"train_log.action: expected indices in [-1, {n_actions - 1}], got {int(action[out_of_range][0])}"
            )
        logged = action >= 0
        p = np.asarray(self.propensity, dtype=float)[logged]
        if np.any(~(p > 0) | (p > 1)):
            raise ValueError("train_log.propensity: expected probabilities in (0, 1] on logged events")
        check_finite("train_log.reward", np.asarray(self.reward, dtype=float)[logged])
        for start in range(0, n_users, 1000):  # in chunks: the candidates can be hundreds of MB
            check_finite("train_log.candidates", cands[start : start + 1000][logged[start : start + 1000]])
        return self


def training_log(log: TrainingLog) -> TrainingLog:
    """The part of a (simulated) log a policy may see: the logged feedback, no ground truth.

    >>> import warmstart as ws
    >>> log = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_actions=4)).logged(5, 4, seed=0)
    >>> type(log).__name__, type(training_log(log)).__name__, hasattr(training_log(log), "users")
    ('EventLog', 'TrainingLog', False)
    """
    return TrainingLog(log.candidates, log.action, log.propensity, log.reward)


LOG_FORMAT = "warmstart.banditlog"
LOG_VERSION = 1


class LogFormatError(FormatError):
    """A log file that cannot be read: wrong format, unknown version, bad arrays or damaged.

    >>> import numpy as np
    >>> np.savez("not_a_log.npz", a=np.zeros(2))
    >>> load_log("not_a_log.npz")
    Traceback (most recent call last):
    ...
    warmstart.data.bandit_log.LogFormatError: log file not_a_log.npz: expected a 'meta' array naming ...
    """


#: the log file (``warmstart._persist``; arrays kept as stored, no ``warmstart_version`` in its metadata, as
#: before). Values are checked by ``TrainingLog.validate``: padded events may hold anything.
_FILE = NpzFormat(LOG_FORMAT, LOG_VERSION,
                  (Array("candidates", dtype=None, finite=False), Array("action", kinds="iu", dtype=None),
                   Array("propensity", dtype=None, finite=False), Array("reward", dtype=None, finite=False)),
                  LogFormatError, "log file", stamp=False)


def save_log(path: str | os.PathLike[str], log: TrainingLog) -> None:
    """Write a log as ``.npz`` (no pickle): the logged feedback, plus, for a simulated log, the ground truth
    arrays its ``truth_arrays()`` gives, under names that start with ``truth_`` (fitting ignores them;
    evaluation may read them with ``load_truth``).

    >>> import warmstart as ws
    >>> log = ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3, n_actions=4)).logged(5, 4, seed=0)
    >>> save_log("log.npz", log)
    >>> load_log("log.npz").candidates.shape, sorted(load_truth("log.npz"))
    ((5, 4, 4, 3), ['theta', 'type'])
    """
    truth = log.truth_arrays() if hasattr(log, "truth_arrays") else {}
    arrays = {"candidates": log.candidates, "action": log.action, "propensity": log.propensity,
              "reward": log.reward, **{f"truth_{k}": v for k, v in truth.items()}}
    _FILE.save(path, arrays)


def load_log(path: str | os.PathLike[str], *, bounds: Bounds | None = DEFAULT_BOUNDS) -> TrainingLog:
    """Read a log written by ``save_log``; ``FileNotFoundError`` for a missing file and a ``LogFormatError`` (a
    ``ValueError``) that names what is wrong for anything else, including a logged reward or candidate feature
    beyond ``bounds`` (``warmstart._validate.Bounds``; None: finite is enough).

    >>> import warmstart as ws
    >>> save_log("log.npz", ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig()).logged(30, 5, seed=0))
    >>> log = ws.load_log("log.npz")
    >>> type(log).__name__, log.candidates.shape                 # users, events, candidates, features
    ('TrainingLog', (30, 5, 20, 10))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"log file: expected an existing file, got {str(path)!r}")
    _, arrays = _FILE.load(path)
    log = TrainingLog(arrays["candidates"], arrays["action"], arrays["propensity"], arrays["reward"])
    try:
        log.validate()
        if bounds is not None:
            check_log_bounds(log, bounds)
        return log
    except ValueError as exc:
        raise _FILE.fail(path, str(exc)) from exc


def check_log_bounds(log: TrainingLog, bounds: Bounds) -> None:
    """Every logged event's reward and candidates' features within ``bounds``; a ``ValueError`` naming the
    field, the user, the event (and the candidate) and the bound otherwise.

    >>> import warmstart as ws
    >>> from warmstart._validate import Bounds
    >>> log = training_log(ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig(dim=3)).logged(4, 5, seed=0))
    >>> check_log_bounds(log, Bounds())                                # nothing to say
    >>> log.reward[2, 3] = 1e160
    >>> check_log_bounds(log, Bounds())
    Traceback (most recent call last):
    ValueError: train_log.reward: expected a finite number with |value| <= 1e+06 (max_reward), got 1e+160 at user 2, event 3
    """
    logged = np.asarray(log.action) >= 0
    reward = np.where(logged, np.asarray(log.reward, dtype=float), 0.0)
    at = first_out_of_bounds(reward, bounds.max_reward)
    if at is not None:
        u, t = at
        raise ValueError(bound_message("train_log.reward", bounds.max_reward, "max_reward", float(reward[u, t]))
                         + f" at user {u}, event {t}")
    for start in range(0, logged.shape[0], 1000):  # in chunks: the candidates can be hundreds of MB
        block = np.where(logged[start : start + 1000, :, None, None], log.candidates[start : start + 1000], 0.0)
        at = first_out_of_bounds(block, bounds.max_feature)
        if at is not None:
            u, t, a, j = at
            raise ValueError(bound_message("train_log.candidates", bounds.max_feature, "max_feature",
                                           float(block[at])) + f" at user {start + u}, event {t}, candidate {a}, "
                                                               f"feature {j}")


def load_truth(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The ground truth arrays of a simulated log written by ``save_log`` (names without the ``truth_``
    prefix: ``theta``, ``type``; a type of ``OUTLIER_TYPE`` marks an outlier); empty for a log without them.

    >>> import warmstart as ws
    >>> save_log("log.npz", ws.sim.LinearTypesPopulation(ws.sim.LinearTypesConfig()).logged(5, 4, seed=0))
    >>> truth = load_truth("log.npz")
    >>> truth["type"], truth["theta"].shape
    (array([4, 1, 0, 0, 5]), (5, 10))
    >>> save_log("bare.npz", training_log(load_log("log.npz")))
    >>> load_truth("bare.npz")
    {}
    """
    _, arrays = _FILE.load(path, read=(), extra=lambda name: name.startswith("truth_"))
    return {k[len("truth_"):]: v for k, v in arrays.items()}
