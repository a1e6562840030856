"""Issue 18's learned-dynamics targets, evaluated from ``dynamics.json`` (``warmstart bench dynamics``)."""

from __future__ import annotations

from typing import Any


def _row(target: str, threshold: str, measured: str, met: bool | None, command: str, note: str = "") -> dict:
    return {"target": target, "threshold": threshold, "measured": measured, "met": met, "command": command,
            "note": note}


def dynamics_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of ``dynamics.json``: the learned planner's share of the oracle planner's gain, the recovery
    of the types' parameters, and MovieLens (reported, no threshold).

    >>> sat = {"learned_gain_share": 0.8, "learned_gain_share_ci95": [0.7, 0.9], "given_gain_share": 0.9,
    ...        "recovery": {"met": False, "per_type": {"0": {"target_applies": True, "n_covered": 10,
    ...                                                      "n_params": 13, "n_train_users": 400}}}}
    >>> ml = {"by_position": {"1-5": {"loglik_diff": {"value": 0.01, "ci95": [0.0, 0.02]},
    ...                               "rmse_diff": {"value": -0.01, "ci95": [-0.02, 0.0]}}}}
    >>> [(r["measured"], r["met"]) for r in dynamics_rows({"satiation": sat, "movielens": ml})][:2]
    [('0.800 [0.700, 0.900] (dynamics given: 0.900)', False), ('type 0: 10/13 (400 users)', False)]
    """
    quick = " --quick" if doc.get("quick") else ""
    cmd = f"warmstart bench dynamics{quick} --out DIR"
    rows = []
    sat = doc.get("satiation")
    if sat:
        lo, hi = sat["learned_gain_share_ci95"]
        rows.append(_row("learned dynamics: share of the oracle planner's long-term gain (Satiation-v0)", ">= 90%",
                         f"{sat['learned_gain_share']:.3f} [{lo:.3f}, {hi:.3f}] (dynamics given: "
                         f"{sat['given_gain_share']:.3f})", sat["learned_gain_share"] >= 0.9, cmd))
        rec = sat["recovery"]
        applies = {k: e for k, e in rec["per_type"].items() if e["target_applies"]}
        measured = ", ".join(f"type {k}: {e['n_covered']}/{e['n_params']} ({e['n_train_users']} users)"
                             for k, e in applies.items())
        note = ""
        if "met_simultaneous" in rec:
            n_sim = sum(e.get("n_covered_simultaneous", 0) for e in applies.values())
            measured += (f"; simultaneous 95% band: {n_sim}/{rec['n_params']} "
                         f"({'all covered' if rec['met_simultaneous'] else 'not all covered'})")
            note = (f"per-parameter 95% CIs ({rec['n_bootstrap']} bootstrap resamples): about "
                    f"{0.05 * rec['n_params']:.1f} of {rec['n_params']} miss by chance for a correct method; "
                    "the simultaneous band is the 95% statement about all of them")
        rows.append(_row("learned dynamics: 95% CIs cover the simulator's parameters (types >= 200 users)",
                         "every parameter", measured, bool(rec["met"]), cmd, note))
    ml = doc.get("movielens")
    if ml:
        parts = [f"{b}: {e['loglik_diff']['value']:+.4f} [{e['loglik_diff']['ci95'][0]:+.4f}, "
                 f"{e['loglik_diff']['ci95'][1]:+.4f}]" for b, e in ml["by_position"].items()]
        rows.append(_row("MovieLens next rating, dynamic - static log likelihood by position", "reported",
                         "; ".join(parts), None, cmd))
        parts = [f"{b}: {e['rmse_diff']['value']:+.4f}" for b, e in ml["by_position"].items()]
        rows.append(_row("MovieLens next rating, dynamic - static RMSE by position", "reported", "; ".join(parts),
                         None, cmd))
    return rows
