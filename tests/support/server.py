"""A free loopback port for a server a test starts, and the wait until its ``/health`` answers."""

from __future__ import annotations

import socket
import subprocess
import time

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
