"""Large simulated event logs written straight to Parquet, a chunk of users at a time.

``write_parquet_log`` draws users from ``warmstart/LinearTypes-v0``'s population and logs ``n_events`` events
per user under uniform-random logging over a fixed catalogue of ``n_items`` items (features ``N(0, I/d)``,
drawn once from the seed), in the generic event format (``warmstart.data.events``: ``user, time, item, reward,
propensity, f_0..f_{d-1}``). Memory stays at one chunk of users whatever the log's size: this is how the scale
benchmark makes its 1,000,000-user log. The users' true types go to a second, small Parquet file when
``truth_path`` is given (for evaluation only).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from warmstart.sim.linear_types import LinearTypesPopulation

Progress = Callable[[str, float], None]


def write_parquet_log(population: LinearTypesPopulation, path: str | os.PathLike[str], *, n_users: int,
                      n_events: int, n_items: int = 5000, seed: int = 0, chunk: int = 50_000,
                      truth_path: str | os.PathLike[str] | None = None, progress: Progress | None = None) -> Path:
    """Write the log (and optionally the true types) and return its path. Same seed, same file contents.

    >>> from warmstart.data.events import load_events
    >>> from warmstart.sim.linear_types import LinearTypesConfig, LinearTypesPopulation
    >>> truth = LinearTypesPopulation(LinearTypesConfig(dim=3))
    >>> path = write_parquet_log(truth, "big.parquet", n_users=5, n_events=4, n_items=10, chunk=2)
    >>> events = load_events(path)
    >>> events.n_users, events.n_events, events.dim, float(events.propensity[0])   # 1 / n_items
    (5, 20, 3, 0.1)
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name, value in (("n_users", n_users), ("n_events", n_events), ("n_items", n_items), ("chunk", chunk)):
        if value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value}")
    report = progress or (lambda msg, frac: None)
    cfg = population.config
    rng = np.random.default_rng([seed, 41])
    catalogue = rng.standard_normal((n_items, cfg.dim)) / np.sqrt(cfg.dim)
    item_ids = np.array([f"item{i:05d}" for i in range(n_items)])
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    schema = pa.schema([("user", pa.int64()), ("time", pa.float64()), ("item", pa.string()), ("reward", pa.float64()),
                        ("propensity", pa.float64()), *[(f"f_{k}", pa.float64()) for k in range(cfg.dim)]])
    truths = []
    with pq.ParquetWriter(tmp, schema, compression="snappy") as writer:
        for start in range(0, n_users, chunk):
            m = min(chunk, n_users - start)
            users = population.sample_users(m, rng)
            truths.append(users.type_id)
            item = rng.integers(n_items, size=(m, n_events))
            X = catalogue[item]  # (m, T, d)
            reward = np.einsum("ntd,nd->nt", X, users.theta) + cfg.noise_sd * rng.standard_normal((m, n_events))
            cols = {
                "user": np.repeat(np.arange(start, start + m, dtype=np.int64), n_events),
                "time": np.tile(np.arange(n_events, dtype=np.float64), m),
                "item": item_ids[item.ravel()],
                "reward": reward.ravel(),
                "propensity": np.full(m * n_events, 1.0 / n_items),
            }
            flat = X.reshape(-1, cfg.dim)
            cols.update({f"f_{k}": flat[:, k] for k in range(cfg.dim)})
            writer.write_table(pa.table(cols, schema=schema))
            report("writing the log", (start + m) / n_users)
    os.replace(tmp, out)
    if truth_path is not None:
        pq.write_table(pa.table({"user": np.arange(n_users, dtype=np.int64),
                                 "true_type": np.concatenate(truths)}), truth_path)
    return out
