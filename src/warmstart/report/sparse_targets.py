"""The sparse-and-noisy-histories targets (``sparse.json`` of ``warmstart bench sparse``; issue 18, part 2)."""

from __future__ import annotations

from typing import Any

from warmstart.report._rows import _fmt, _row
from warmstart.report.sparse import find_cell


def _cmd(doc: dict[str, Any]) -> str:
    cfg = doc.get("config") or {}
    grid = " ".join(f"--{k} {','.join(f'{v:g}' for v in cfg[k])}" for k in ("events", "users", "noise")
                    if cfg.get(k))
    quick = " --quick" if cfg.get("quick") else ""
    return f"warmstart bench sparse {grid}{quick} --seed {doc.get('seed', 0)} --out DIR".replace("  ", " ")


def sparse_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """G(20) at 10 events per training user (5,000 users, default noise) and at noise x2 (50 events, 5,000
    users), and no cell worse than pooled TS; a cell the grid did not run leaves its row unmeasured.

    >>> cell = {"events": 10, "users": 5000, "noise": 1.0, "G": {"20": 0.8, "200": 0.9}, "no_harm": True,
    ...         "no_harm_at": {"20": True, "200": True}, "diff_vs_pooled": {"20": -2.0, "200": -5.0}}
    >>> for row in sparse_rows({"cells": [cell], "config": {"events": [10], "users": [5000], "noise": [1.0]}}):
    ...     print(row["target"], "|", row["measured"], "|", row["met"])
    sparse: G(20) at 10 events per training user (5,000 users, noise x1) | 0.80 | True
    noisy: G(20) at noise x2 (50 events, 5,000 users) | n/a | None
    no cell of the grid worse than pooled TS at 20 or 200 steps | 1 of 1 cells hold | True
    """
    cmd = _cmd(doc)
    rows = []
    for label, (events, users, noise) in (
        ("sparse: G(20) at 10 events per training user (5,000 users, noise x1)", (10, 5000, 1.0)),
        ("noisy: G(20) at noise x2 (50 events, 5,000 users)", (50, 5000, 2.0)),
    ):
        cell = find_cell(doc, events, users, noise)
        g = None if cell is None else (cell.get("G") or {}).get("20")
        rows.append(_row(label, ">= 0.70", _fmt(g), None if g is None else g >= 0.70, cmd))
    cells = list(doc.get("cells") or [])
    worse = [c for c in cells if not c.get("no_harm")]
    measured = f"{len(cells) - len(worse)} of {len(cells)} cells hold"
    if worse:
        measured += "; worse: " + ", ".join(f"{c['events']} events x {c['users']:,} users x noise {c['noise']:g}"
                                            for c in worse)
    rows.append(_row("no cell of the grid worse than pooled TS at 20 or 200 steps", "all cells",
                     measured, (not worse) if cells else None, cmd,
                     "worse: the 95% bootstrap CI of ours' regret minus pooled TS's (paired over the new users) "
                     "lies above 0"))
    rows += _kt_rows(doc.get("kt") or {}, cmd)
    return rows


def _kt_rows(kt: dict[str, Any], cmd: str) -> list[dict[str, Any]]:
    """Knowledge tracing by the training students' history: ours' AUC of new students next to one-type BKT's at
    every length (the issue sets no threshold; the check is KT's no harm: types never below one type).

    >>> models = {"ours": {"auc": 0.71}, "bkt": {"auc": 0.69}}
    >>> row = _kt_rows({"rows": [{"history": "5", "models": models}]}, "cmd")[0]
    >>> row["measured"], row["met"]
    ('5: 0.710 vs 0.690', True)
    """
    rows = [r for r in kt.get("rows") or [] if "ours" in (r.get("models") or {}) and "bkt" in r["models"]]
    if not rows:
        return []
    pairs = [(r["history"], r["models"]["ours"].get("auc"), r["models"]["bkt"].get("auc")) for r in rows]
    known = [(o, b) for _, o, b in pairs if o is not None and b is not None]
    return [_row("knowledge tracing: AUC of new students by the training students' history (first n responses; "
                 "ours vs one-type BKT)", "ours >= one-type BKT at every n",
                 "; ".join(f"{h}: {_fmt(o, 3)} vs {_fmt(b, 3)}" for h, o, b in pairs),
                 all(o >= b for o, b in known) if len(known) == len(pairs) else None, cmd,
                 "no threshold in issue 18; the check is that types never fall below one type")]
