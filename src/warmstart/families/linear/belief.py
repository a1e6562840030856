"""A user's belief under a population: the exact posterior over types and, within each type, over the user's
own parameters.

The state per component k is the Gaussian posterior ``N(mean_k, cov_k)`` and the running log evidence; the
type posterior is ``softmax(log w_k + log_evidence_k)``, recomputed from the evidence at every event (never a
hard assignment). Without discounting an event is a rank-one (Sherman-Morrison) update, O(K d^2). With
discounting the additive summary is decayed and the per-type posterior recomputed in closed form.

``BeliefBatch`` is the real implementation over many users (leading axis ``N``); ``Belief`` is one user and
shares the same kernel. A belief serialises to a few hundred bytes: its summary, from which the posterior is
recomputed exactly under the population it names by fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warmstart import _kernels
from warmstart._persist import ByteHeader, FormatError
from warmstart._validate import all_finite, check_finite, check_shape, refuse_non_finite
from warmstart.families.linear.model import LOG_2PI, Summary, batched_tri_inv, type_posterior
from warmstart.families.linear.population import Population
from warmstart.stats import normalised_exp


def checked_event(x: np.ndarray, r: float, dim: int) -> tuple[np.ndarray, float]:
    """``(x, r)`` as float arrays after checking the event's shape and values (errors name the field).

    >>> checked_event([1, 0], 2, dim=2)
    (array([1., 0.]), 2.0)
    >>> checked_event([1.0, float("nan")], 2.0, dim=2)
    Traceback (most recent call last):
    ...
    ValueError: x: expected finite numbers, got ...
    """
    x = np.asarray(x, dtype=float)
    check_shape("x", x, (dim,))
    check_finite("x", x)
    check_finite("reward", r)
    return x, float(r)


class BeliefFormatError(FormatError):
    """Serialised belief bytes that cannot be read (damaged, unknown version, other population).

    >>> import numpy as np
    >>> from warmstart.families.linear.model import GaussianTypes
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> Belief.from_bytes(b"WSB junk", population)
    Traceback (most recent call last):
    ...
    warmstart.families.linear.belief.BeliefFormatError: belief bytes: ...
    """


def check_made_under(header: ByteHeader, population: Population, dim: int, n_components: int, fp: bytes) -> None:
    """Bytes' header fields against the population they are read under: its dimension, number of components
    and fingerprint (``header.fail`` naming what differs).

    >>> import numpy as np
    >>> from warmstart.families.linear.model import GaussianTypes
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> fingerprint = bytes.fromhex(population.fingerprint())
    >>> check_made_under(HEADER, population, 2, 3, fingerprint)      # dim 2, 3 components: these bytes fit
    >>> check_made_under(HEADER, population, 4, 3, fingerprint)
    Traceback (most recent call last):
    ...
    warmstart.families.linear.belief.BeliefFormatError: belief bytes: made for dim 4 with 3 components, ...
    """
    if dim != population.dim or n_components != population.n_components:
        raise header.fail(f"made for dim {dim} with {n_components} components, population has dim "
                          f"{population.dim} with {population.n_components}")
    if fp.hex() != population.fingerprint():
        raise header.fail(f"made under another population (fingerprint differs: expected "
                          f"{population.fingerprint()}, got {fp.hex()})")


#: magic, version, then dim (u16), components (u16), discount (f64), population fingerprint (8 bytes)
HEADER = ByteHeader(b"WSB", 1, "HHd8s", BeliefFormatError, "belief bytes", "warmstart belief")


def _observe(mean, cov, logev, noise_var, x, r) -> None:
    """Exact rank-one update of every component's posterior and log evidence, in place.

    ``mean (..., K, d)``, ``cov (..., K, d, d)``, ``logev (..., K)``, ``noise_var (K,)``, ``x (..., d)``,
    ``r (...)``. Works for one user (no leading axes) and for a batch.
    """
    Sx = np.matmul(cov, x[..., None, :, None])[..., 0]  # (..., K, d)
    v = noise_var + (Sx * x[..., None, :]).sum(-1)  # predictive variance (..., K)
    resid = r[..., None] - (mean * x[..., None, :]).sum(-1)
    logev -= 0.5 * (LOG_2PI + np.log(v) + resid * resid / v)
    gain = Sx / v[..., None]
    mean += gain * resid[..., None]
    cov -= gain[..., :, None] * Sx[..., None, :]


def _closed_form(summary: Summary, population: Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    post = type_posterior(summary, population.components)
    Linv = batched_tri_inv(post.chol)
    cov = np.matmul(np.swapaxes(Linv, -1, -2), Linv)
    return post.mean, cov, post.log_evidence


@dataclass
class BeliefBatch:
    """Beliefs of ``N`` users under one population, as arrays.

    >>> import numpy as np
    >>> from warmstart.families.linear.model import GaussianTypes
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> batch = BeliefBatch.fresh(population, n_users=3)
    >>> x = np.array([[1.0, 0.0], [1.0, 0.0]])
    >>> batch.observe(np.array([0, 2]), x, np.array([1.0, -1.0]))   # one event each for users 0 and 2
    >>> batch.type_probs().round(3).tolist()                          # user 1 saw nothing: the prior weights
    [[0.963, 0.003, 0.034], [0.5, 0.45, 0.05], [0.004, 0.959, 0.038]]
    >>> batch.user(2).type_probs().round(3).tolist(), batch.type_probs(np.array([2])).shape
    ([0.004, 0.959, 0.038], (1, 3))
    >>> again = BeliefBatch.from_summary(population, batch.summary)    # the same beliefs, in closed form
    >>> bool(np.allclose(again.type_probs(), batch.type_probs()))
    True
    """

    population: Population
    summary: Summary
    mean: np.ndarray  # (N, K1, d)
    cov: np.ndarray  # (N, K1, d, d)
    log_evidence: np.ndarray  # (N, K1)
    discount: float = 1.0

    @staticmethod
    def fresh(population: Population, n_users: int, discount: float = 1.0) -> BeliefBatch:
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount: expected a value in (0, 1], got {discount}")
        comps = population.components
        K1, d = comps.mu.shape
        return BeliefBatch(
            population,
            Summary.zeros(n_users, d),
            np.broadcast_to(comps.mu, (n_users, K1, d)).copy(),
            np.broadcast_to(comps.cov, (n_users, K1, d, d)).copy(),
            np.zeros((n_users, K1)),
            discount,
        )

    @staticmethod
    def from_summary(population: Population, summary: Summary, discount: float = 1.0) -> BeliefBatch:
        summary.validate()
        if summary.dim != population.dim:
            raise ValueError(f"summary: expected dimension {population.dim}, got {summary.dim}")
        mean, cov, logev = _closed_form(summary, population)
        return BeliefBatch(population, summary, mean, cov, logev, discount)

    @property
    def n_users(self) -> int:
        return self.summary.n_users

    def type_probs(self, users: np.ndarray | None = None) -> np.ndarray:
        """Posterior probability of each component (types, then novel), ``(N, K1)`` for every user or
        ``(len(users), K1)`` for the given user indices."""
        logev = self.log_evidence if users is None else self.log_evidence[users]
        return normalised_exp(logev + self.population.log_weights)

    def observe(self, users: np.ndarray, x: np.ndarray, r: np.ndarray) -> None:
        """Add one event to each of ``users`` (indices), with chosen-action features ``x`` and rewards ``r``."""
        users = np.asarray(users)
        d = self.population.dim
        x = np.asarray(x, dtype=float)
        r = np.asarray(r, dtype=float)
        check_shape("x", x, (users.shape[0], d))
        check_shape("r", r, (users.shape[0],))
        check_finite("x", x)
        check_finite("r", r)
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise ValueError(f"users: expected indices in [0, {self.n_users - 1}], got {users.min()}..{users.max()}")
        if np.unique(users).size != users.size:
            raise ValueError("users: expected each user at most once per call")
        s = self.summary
        # every new value is computed aside (fancy indexing copies) and written only once all are finite: an
        # event that would overflow float64 raises NonFiniteUpdateError and changes no user
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.discount < 1.0:
                g = self.discount
                new = Summary(g * s.A[users] + x[:, :, None] * x[:, None, :], g * s.b[users] + x * r[:, None],
                              g * s.c[users] + r * r, g * s.n[users] + 1.0)
                if not all_finite(new.A, new.b, new.c):
                    raise refuse_non_finite("belief", x, float(np.abs(r).max(initial=0.0)))
                mean, cov, logev = _closed_form(new, self.population)
            else:
                mean, cov, logev = self.mean[users], self.cov[users], self.log_evidence[users]
                _observe(mean, cov, logev, self.population.components.noise_var, x, r)
                new = Summary(s.A[users] + x[:, :, None] * x[:, None, :], s.b[users] + x * r[:, None],
                              s.c[users] + r * r, s.n[users] + 1.0)
        if not all_finite(mean, cov, logev, new.A, new.b, new.c):
            raise refuse_non_finite("belief", x, float(np.abs(r).max(initial=0.0)))
        self.mean[users], self.cov[users], self.log_evidence[users] = mean, cov, logev
        s[users] = new

    def user(self, i: int) -> Belief:
        """A single-user ``Belief`` holding a copy of user ``i``'s state."""
        return Belief(
            self.population,
            self.summary.A[i].copy(),
            self.summary.b[i].copy(),
            float(self.summary.c[i]),
            float(self.summary.n[i]),
            self.mean[i].copy(),
            self.cov[i].copy(),
            self.log_evidence[i].copy(),
            self.discount,
        )


@dataclass
class Belief:
    """One user's belief. ``observe(x, r)`` is O(K d^2); ``type_probs()`` the posterior over components.

    >>> import numpy as np
    >>> from warmstart.families.linear.model import GaussianTypes
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> population = Population(types, weights=np.array([0.5, 0.45, 0.05]))
    >>> belief = Belief.fresh(population)
    >>> belief.type_probs().round(3).tolist()                           # before any event: the weights
    [0.5, 0.45, 0.05]
    >>> belief.observe([1.0, 0.0], 1.0)
    >>> belief.observe([1.0, 0.0], 0.8)                                 # rewards like type 0's mean
    >>> belief.type_probs().round(3).tolist(), belief.summary().n.tolist()
    ([0.969, 0.0, 0.031], [2.0])
    >>> probs, mean, cov = belief.components()                          # what a policy samples from
    >>> mean[0].round(3).tolist(), cov[0].diagonal().round(3).tolist()
    ([0.956, 0.0], [0.056, 0.1])
    >>> other = belief.copy()
    >>> other.observe([1.0, 0.0], -1.0)
    >>> belief.n, other.n
    (2.0, 3.0)
    >>> blob = belief.to_bytes()                                       # what the store keeps
    >>> len(blob), Belief.from_bytes(blob, population).type_probs().round(3).tolist()
    (80, [0.969, 0.0, 0.031])
    """

    population: Population
    A: np.ndarray
    b: np.ndarray
    c: float
    n: float
    mean: np.ndarray  # (K1, d)
    cov: np.ndarray  # (K1, d, d)
    log_evidence: np.ndarray  # (K1,)
    discount: float = 1.0

    @staticmethod
    def fresh(population: Population, discount: float = 1.0) -> Belief:
        return BeliefBatch.fresh(population, 1, discount).user(0)

    @property
    def dim(self) -> int:
        return self.population.dim

    def type_probs(self) -> np.ndarray:
        return normalised_exp(self.log_evidence + self.population.log_weights)

    def components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(probs (K1,), mean (K1, d), cov (K1, d, d))``: the posterior over components and each one's
        posterior of the user's parameters, what a policy samples from."""
        return self.type_probs(), self.mean, self.cov

    def observe(self, x: np.ndarray, r: float) -> None:
        """Add one event (features of the chosen action, observed reward). Bad input changes nothing, and
        neither does an event that would overflow float64 (``NonFiniteUpdateError``)."""
        self._observe_trusted(*checked_event(x, r, self.dim))

    def _observe_trusted(self, x: np.ndarray, r: float) -> None:
        """``observe`` without the checks, for callers that validated the event already (policies). The update
        is computed on copies and kept only if every number is finite (the same arithmetic as in place, so the
        result is bitwise the same); otherwise ``NonFiniteUpdateError`` and the belief is unchanged."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.discount < 1.0:
                g = self.discount
                A, b = g * self.A + np.outer(x, x), g * self.b + x * r
                c, n = g * self.c + r * r, g * self.n + 1.0
                if not all_finite(A, b, c):
                    raise refuse_non_finite("belief", x, r)
                summary = Summary(A[None].copy(), b[None].copy(), np.array([c]), np.array([n]))
                mean, cov, logev = (v[0] for v in _closed_form(summary, self.population))
            else:
                mean, cov, logev, A, b = (self.mean.copy(), self.cov.copy(), self.log_evidence.copy(),
                                          self.A.copy(), self.b.copy())
                if _kernels.JIT:
                    _kernels.observe_one(mean, cov, logev, self.population.components.noise_var, A, b, x, r)
                else:
                    _observe(mean, cov, logev, self.population.components.noise_var, x, np.float64(r))
                    A += np.outer(x, x)
                    b += x * r
                c, n = self.c + r * r, self.n + 1.0
        if not all_finite(mean, cov, logev, A, b, c):
            raise refuse_non_finite("belief", x, r)
        self.mean, self.cov, self.log_evidence, self.A, self.b, self.c, self.n = mean, cov, logev, A, b, c, n

    def copy(self) -> Belief:
        """An independent copy (``observe`` on it leaves this one unchanged)."""
        return Belief(self.population, self.A.copy(), self.b.copy(), self.c, self.n, self.mean.copy(),
                      self.cov.copy(), self.log_evidence.copy(), self.discount)

    def summary(self) -> Summary:
        return Summary(self.A[None].copy(), self.b[None].copy(), np.array([self.c]), np.array([self.n]))

    # ------------------------------------------------------------------ bytes
    def to_bytes(self) -> bytes:
        """Versioned bytes: header, then the upper triangle of A, b, c and n as little-endian float64."""
        d = self.dim
        iu = np.triu_indices(d)
        fp = bytes.fromhex(self.population.fingerprint())
        head = HEADER.pack(d, self.population.n_components, self.discount, fp)
        body = np.concatenate([self.A[iu], self.b, [self.c, self.n]]).astype("<f8").tobytes()
        return head + body

    @staticmethod
    def from_bytes(data: bytes, population: Population) -> Belief:
        d, k1, discount, fp = HEADER.unpack(data)
        check_made_under(HEADER, population, d, k1, fp)
        n_tri = d * (d + 1) // 2
        body, _ = HEADER.body(data, [("values", "<f8", n_tri + d + 2)], detail=f" for dim {d}")
        vals = body["values"]
        HEADER.check_finite("A, b, c, n", vals)
        A = np.zeros((d, d))
        A[np.triu_indices(d)] = vals[:n_tri]
        A = A + np.triu(A, 1).T
        b = vals[n_tri : n_tri + d].copy()
        c, n = float(vals[-2]), float(vals[-1])
        if n < 0 or c < 0:
            raise HEADER.fail(f"negative counts (expected c, n >= 0, got c = {c}, n = {n})")
        batch = BeliefBatch.from_summary(
            population, Summary(A[None], b[None], np.array([c]), np.array([n])), discount
        )
        return batch.user(0)
