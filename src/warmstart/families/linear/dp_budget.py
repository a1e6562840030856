"""The differentially private fit's settings and privacy budget: ``DPConfig``, how the budget ``1 / z^2`` is split
over the initialisation rounds and the EM iterations, and the smallest noise multiplier ``z`` for which the whole
fit is ``(epsilon, delta)``-DP at user level, composed with Google's ``dp-accounting``.

The mechanism these settings drive, and why its sensitivity is what the accounting assumes, is described in
``warmstart.families.linear.dp``, which runs the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

STAT_BLOCKS = ("count", "mean", "second", "residual", "events")
UNIT = "user"


@dataclass(frozen=True, kw_only=True)
class DPConfig:
    """Settings of the private fit; validated once at construction.

    - ``epsilon``, ``delta``: the guarantee, for the whole fit, at user level (add or remove one user).
    - ``n_types``: K, fixed: choosing K on private data would need its own budget.
    - ``iterations``: EM iterations, fixed (a convergence test would read the data); ``init_iterations``
      noisy Lloyd rounds from ``init_centres`` data-independent centres (default ``4 K``) before them.
    - ``covariance``: the form of the released type covariances. ``"diag"`` (default) releases d numbers
      per type where ``"full"`` releases d^2, so each carries less noise; ``"spherical"`` releases one.
    - Clip bounds, public, from knowledge of the domain, never from the data (the defaults suit rewards and
      action features of unit scale, the ``LinearTypes`` simulator's, where a user's parameter vector has
      norm of a few units and within-type deviations have norm about one): ``clip_theta`` the norm of a
      user's ridge estimate (initialisation; ridge penalty ``ridge``); ``clip_dev`` the norm of a user's
      posterior-mean deviation from a type mean; ``clip_second`` the size of their second-moment
      contribution (see ``second_bound``); ``clip_events`` the events counted per user; ``clip_residual``
      the ratio of a user's mean squared residual per event to the component's current noise variance
      (scale-free), which also bounds how far a noise variance moves in one iteration.
    - ``init_share``: the share of the budget spent on the initialisation. ``stat_shares``: the split of
      each EM iteration's budget among the blocks ``count, mean, second, residual, events`` (normalised);
      the initialisation splits its rounds between ``count`` and ``mean`` in the same proportions.
    - ``init_var``, ``init_noise_var``: public starting covariance scale and noise variance of the types
      (the first M-step replaces them).
    - ``accountant``: ``"pld"`` (privacy loss distributions, tight) or ``"rdp"`` (Renyi DP, looser).
    - ``reg``, ``novel_floor``, ``novel_scale``: as in ``FitConfig``.
    - ``seed``: ``None`` (the default) draws fresh entropy. A fixed seed makes the noise reproducible, for
      experiments; a released population must not come with the seed of its noise.

    >>> cfg = DPConfig(epsilon=1.0, n_types=3)
    >>> cfg.n_centres, cfg.shares()["second"], [round(s, 3) for s in cfg.init_shares()]  # count : mean 1 : 3
    (12, 0.4, [0.25, 0.75])
    >>> "seed" in cfg.to_dict(), cfg.to_dict()["init_centres"]             # the seed is never written
    (False, 12)
    >>> DPConfig(epsilon=0)
    Traceback (most recent call last):
    ...
    ValueError: epsilon: expected a positive finite number, got 0
    """

    epsilon: float = 1.0
    delta: float = 1e-6
    n_types: int = 8
    iterations: int = 10
    covariance: Literal["full", "diag", "spherical"] = "diag"
    clip_theta: float = 5.0
    clip_dev: float = 2.0
    clip_second: float = 4.0
    clip_events: float = 100.0
    clip_residual: float = 3.0
    ridge: float = 1.0
    init_share: float = 0.2
    init_iterations: int = 3
    init_centres: int | None = None
    init_var: float = 0.1
    init_noise_var: float = 1.0
    stat_shares: tuple[float, float, float, float, float] = (0.1, 0.3, 0.4, 0.1, 0.1)
    accountant: Literal["pld", "rdp"] = "pld"
    reg: float = 1e-3
    novel_floor: float = 0.01
    novel_scale: float = 1.0
    chunk: int = 2000
    seed: int | None = None

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, expected: str) -> None:
            if not ok:
                raise ValueError(f"{name}: expected {expected}, got {getattr(self, name)!r}")

        need(_finite(self.epsilon) and self.epsilon > 0, "epsilon", "a positive finite number")
        need(_finite(self.delta) and 0 < self.delta < 1, "delta", "a number in (0, 1)")
        need(_is_int(self.n_types) and self.n_types >= 1, "n_types", "a positive integer")
        need(_is_int(self.iterations) and self.iterations >= 1, "iterations", "a positive integer")
        need(self.covariance in ("full", "diag", "spherical"), "covariance", "'full', 'diag' or 'spherical'")
        for name in ("clip_theta", "clip_dev", "clip_second", "clip_events", "clip_residual", "ridge",
                     "init_var", "init_noise_var", "novel_scale"):
            need(_finite(getattr(self, name)) and getattr(self, name) > 0, name, "a positive finite number")
        need(_finite(self.init_share) and 0 < self.init_share < 1, "init_share", "a number in (0, 1)")
        need(_is_int(self.init_iterations) and self.init_iterations >= 1, "init_iterations", "a positive integer")
        need(self.init_centres is None or (_is_int(self.init_centres) and self.init_centres >= self.n_types),
             "init_centres", f"None or an integer >= n_types ({self.n_types})")
        shares = self.stat_shares
        need(isinstance(shares, tuple) and len(shares) == len(STAT_BLOCKS)
             and all(_finite(s) and s > 0 for s in shares), "stat_shares",
             f"{len(STAT_BLOCKS)} positive numbers for {', '.join(STAT_BLOCKS)}")
        need(self.accountant in ("pld", "rdp"), "accountant", "'pld' or 'rdp'")
        need(_finite(self.reg) and self.reg >= 0, "reg", "a non-negative number")
        need(_finite(self.novel_floor) and 0 < self.novel_floor < 0.5, "novel_floor", "a number in (0, 0.5)")
        need(_is_int(self.chunk) and self.chunk >= 1, "chunk", "a positive integer")
        need(self.seed is None or (_is_int(self.seed) and self.seed >= 0), "seed", "None or a non-negative integer")

    @property
    def n_centres(self) -> int:
        return self.init_centres if self.init_centres is not None else 4 * self.n_types

    def shares(self) -> dict[str, float]:
        total = float(sum(self.stat_shares))
        return {b: s / total for b, s in zip(STAT_BLOCKS, self.stat_shares)}

    def init_shares(self) -> tuple[float, float]:
        s = self.shares()
        total = s["count"] + s["mean"]
        return s["count"] / total, s["mean"] / total

    def to_dict(self) -> dict[str, Any]:
        """The public settings, as written into metadata (the seed is never written)."""
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()
               if k != "seed"}
        out["init_centres"] = self.n_centres
        return out


def _finite(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


# ---------------------------------------------------------------------------------------------- accounting
def _dp_accounting():
    try:
        import dp_accounting
    except ImportError as exc:  # pragma: no cover - the extra is installed in development
        raise ImportError(
            "the differentially private fit needs Google's dp-accounting: pip install 'warmstart[privacy]'"
        ) from exc
    return dp_accounting


def round_multipliers(z: float, config: DPConfig) -> tuple[float, float]:
    """Noise multipliers of one initialisation round and of one EM iteration for an overall multiplier ``z``.

    The budget ``1 / z^2`` (Gaussian mechanisms compose by adding ``1 / z_round^2``) is split: ``init_share``
    over the ``init_iterations`` rounds, the rest over the ``iterations`` EM iterations.

    >>> [round(z, 3) for z in round_multipliers(2.0, DPConfig())]  # 20% over 3 rounds, 80% over 10
    [7.746, 7.071]
    """
    z_init = z / math.sqrt(config.init_share / config.init_iterations)
    z_em = z / math.sqrt((1.0 - config.init_share) / config.iterations)
    return z_init, z_em


def privacy_event(z: float, config: DPConfig):
    """The ``dp_accounting`` event of the whole fit at overall noise multiplier ``z``.

    >>> event = privacy_event(2.0, DPConfig())
    >>> type(event).__name__, [e.count for e in event.events]      # initialisation rounds, EM iterations
    ('ComposedDpEvent', [3, 10])
    """
    dpa = _dp_accounting()
    z_init, z_em = round_multipliers(z, config)
    return dpa.ComposedDpEvent([
        dpa.SelfComposedDpEvent(dpa.GaussianDpEvent(z_init), config.init_iterations),
        dpa.SelfComposedDpEvent(dpa.GaussianDpEvent(z_em), config.iterations),
    ])


def make_accountant(kind: str):
    """A fresh accountant for user-level add-or-remove adjacency: ``"pld"`` or ``"rdp"``.

    >>> type(make_accountant("rdp")).__name__
    'RdpAccountant'
    >>> make_accountant("moments")
    Traceback (most recent call last):
    ...
    ValueError: accountant: expected 'pld' or 'rdp', got 'moments'
    """
    dpa = _dp_accounting()
    relation = dpa.NeighboringRelation.ADD_OR_REMOVE_ONE
    if kind == "pld":
        return dpa.pld.PLDAccountant(neighboring_relation=relation)
    if kind == "rdp":
        return dpa.rdp.RdpAccountant(neighboring_relation=relation)
    raise ValueError(f"accountant: expected 'pld' or 'rdp', got {kind!r}")


def epsilon_spent(z: float, config: DPConfig) -> float:
    """Epsilon of the whole fit at ``config.delta`` for overall noise multiplier ``z`` (fresh accountant).

    >>> cfg = DPConfig(accountant="rdp")
    >>> round(epsilon_spent(2.0, cfg), 3), round(epsilon_spent(4.0, cfg), 3)       # more noise, less epsilon
    (2.419, 1.143)
    """
    return float(make_accountant(config.accountant).compose(privacy_event(z, config)).get_epsilon(config.delta))


def calibrate_noise(config: DPConfig) -> float:
    """The smallest overall noise multiplier (within 1e-4) for which the fit is ``(epsilon, delta)``-DP.

    The search is bracketed by the Renyi-DP calibration (fast, and an upper bound on the epsilon of any
    Gaussian composition, so its multiplier is never too small) and half of it; PLD accounting is slow at
    tiny multipliers, which an open-ended bracket search would visit.

    >>> z = calibrate_noise(DPConfig(epsilon=1.0, accountant="rdp"))
    >>> round(z, 3), epsilon_spent(z, DPConfig(accountant="rdp")) <= 1.0
    (4.531, True)
    """
    dpa = _dp_accounting()

    def solve(kind: str, bracket) -> float:
        return float(dpa.calibrate_dp_mechanism(
            lambda: make_accountant(kind), lambda z: privacy_event(z, config), config.epsilon, config.delta,
            bracket_interval=bracket, tol=1e-4,
        ))

    # aim a hair under the target: the PLD ledger's discretisation then keeps any grouping of the same rounds
    # (one event per round, or self-composed blocks) within it
    config = replace(config, epsilon=config.epsilon * (1.0 - 1e-6))
    z_rdp = solve("rdp", dpa.LowerEndpointAndGuess(1e-3, 1.0))
    if config.accountant == "rdp":
        return z_rdp
    return solve("pld", dpa.ExplicitBracketInterval(z_rdp / 2.0, z_rdp * 1.01))
