"""Response dynamics learned from logs: how a user's reward for an item depends on their recent history.

A user's state before each event is computed from their earlier events and the times between them (no
feature of the log is needed, only ``user, time, item, reward``); every item belongs to one or more
*categories* (``item_categories (n_items, C)``, 0/1: the item itself for a catalogue of categories, a movie's
genres):

- **exposure** per category, ``e_c``: recent consumption, decaying by ``exposure_decay`` per unit of time.
  Between two events ``gap`` units apart, ``e <- exposure_decay ** gap * e + exposure_decay ** (gap - 1) *
  cat(previous item)``: with one event per unit of time, ``e <- rho e + onehot(a)`` (what was served one step
  ago counts 1), and with any gaps a constant multiple of the plain decayed count ``sum rho ** (t - t_i)``.
  Its coefficient is the category's **satiation rate** (a negative one: the more of it lately, the less
  appealing now);
- **habit stock**, ``h``: the same decayed count, by ``habit_decay``, of the items of the *habit categories*
  (which categories build a habit is learned: ``warmstart.families.linear.dynamics_fit``); shared by every
  candidate, its coefficient is the **harm** of the habit (engagement lost on everything);
- **practice** (optional), ``log(1 + n_c)`` with ``n_c`` the user's earlier events in category ``c``: a
  learning curve, the rewards of practice growing (or fatigue, with a negative coefficient).

The features of an event are the static item features followed by the dynamic columns
(``DynamicsSpec.columns``), so the linear-Gaussian family fits the per-type coefficients of both by EM
unchanged. ``per_category=True`` gives each category its own satiation (and practice) coefficient, the item's
categories times their state (``Satiation-v0``'s layout); ``False`` one coefficient each, the mean state over
the item's categories (a movie with several genres).

``LearnedDynamics`` is the fitted structure as a planner sees it (``warmstart.policies.planning.HabitDynamics``:
``[onehot(category), onehot(category) * exposure, habit, practice]``) and as a service keeps a user's state
(``new_state`` / ``step`` / ``candidates``).

>>> spec = DynamicsSpec(n_categories=2, exposure_decay=0.5, habit_decay=0.9, habit_categories=(1,))
>>> state = history_states(np.array([0, 0, 0]), np.array([0.0, 1.0, 3.0]), np.eye(2)[[1, 1, 0]], spec)
>>> state.exposure.tolist()        # before each event: nothing; 1 one unit after; 0.5 ** 2 + 0.5 ** 1
[[0.0, 0.0], [0.0, 1.0], [0.0, 0.75]]
>>> state.habit[:, 1].round(3).tolist()       # category 1's habit stock: 0.9 ** 2 + 0.9 ** 1 at time 3
[0.0, 1.0, 1.71]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: what a fitted population's ``diagnostics.dynamics`` holds (``DynamicsSpec.to_dict`` under ``spec``)
FORMAT_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class DynamicsSpec:
    """The structure of the response dynamics: decays per unit of time, the categories that build the habit,
    whether practice is modelled and whether coefficients are per category. Validated at construction.

    >>> DynamicsSpec(n_categories=3, habit_categories=(2,)).columns(static_dim=3)
    ['static 0', 'static 1', 'static 2', 'satiation 0', 'satiation 1', 'satiation 2', 'habit']
    >>> DynamicsSpec(n_categories=3, exposure_decay=1.0)
    Traceback (most recent call last):
    ...
    ValueError: exposure_decay, habit_decay: expected values in (0, 1), got 1.0 and 0.95
    """

    n_categories: int
    exposure_decay: float = 0.7
    habit_decay: float = 0.95
    habit_categories: tuple[int, ...] = ()
    per_category_habit: bool = False
    practice: bool = False
    per_category: bool = True
    time_unit: float = 1.0

    def __post_init__(self) -> None:
        if self.n_categories < 1:
            raise ValueError(f"n_categories: expected a positive integer, got {self.n_categories}")
        if not 0.0 < self.exposure_decay < 1.0 or not 0.0 < self.habit_decay < 1.0:
            raise ValueError(f"exposure_decay, habit_decay: expected values in (0, 1), got {self.exposure_decay} "
                             f"and {self.habit_decay}")
        cats = tuple(int(c) for c in self.habit_categories)
        if any(not 0 <= c < self.n_categories for c in cats) or len(set(cats)) != len(cats):
            raise ValueError(f"habit_categories: expected distinct categories in [0, {self.n_categories - 1}], "
                             f"got {self.habit_categories}")
        object.__setattr__(self, "habit_categories", tuple(sorted(cats)))
        if not self.time_unit > 0 or not math.isfinite(self.time_unit):
            raise ValueError(f"time_unit: expected a positive number of time units, got {self.time_unit}")

    @property
    def n_habit(self) -> int:
        """Habit columns: one stock per habit category (``per_category_habit``), one summed stock, or none."""
        if not self.habit_categories:
            return 0
        return len(self.habit_categories) if self.per_category_habit else 1

    def n_dynamic(self) -> int:
        """The number of dynamic columns.

        >>> DynamicsSpec(n_categories=3, habit_categories=(2,), practice=True).n_dynamic()
        7
        """
        per = self.n_categories if self.per_category else 1
        return per + self.n_habit + (per if self.practice else 0)

    def columns(self, static_dim: int) -> list[str]:
        """The names of the feature columns: ``static_dim`` static ones, then the dynamic ones."""
        per = [str(c) for c in range(self.n_categories)] if self.per_category else ["mean"]
        habit = ([f"habit {c}" for c in self.habit_categories] if self.per_category_habit
                 else ["habit"] * self.n_habit)
        return ([f"static {j}" for j in range(static_dim)] + [f"satiation {c}" for c in per] + habit
                + ([f"practice {c}" for c in per] if self.practice else []))

    def half_lives(self) -> tuple[float, float]:
        """The exposure's and the habit's half-lives in units of time.

        >>> [round(h, 2) for h in DynamicsSpec(n_categories=1, exposure_decay=0.5, habit_decay=0.95).half_lives()]
        [1.0, 13.51]
        """
        return math.log(0.5) / math.log(self.exposure_decay), math.log(0.5) / math.log(self.habit_decay)

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON (what ``diagnostics.dynamics["spec"]`` holds).

        >>> DynamicsSpec(n_categories=2, habit_categories=(1,)).to_dict()["habit_categories"]
        [1]
        """
        d = asdict(self)
        d["habit_categories"] = list(self.habit_categories)
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> DynamicsSpec:
        """The spec of ``to_dict``'s mapping (unknown keys ignored).

        >>> spec = DynamicsSpec(n_categories=2, habit_categories=(1,))
        >>> DynamicsSpec.from_dict(spec.to_dict()) == spec
        True
        """
        known = {k: v for k, v in d.items() if k in DynamicsSpec.__dataclass_fields__}
        known["habit_categories"] = tuple(known.get("habit_categories", ()))
        return DynamicsSpec(**known)


@dataclass(frozen=True)
class HistoryStates:
    """Each event's state before it (rows of the events, in their order): ``exposure (n, C)`` (by the
    spec's exposure decay), ``habit (n, C)`` (per category, by the habit decay; sum the habit categories'
    columns for the stock), ``count (n, C)`` (earlier events per category).

    >>> spec = DynamicsSpec(n_categories=1)
    >>> history_states(np.array([0, 0]), np.array([0.0, 1.0]), np.ones((2, 1)), spec).count.ravel().tolist()
    [0.0, 1.0]
    """

    exposure: np.ndarray
    habit: np.ndarray
    count: np.ndarray


def _decayed(user: np.ndarray, gap: np.ndarray, cats: np.ndarray, decay: float, order: np.ndarray,
             bounds: np.ndarray) -> np.ndarray:
    """The decayed count before every event, by position: all users' ``p``-th events at once from their
    ``(p - 1)``-th (``order`` sorts the rows by position within the user, ``bounds`` delimits each position)."""
    out = np.zeros(cats.shape)
    for p in range(1, bounds.size - 1):
        rows = order[bounds[p] : bounds[p + 1]]
        g = gap[rows]
        out[rows] = decay**g[:, None] * out[rows - 1] + decay ** (g - 1.0)[:, None] * cats[rows - 1]
    return out


def _positions(user: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = user.size
    first = np.r_[True, user[1:] != user[:-1]] if n else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(first)
    pos = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    order = np.argsort(pos, kind="stable")
    bounds = np.searchsorted(pos[order], np.arange(int(pos.max(initial=-1)) + 2))
    return order, bounds


def history_states(user: np.ndarray, time: np.ndarray, cats: np.ndarray, spec: DynamicsSpec,
                   parts: tuple[str, ...] = ("exposure", "habit", "count")) -> HistoryStates:
    """The state before every event of events sorted by user then time: ``user (n,)``, ``time (n,)``,
    ``cats (n, C)`` the categories of each event's item (0/1). Vectorised over users (a loop over positions
    only). ``parts`` leaves out what is not needed (an all-zero array in its place).

    >>> spec = DynamicsSpec(n_categories=1, exposure_decay=0.5, habit_decay=0.5, time_unit=2.0)
    >>> history_states(np.array([0, 0, 1]), np.array([0.0, 4.0, 0.0]), np.ones((3, 1)), spec).exposure.ravel()
    array([0. , 0.5, 0. ])
    """
    user = np.asarray(user, dtype=np.int64)
    time = np.asarray(time, dtype=np.float64)
    cats = np.asarray(cats, dtype=np.float64)
    if cats.ndim != 2 or cats.shape != (user.size, spec.n_categories) or time.shape != user.shape:
        raise ValueError(f"time, cats: expected ({user.size},) times and ({user.size}, {spec.n_categories}) "
                         f"categories, got shapes {time.shape} and {cats.shape}")
    if user.size > 1 and np.any((np.diff(user) == 0) & (np.diff(time) < 0)):
        raise ValueError("time: expected each user's events in time order")
    order, bounds = _positions(user)
    gap = np.zeros(user.size)
    gap[1:] = np.diff(time) / spec.time_unit
    zeros = np.zeros(cats.shape)
    exposure = _decayed(user, gap, cats, spec.exposure_decay, order, bounds) if "exposure" in parts else zeros
    habit = _decayed(user, gap, cats, spec.habit_decay, order, bounds) if "habit" in parts else zeros
    count = zeros
    if "count" in parts:
        count = np.zeros(cats.shape)
        for p in range(1, bounds.size - 1):
            rows = order[bounds[p] : bounds[p + 1]]
            count[rows] = count[rows - 1] + cats[rows - 1]
    return HistoryStates(exposure, habit, count)


def dynamic_columns(spec: DynamicsSpec, cats: np.ndarray, states: HistoryStates) -> np.ndarray:
    """The dynamic feature columns ``(n, spec.n_dynamic())`` of events whose items have categories
    ``cats (n, C)``, in states ``states`` (``history_states``).

    >>> spec = DynamicsSpec(n_categories=2, habit_categories=(1,), practice=True, per_category=False)
    >>> states = HistoryStates(np.array([[1.0, 3.0]]), np.array([[2.0, 0.5]]), np.array([[1.0, 3.0]]))
    >>> dynamic_columns(spec, np.array([[1.0, 1.0]]), states).round(3).tolist()  # mean over the categories
    [[2.0, 0.5, 1.04]]
    """
    cats = np.asarray(cats, dtype=np.float64)
    practice = np.log1p(states.count)
    cols: list[np.ndarray] = []
    if spec.per_category:
        cols.append(cats * states.exposure)
    else:
        size = np.maximum(cats.sum(axis=1, keepdims=True), 1.0)
        cols.append((cats * states.exposure).sum(axis=1, keepdims=True) / size)
    if spec.n_habit:
        stocks = states.habit[:, list(spec.habit_categories)]
        cols.append(stocks if spec.per_category_habit else stocks.sum(axis=1, keepdims=True))
    if spec.practice:
        if spec.per_category:
            cols.append(cats * practice)
        else:
            size = np.maximum(cats.sum(axis=1, keepdims=True), 1.0)
            cols.append((cats * practice).sum(axis=1, keepdims=True) / size)
    return np.hstack(cols)


@dataclass
class UserDynamicState:
    """One user's state as a service tracks it: ``exposure (C,)``, ``habit`` (the stock), ``count (C,)``.

    >>> LearnedDynamics(DynamicsSpec(n_categories=2)).new_state().exposure.tolist()
    [0.0, 0.0]
    """

    exposure: np.ndarray
    habit: float
    count: np.ndarray


class LearnedDynamics:
    """A fitted ``DynamicsSpec`` for a catalogue of categories (candidate ``i`` of a category, static features
    ``onehot(category)``): the features ``[onehot(a) (C), onehot(a) * e_a (C), h (1, when there are habit
    categories), onehot(a) * log(1 + n_a) (C, with practice)]``, what ``HabitPlanner`` plans with
    (``warmstart.policies.planning.HabitDynamics``), and a user's state kept from what they were served.

    >>> dyn = LearnedDynamics(DynamicsSpec(n_categories=2, exposure_decay=0.5, habit_decay=0.9,
    ...                                    habit_categories=(1,)))
    >>> state = dyn.step(dyn.new_state(), 1)                 # served category 1 one unit of time ago
    >>> X = dyn.candidates(state)
    >>> X.tolist()
    [[1.0, 0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0, 1.0]]
    >>> cats, exposure, habit = dyn.read_state(X[::-1])
    >>> cats.tolist(), exposure.tolist(), habit, dyn.clickbait, dyn.dim
    ([1, 0], [1.0, 0.0], 1.0, (1,), 5)
    """

    def __init__(self, spec: DynamicsSpec) -> None:
        if spec.per_category_habit and spec.n_habit > 1:
            raise ValueError("spec: expected one habit stock (per_category_habit=False) to plan with, got "
                             f"{spec.n_habit} stocks")
        if not spec.per_category:
            raise ValueError("spec: expected per-category coefficients (per_category=True) to plan with")
        self.spec = spec
        self.n_categories = spec.n_categories
        self.exposure_decay = spec.exposure_decay
        self.habit_decay = spec.habit_decay
        self.clickbait = spec.habit_categories
        C = spec.n_categories
        self.habit_column: int | None = 2 * C if spec.n_habit else None
        start = 2 * C + spec.n_habit
        #: columns the planner holds at their current values over its lookahead (practice changes slowly)
        self.static_columns: tuple[int, ...] = tuple(range(start, start + C)) if spec.practice else ()

    @property
    def dim(self) -> int:
        return 2 * self.n_categories + self.spec.n_habit + (self.n_categories if self.spec.practice else 0)

    @property
    def is_clickbait(self) -> np.ndarray:
        out = np.zeros(self.n_categories)
        out[list(self.clickbait)] = 1.0
        return out

    def features(self, exposure: np.ndarray, habit: np.ndarray, count: np.ndarray | None = None) -> np.ndarray:
        """Candidate features ``(..., C, d)`` in states ``exposure (..., C)``, ``habit (...)`` (and
        ``count (..., C)`` with practice).

        >>> dyn = LearnedDynamics(DynamicsSpec(n_categories=2, habit_categories=(1,)))
        >>> dyn.features(np.array([0.5, 0.0]), np.array(2.0))[0].tolist()
        [1.0, 0.0, 0.5, 0.0, 2.0]
        """
        C = self.n_categories
        exposure = np.asarray(exposure, dtype=float)
        X = np.zeros((*exposure.shape[:-1], C, self.dim))
        idx = np.arange(C)
        X[..., idx, idx] = 1.0
        X[..., idx, C + idx] = exposure
        if self.habit_column is not None:
            X[..., self.habit_column] = np.asarray(habit, dtype=float)[..., None]
        if self.static_columns:
            n = np.zeros(exposure.shape) if count is None else np.asarray(count, dtype=float)
            X[..., idx, np.asarray(self.static_columns)] = np.log1p(n)
        return X

    def new_state(self) -> UserDynamicState:
        return UserDynamicState(np.zeros(self.n_categories), 0.0, np.zeros(self.n_categories))

    def step(self, state: UserDynamicState, category: int, gap: float = 1.0) -> UserDynamicState:
        """The state ``gap`` units of time after serving ``category`` in ``state`` (``history_states``' rule)."""
        g = gap / self.spec.time_unit
        rho, delta = self.exposure_decay, self.habit_decay
        onehot = np.zeros(self.n_categories)
        onehot[category] = 1.0
        habit = delta**g * state.habit + delta ** (g - 1.0) * float(category in self.clickbait)
        return UserDynamicState(rho**g * state.exposure + rho ** (g - 1.0) * onehot, habit, state.count + onehot)

    def candidates(self, state: UserDynamicState) -> np.ndarray:
        """Every category's features ``(C, d)`` in ``state``."""
        return self.features(state.exposure, np.asarray(state.habit), state.count)

    def read_state(self, X: np.ndarray, name: str = "actions") -> tuple[np.ndarray, np.ndarray, float]:
        """The categories ``(A,)``, their exposures ``(A,)`` and the habit stock read off candidate features
        ``X (A, d)`` made by ``features``; a ``ValueError`` naming ``name`` for anything else."""
        C = self.n_categories
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"{name}: expected learned-dynamics features of shape (n_actions, {self.dim}), "
                             f"got {X.shape}")
        cats = np.argmax(X[:, :C], axis=1)
        rows = np.arange(X.shape[0])
        onehot = np.zeros((X.shape[0], C))
        onehot[rows, cats] = 1.0
        if not np.array_equal(X[:, :C], onehot) or np.unique(cats).size != cats.size:
            raise ValueError(f"{name}: expected one-hot categories in the first {C} columns, each at most once")
        habit = 0.0 if self.habit_column is None else float(X[0, self.habit_column])
        return cats, X[rows, C + cats], habit

    def settings(self) -> dict[str, Any]:
        """The spec as JSON (a policy's settings show it).

        >>> LearnedDynamics(DynamicsSpec(n_categories=2)).settings()["exposure_decay"]
        0.7
        """
        return self.spec.to_dict()
