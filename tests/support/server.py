"""A free loopback port for a server a test starts, the wait until its ``/health`` answers, and `warmstart
serve` on a population file with a client key (``serving``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(server: subprocess.Popen, base: str, timeout: float = 60.0) -> None:
    """Return once ``base/health`` answers 200; fail with the server's output if it exits first, or after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else "server exited"
        assert time.monotonic() < deadline, f"server did not come up within {timeout:g} s"
        time.sleep(0.2)


@contextmanager
def serving(tmp_path: Path, population: Path, *options: str) -> Iterator[tuple[str, str]]:
    """`warmstart serve` on a new SQLite store in ``tmp_path`` with ``population`` active and ``options``, on a
    free loopback port: yields ``(base URL, a client key)`` once healthy, and stops the server after."""
    db = str(tmp_path / "svc.db")
    cli = [sys.executable, "-m", "warmstart.cli"]
    key = subprocess.run([*cli, "keys", "create", "--scope", "client", "--db", db], capture_output=True, text=True,
                         check=True, timeout=120).stdout.strip()
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--db", db, "--population", str(population), "--port", str(port),
                               *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(server, base)
        yield base, key
    finally:
        server.terminate()
        server.wait(timeout=30)
