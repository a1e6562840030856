"""What every command shares: the consoles, the one-line error, the progress bar and strict JSON output."""

from __future__ import annotations

import datetime
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from warmstart._io import atomic_write

console = Console(stderr=True)
out = Console()


class CliError(Exception):
    """An error to print as one line."""


def literal(text: str) -> str:
    """Help text shown as written: Typer renders help with rich markup, where ``[f_*]`` or ``[drift]`` is a
    style tag and vanishes (``fit --help`` showed the log format as "user, time, item, , reward, ")."""
    from rich.markup import escape

    return escape(text)


def chosen_parts(part: list[str] | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A benchmark's ``--part`` options: every part of ``allowed`` when none is given; a name outside it is a
    ``typer.BadParameter`` naming the option, the parts allowed and the ones given.

    >>> chosen_parts(None, ("a", "b")), chosen_parts(["b"], ("a", "b"))
    (('a', 'b'), ('b',))
    """
    import typer

    parts = tuple(part) if part else allowed
    unknown = sorted(set(parts) - set(allowed))
    if unknown:
        raise typer.BadParameter(f"expected parts from {', '.join(allowed)}, got {', '.join(unknown)}",
                                 param_hint="--part")
    return parts


@contextmanager
def progress_bar(title: str) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar driven by ``callback(message, fraction)``; when standard error is not a terminal (a
    log file, CI), plain lines instead (``progress_lines``), since a bar is drawn only on a terminal."""
    if not console.is_terminal:
        with progress_lines(title, lambda line: console.print(line, markup=False, highlight=False)) as update:
            yield update
        return
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as prog:
        task = prog.add_task(title, total=1.0)

        def update(message: str, fraction: float) -> None:
            prog.update(task, completed=max(0.0, min(1.0, fraction)), description=f"{title}: {message}")

        yield update
        prog.update(task, completed=1.0)


@contextmanager
def progress_lines(title: str, write: Callable[[str], None], every_s: float = 5.0,
                   clock: Callable[[], float] = time.monotonic) -> Iterator[Callable[[str, float], None]]:
    """Progress as lines (``write``): the first update, then a new message at most every ``every_s`` seconds
    (a message repeated is not written again), and the total time at the end (once: ``done``, with no share,
    whether the work's own last message said it or the end of the block).

    >>> ticks = iter([0.0, 0.0, 1.0, 6.0, 7.0, 9.0])
    >>> with progress_lines("fit", print, clock=lambda: next(ticks)) as update:
    ...     for message, fraction in [("data", 0.0), ("EM", 0.1), ("EM", 0.5), ("space 2", 0.6)]:
    ...         update(message, fraction)
    [0:00:00] fit: data (0%)
    [0:00:06] fit: EM (50%)
    [0:00:09] fit: done
    >>> ticks = iter([0.0, 0.0, 6.0])                   # the work's own "done", 5 s or more after the last line
    >>> with progress_lines("fit", print, clock=lambda: next(ticks)) as update:
    ...     for message, fraction in [("data", 0.0), ("done", 1.0)]:
    ...         update(message, fraction)
    [0:00:00] fit: data (0%)
    [0:00:06] fit: done
    """
    start = clock()
    written_at, written = -math.inf, None  # the line written last: when, and its message

    def stamp(now: float) -> str:
        return f"[{datetime.timedelta(seconds=round(now - start))}] {title}"

    def update(message: str, fraction: float) -> None:
        nonlocal written_at, written
        now = clock()
        if message != written and now - written_at >= every_s:
            share = "" if message == "done" else f" ({max(0.0, min(1.0, fraction)):.0%})"
            write(f"{stamp(now)}: {message}{share}")
            written_at, written = now, message

    yield update
    if written != "done":  # the work's own last message may have said it already
        write(f"{stamp(clock())}: done")


def write_json(path: Path, doc: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(doc, indent=1, allow_nan=False, default=_json_default).encode())


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def sanitize(obj: Any) -> Any:
    """Replace NaN/inf by None so the JSON is strict."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: sanitize(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [sanitize(v) for v in obj]
    return obj


def run_app(app: Callable[[], Any]) -> None:
    """Run the Typer app; the errors a user can cause print as one line (``error: ...``) and exit with status 2."""
    try:
        app()
    except (CliError, ValueError, FileNotFoundError, ImportError, OSError) as exc:
        # plain print: one line, never wrapped by the terminal width
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
