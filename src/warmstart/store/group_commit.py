"""Group commit: the writes of concurrent requests share one transaction and so one flush to disk.

A durable commit costs a disk flush (``fsync``; about 0.3-1 ms here), and a store that commits each request's
write on its own is bound by it: two flushes per rank + reward round trip. Here one writer thread takes every
write job waiting in its queue, runs them in order in one transaction and commits once; each caller waits until
that commit is done, so nothing is acknowledged before it is on disk (the same guarantee as a commit per
request). When one job of a batch fails (a conflict, a stale belief), the whole batch is rolled back and each
job is run again in a transaction of its own, so that one job's failure never touches another's write.

A job is a function of the open connection; it may run twice (batched, then alone), so it must not have effects
outside the transaction.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")
Job = Callable[[Connection], Any]


class GroupCommit:
    """A writer thread committing queued jobs in batches of at most ``max_batch``; ``transaction()`` opens the
    transaction a batch runs in (the store's own, with its write lock).

    >>> from sqlalchemy import create_engine, text
    >>> engine = create_engine("sqlite:///group.db")
    >>> with engine.begin() as conn:
    ...     _ = conn.execute(text("CREATE TABLE t (x INTEGER)"))
    >>> group = GroupCommit(engine.begin)
    >>> group.run(lambda conn: conn.execute(text("INSERT INTO t VALUES (1)")).rowcount)  # once committed
    1
    >>> group.batches, group.jobs
    (1, 1)
    >>> group.close()
    >>> group.run(lambda conn: None)
    Traceback (most recent call last):
    ...
    RuntimeError: group commit: the writer thread has stopped (store closed)
    """

    def __init__(self, transaction: Callable[[], AbstractContextManager[Connection]], max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch: expected a positive number of jobs, got {max_batch}")
        self._transaction = transaction
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Job, Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="warmstart-group-commit", daemon=True)
        self._thread.start()
        self.batches = self.jobs = self.retried = 0

    def run(self, job: Callable[[Connection], T]) -> T:
        """Run ``job`` in the next batch and return its result once the batch has committed (or raise what
        the job raised, its write rolled back)."""
        if not self._thread.is_alive():
            raise RuntimeError("group commit: the writer thread has stopped (store closed)")
        done: Future[T] = Future()
        self._queue.put((job, done))
        return done.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _batches(self) -> Iterator[list[tuple[Job, Future[Any]]]]:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    yield batch
                    return
                batch.append(item)
            yield batch

    def _loop(self) -> None:
        for batch in self._batches():
            self.batches += 1
            self.jobs += len(batch)
            try:
                with self._transaction() as conn:
                    results = [job(conn) for job, _ in batch]
            except BaseException as exc:  # noqa: BLE001 - whatever a job raised is its own caller's to see
                if len(batch) == 1:
                    batch[0][1].set_exception(exc)
                else:
                    self.retried += 1
                    self._one_by_one(batch)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                done.set_result(result)

    def _one_by_one(self, batch: list[tuple[Job, Future[Any]]]) -> None:
        for job, done in batch:
            try:
                with self._transaction() as conn:
                    result = job(conn)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                done.set_exception(exc)
            else:
                done.set_result(result)
