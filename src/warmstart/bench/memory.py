"""Peak memory of this process and every process it started (a local Ray's GCS, raylet and workers).

``ru_maxrss`` sees one process; a Ray fit runs in several that share the object store's pages. ``TreeMemory``
samples, every ``interval`` seconds while it is open, the proportional set size (PSS: each shared page divided
among the processes that map it, so shared memory counts once) of this process and all its descendants, from
``/proc/PID/smaps_rollup`` (Linux), and keeps the largest total. A sample can miss a peak shorter than the
interval; on systems without ``/proc`` the peak stays ``None``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Self


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])  # the name may hold spaces; fields follow ")"
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_pss_gb(root: int | None = None) -> float:
    """The PSS of ``root`` (default: this process) and all its descendants, in GB."""
    tree = _children()
    todo, total = [root or os.getpid()], 0
    while todo:
        pid = todo.pop()
        total += _pss_kb(pid)
        todo.extend(tree.get(pid, []))
    return total * 1024 / 1e9


class TreeMemory:
    """``with TreeMemory() as m: ...`` then ``m.peak_gb``: the largest sampled PSS of the process tree."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak_gb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        gb = tree_pss_gb()
        if gb > 0:
            self.peak_gb = max(self.peak_gb or 0.0, gb)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> Self:
        if Path("/proc/self/smaps_rollup").exists():
            self._sample()
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self._sample()
