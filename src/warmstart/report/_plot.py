"""Building blocks of the report's figures: the fixed colour and reading order of every policy, the style, a new
figure and its axes, PNG encoding and the conversion of JSON lists to floats.

Colours are fixed per policy name (:func:`policy_colors`, with one table per benchmark: ``KNOWN_POLICIES``
for the cold-start bandits, ``KT_MODELS`` for knowledge tracing, ``TUTORING_POLICIES`` for tutoring) so a
policy looks the same in every figure. Importing this module selects matplotlib's Agg backend (unless pyplot is
already in use); figures are built with the object-oriented :class:`matplotlib.figure.Figure` API.
"""

from __future__ import annotations

import io
import math
import sys
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib

if "matplotlib.pyplot" not in sys.modules:  # never switch (and so close) the figures of a live pyplot session
    matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: Policies the benchmarks know, in the order they are listed, each with a fixed colour.
KNOWN_POLICIES: dict[str, str] = {
    "mixture_ids": "#c0392b",
    "mixture_ts": "#e67e22",
    "from_scratch_ts": "#1f77b4",
    "pooled_ts": "#17a2b8",
    "club": "#8e44ad",
    "vw_pooled": "#2e8b57",
    "oracle_type": "#555555",
    "oracle": "#111111",
    "random": "#a0a0a0",
}
#: Knowledge-tracing models of ``kt.json``, in the order they are listed, each with a fixed colour.
KT_MODELS: dict[str, str] = {
    "ours": "#c0392b",
    "ours_no_items": "#e67e22",
    "ours_no_grid": "#f1a340",
    "pybkt": "#2e8b57",
    "bkt": "#1f77b4",
    "skill_mean": "#a0a0a0",
}
#: Tutoring policies of ``tutoring.json``, in the order they are listed, each with a fixed colour.
TUTORING_POLICIES: dict[str, str] = {
    "ours": "#c0392b",
    "bkt_mastery": "#1f77b4",
    "round_robin": "#17a2b8",
    "random": "#a0a0a0",
    "oracle_type": "#555555",
}
_EXTRA_COLORS = ("#8c564b", "#e377c2", "#bcbd22", "#6b8e23", "#4682b4", "#d2691e", "#708090", "#9acd32")

_STYLE: Any = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.7,
    "axes.axisbelow": True,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}
_DPI = 130


def policy_order(names: Iterable[str], ours: str | None = None, *,
                 known: Mapping[str, str] = KNOWN_POLICIES) -> list[str]:
    """Return policy names in reading order: ``ours`` first, then the ``known`` names, then the rest sorted."""
    names = list(dict.fromkeys(names))
    listed = [n for n in known if n in names and n != ours]
    rest = sorted(n for n in names if n not in known and n != ours)
    return ([ours] if ours in names else []) + listed + rest


def policy_colors(names: Iterable[str], *, known: Mapping[str, str] = KNOWN_POLICIES) -> dict[str, str]:
    """Map each policy name to a colour: fixed for ``known`` names, stable per name for unknown ones."""
    names = list(names)
    colors = {n: known[n] for n in names if n in known}
    taken: set[int] = set()
    for name in sorted(n for n in set(names) if n not in known):
        slot = zlib.crc32(name.encode()) % len(_EXTRA_COLORS)
        for probe in range(len(_EXTRA_COLORS)):
            if (slot + probe) % len(_EXTRA_COLORS) not in taken:
                slot = (slot + probe) % len(_EXTRA_COLORS)
                break
        taken.add(slot)
        colors[name] = _EXTRA_COLORS[slot]
    return colors


def _label(name: str, ours: str | None) -> str:
    return f"{name} (ours)" if name == ours and name != "ours" else name


def _floats(values: Sequence[Any] | None) -> list[float]:
    """Convert a JSON list (which may hold ``null``) to floats with NaN for missing values."""
    out: list[float] = []
    for v in values or []:
        try:
            out.append(float(v) if v is not None else math.nan)
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def _finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _new_figure(width: float, height: float) -> Figure:
    """A white figure with constrained layout; call inside ``matplotlib.rc_context(_STYLE)``."""
    return Figure(figsize=(width, height), layout="constrained")


def _style_axes(ax: Axes) -> None:
    for key in ("top", "right"):
        ax.spines[key].set_visible(False)
    ax.spines["left"].set_color("#888888")
    ax.spines["bottom"].set_color("#888888")
    ax.grid(True, color="#e6e6e6", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8, colors="#333333")
