"""The report's scale section, from ``scale.json`` (``warmstart bench scale``): the scaling figure (fit time and
peak memory against the number of users, in process on one core and on Ray) and the steps' figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib

from warmstart.report import _plot
from warmstart.report._page import _dec, _e, _finite, _img, _num, _table

_BACKENDS = (("inproc", "in process, one core", "#d62728"), ("ray", "Ray, 2 workers", "#1f77b4"))


def scaling_png(points: list[Mapping[str, Any]]) -> bytes | None:
    """Two panels against users: the fit's time, and the peak memory of all the processes it used.

    >>> points = [{"n_users": 1000, "inproc_s": 2.0, "inproc_peak_gb": 0.3},
    ...           {"n_users": 2000, "inproc_s": 4.1, "inproc_peak_gb": 0.5}]
    >>> scaling_png(points)[1:4], scaling_png(points[:1])                # one point: no figure
    (b'PNG', None)
    """
    points = [p for p in points if _finite(p.get("n_users"))]
    if len(points) < 2:
        return None
    users = [p["n_users"] for p in points]
    with matplotlib.rc_context(_plot._STYLE):
        fig = _plot._new_figure(7.2, 3.0)
        panels = fig.subplots(1, 2)
        for ax, key, ylabel in zip(panels, ("_s", "_peak_gb"), ("fit time (s)", "peak memory (GB)"), strict=True):
            _plot._style_axes(ax)
            for name, label, color in _BACKENDS:
                ys = [p.get(name + key) for p in points]
                if all(_finite(y) for y in ys):
                    ax.plot(users, ys, marker="o", label=label, color=color)
            ax.set_xlabel("users")
            ax.set_ylabel(ylabel)
            ax.set_xlim(left=0)
            ax.set_ylim(bottom=0)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        panels[0].legend(fontsize=7, frameon=False)
        return _plot._png(fig)


def scale_section(doc: Mapping[str, Any]) -> str:
    """The report's scale section from ``scale.json``: the lead, the scaling figure and its table.

    >>> section = scale_section({"stats_users": 1000, "config": {"n_events": 50}, "stats_1m_s": 1.5})
    >>> section[:75]
    '<p>1,000 users × 50 events in a generated Parquet log: DuckDB turns it into'
    """
    cfg = doc.get("config") or {}
    points = list(doc.get("scaling") or [])
    rows = [f"<tr><td class=\"n\">{_num(p['n_users'])}</td><td class=\"n\">{_dec(p.get('inproc_s'), 1)}</td>"
            f"<td class=\"n\">{_dec(p.get('ray_s'), 1)}</td>"
            f"<td class=\"n\">{_dec((p.get('inproc_s') or 0) / p['ray_s'] if p.get('ray_s') else None, 2)}</td>"
            f"<td class=\"n\">{_dec(p.get('inproc_peak_gb'), 2)}</td><td class=\"n\">{_dec(p.get('ray_peak_gb'), 2)}</td>"
            f"<td class=\"n\">{_e(p.get('max_abs_diff'))}</td></tr>" for p in points]
    head = [("Users", "n"), ("In process (s)", "n"), ("Ray (s)", "n"), ("Speed-up", "n"),
            ("In process (GB)", "n"), ("Ray (GB)", "n"), ("Largest difference", "n")]
    lead = (f"<p>{_num(doc.get('stats_users'))} users × {_num(cfg.get('n_events'))} events in a generated Parquet "
            f"log: DuckDB turns it into per-user statistics in {_dec(doc.get('stats_1m_s'), 1)} s "
            f"({_dec(doc.get('stats_peak_gb'), 2)} GB peak). The population fit (K = 8 fixed, a 10% sample first) on "
            f"the first 1, 2, 5 and all {_num(cfg.get('n_shards'))} shards of {_num(cfg.get('shard_users'))} users, "
            f"in one process on one core and on a local Ray with {_num(cfg.get('ray_workers'))} workers.</p>")
    note = ("Memory is the sampled proportional set size of the fitting process and every process it started "
            "(Ray's GCS, raylet and workers; shared pages counted once). Ray's start-up (a few seconds) is not in "
            "its times; loading the shards into its object store is. The largest difference is over every type's "
            "mean, covariance, noise and weight.")
    return (lead + _img(scaling_png(points), "fit time and peak memory against users, both backends",
                        "Fit time and peak memory against the number of users.")
            + (_table(head, rows) if rows else "") + f'<p class="note">{_e(note)}</p>')
