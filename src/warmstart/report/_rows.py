"""What every target row is made of: the row itself, the command that measured it, ratios and numbers as the
tables show them (shared by ``targets`` and ``coldstart_targets``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _cmd(doc: dict[str, Any], what: str) -> str:
    quick = " --quick" if doc.get("config", {}).get("quick") or doc.get("quick") else ""
    preset = doc.get("config", {}).get("preset", "default")
    if what == "coldstart":
        return f"warmstart bench coldstart --preset {preset}{quick} --seed {doc.get('seed', 0)} --out DIR"
    if what in ("kt", "tutoring", "service", "responsible", "scale"):
        return f"warmstart bench {what}{quick} --out DIR"
    return f"warmstart bench speed{quick} --out DIR"


def _row(target: str, threshold: str, measured: str, met: bool | None, command: str, note: str = "") -> dict:
    return {"target": target, "threshold": threshold, "measured": measured, "met": met, "command": command,
            "note": note}


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _fmt(x: float | None, nd: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{nd}f}"

