"""Input checks shared by the edges of the library. Each error names the field, what was expected and what
was given, and is raised before any state changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def check_shape(name: str, arr: np.ndarray, expected: tuple[int | None, ...]) -> None:
    shape = np.shape(arr)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected)):
        want = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name}: expected shape {want}, got shape {tuple(shape)}")


def check_k_choice(k_range: tuple[int, int], n_types: int | None) -> None:
    """The number of types of a fit: fixed ``n_types`` (a positive integer) or chosen within ``k_range``."""
    lo, hi = k_range
    if not 1 <= lo <= hi:
        raise ValueError(f"k_range: expected 1 <= low <= high, got {k_range}")
    if n_types is not None and n_types < 1:
        raise ValueError(f"n_types: expected a positive integer or None, got {n_types}")


def check_finite(name: str, arr: np.ndarray | float) -> None:
    a = np.asarray(arr, dtype=float)
    if not np.isfinite(a).all():
        bad = a[~np.isfinite(a)].ravel()[0] if a.ndim else a
        raise ValueError(f"{name}: expected finite numbers, got {bad}")


def as_actions(actions: object, dim: int, name: str = "actions") -> np.ndarray:
    """Validate a candidate action set: a non-empty ``(n_actions, dim)`` array of finite floats."""
    try:
        X = np.asarray(actions, dtype=float)
    except OverflowError as exc:  # a Python int beyond float64 (10**400): bad input like any other
        raise ValueError(f"{name}: expected finite numbers, got one beyond float64's range") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array of shape (n_actions, {dim}), got {actions!r}") from exc
    if X.ndim != 2 or X.shape[1] != dim:
        raise ValueError(f"{name}: expected shape (n_actions, {dim}), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one candidate action, got an empty action set")
    check_finite(name, X)
    return X


def check_action_index(name: str, index: object, n_actions: int) -> int:
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        # ValueError, not TypeError: the library's contract is one error type for every bad input
        raise ValueError(f"{name}: expected an integer action index, got {index!r}")  # noqa: TRY004
    if not 0 <= int(index) < n_actions:
        raise ValueError(f"{name}: expected an index in [0, {n_actions - 1}], got {int(index)} (unknown action)")
    return int(index)


def check_reward(name: str, reward: object) -> float:
    try:
        value = float(reward)  # type: ignore[arg-type]
    except OverflowError as exc:  # a Python int beyond float64 (10**400): bad input like any other
        raise ValueError(f"{name}: expected a finite number, got one beyond float64's range") from exc
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a finite number, got {reward!r}") from exc
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    return value


# ---------------------------------------------------------------------------------------------- magnitude bounds
#: the largest bound a ``Bounds`` accepts: with rewards and features up to 1e12 in magnitude, a user's
#: statistics (sums of squares and products) stay far from float64's overflow (about 1.8e308) for any number of
#: events a store can hold, and so do the policies' scores (posterior draws times features)
MAX_BOUND = 1e12


@dataclass(frozen=True, kw_only=True)
class Bounds:
    """Magnitude bounds on the values that enter the library from outside (log rows, HTTP bodies): every
    reward must satisfy ``|reward| <= max_reward`` and every feature ``|feature| <= max_feature``.

    Values far outside what a reward or a feature can mean (``1e160``) are almost always a unit or parsing
    mistake, and they overflow float64 arithmetic (a square of ``1e160`` is ``inf``), which would turn a
    user's belief or a fitted population into NaN. The defaults (``1e6``) suit normalised features and
    rewards up to a million; raise them (up to ``MAX_BOUND``) when the data really is that large: ``Bounds(
    max_reward=1e9)`` in the API, ``--max-reward`` / ``--max-feature`` on the command line,
    ``WARMSTART_MAX_REWARD`` / ``WARMSTART_MAX_FEATURE`` (or ``create_app(bounds=...)``) for the service.

    >>> Bounds().check_rewards([0.5, -2.0])
    >>> Bounds().check_rewards([0.5, 1e160], where="row")
    Traceback (most recent call last):
    ...
    ValueError: reward: expected a finite number with |value| <= 1e+06 (max_reward), got 1e+160 in row 2
    """

    max_reward: float = 1e6
    max_feature: float = 1e6

    def __post_init__(self) -> None:
        for name in ("max_reward", "max_feature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
                    0.0 < float(value) <= MAX_BOUND):
                raise ValueError(f"{name}: expected a positive number at most {MAX_BOUND:g}, got {value!r}")
            object.__setattr__(self, name, float(value))

    def check_rewards(self, values: object, *, name: str = "reward", where: str = "row", offset: int = 1,
                      setting: str = "max_reward") -> None:
        """Every value finite and within ``max_reward``; a ``ValueError`` naming ``name``, the first bad
        value and its position (``where`` and the index, ``offset`` added: 1-based by default) and the bound
        (with ``setting``, the name of the setting at the caller's edge) otherwise."""
        check_bounded(name, values, self.max_reward, setting, where=where, offset=offset)

    def check_features(self, values: object, *, name: str = "features", where: str = "row", offset: int = 1,
                       setting: str = "max_feature") -> None:
        """Every value finite and within ``max_feature`` (``values`` of any shape; the position named is the
        first axis's index)."""
        check_bounded(name, values, self.max_feature, setting, where=where, offset=offset)


def check_bounded(name: str, values: object, bound: float, setting: str, *, where: str = "row",
                  offset: int = 1) -> None:
    """Every number in ``values`` finite with magnitude at most ``bound``; otherwise a ``ValueError`` naming the
    field, the bound (and the ``setting`` that sets it) and the first bad value with its position along the
    first axis (``"{where} {index + offset}"``; no position for a single value)."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name}: expected numbers, got {values!r}"[:300]) from exc
    first = first_out_of_bounds(a, bound)
    if first is None:
        return
    got, at = float(a[first]), (f" in {where} {first[0] + offset}" if first else "")
    raise ValueError(bound_message(name, bound, setting, got) + at)


def first_out_of_bounds(a: np.ndarray, bound: float) -> tuple[int, ...] | None:
    """The index of the first entry of ``a`` that is not finite or has magnitude above ``bound`` (``()`` for a
    bad 0-d array), or None when there is none."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(a) <= bound)  # NaN fails the comparison too
    if not bad.any():
        return None
    return tuple(int(i) for i in np.argwhere(bad)[0]) if a.ndim else ()


def bound_message(name: str, bound: float, setting: str, got: float) -> str:
    """``"{name}: expected a finite number with |value| <= {bound} ({setting}), got {got}"``: the one wording of
    a value beyond its bound, wherever it is found."""
    return f"{name}: expected a finite number with |value| <= {bound:g} ({setting}), got {got:g}"


DEFAULT_BOUNDS = Bounds()


class NonFiniteUpdateError(ValueError):
    """An update (an event folded into a belief, a user's statistics) whose result would not be finite: float64
    overflowed on extreme but finite input. Raised before anything changes, so the state is as it was."""


def all_finite(*arrays: np.ndarray | float) -> bool:
    """Whether every number in every argument is finite (stops at the first argument that is not)."""
    return all(bool(np.isfinite(a).all()) for a in arrays)


def refuse_non_finite(what: str, x: np.ndarray, r: float) -> NonFiniteUpdateError:
    """The error for an event ``(x, r)`` that would make ``what`` non-finite, naming its largest feature and
    its reward."""
    big = float(np.abs(x).max()) if np.size(x) else 0.0
    return NonFiniteUpdateError(f"x, reward: expected an event the {what} can absorb in float64, got features up "
                                f"to {big:g} in magnitude and reward {float(r):g}, which would make it non-finite "
                                f"(overflow); the {what} is unchanged")
