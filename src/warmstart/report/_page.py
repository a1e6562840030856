"""HTML building blocks of the report: escaping, number formats, tables, figures as data URIs, sections."""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard


def _e(value: Any) -> str:
    """Escape any value for HTML text or attribute context."""
    return html.escape(str(value), quote=True)


def _num(value: Any) -> str:
    """Format a number compactly (about three significant digits); ``—`` when missing."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return "—"
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if a >= 0.01 or a == 0 else f"{value:.2g}"


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise TypeError(f"{path} should hold a JSON object, found {type(data).__name__}")
    return data


def _img(png: bytes | None, alt: str, caption: str) -> str:
    if png is None:
        return f'<p class="note">{_e(alt)}: no data to draw.</p>'
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _section(anchor: str, title: str, body: str, level: int = 2) -> str:
    return f'<section id="{_e(anchor)}"><h{level}>{_e(title)}</h{level}>{body}</section>'


def _table(head: Sequence[tuple[str, str]], rows: Sequence[str], cls: str = "") -> str:
    """A scrollable table from (label, css class) headers and pre-rendered ``<tr>`` rows."""
    ths = "".join(f'<th class="{c}">{_e(label)}</th>' for label, c in head)
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{ths}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Flatten nested dicts into dotted (key, value) pairs."""
    if isinstance(value, Mapping) and value:
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return [(prefix, value)]


def _show(value: Any) -> str:
    """Render a setting value: numbers formatted, containers as compact JSON, all escaped."""
    if isinstance(value, bool) or value is None:
        return f"<code>{_e(json.dumps(value))}</code>"
    if isinstance(value, int | float):
        return _e(f"{value:.6g}" if isinstance(value, float) else value)
    if isinstance(value, str):
        return _e(value)
    return f"<code>{_e(json.dumps(value, default=str))}</code>"


def _kv_table(pairs: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_show(v)}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


def _dec(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if _finite(value) else "—"


def _pct(value: Any) -> str:
    return f"{value:.1%}" if _finite(value) else "—"


def _finite(value: Any) -> TypeGuard[int | float]:
    """Whether ``value`` is a finite JSON number (not a bool, not null)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _ci(ci: Any, fmt: Any) -> str:
    ok = isinstance(ci, list) and len(ci) == 2 and all(_finite(c) for c in ci)
    return f'<span class="ci">[{fmt(ci[0])}, {fmt(ci[1])}]</span>' if ok else ""


def _named(name: str, colors: Mapping[str, str]) -> str:
    """A model or tutoring policy name with its figure colour (``ours`` says so itself: no badge)."""
    return _policy_name(name, None, colors)


def _words(text: Any) -> str:
    shown = _e(text if text else "typical")
    return f'<span class="typical">{shown}</span>' if shown == "typical" else shown


def _policy_name(name: str, ours: str | None, colors: Mapping[str, str]) -> str:
    swatch = f'<span class="swatch" style="background:{_e(colors.get(name, "#999"))}"></span>'
    badge = '<span class="badge">ours</span>' if name == ours else ""
    return f"{swatch}<strong>{_e(name)}</strong>{badge}"
