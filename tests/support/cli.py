"""Run the command line as a user does: ``python -m warmstart.cli ARGS`` in a child process."""

from __future__ import annotations

import subprocess
import sys
from typing import Any


def run(*args: Any, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    """The finished process (text output); with ``check`` an ``AssertionError`` showing both outputs when it
    exits non-zero. Arguments may be paths or numbers."""
    words = [str(a) for a in args]
    proc = subprocess.run([sys.executable, "-m", "warmstart.cli", *words], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"warmstart {' '.join(words)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc
