"""Logged bandit feedback from a file, for off-policy evaluation (``warmstart ope --log FILE``).

The format (CSV, ``.csv`` or ``.csv.gz``, or Parquet, ``.parquet`` / ``.pq`` through pyarrow), one row per
logged decision; ``docs/formats.md`` ("Off-policy evaluation logs") has the table and a runnable example:

================== ========== ================================================================================
column             required   meaning
================== ========== ================================================================================
``action``         yes        the logged action: an integer index, or a name
``reward``         yes        a finite number
``propensity``     yes        the logging policy's probability of the logged action (at its position), in
                              (0, 1]
``round``          no         integer order of the decisions (distinct); without it, the row order
``position``       no         the slot the action was shown in, an integer index from 0 (as obp / OBD)
``eval_prob_<a>``  no         the evaluation policy's probability of action ``<a>`` in this round (at the
                              logged position); one column per action, each row sums to 1
``eval_probs``     no         instead: a JSON list of those probabilities, indexed by action
``q_<a>``          no         a reward model's prediction for action ``<a>`` in this round (for DM and DR)
================== ========== ================================================================================

The evaluation policy comes from exactly one of: the ``eval_prob_<a>`` columns, the ``eval_probs`` column,
``action_dist=`` an ``.npz`` file with an array ``action_dist`` of shape ``(n_rounds, n_actions)`` or
``(n_rounds, n_actions, n_positions)`` (obp's layout; row ``i`` is the ``i``-th round in ``round`` order), or
``eval_policy="uniform"``. Other columns are ignored unless named as context columns. Errors name the file,
the column, what was expected and what was given, and the row (rows count from 1 after the header, in file
order).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
>>> _ = path.write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
...                      "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\n")
>>> log = load_ope_log(path)
>>> log.action_names.tolist(), log.action.tolist(), log.action_dist.shape, log.eval_source
(['a', 'b'], [0, 1], (2, 2), 'eval_prob_* columns')
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warmstart.data._columns import (
    _as_text,
    _check_finite_rows,
    _check_propensity,
    _numeric,
    _parse_numbers,
    file_errors,
    read_columns,
)

__all__ = ["EVAL_POLICIES", "OPELog", "load_ope_log"]

EVAL_PROB_PREFIX = "eval_prob_"
Q_PREFIX = "q_"
# the evaluation policy's probabilities must sum to 1 in every round within this (as warmstart.ope.estimators)
SUM_TOL = 1e-6
_FORMAT_COLUMNS = ("round", "action", "reward", "propensity", "position", "eval_probs")


@dataclass(frozen=True, eq=False)
class OPELog:
    """Logged feedback read from a file and checked, sorted by round: ready for ``warmstart.ope.estimators``.

    ``action`` indexes ``action_names``; ``action_dist`` is ``(n, n_actions)`` (the evaluation policy at
    each round's logged position) or ``(n, n_actions, n_positions)`` (from an ``.npz``, with ``position``
    giving each round's slot). ``estimated_rewards`` (the ``q_<a>`` columns) is ``(n, n_actions)`` or
    ``None``; ``context`` is ``(n, d)`` (the columns named in ``context_cols``) or ``None``.

    >>> import pathlib
    >>> _ = pathlib.Path("log.csv").write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
    ...     "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\na,1,0.5,0.9,0.1\\nb,1,0.5,0.9,0.1\\n")  # pi_e: a 90%
    >>> log = load_ope_log("log.csv")
    >>> log.n, log.n_actions, log.n_positions, log.eval_prob_logged().tolist()
    (4, 2, 1, [0.9, 0.1, 0.9, 0.1])
    """

    reward: np.ndarray  # (n,) float
    action: np.ndarray  # (n,) int64 in [0, n_actions)
    pscore: np.ndarray  # (n,) float in (0, 1]
    position: np.ndarray | None  # (n,) int64 in [0, n_positions) or None
    action_names: np.ndarray  # (n_actions,) str
    action_dist: np.ndarray  # (n, n_actions) or (n, n_actions, n_positions)
    estimated_rewards: np.ndarray | None  # (n, n_actions) or None
    context: np.ndarray | None  # (n, d) or None
    context_cols: tuple[str, ...]
    eval_source: str
    source: str

    @property
    def n(self) -> int:
        return int(self.reward.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.action_names.shape[0])

    @property
    def n_positions(self) -> int:
        """Slots of the positional ``action_dist`` (1 when it has no position axis)."""
        if self.action_dist.ndim == 3:
            return int(self.action_dist.shape[2])
        return 1 if self.position is None else int(self.position.max()) + 1

    def eval_prob_logged(self) -> np.ndarray:
        """``pi_e(a_t | x_t, k_t)``: the evaluation policy's probability of each round's logged action."""
        rows = np.arange(self.n)
        if self.action_dist.ndim == 2:
            return self.action_dist[rows, self.action]
        k = np.zeros(self.n, dtype=np.int64) if self.position is None else self.position
        return self.action_dist[rows, self.action, k]


# ---- evaluation policies given by name ------------------------------------------------------------------

EvalPolicy = Callable[[int, int], np.ndarray]
EVAL_POLICIES: dict[str, EvalPolicy] = {}
"""Evaluation policies that need no input but the log's size: ``name -> f(n_rounds, n_actions)``, which
returns the ``action_dist``."""


def _register_eval_policy(name: str) -> Callable[[EvalPolicy], EvalPolicy]:
    def deco(fn: EvalPolicy) -> EvalPolicy:
        EVAL_POLICIES[name] = fn
        return fn

    return deco


@_register_eval_policy("uniform")
def _uniform(n: int, n_actions: int) -> np.ndarray:
    return np.full((n, n_actions), 1.0 / n_actions)


# ---- reading ----------------------------------------------------------------------------------------------


def load_ope_log(path: str | os.PathLike[str], *, action_dist: str | os.PathLike[str] | None = None,
                 eval_policy: str | None = None, context_cols: Sequence[str] = ()) -> OPELog:
    """Read a logged-feedback file (CSV or Parquet) for off-policy evaluation and check everything once.

    ``action_dist`` is an ``.npz`` with the evaluation policy's ``action_dist`` (and optionally
    ``action_names``, when the ``action`` column holds names); ``eval_policy`` names one of
    :data:`EVAL_POLICIES` (``"uniform"``: uniform over the actions, which are the ``q_<a>`` columns' when
    the log has them, else the distinct logged actions). ``context_cols`` are read as numbers for a reward
    model. Raises ``ValueError`` naming the file, the column, what was expected and what was given.

    >>> import pathlib
    >>> _ = pathlib.Path("log.csv").write_text("action,reward,propensity,eval_prob_a,eval_prob_b\\n"
    ...     "a,1,0.5,0.9,0.1\\nb,0,0.5,0.9,0.1\\na,1,0.5,0.9,0.1\\nb,1,0.5,0.9,0.1\\n")  # pi_e: a 90%
    >>> log = load_ope_log("log.csv")
    >>> log.action_names.tolist(), log.action.tolist(), log.reward.tolist(), log.eval_source
    (['a', 'b'], [0, 1, 0, 1], [1.0, 0.0, 1.0, 1.0], 'eval_prob_* columns')
    >>> load_ope_log("log.csv", eval_policy="uniform")
    Traceback (most recent call last):
    ...
    ValueError: log.csv: evaluation policy: expected exactly one of eval_prob_<action> columns, ...
    """
    path = Path(path)
    context_cols = tuple(context_cols)
    cols = read_columns(path, lambda header: _wanted_columns(header, action_dist, eval_policy, context_cols))
    with file_errors(path):
        return _parse(cols, path, action_dist, eval_policy, context_cols)


def _wanted_columns(header: list[str], npz: str | os.PathLike[str] | None, eval_policy: str | None,
                    context_cols: tuple[str, ...]) -> dict[str, str]:
    """The columns to read, after checking that exactly one source gives the evaluation policy."""
    eval_cols = [c for c in header if c.startswith(EVAL_PROB_PREFIX)]
    sources = [name for name, given in (("eval_prob_* columns", bool(eval_cols)),
                                        ("an eval_probs column", "eval_probs" in header),
                                        (f"--action-dist {npz}", npz is not None),
                                        (f"--eval-policy {eval_policy}", eval_policy is not None)) if given]
    if len(sources) != 1:
        raise ValueError("evaluation policy: expected exactly one of eval_prob_<action> columns, an "
                         "eval_probs column, --action-dist FILE.npz or --eval-policy uniform, got "
                         f"{' and '.join(sources) if sources else 'none'}")
    if eval_policy is not None and eval_policy not in EVAL_POLICIES:
        raise ValueError(f"--eval-policy: expected one of {', '.join(EVAL_POLICIES)}, got {eval_policy!r}")
    for c in context_cols:
        if c.startswith((EVAL_PROB_PREFIX, Q_PREFIX)) or c in _FORMAT_COLUMNS:
            raise ValueError(f"--context-cols: expected context columns, got {c!r}, a column of the format")
    wanted = {k: k for k in ("action", "reward", "propensity")}
    for k in ("round", "position", "eval_probs"):
        if k in header:
            wanted[k] = k
    wanted.update({c: c for c in header if c.startswith((EVAL_PROB_PREFIX, Q_PREFIX))})
    wanted.update({f"context {c}": c for c in context_cols})
    return wanted


def _parse(cols: dict[str, np.ndarray], path: Path, npz: str | os.PathLike[str] | None,
           eval_policy: str | None, context_cols: tuple[str, ...]) -> OPELog:
    n = cols["reward"].shape[0]
    if n == 0:
        raise ValueError("reward: expected at least one logged round, got an empty log")

    reward = _parse_numbers(cols["reward"], "reward")
    _check_finite_rows("reward", reward)
    pscore = _parse_numbers(cols["propensity"], "propensity")
    _check_propensity("propensity", pscore)
    position = _indices(cols["position"], "position") if "position" in cols else None
    labels = _action_labels(cols["action"])

    # the evaluation policy, and the action vocabulary: from the column names when they name actions
    npz_dist, npz_names = _read_npz(Path(npz), n) if npz is not None else (None, None)
    names, pi, by_name, what, eval_source, vocab = _eval_policy(cols, labels, n, npz, npz_dist, npz_names,
                                                                eval_policy)
    if np.unique(names).size != names.size:
        raise ValueError(f"action: expected distinct action names, got {names.tolist()}")
    action = _action_index(labels, names, vocab, by_name=by_name)
    _check_distribution(pi, what, in_npz=npz_dist is not None)
    if pi.ndim == 3:
        if position is None and pi.shape[2] > 1:
            raise ValueError(f"position: expected a column when action_dist has {pi.shape[2]} positions "
                             f"(shape {pi.shape}), got none")
        if position is not None and position.max() >= pi.shape[2]:
            r = int(np.argmax(position >= pi.shape[2]))
            raise ValueError(f"position: expected indices in [0, {pi.shape[2] - 1}] (action_dist has "
                             f"{pi.shape[2]} positions), got {position[r]} in row {r + 1}")

    q = _estimated_rewards(cols, names)
    context = _number_matrix(cols, [f"context {c}" for c in context_cols]) if context_cols else None

    order = np.arange(n)
    if "round" in cols:
        rounds = _indices(cols["round"], "round", nonnegative=False)
        order = np.argsort(rounds, kind="stable")
        dup = np.flatnonzero(np.diff(rounds[order]) == 0)
        if dup.size:
            r1, r2 = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
            raise ValueError(f"round: expected distinct rounds, got {rounds[r1]} in rows {r1 + 1} and "
                             f"{r2 + 1}")
    # an npz is indexed by round order; everything read from the log's rows is put in that order
    if npz_dist is None:
        pi = pi[order]
    return OPELog(reward=reward[order], action=action[order], pscore=pscore[order],
                  position=None if position is None else position[order], action_names=names, action_dist=pi,
                  estimated_rewards=None if q is None else q[order],
                  context=None if context is None else context[order], context_cols=context_cols,
                  eval_source=eval_source, source=str(path))


def _eval_policy(cols: dict[str, np.ndarray], labels: np.ndarray, n: int, npz: str | os.PathLike[str] | None,
                 npz_dist: np.ndarray | None, npz_names: np.ndarray | None, eval_policy: str | None
                 ) -> tuple[np.ndarray, np.ndarray, bool, str, str, str]:
    """The evaluation policy from its one source (``eval_prob_*`` columns, an ``eval_probs`` column, an ``.npz``
    or a named policy) and the action vocabulary it implies: ``(names, action_dist, by_name, what, eval_source,
    vocab)``; ``by_name`` when the names are the actions' own (not indices), ``what`` and ``vocab`` say in
    errors where the distribution and the names came from."""
    eval_cols = [c for c in cols if c.startswith(EVAL_PROB_PREFIX)]
    q_cols = [c for c in cols if c.startswith(Q_PREFIX)]
    if eval_cols:
        names = np.array([c[len(EVAL_PROB_PREFIX):] for c in eval_cols], dtype=str)
        pi, by_name, what = _number_matrix(cols, eval_cols), True, "eval_prob_*"
        eval_source = "eval_prob_* columns"
        vocab = "the eval_prob_* columns"
    elif "eval_probs" in cols:
        pi = _json_probs(cols["eval_probs"])
        names, by_name, what = _index_names(pi.shape[1]), False, "eval_probs"
        eval_source = "eval_probs column"
        vocab = "eval_probs"
    elif npz_dist is not None:
        pi, what, eval_source = npz_dist, f"--action-dist {npz}: action_dist", f"action_dist of {npz}"
        by_name = npz_names is not None
        names = npz_names if npz_names is not None else _index_names(pi.shape[1])
        vocab = f"{'action_names' if by_name else 'action_dist'} of {npz}"
    else:
        assert eval_policy is not None
        names = (np.array([c[len(Q_PREFIX):] for c in q_cols], dtype=str) if q_cols else _distinct(labels))
        pi, by_name, what = EVAL_POLICIES[eval_policy](n, names.size), True, f"--eval-policy {eval_policy}"
        eval_source = f"{eval_policy} over the {'q_* columns' if q_cols else 'logged'} actions"
        vocab = "the q_* columns" if q_cols else "the log"
    return names, pi, by_name, what, eval_source, vocab


def _estimated_rewards(cols: dict[str, np.ndarray], names: np.ndarray) -> np.ndarray | None:
    """The reward model's estimates ``(n, n_actions)`` from the ``q_<a>`` columns, one per action in the order
    of ``names``; ``None`` when the log has none."""
    q_cols = [c for c in cols if c.startswith(Q_PREFIX)]
    q = None
    if q_cols:
        q_names = [c[len(Q_PREFIX):] for c in q_cols]
        missing = [f"{Q_PREFIX}{a}" for a in names.tolist() if a not in q_names]
        extra = [f"{Q_PREFIX}{a}" for a in q_names if a not in names.tolist()]
        if missing or extra:
            expected = ", ".join(Q_PREFIX + a for a in names)
            raise ValueError(f"q_*: expected one column per action ({expected}), "
                             f"got {'missing ' + ', '.join(missing) if missing else ''}"
                             f"{'; ' if missing and extra else ''}"
                             f"{'unknown ' + ', '.join(extra) if extra else ''}")
        q = _number_matrix(cols, [f"{Q_PREFIX}{a}" for a in names.tolist()])
    return q


def _indices(values: np.ndarray, column: str, *, nonnegative: bool = True) -> np.ndarray:
    num = _parse_numbers(values, column)
    _check_finite_rows(column, num)
    bad = (num != np.round(num)) | ((num < 0) if nonnegative else np.zeros(num.shape, dtype=bool))
    if bad.any():
        r = int(np.argmax(bad))
        what = "non-negative integers" if nonnegative else "integers"
        raise ValueError(f"{column}: expected {what} in every row, got {values[r]} in row {r + 1}")
    return num.astype(np.int64)


def _action_labels(values: np.ndarray) -> np.ndarray:
    """The action column as text; integer-valued numbers as plain integers (``3.0`` and ``3`` are action
    3)."""
    text = _as_text(values)
    if np.any(text == ""):
        raise ValueError(f"action: expected an action in every row, got an empty value in row "
                         f"{int(np.argmax(text == '')) + 1}")
    num = _numeric(values)
    if num is not None and np.isfinite(num).all() and np.all(num == np.round(num)):
        return num.astype(np.int64).astype(str)
    return text


def _distinct(labels: np.ndarray) -> np.ndarray:
    """Distinct actions, in numeric order when every action is an integer, else in text order."""
    uniq = np.unique(labels)
    try:
        return uniq[np.argsort(uniq.astype(np.int64), kind="stable")]
    except ValueError:
        return uniq


def _action_index(labels: np.ndarray, names: np.ndarray, where: str, *, by_name: bool) -> np.ndarray:
    uniq, inverse = np.unique(labels, return_inverse=True)
    lookup = {a: i for i, a in enumerate(names.tolist())}
    idx = np.array([lookup.get(a, -1) for a in uniq.tolist()], dtype=np.int64)[inverse.ravel()]
    if (idx < 0).any():
        r = int(np.argmax(idx < 0))
        if by_name:
            shown = names.tolist() if names.size <= 12 else names[:12].tolist() + ["..."]
            expected = f"one of the actions of {where}, {shown}"
        else:
            expected = f"an action index in [0, {names.size - 1}] ({where} has {names.size} actions)"
        raise ValueError(f"action: expected {expected}, got {str(labels[r])!r} in row {r + 1}")
    return idx


def _index_names(n_actions: int) -> np.ndarray:
    return np.arange(n_actions).astype(str)


def _number_matrix(cols: dict[str, np.ndarray], keys: list[str]) -> np.ndarray:
    out = np.empty((cols[keys[0]].shape[0], len(keys)))
    for j, k in enumerate(keys):
        name = k.removeprefix("context ")
        out[:, j] = _parse_numbers(cols[k], name)
        _check_finite_rows(name, out[:, j])
    return out


def _json_probs(values: np.ndarray) -> np.ndarray:
    rows: list[np.ndarray] = []
    for r, v in enumerate(values.tolist()):
        try:
            row = np.asarray(json.loads(v) if isinstance(v, str) else v, dtype=float)
        except (ValueError, TypeError):
            raise ValueError(f"eval_probs: expected a JSON list of numbers in every row, got {v!r} in row "
                             f"{r + 1}") from None
        if row.ndim != 1 or row.size == 0 or (rows and row.size != rows[0].size):
            want = f"{rows[0].size} numbers like row 1" if rows else "a non-empty list"
            raise ValueError(f"eval_probs: expected {want}, got {v!r} in row {r + 1}")
        rows.append(row)
    return np.stack(rows)


def _read_npz(path: Path, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"--action-dist: expected a readable .npz file, got {path} ({exc})") from exc
    if not isinstance(z, np.lib.npyio.NpzFile):
        # a user's file, not a programming error: ValueError like every other bad input of the loader
        raise ValueError(f"--action-dist: expected an .npz archive (numpy.savez), got a single array in "  # noqa: TRY004
                         f"{path}")
    with z:
        if "action_dist" not in z.files:
            raise ValueError(f"--action-dist {path}: expected an array named action_dist, got {z.files}")
        pi = np.asarray(z["action_dist"], dtype=float)
        names = np.asarray(z["action_names"]).astype(str) if "action_names" in z.files else None
    if pi.ndim not in (2, 3) or pi.shape[1] == 0 or (pi.ndim == 3 and pi.shape[2] == 0):
        raise ValueError(f"--action-dist {path}: action_dist: expected shape (n_rounds, n_actions) or "
                         f"(n_rounds, n_actions, n_positions), got shape {pi.shape}")
    if pi.shape[0] != n:
        raise ValueError(f"--action-dist {path}: action_dist: expected {n} rounds (one per row of the log), "
                         f"got shape {pi.shape}")
    if names is not None and names.shape != (pi.shape[1],):
        raise ValueError(f"--action-dist {path}: action_names: expected {pi.shape[1]} names (one per action "
                         f"of action_dist), got shape {names.shape}")
    return pi, names


def _check_distribution(pi: np.ndarray, what: str, *, in_npz: bool) -> None:
    """Probabilities >= 0 summing to 1 over the actions in every round (and position)."""
    def where(r: int) -> str:  # rows of an npz are rounds in round order; columns are rows of the file
        return f"action_dist[{r}]" if in_npz else f"row {r + 1}"

    bad = ~np.isfinite(pi) | (pi < 0)
    if bad.any():
        r = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{what}: expected probabilities >= 0 in every round, got {pi[r].tolist()} in "
                         f"{where(r)}")
    sums = pi.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOL
    if off.any():
        at = tuple(int(i) for i in np.argwhere(off)[0])
        pos = f", position {at[1]}" if len(at) > 1 else ""
        raise ValueError(f"{what}: expected the evaluation policy's probabilities to sum to 1 over the "
                         f"actions in every round (tolerance {SUM_TOL:g}), got {sums[at]:.10g} in "
                         f"{where(at[0])}{pos}")
