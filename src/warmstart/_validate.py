"""Input checks shared by the edges of the library. Each error names the field, what was expected and what
was given, and is raised before any state changes."""

from __future__ import annotations

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
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a finite number, got {reward!r}") from exc
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    return value
