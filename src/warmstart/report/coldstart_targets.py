"""The cold-start targets (``coldstart.json`` and ``coldstart-hard.json`` of ``warmstart bench coldstart``)."""

from __future__ import annotations

from typing import Any

from warmstart.report._rows import _cmd, _fmt, _ratio, _row

BASELINES = ("pooled_ts", "club", "vw_pooled")


def coldstart_rows(doc: dict[str, Any], hard: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The cold-start targets (``coldstart.json``, and ``coldstart-hard.json`` when given); a comparison
    with a policy the run left out is left out.

    >>> coldstart = _example_coldstart()     # a small coldstart.json: ours and from_scratch_ts
    >>> for row in coldstart_rows(coldstart, hard=None)[:3]:
    ...     print(row["target"], "|", row["measured"], "|", row["met"])
    gain captured G(20) / G(200) | 0.90 / 0.90 | True
    steps_to_90: from_scratch / ours | 30 / 6 = 5.00 | True
    late regret per step: ours / from_scratch | 0.0500 / 0.0500 = 1.00 | True
    """
    P = doc["policies"]
    ours = doc["ours"]
    o = P[ours]
    cmd = _cmd(doc, "coldstart")
    rows = []
    G = doc.get("gain_captured", {}).get("G", [])

    def g_at(gs: list, t: int) -> float | None:
        return gs[t - 1] if len(gs) >= t else None

    g20, g200 = g_at(G, 20), g_at(G, 200)
    rows.append(_row("gain captured G(20) / G(200)", ">= 0.85 / >= 0.90", f"{_fmt(g20)} / {_fmt(g200)}",
                     None if g20 is None or g200 is None else (g20 >= 0.85 and g200 >= 0.90), cmd))
    rows += _floor_rows(doc, cmd)
    rows += _steps_rows(P, o, cmd)
    present = [b for b in BASELINES if b in P]
    if present:
        best = min(present, key=lambda b: P[b]["regret_at"]["20"])
        r = _ratio(o["regret_at"]["20"], P[best]["regret_at"]["20"])
        rows.append(_row("regret at 20: ours / best of pooled, club, vw_pooled", "<= 0.5",
                         f"{_fmt(o['regret_at']['20'])} / {_fmt(P[best]['regret_at']['20'])} ({best}) = {_fmt(r)}",
                         None if r is None else r <= 0.5, cmd))
    for label, d in (("default", doc), ("hard", hard)):
        if d is None or "pooled_ts" not in d["policies"]:
            continue
        po, pp = d["policies"][d["ours"]]["regret_at"], d["policies"]["pooled_ts"]["regret_at"]
        ok = all(po[t] <= pp[t] for t in po)
        rows.append(_row(f"no harm: R_ours(t) <= R_pooled(t), t = {', '.join(po)} ({label})", "all hold",
                         ", ".join(f"{_fmt(po[t])} vs {_fmt(pp[t])}" for t in po), ok, _cmd(d, "coldstart")))
    if hard is not None:
        gh = g_at(hard.get("gain_captured", {}).get("G", []), 20)
        rows.append(_row("hard preset: G(20)", ">= 0.70", _fmt(gh), None if gh is None else gh >= 0.70,
                         _cmd(hard, "coldstart")))
    g10 = g_at(G, 10)
    stretch = _row("stretch: the identification itself, G(10) (default preset)", ">= 0.85", _fmt(g10),
                   None if g10 is None else g10 >= 0.85, cmd, "the first ten steps, where a new user decides "
                   "whether to stay")
    return rows + _per_user_rows(doc, o, cmd) + [stretch]


def _floor_rows(doc: dict[str, Any], cmd: str) -> list[dict[str, Any]]:
    """The cold-start cost of the service's exploration floor (``floored``, when the run had it)."""
    G = doc.get("gain_captured_floored", {}).get("G", [])
    if not G:
        return []
    f20, f200 = (G[t - 1] if len(G) >= t else None for t in (20, 200))
    eps = doc["policies"].get("floored", {}).get("settings", {}).get("epsilon")
    return [_row(f"exploration floor (epsilon {eps}): G(20) / G(200) of floored mixture_ids", ">= 0.85 / -",
                 f"{_fmt(f20)} / {_fmt(f200)}", None if f20 is None else f20 >= 0.85, cmd,
                 "the service logs with the floor so that other versions can be evaluated offline")]



def _steps_rows(P: dict[str, Any], o: dict[str, Any], cmd: str) -> list[dict[str, Any]]:
    """The steps-to-90% comparisons of ours (``o``) with the oracle type, from-scratch and the baselines."""
    rows = []
    s_ours = o["steps_to_90"]
    if "oracle_type" in P:
        r = _ratio(s_ours, P["oracle_type"]["steps_to_90"])
        rows.append(_row("steps_to_90: ours / oracle_type", "<= 1.5",
                         f"{s_ours} / {P['oracle_type']['steps_to_90']} = {_fmt(r)}",
                         None if r is None else r <= 1.5, cmd,
                         "oracle_type knows the type before the first step; ours must first identify it"))
    if "from_scratch_ts" in P:
        r = _ratio(P["from_scratch_ts"]["steps_to_90"], s_ours)
        rows.append(_row("steps_to_90: from_scratch / ours", ">= 3",
                         f"{P['from_scratch_ts']['steps_to_90']} / {s_ours} = {_fmt(r)}",
                         None if r is None else r >= 3, cmd))
    parts, oks = [], []
    for b in BASELINES:
        if b in P:
            sb = P[b]["steps_to_90"]
            r = _ratio(sb if sb is not None else len(o["curve"]["reward"]) + 1, s_ours)
            parts.append(f"{b} {sb if sb is not None else 'never'}/{s_ours} = {_fmt(r)}")
            oks.append(r is not None and r >= 2.5)
    if parts:
        rows.append(_row("steps_to_90: pooled, club, vw_pooled / ours", ">= 2.5 each", "; ".join(parts),
                         all(oks) if len(oks) == len(BASELINES) else None, cmd,
                         "" if len(oks) == len(BASELINES) else "not every baseline ran"))
    return rows


def _per_user_rows(doc: dict[str, Any], o: dict[str, Any], cmd: str) -> list[dict[str, Any]]:
    """Who ours serves how well: late regret and outliers against from-scratch, the minority type, the type
    accuracy at step 10."""
    P = doc["policies"]
    rows = []
    if "from_scratch_ts" in P:
        r = _ratio(o["late_regret_per_step"], P["from_scratch_ts"]["late_regret_per_step"])
        rows.append(_row("late regret per step: ours / from_scratch", "<= 1.02",
                         f"{o['late_regret_per_step']:.4f} / {P['from_scratch_ts']['late_regret_per_step']:.4f}"
                         f" = {_fmt(r)}", None if r is None else r <= 1.02, cmd))
        last = list(o["outliers"]["regret_at"])[-1]
        r = _ratio(o["outliers"]["regret_at"][last], P["from_scratch_ts"]["outliers"]["regret_at"][last])
        rows.append(_row(f"outliers: regret at {last}, ours / from_scratch", "<= 1.05", _fmt(r),
                         None if r is None else r <= 1.05, cmd))
    minority = str(doc["config"]["sim"]["n_types"] - 1)
    others = [v["regret_at"]["20"] for k, v in o["per_type"].items() if k != minority]
    if others and o["minority"]["regret_at"].get("20") is not None:
        r = o["minority"]["regret_at"]["20"] / (sum(others) / len(others))
        rec = doc["fit"].get("minority_recovered")
        rows.append(_row("minority type: regret at 20 / mean over the other types; fit recovers it", "<= 1.25; yes",
                         f"{_fmt(r)}; {'yes' if rec else 'no'}", r <= 1.25 and bool(rec), cmd))
    acc = (o.get("type_accuracy_at") or {}).get("10")
    rows.append(_row("type accuracy at step 10 (non-outliers)", ">= 0.95", _fmt(acc, 3),
                     None if acc is None else acc >= 0.95, cmd))
    return rows


def _example_coldstart() -> dict[str, Any]:
    """The examples' ``coldstart.json``: ours (``mixture_ids``) and ``from_scratch_ts`` on 3 types."""
    ours = {"steps_to_90": 6, "regret_at": {"20": 2.0}, "late_regret_per_step": 0.05,
            "per_type": {"0": {"regret_at": {"20": 1.8}}, "1": {"regret_at": {"20": 2.2}}},
            "minority": {"regret_at": {"20": 2.4}}, "outliers": {"regret_at": {"20": 5.0}},
            "type_accuracy_at": {"10": 0.97}}
    scratch = {"steps_to_90": 30, "regret_at": {"20": 6.0}, "late_regret_per_step": 0.05,
               "outliers": {"regret_at": {"20": 5.1}}}
    return {"ours": "mixture_ids", "config": {"sim": {"n_types": 3}}, "fit": {"minority_recovered": True},
            "gain_captured": {"G": [0.9] * 200}, "policies": {"mixture_ids": ours, "from_scratch_ts": scratch}}
