"""A belief that follows a user who changes: Bayesian online change-point detection over the mixture belief.

The user's preferences may change at any step with a small prior probability (the *hazard*). Every hypothesis
"the current regime started at step s" keeps its own exact mixture belief (type posterior and, within each
type, the user's parameters) computed from the events since ``s`` only, and the hypotheses are weighted by how
well each predicted the rewards it saw (Adams & MacKay, 2007, "Bayesian Online Changepoint Detection"). After a
switch, the hypothesis that started at the switch predicts the new rewards far better than the old one, and the
weight moves to it within a few events; a wrong early guess (a misleading start) is a switch at step 5 and is
dropped the same way. Nothing is ever a hard assignment: the type posterior is the weighted mixture of every
kept hypothesis's posterior, recomputed from evidence at each event.

The run-length posterior is truncated to the ``max_runs`` most probable hypotheses (and those above
``min_prob``), so an event costs ``max_runs`` rank-one updates, O(max_runs K d^2).

An *alarm* (a detected change, for transparency and the benchmark) is raised when the hypotheses that started
after the last alarm hold more than ``alarm_prob`` of the posterior; the most probable of them becomes the new
anchor. Alarms are reported, they do not change the belief (the weighting already did).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from warmstart._persist import ByteHeader
from warmstart._validate import all_finite, refuse_non_finite
from warmstart.families.linear.belief import Belief, BeliefFormatError, check_made_under, checked_event
from warmstart.families.linear.population import Population

#: magic, version, then dim, components, runs, max runs, alarms (u16 each), hazard, min_prob, alarm_prob (f64
#: each), t, anchor (u64 each), population fingerprint (8 bytes)
HEADER = ByteHeader(b"WSC", 1, "HHHHHdddQQ8s", BeliefFormatError, "change-point belief bytes",
                    "warmstart change-point belief")


def _log_marginal(belief: Belief) -> float:
    joint = belief.log_evidence + belief.population.log_weights
    top = float(joint.max())
    return top + math.log(float(np.exp(joint - top).sum()))


@dataclass
class ChangePointBelief:
    """Mixture of beliefs over when the user's current regime started (the run length).

    >>> import numpy as np
    >>> from warmstart.families.linear.model import GaussianTypes
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> belief = ChangePointBelief(population, hazard=0.05)
    >>> for reward in [1.0] * 6 + [-1.0] * 6:                  # a type-0 user, then a type-1 user
    ...     belief.observe([1.0, 0.0], reward)
    >>> belief.type_probs().round(3).tolist(), belief.alarms    # a change detected after event 7
    ([0.0, 0.975, 0.025], [7])
    >>> belief.starts[int(np.argmax(belief.run_probs()))], belief.current().n   # the regime since event 6
    (6, 6.0)
    >>> probs, mean, cov = belief.components()                  # (run, type) pairs, for a policy to sample
    >>> probs.shape, mean.shape, round(float(probs.sum()), 6)
    ((21,), (21, 2), 1.0)
    >>> other = belief.copy()
    >>> other.observe([1.0, 0.0], 1.0)
    >>> other.n, belief.n
    (13, 12)
    >>> back = ChangePointBelief.from_bytes(belief.to_bytes(), population)
    >>> back.alarms, bool(np.allclose(back.type_probs(), belief.type_probs()))
    ([7], True)
    """

    population: Population
    hazard: float = 1.0 / 500
    max_runs: int = 8
    min_prob: float = 1e-4
    alarm_prob: float = 0.5
    runs: list[Belief] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # step before which each run's first event came (0-based)
    log_w: np.ndarray = field(default_factory=lambda: np.zeros(0))
    t: int = 0
    anchor: int = 0
    alarms: list[int] = field(default_factory=list)  # steps (1-based event counts) at which an alarm was raised

    def __post_init__(self) -> None:
        if not 0.0 < self.hazard < 1.0:
            raise ValueError(f"hazard: expected a probability in (0, 1), got {self.hazard}")
        if self.max_runs < 2:
            raise ValueError(f"max_runs: expected at least 2, got {self.max_runs}")
        if not 0.0 <= self.min_prob < 0.5:
            raise ValueError(f"min_prob: expected a value in [0, 0.5), got {self.min_prob}")
        if not 0.0 < self.alarm_prob < 1.0:
            raise ValueError(f"alarm_prob: expected a probability in (0, 1), got {self.alarm_prob}")
        if not self.runs:
            self.runs = [Belief.fresh(self.population)]
            self.starts = [0]
            self.log_w = np.zeros(1)

    @property
    def dim(self) -> int:
        return self.population.dim

    @property
    def n(self) -> int:
        """Events seen in total (all regimes)."""
        return self.t

    def run_probs(self) -> np.ndarray:
        """Posterior probability of each kept hypothesis (same order as ``starts``)."""
        w = np.exp(self.log_w - self.log_w.max())
        return w / w.sum()

    def current(self) -> Belief:
        """The most probable hypothesis's belief (for explanations; acting uses the whole mixture)."""
        return self.runs[int(np.argmax(self.log_w))]

    def type_probs(self) -> np.ndarray:
        """Posterior over components (types, then novel), averaged over the run-length posterior."""
        p = self.run_probs()
        return np.einsum("h,hk->k", p, np.stack([b.type_probs() for b in self.runs]))

    def components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every hypothesis's components stacked: ``(probs (H*K1,), mean (H*K1, d), cov (H*K1, d, d))``, the
        joint posterior over (run, type) and each one's posterior of the user's parameters."""
        p = self.run_probs()
        probs = np.concatenate([w * b.type_probs() for w, b in zip(p, self.runs, strict=True)])
        return (probs, np.concatenate([b.mean for b in self.runs]), np.concatenate([b.cov for b in self.runs]))

    def observe(self, x: np.ndarray, r: float) -> None:
        """Add one event. Bad input (shape, non-finite) changes nothing, and neither does an event that would
        overflow float64 (``NonFiniteUpdateError``)."""
        self._observe_trusted(*checked_event(x, r, self.dim))

    def _observe_trusted(self, x: np.ndarray, r: float) -> None:
        """``observe`` without the checks. Every run is updated on a copy, and the copies are kept only when
        every run and weight is finite: a failure in any run leaves the whole belief as it was."""
        runs = [b.copy() for b in self.runs]
        log_pred = np.empty(len(runs) + 1)
        for i, b in enumerate(runs):
            before = _log_marginal(b)
            b._observe_trusted(x, r)  # NonFiniteUpdateError before anything here is kept
            log_pred[i] = _log_marginal(b) - before
        if self.t == 0:  # before the first event there is nothing for a change to separate
            self.runs, self.t = runs, 1
            return
        fresh = Belief.fresh(self.population)
        fresh._observe_trusted(x, r)
        log_pred[-1] = _log_marginal(fresh)  # a fresh belief's marginal before any event is 1
        total = float(np.logaddexp.reduce(self.log_w))
        with np.errstate(over="ignore", invalid="ignore"):
            grow = self.log_w + math.log1p(-self.hazard) + log_pred[:-1]
            new = total + math.log(self.hazard) + log_pred[-1]
            log_w = np.append(grow, new)
            log_w -= np.logaddexp.reduce(log_w)
        if not all_finite(log_w):
            raise refuse_non_finite("change-point belief", x, r)
        self.runs = runs
        self.runs.append(fresh)
        self.starts.append(self.t)
        self.log_w = log_w
        self.t += 1
        self._prune()
        self._check_alarm()

    def _prune(self) -> None:
        p = self.run_probs()
        keep = np.argsort(-p)[: self.max_runs]
        keep = np.sort(keep[p[keep] >= min(self.min_prob, p.max())])
        self.runs = [self.runs[i] for i in keep]
        self.starts = [self.starts[i] for i in keep]
        self.log_w = self.log_w[keep] - np.logaddexp.reduce(self.log_w[keep])

    def _check_alarm(self) -> None:
        starts = np.array(self.starts)
        p = self.run_probs()
        after = starts > self.anchor
        if after.any() and p[after].sum() > self.alarm_prob:
            self.anchor = int(starts[after][np.argmax(p[after])])
            self.alarms.append(self.t)

    def copy(self) -> ChangePointBelief:
        return ChangePointBelief(
            self.population, self.hazard, self.max_runs, self.min_prob, self.alarm_prob,
            [b.copy() for b in self.runs], list(self.starts), self.log_w.copy(), self.t, self.anchor,
            list(self.alarms),
        )

    # ------------------------------------------------------------------ bytes
    def to_bytes(self) -> bytes:
        """Versioned bytes: a header, each run's start and log weight, the alarm steps, then each run's belief
        bytes (``Belief.to_bytes``: its summary). Each run's posterior is recomputed from its summary on
        reading, exactly under the population named by the fingerprint."""
        fp = bytes.fromhex(self.population.fingerprint())
        head = HEADER.pack(self.dim, self.population.n_components, len(self.runs), self.max_runs,
                           len(self.alarms), self.hazard, self.min_prob, self.alarm_prob, self.t, self.anchor, fp)
        body = (np.asarray(self.starts, dtype="<u8").tobytes() + np.asarray(self.log_w, dtype="<f8").tobytes()
                + np.asarray(self.alarms, dtype="<u8").tobytes())
        return head + body + b"".join(b.to_bytes() for b in self.runs)

    @staticmethod
    def from_bytes(data: bytes, population: Population) -> ChangePointBelief:
        (d, k1, n_runs, max_runs, n_alarms, hazard, min_prob, alarm_prob, t, anchor, fp) = HEADER.unpack(data)
        check_made_under(HEADER, population, d, k1, fp)
        if n_runs < 1:
            raise HEADER.fail(f"expected at least 1 run, got {n_runs}")
        one = len(Belief.fresh(population).to_bytes())
        body, at = HEADER.body(data, [("starts", "<u8", n_runs), ("run weights", "<f8", n_runs),
                                      ("alarms", "<u8", n_alarms)], rest=n_runs * one,
                               detail=f" for {n_runs} runs and {n_alarms} alarms")
        starts, alarms = body["starts"].tolist(), body["alarms"].tolist()
        log_w = body["run weights"].copy()
        HEADER.check_finite("run weights", log_w)
        runs = [Belief.from_bytes(data[at + i * one : at + (i + 1) * one], population) for i in range(n_runs)]
        try:
            return ChangePointBelief(population, hazard, max_runs, min_prob, alarm_prob, runs,
                                     [int(x) for x in starts], log_w, int(t), int(anchor), [int(x) for x in alarms])
        except ValueError as exc:
            raise HEADER.fail(str(exc)) from exc
