"""Where the population fit's E-step passes run: in this process, or as tasks on a Ray cluster.

The fit (``warmstart.families.linear.fit``) only ever asks a backend for one thing: a pass over a set of users at
given parameters (``e_step``), returning the log likelihood and the M-step sums (or the responsibilities).
The users are a ``Summary`` in memory or Parquet ``SummaryShards``. Both backends cut them into the same
chunks (``chunk`` users, restarting at each shard) and add the chunks' terms in the same order
(``warmstart.families.linear.estep``), so a fit gives the same population, to the last bit, on either.

- ``InProcess`` runs the chunks one after another; shards are read one at a time in every pass, so the memory
  a pass needs is one shard's.
- ``RayBackend`` runs them as Ray tasks: each shard is loaded once by a worker and kept in Ray's object
  store; a summary in memory (the fit's random sample, say) is put there in pieces; each pass sends the
  parameters and gets back every chunk's terms. ``RayBackend()`` starts a local Ray (bound to 127.0.0.1) and
  stops it on ``close()``; ``RayBackend(address="host:port")`` connects to a running cluster, whose nodes need
  warmstart installed. Requires the ``scale`` extra (``ray``).

>>> import numpy as np
>>> from warmstart.families.linear.fit import FitConfig, fit_population
>>> from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation
>>> summary = LinearTypesPopulation(LinearTypesConfig()).logged(300, 10, seed=0).summary()
>>> cfg = FitConfig(n_types=2, n_init=1, split_merge=False, chunk=100)
>>> a = fit_population(summary, cfg, backend=InProcess())
>>> b = fit_population(summary, cfg)  # the default backend is InProcess
>>> bool(np.array_equal(a.components.mu, b.components.mu))
True
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import socket
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Protocol, Self

import numpy as np

from warmstart.families.linear.estep import PassTotal, chunk_terms, chunked_terms
from warmstart.families.linear.model import GaussianTypes, Summary
from warmstart.families.linear.shards import SummaryShards, read_shard


class Backend(Protocol):
    """What the fit asks of a backend (``InProcess``, ``RayBackend``, or any object with these methods).

    >>> import numpy as np
    >>> from warmstart.families.linear.model import GaussianTypes, summarise
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [0.0, 0.0]]),               # 1 type and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), np.eye(2)]), noise_var=np.full(2, 0.25))
    >>> users = summarise(np.tile([1.0, 0.0], (5, 3, 1)), np.ones((5, 3)))      # 5 users, 3 events each
    >>> backend: Backend = make_backend("inprocess")
    >>> ll, resp = backend.e_step(users, types, np.array([0.9, 0.1]), chunk=2, moments=False)
    >>> round(ll, 3), resp.shape, backend.take(users, np.array([0, 4])).n_users
    (-5.743, (5, 2), 2)
    >>> backend.close()
    """

    name: str

    def e_step(self, users: Summary | SummaryShards, comps: GaussianTypes, weights: np.ndarray, chunk: int,
               moments: bool) -> tuple[float, Any]:
        """Log likelihood and M-step sums (``moments``) or responsibilities of ``users`` at the parameters."""
        ...

    def take(self, users: Summary | SummaryShards, index: np.ndarray) -> Summary:
        """The statistics of the users at rows ``index``, in memory (the fit's random sample)."""
        ...

    def close(self) -> None:
        """Release what the backend holds."""
        ...


class InProcess:
    """Every chunk in this process, in order.

    >>> import numpy as np
    >>> from warmstart.families.linear.model import GaussianTypes, summarise
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [0.0, 0.0]]),               # 1 type and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), np.eye(2)]), noise_var=np.full(2, 0.25))
    >>> users = summarise(np.tile([1.0, 0.0], (5, 3, 1)), np.ones((5, 3)))      # 5 users, 3 events each
    >>> backend = InProcess()
    >>> ll, (W, Sm, Smm, Sres, Sn) = backend.e_step(users, types, np.array([0.9, 0.1]), chunk=2, moments=True)
    >>> W.round(3).tolist(), backend.take(users, np.array([1])).n.tolist()  # responsibility per component
    ([4.86, 0.14], [3.0])
    >>> backend.close()                                                       # nothing to release
    """

    name = "inprocess"

    def e_step(self, users: Summary | SummaryShards, comps: GaussianTypes, weights: np.ndarray, chunk: int,
               moments: bool) -> tuple[float, Any]:
        terms, logw = comps.precision(), np.log(weights)
        total = PassTotal(comps.n_components, comps.dim, moments)
        for part in (users if isinstance(users, SummaryShards) else (users,)):
            for start in range(0, part.n_users, chunk):
                total.add(*chunk_terms(part[start : start + chunk], comps, terms, logw, moments))
        return total.result()

    def take(self, users: Summary | SummaryShards, index: np.ndarray) -> Summary:
        return users[index]

    def close(self) -> None:
        pass


IN_PROCESS = InProcess()


def _piece_bounds(n_users: int, chunk: int, n_pieces: int) -> list[tuple[int, int]]:
    """Cut ``n_users`` into at most ``n_pieces`` runs of whole chunks (so the chunks are the in-process ones)."""
    n_chunks = math.ceil(n_users / chunk)
    edges = np.unique(np.round(np.linspace(0, n_chunks, min(n_pieces, n_chunks) + 1)).astype(int))
    return [(int(a) * chunk, min(int(b) * chunk, n_users)) for a, b in itertools.pairwise(edges)]


def _take_rows(piece: Summary, rows: np.ndarray) -> Summary:
    return piece[rows]


def _pass_piece(piece: Summary, params: tuple[GaussianTypes, np.ndarray], chunk: int,
                moments: bool) -> list[tuple[float, Any]]:
    comps, weights = params
    return chunked_terms(piece, comps, weights, chunk, moments)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail at once, naming the address, when nothing listens there (Ray itself would retry for minutes)."""
    if address in ("auto", "local") or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address: expected host:port of a Ray cluster's head, 'auto' or ray://..., got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"address: nothing answers at {address!r} ({exc}); is the Ray head running there?") \
            from exc


@contextlib.contextmanager
def _loopback_node(ray: Any) -> Iterator[None]:
    """While a local Ray starts, have it take 127.0.0.1 as the node's address, so that its servers bind the
    loopback interface only. Ray does this for its single-machine mode (its ``ENABLE_RAY_CLUSTER`` switch, read
    from ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` when Ray is imported); the switch is set for the start and put
    back after, so a later connection from this process to a real cluster is unaffected."""
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    before = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    env = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    if before is not None:
        constants.ENABLE_RAY_CLUSTER = False  # type: ignore[union-attr]
    try:
        yield
    finally:
        if before is not None:
            constants.ENABLE_RAY_CLUSTER = before  # type: ignore[union-attr]
        if env is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = env


class RayBackend:
    """E-step passes as Ray tasks, one per shard (or per piece of a summary in memory).

    ``address``: a running cluster (``"host:port"`` or ``"auto"``); ``None`` starts a local Ray with
    ``num_cpus`` workers (default: every core) on 127.0.0.1, stopped by ``close()``. If this process is
    already connected to Ray, that connection is used and left open. ``pieces_per_cpu`` sets how many tasks a
    summary in memory is cut into per worker (more balance the load, fewer cost less overhead).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None,
                 object_store_memory: int | None = None, pieces_per_cpu: int = 2, cache_size: int = 4) -> None:
        if num_cpus is not None and num_cpus < 1:
            raise ValueError(f"num_cpus: expected at least 1 worker, got {num_cpus}")
        if pieces_per_cpu < 1:
            raise ValueError(f"pieces_per_cpu: expected at least 1, got {pieces_per_cpu}")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports leave the machine
        try:
            import ray
        except ImportError as exc:
            raise ImportError("backend 'ray' needs the scale extra: pip install 'warmstart[scale]'") from exc
        self._ray = ray
        self.started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if address is None:
                kwargs.update(address="local", num_cpus=num_cpus or os.cpu_count() or 1,
                              object_store_memory=object_store_memory)
            else:
                _check_reachable(address)
                kwargs.update(address=address)
            # a local Ray, or a cluster on this machine's loopback: the driver's node address is loopback too
            local = address is None or address.startswith(("127.", "localhost:"))
            with _loopback_node(ray) if local else contextlib.nullcontext():
                ray.init(**kwargs)
            self.started = True
        self.num_cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.pieces_per_cpu = pieces_per_cpu
        self._task = ray.remote(num_cpus=1)(_pass_piece)
        self._load = ray.remote(num_cpus=1)(read_shard)
        self._take = ray.remote(num_cpus=1)(_take_rows)
        self._cache: OrderedDict[Any, tuple[Any, list[Any]]] = OrderedDict()
        self._cache_size = cache_size

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the users kept in the object store; stop Ray if this backend started it."""
        self._cache.clear()
        if self.started and self._ray.is_initialized():
            self._ray.shutdown()
        self.started = False

    def _pieces(self, users: Summary | SummaryShards, chunk: int) -> list[Any]:
        """Object refs of the users' pieces, put in the object store on first use and kept for later passes."""
        if isinstance(users, SummaryShards):
            key: Any = ("shards", str(users.folder), tuple(s.file for s in users.shards))
        else:
            key = ("summary", id(users), chunk)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key][1]
        if isinstance(users, SummaryShards):
            refs = [self._load.remote(path, users.dim, info.n_users)
                    for path, info in zip(users.paths(), users.shards, strict=True)]
        else:
            refs = [self._ray.put(users[a:b])
                    for a, b in _piece_bounds(users.n_users, chunk, self.pieces_per_cpu * self.num_cpus)]
        self._cache[key] = (users, refs)  # the users are held so their id() is not reused while cached
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return refs

    def take(self, users: Summary | SummaryShards, index: np.ndarray) -> Summary:
        """Rows of shards are gathered by the workers from the shards they loaded (which later passes use)."""
        if not isinstance(users, SummaryShards):
            return users[index]
        refs = self._pieces(users, 0)
        return users.gather(index, lambda wanted: self._ray.get([self._take.remote(refs[i], rows)
                                                                 for i, rows in wanted]))

    def e_step(self, users: Summary | SummaryShards, comps: GaussianTypes, weights: np.ndarray, chunk: int,
               moments: bool) -> tuple[float, Any]:
        params = self._ray.put((comps, weights))
        futures = [self._task.remote(piece, params, chunk, moments) for piece in self._pieces(users, chunk)]
        total = PassTotal(comps.n_components, comps.dim, moments)
        for parts in self._ray.get(futures):  # in piece order, so the chunks add up in the in-process order
            for ll, part in parts:
                total.add(ll, part)
        return total.result()


BACKENDS = {"inprocess": InProcess, "ray": RayBackend}


def make_backend(name: str, **options: Any) -> Backend:
    """A backend by name (``inprocess`` or ``ray``) with its options (``address``, ``num_cpus`` for Ray).

    >>> make_backend("inprocess").name
    'inprocess'
    >>> make_backend("spark")
    Traceback (most recent call last):
    ...
    ValueError: backend: expected one of ['inprocess', 'ray'], got 'spark'
    """
    if name not in BACKENDS:
        raise ValueError(f"backend: expected one of {sorted(BACKENDS)}, got {name!r}")
    if name == "inprocess" and any(v is not None for v in options.values()):
        raise ValueError(f"backend 'inprocess' takes no options, got {sorted(k for k, v in options.items() if v)}")
    return BACKENDS[name]() if name == "inprocess" else BACKENDS[name](**options)  # type: ignore[no-any-return]
