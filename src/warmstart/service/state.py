"""The state of one app (one worker process), held explicitly in ``ServiceState`` at ``app.state.service``: the
store and the serving settings, the active and shadow population versions (re-read at most every
``VERSION_TTL`` seconds), an ``Engine`` per mode, the API key cache, the metrics and the loop that gives
overdue decisions the default reward."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

from warmstart._validate import DEFAULT_BOUNDS, Bounds
from warmstart.policies.floor import DEFAULT_EPSILON
from warmstart.service.bootstrap import BootstrapPrior, ensure_population
from warmstart.service.cache import KeyCache
from warmstart.service.engine import Engine, record_reward
from warmstart.service.errors import ApiError
from warmstart.service.metrics import Metrics
from warmstart.store.store import ConflictError, NotFoundError, Store

VERSION_TTL = 1.0  # seconds a worker may keep serving a version after another worker activated a new one
KEY_TTL = 5.0  # seconds a worker may keep accepting a key after it was revoked


class ServiceState:
    """Everything the routes of one app share. With ``reward_window_s``, a decision whose reward has not
    arrived within the window gets ``default_reward`` (``apply_default_rewards``, run by a background loop
    while the app runs). ``explore`` is the exploration floor (default ``policies.floor.DEFAULT_EPSILON``): the share of decisions made uniformly at random,
    so that every candidate is logged with probability at least ``explore / n_candidates`` (0 turns it off).
    ``bootstrap`` is the broad prior served while no population is active (None: answer 503 until one is)."""

    def __init__(self, store: Store, *, policy: str = "auto", seed: int = 0,
                 reward_window_s: float | None = None, default_reward: float = 0.0,
                 explore: float = DEFAULT_EPSILON, bootstrap: BootstrapPrior | None = None,
                 bounds: Bounds | None = None) -> None:
        if reward_window_s is not None and not reward_window_s > 0:
            raise ValueError(f"reward_window_s: expected a positive number of seconds or None, got {reward_window_s}")
        if not 0.0 <= explore <= 1.0:
            raise ValueError(f"explore: expected a share of decisions in [0, 1], got {explore!r}")
        self.bounds = DEFAULT_BOUNDS if bounds is None else bounds  # magnitudes a request's values may have
        self.bounds.check_rewards(default_reward, name="default_reward")
        self.store, self.policy, self.seed, self.explore = store, policy, seed, float(explore)
        self.bootstrap = bootstrap
        self.reward_window_s, self.default_reward = reward_window_s, default_reward
        self.metrics = Metrics()
        self.keys = KeyCache(store.key_scope, ttl=KEY_TTL)
        self.engines: dict[str, Engine] = {}  # by mode: the active engine and the shadow one
        # (monotonic time read, {mode: version}), replaced as a whole so that a reader never sees half of it
        self._versions: tuple[float, dict[str, int | None]] = (-math.inf, {})
        self._stop = threading.Event()

    # ------------------------------------------------------------------ population versions and engines
    def active(self, mode: str = "active") -> int | None:
        """The active (or shadow) version, re-read at most every ``VERSION_TTL`` seconds (and at once after an
        activation through this app): one query less per request."""
        now = time.monotonic()
        at, versions = self._versions
        if now - at > VERSION_TTL:
            versions = {"active": self.store.active_version(), "shadow": self.store.active_version("shadow")}
            self._versions = (now, versions)
        return versions[mode]

    def versions_changed(self) -> None:
        """Re-read the active and shadow versions on the next request (this app activated or rolled back)."""
        self._versions = (-math.inf, self._versions[1])

    def engine(self, mode: str = "active", *, dim: int | None = None) -> Engine:
        """The engine of the active (or shadow) version; ``ApiError`` 503 when there is none. A decision
        (``dim``: its candidates' features) with no active population and a ``bootstrap`` prior first stores
        and activates the bootstrap population (``warmstart.service.bootstrap``)."""
        version = self.active(mode)
        if version is None and mode == "active" and dim is not None and self.bootstrap is not None:
            version = ensure_population(self.store, dim, self.bootstrap)
            self.versions_changed()
            version = self.active(mode)
        current = self.engines.get(mode)
        if current is None or current.version != version:
            self.engines[mode] = current = Engine(self.store, policy=self.policy, seed=self.seed, mode=mode,
                                                  explore=self.explore)
        return current

    def shadow(self, event_id: str, user_id: str, X: np.ndarray, active_version: int) -> None:
        """Log what the shadow population would have chosen (not served)."""
        version = self.active("shadow")
        if version is None or version == active_version:
            return
        eng = self.engine("shadow")
        decision = eng.policy.act(eng.belief_from_log(user_id), X)
        if decision.probabilities is not None:
            self.store.add_shadow_decision(event_id, eng.version, int(decision.action),
                                           [float(p) for p in decision.probabilities])

    def uncache(self, user_id: str) -> None:
        """Forget the user's cached beliefs (after an erasure, a reset or a change of consent)."""
        for eng in self.engines.values():
            eng.cache.drop(user_id)

    # ------------------------------------------------------------------ default rewards
    def apply_default_rewards(self, now: float | None = None) -> int:
        """Give the default reward to every decision older than the window that has none; return how many."""
        if self.reward_window_s is None:
            return 0
        due = self.store.pending_rewards(older_than=(time.time() if now is None else now) - self.reward_window_s)
        applied = 0
        for event_id in due:
            try:
                if record_reward(self.engine(), event_id, self.default_reward, default=True):
                    applied += 1
                    self.metrics.rewards.labels("default").inc()
            except (ConflictError, NotFoundError):
                continue  # the real reward or an erasure got there first
            except ApiError:
                continue  # busy, or a belief that cannot absorb the event: left for the next pass
        return applied

    def start_default_rewards(self) -> threading.Thread | None:
        """Start the loop applying default rewards (a daemon thread), if there is a reward window."""
        if self.reward_window_s is None:
            return None
        worker = threading.Thread(target=_default_loop, daemon=True,
                                  args=(self._stop, min(self.reward_window_s / 4, 5.0), self.apply_default_rewards))
        worker.start()
        return worker

    def stop_default_rewards(self, worker: threading.Thread | None) -> None:
        self._stop.set()
        if worker is not None:
            worker.join(timeout=10)


def _default_loop(stop: threading.Event, every: float, apply: Callable[[], int]) -> None:
    while not stop.wait(every):
        apply()
