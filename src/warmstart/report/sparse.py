"""The report's section on sparse and noisy training histories, from ``sparse.json`` (``warmstart bench
sparse``): heat-maps of G(20), G(200) and the no-harm check against pooled TS over the grid (events per training
user across, training users down, one panel per noise level), the cells' table and knowledge tracing by the
training students' history length."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

from warmstart.report import _plot
from warmstart.report._page import _dec, _e, _img, _num, _table

#: the heat-maps' rows: (title, what a cell shows)
PANELS = (("G(20)", "G"), ("G(200)", "G"), ("ours - pooled TS, R(200)", "diff"))


def find_cell(doc: Mapping[str, Any], events: int, users: int, noise: float) -> Mapping[str, Any] | None:
    """The cell of ``sparse.json`` at these coordinates, or ``None`` when the grid had no such cell.

    >>> find_cell({"cells": [{"events": 3, "users": 500, "noise": 1.0}]}, 3, 500, 1.0)["events"]
    3
    >>> find_cell({"cells": []}, 3, 500, 1.0) is None
    True
    """
    for cell in doc.get("cells") or []:
        if (cell.get("events"), cell.get("users"), cell.get("noise")) == (events, users, noise):
            return cell
    return None


def _axes_values(cells: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    return sorted({c[key] for c in cells})


def _value(cell: Mapping[str, Any] | None, panel: int) -> float:
    if cell is None:
        return math.nan
    if panel == 2:
        v = (cell.get("diff_vs_pooled") or {}).get("200")
    else:
        v = (cell.get("G") or {}).get("20" if panel == 0 else "200")
    return float(v) if isinstance(v, int | float) else math.nan


def heatmaps_png(doc: Mapping[str, Any]) -> bytes | None:
    """Three rows of heat-maps (G(20), G(200), ours' regret minus pooled TS's at 200 with the no-harm check)
    and one column per noise level; a cell marked ``x`` is worse than pooled TS at 20 or 200 steps.

    >>> cell = {"events": 3, "users": 500, "noise": 1.0, "G": {"20": 0.5, "200": 0.4},
    ...         "diff_vs_pooled": {"200": -1.0}, "no_harm": True}
    >>> heatmaps_png({"cells": [cell]})[1:4], heatmaps_png({"cells": []})
    (b'PNG', None)
    """
    cells = list(doc.get("cells") or [])
    if not cells:
        return None
    events, users, noises = (_axes_values(cells, k) for k in ("events", "users", "noise"))
    with matplotlib.rc_context(_plot._STYLE):
        fig = _plot._new_figure(2.6 * len(noises) + 0.8, 2.0 * len(PANELS) + 0.4)
        grid = fig.subplots(len(PANELS), len(noises), squeeze=False)
        for row, (title, kind) in enumerate(PANELS):
            values = [[[_value(find_cell(doc, e, u, n), row) for e in events] for u in users] for n in noises]
            finite = [v for panel in values for line in panel for v in line if math.isfinite(v)]
            span = max([abs(v) for v in finite] + [1e-9])
            vmin, vmax, cmap = (0.0, 1.0, "viridis") if kind == "G" else (-span, span, "RdBu_r")
            for col, n in enumerate(noises):
                ax = grid[row][col]
                image = ax.imshow(values[col], vmin=vmin, vmax=vmax, cmap=cmap, aspect="auto")
                _annotate(ax, doc, values[col], events, users, n, kind)
                ax.set_xticks(range(len(events)), [str(e) for e in events])
                ax.set_yticks(range(len(users)), [f"{u:,}" for u in users])
                ax.grid(False)
                ax.set_title(f"{title}, noise x{n:g}", fontsize=9)
                if row == len(PANELS) - 1:
                    ax.set_xlabel("events per training user")
                if col == 0:
                    ax.set_ylabel("training users")
            fig.colorbar(image, ax=list(grid[row]), shrink=0.9)
        return _plot._png(fig)


def _annotate(ax: Any, doc: Mapping[str, Any], values: list[list[float]], events: list[int], users: list[int],
              noise: float, kind: str) -> None:
    """Each cell's value; on the no-harm row an ``x`` after a cell worse than pooled TS."""
    for i, u in enumerate(users):
        for j, e in enumerate(events):
            v = values[i][j]
            if not math.isfinite(v):
                continue
            text = f"{v:.2f}" if kind == "G" else f"{v:+.1f}"
            cell = find_cell(doc, e, u, noise)
            if kind == "diff" and cell is not None and not cell.get("no_harm", True):
                text += " x"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if kind == "G" and v < 0.55
                    else "black")


def _cells_table(cells: Sequence[Mapping[str, Any]]) -> str:
    head = [("Events", "n"), ("Users", "n"), ("Noise", "n"), ("K", "n"), ("G(20)", "n"), ("G(200)", "n"),
            ("Ours - pooled at 20 (95% CI)", "n"), ("at 200 (95% CI)", "n"), ("No harm", "")]

    def diff(c: Mapping[str, Any], t: str) -> str:
        ci = (c.get("diff_vs_pooled_ci95") or {}).get(t) or [None, None]
        return (f"{_dec((c.get('diff_vs_pooled') or {}).get(t), 2)} "
                f"[{_dec(ci[0], 2)}, {_dec(ci[1], 2)}]")

    rows = [f"<tr><td class=\"n\">{_num(c['events'])}</td><td class=\"n\">{_num(c['users'])}</td>"
            f"<td class=\"n\">x{_e(c['noise'])}</td><td class=\"n\">{_e(c.get('K'))}</td>"
            f"<td class=\"n\">{_dec((c.get('G') or {}).get('20'), 2)}</td>"
            f"<td class=\"n\">{_dec((c.get('G') or {}).get('200'), 2)}</td>"
            f"<td class=\"n\">{diff(c, '20')}</td><td class=\"n\">{diff(c, '200')}</td>"
            f"<td>{'yes' if c.get('no_harm') else '<strong>no</strong>'}</td></tr>"
            for c in sorted(cells, key=lambda c: (c["noise"], c["users"], c["events"]))]
    return _table(head, rows)


def _kt_table(kt: Mapping[str, Any]) -> str:
    models = ("ours", "ours_no_items", "bkt", "skill_mean")
    head = [("Training history", ""), ("Training responses", "n"), ("K", "n")] + [(m, "n") for m in models]

    def auc(r: Mapping[str, Any], m: str) -> str:
        v = (r.get("models") or {}).get(m)
        if not v:
            return "-"
        ci = v.get("auc_ci95") or [None, None]
        return f"{_dec(v.get('auc'))} [{_dec(ci[0])}, {_dec(ci[1])}]"

    rows = [f"<tr><td>{_e(r['history'])}</td><td class=\"n\">{_num(r.get('train_responses'))}</td>"
            f"<td class=\"n\">{_e(r.get('K'))}</td>" + "".join(f"<td class=\"n\">{auc(r, m)}</td>" for m in models)
            + "</tr>" for r in kt.get("rows") or []]
    return _table(head, rows)


def sparse_section(doc: Mapping[str, Any]) -> str:
    """The report's section from ``sparse.json``: the lead, the heat-maps, the cells and knowledge tracing.

    >>> sparse_section({"cells": [], "config": {"n_test_users": 300}})[:60]
    '<p>Cold start from sparse and noisy training histories: the '
    """
    cfg = doc.get("config") or {}
    lead = ("<p>Cold start from sparse and noisy training histories: the cold-start benchmark fitted on training "
            "logs of few events per user, few users and noisier rewards (the noise multiplies the simulator's "
            f"reward noise, new users' too), each cell serving the same {_num(cfg.get('n_test_users'))} new users "
            f"for {_num(cfg.get('steps'))} steps. No harm: {_e(doc.get('no_harm_definition'))}.</p>")
    figure = _img(heatmaps_png(doc), "heat-maps of G(20), G(200) and ours minus pooled TS over the grid",
                  "G(20), G(200) and ours' cumulative regret minus pooled TS's at 200 steps (negative: ours "
                  "better) by events per training user (across) and training users (down), one column per "
                  "noise level; x marks a cell worse than pooled TS at 20 or 200 steps.")
    kt = doc.get("kt")
    kt_part = ""
    if kt:
        kt_part = ("<h3 id=\"sparse-kt\">Knowledge tracing by training history</h3><p>AUC of next-response "
                   "prediction for new students (all their responses, online), fitted on the first n responses "
                   f"of every training student; 95% CIs over the test students. {_e(kt.get('note'))}.</p>"
                   + _kt_table(kt))
    return lead + figure + _cells_table(doc.get("cells") or []) + kt_part
