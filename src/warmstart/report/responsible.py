"""The report's responsible-personalization section, from ``responsible.json`` (``warmstart bench responsible``):
gain per type, outliers, following a switch and a misleading start, long-term satisfaction, privacy, forgetting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib
import numpy as np

from warmstart.report import _plot
from warmstart.report._page import _ci, _dec, _e, _finite, _img, _num, _pct, _table
from warmstart.report.targets import responsible_rows
from warmstart.stats import moving_average

_DRIFT_POLICIES = {
    "mixture_ids_cp": ("mixture IDS with change-point detection (ours)", "#1f77b4"),
    "mixture_ids": ("mixture IDS without change detection", "#d62728"),
    "mixture_ids_discount": ("mixture IDS with discounting (0.95 per event)", "#2ca02c"),
    "mixture_ids_told": ("mixture IDS told when the answering user changes (floor)", "#7f7f7f"),
}


def drift_png(drift: Mapping[str, Any], scenario: str = "switch") -> bytes | None:
    """Per-step regret (5-step moving average) of each policy in one drift scenario, the change marked.

    >>> drift = {"config": {"switch_at": 3},
    ...          "policies": {"mixture_ids_cp": {"curves": {"switch": [1.0, 0.5, 0.3, 1.2, 0.6, 0.4]}}}}
    >>> drift_png(drift)[1:4], drift_png(drift, scenario="misleading"), drift_png({})
    (b'PNG', None, None)
    """
    policies = drift.get("policies") or {}
    curves = {n: p["curves"][scenario] for n, p in policies.items() if (p.get("curves") or {}).get(scenario)}
    if not curves:
        return None
    cfg = drift.get("config") or {}
    at = cfg.get("switch_at") if scenario == "switch" else cfg.get("misleading")
    with matplotlib.rc_context(_plot._STYLE):
        fig = _plot._new_figure(6.4, 3.0)
        ax = fig.add_subplot()
        _plot._style_axes(ax)
        for name, curve in curves.items():
            label, color = _DRIFT_POLICIES.get(name, (name, None))
            ax.plot(range(1, len(curve) + 1), moving_average(curve), label=label, color=color,
                    linewidth=2.2 if name == "mixture_ids_cp" else 1.2)
        if _finite(at):
            ax.axvline(at + 0.5, color="#444444", linestyle=":", linewidth=1)
        ax.set_xlabel("step")
        ax.set_ylabel("regret per step")
        ax.legend(fontsize=7, frameon=False)
        return _plot._png(fig)


_SATIATION_POLICIES = {
    "mixture_plan": ("planning over the type belief (ours)", "#1f77b4"),
    "mixture_ts": ("myopic mixture Thompson sampling", "#d62728"),
    "oracle_plan": ("planner that knows the user", "#7f7f7f"),
}


def satiation_png(detail: Mapping[str, Any]) -> bytes | None:
    """Mean engagement per step (5-step moving average) of the planning, myopic and oracle-planning policies.

    >>> detail = {"policies": {"mixture_plan": {"curve": {"engagement": [2.0, 2.1, 2.2]}},
    ...                        "mixture_ts": {"curve": {"engagement": [2.3, 2.0, 1.8]}}}}
    >>> satiation_png(detail)[1:4], satiation_png({})
    (b'PNG', None)
    """
    policies = detail.get("policies") or {}
    curves: dict[str, list[float]] = {}
    for name in _SATIATION_POLICIES:
        curve = ((policies.get(name) or {}).get("curve") or {}).get("engagement")
        if curve:
            curves[name] = list(curve)
    if not curves:
        return None
    with matplotlib.rc_context(_plot._STYLE):
        fig = _plot._new_figure(6.4, 3.0)
        ax = fig.add_subplot()
        _plot._style_axes(ax)
        for name, curve in curves.items():
            label, color = _SATIATION_POLICIES[name]
            ax.plot(range(1, len(curve) + 1), moving_average(np.asarray(curve)), label=label, color=color,
                    linewidth=2.2 if name == "mixture_plan" else 1.2)
        ax.axvspan(100.5, len(next(iter(curves.values()))) + 0.5, color="#f2f2f2", zorder=0)
        ax.set_xlabel("step")
        ax.set_ylabel("engagement per step")
        ax.legend(fontsize=7, frameon=False, loc="lower left")
        return _plot._png(fig)


def _lead(doc: Mapping[str, Any]) -> str:
    parts = [("Inferring what kind of person someone is carries risks: minority and outlier users forced into a "
              "majority type, an early wrong guess that sticks, clicks optimised at the cost of wellbeing, types "
              "that reveal sensitive attributes. Each is measured here.")]
    if doc.get("quick"):
        parts.append("<strong>Quick run</strong>: smaller samples, wider intervals.")
    return f'<p>{" ".join(parts)}</p>'


def _targets(doc: Mapping[str, Any]) -> str:
    mark = {True: "met", False: "not met", None: "—"}
    rows = [f'<tr><td>{_e(r["target"])}</td><td>{_e(r["threshold"])}</td><td>{_e(r["measured"])}</td>'
            f'<td class="{"ok" if r["met"] else "miss"}">{mark[r["met"]]}</td></tr>'
            for r in responsible_rows(dict(doc))]
    return _table([("Target", ""), ("Threshold", ""), ("Measured", ""), ("Status", "")], rows)


def _fairness(doc: Mapping[str, Any]) -> str:
    fair = doc.get("fairness") or {}
    if not fair:
        return ""
    names = list(fair)
    types = sorted({k for f in fair.values() for k in f["per_type_G50"]}, key=int)
    head = [("Policy", ""), *[(f"type {k}", "n") for k in types], ("minority", "n"), ("outliers: ratio at 200", "n")]
    rows = []
    for name in names:
        f = fair[name]
        cells = "".join(f'<td class="n">{_dec(f["per_type_G50"].get(k), 2)}</td>' for k in types)
        rows.append(f"<tr><td>{_e(name)}</td>{cells}<td class=\"n\">{_dec(f['minority_gain'], 2)}</td>"
                    f"<td class=\"n\">{_dec(f['outlier_ratio'], 2)}</td></tr>")
    users = fair[names[0]]["per_type_users"]
    note = ("Gain captured at 50 steps per true type, G_k(50) = (R_scratch − R_ours) / (R_scratch − R_oracle_type): "
            "1 is as good as knowing the user's type, 0 no better than learning from scratch. Users per type: "
            + ", ".join(f"{k}: {_num(users[k])}" for k in types)
            + f"; minority group {_num(fair[names[0]]['minority_users'])} users. Outliers: regret at 200 steps over "
            "from-scratch Thompson sampling's (below 1 is better).")
    return "<h3>Every type, the minority and outliers</h3>" + _table(head, rows) + f'<p class="note">{_e(note)}</p>'


def _drift(doc: Mapping[str, Any]) -> str:
    drift = doc.get("drift") or {}
    pols = drift.get("policies") or {}
    if not pols:
        return ""
    cfg = drift.get("config") or {}
    rows = []
    for name, p in pols.items():
        label = _DRIFT_POLICIES.get(name, (name, None))[0]
        rows.append(f"<tr><td>{_e(label)}</td><td class=\"n\">{_dec(p['switch_recovery_ratio'], 2)}</td>"
                    f"<td class=\"n\">{_pct(p.get('switch_detect_rate'))}</td>"
                    f"<td class=\"n\">{_pct(p.get('false_alarm_rate'))}</td>"
                    f"<td class=\"n\">{_pct(p['misleading_start_excess'])}</td></tr>")
    head = [("Policy", ""), ("Recovery ratio", "n"), ("Detected within " + str(cfg.get("detect_window", 15)), "n"),
            ("False alarms", "n"), ("Misleading-start excess", "n")]
    note = (f"{_num(cfg.get('n_users'))} users per scenario. Recovery ratio: regret over the steps after a switch of "
            f"type at step {_num(cfg.get('switch_at'))}, over a fresh user's regret over as many first steps. "
            f"Misleading start: the first {_num(cfg.get('misleading'))} responses come from a user of another type; "
            f"excess regret at step {_num(cfg.get('excess_at'))}. Regret is against whoever answered each step, so "
            "even a policy told exactly when the answering user changes pays for identifying the user twice.")
    return ("<h3>Following a switch; dropping a misleading start</h3>" + _table(head, rows)
            + f'<p class="note">{_e(note)}</p>'
            + _img(drift_png(drift), "regret per step around a switch of type",
                   "Regret per step; the dotted line is the switch.")
            + _img(drift_png(drift, "misleading"), "regret per step with a misleading start",
                   "Regret per step; the dotted line is where the user's own responses start."))


def _fair_types(fair: Mapping[str, Any]) -> str:
    """The fair fit (``fit --fair-attribute``) against the unconstrained one, on a planted type-attribute link
    and on an independent attribute: leakage AUC with its 95% CI, G(50) and K."""
    if not fair:
        return ""
    fits = fair.get("fits") or {}

    def row(label: str, auc: Any, ci: Any, g50: Any, fit: str) -> str:
        return (f"<tr><td>{_e(label)}</td><td class=\"n\">{_dec(auc)} {_ci(ci, _dec)}</td>"
                f"<td class=\"n\">{_dec(g50)}</td><td class=\"n\">{_e((fits.get(fit) or {}).get('n_types', '—'))}</td>"
                "</tr>")

    planted = (fits.get("unconstrained") or {}).get("leakage") or {}
    rows = [row("unconstrained, planted link", fair.get("unconstrained_auc"), fair.get("unconstrained_ci95"),
                fair.get("unconstrained_G50"), "unconstrained"),
            row("fair, planted link", fair.get("fair_auc"), fair.get("fair_ci95"), fair.get("fair_G50"),
                "fair_planted"),
            row("unconstrained, independent attribute", fair.get("independent_unconstrained_auc"),
                (planted.get("independent") or {}).get("ci95"), fair.get("unconstrained_G50"), "unconstrained"),
            row("fair, independent attribute", fair.get("independent_fair_auc"), fair.get("independent_fair_ci95"),
                fair.get("independent_fair_G50"), "fair_independent")]
    head = [("Fit", ""), ("Leakage AUC (95% CI)", "n"), ("G(50)", "n"), ("K", "n")]
    note = (f"The fair fit keeps {_pct(fair.get('G50_ratio'))} of the unconstrained fit's G(50) on the planted "
            f"link and {_pct(fair.get('independent_G50_ratio'))} with an independent attribute; an AUC of 0.5 is "
            "no information about the attribute in the served type probabilities (docs/fair-types.md).")
    return "<h3>Fair types by construction</h3>" + _table(head, rows) + f'<p class="note">{_e(note)}</p>'


def _others(doc: Mapping[str, Any]) -> str:
    out = []
    sat = doc.get("satiation")
    if sat:
        out.append("<h3>Long-term wellbeing (warmstart/Satiation-v0)</h3>"
                   f"<p>Planning over the type belief: long-term satisfaction {_dec(sat['planning_long_term'], 3)}, "
                   f"short-term reward {_dec(sat['planning_short_term'], 3)}; the myopic mixture Thompson sampling: "
                   f"{_dec(sat['myopic_long_term'], 3)} and {_dec(sat['myopic_short_term'], 3)} "
                   f"(ratio of long-term satisfaction {_dec(sat['ratio'], 2)}).</p>"
                   + _img(satiation_png(doc.get("satiation_detail") or {}), "engagement per step in Satiation-v0",
                          "Mean engagement per step; the shaded steps are where long-term satisfaction is measured."))
    dp = doc.get("dp")
    if dp:
        detail = doc.get("dp_detail") or {}
        out.append("<h3>Privacy</h3>"
                   f"<p>The differentially private fit at ε = {_e(dp['epsilon'])}, δ = {_e(dp['delta'])} keeps "
                   f"{_pct(dp['gain_kept'])} of the non-private gain G(50) "
                   f"({_num(detail.get('n_train_users'))} training users).</p>")
    leak = doc.get("leakage")
    if leak:
        lo, hi = leak["independent_ci95"]
        out.append(f"<p>Leakage audit: inferred types predict a planted type-linked attribute with AUC "
                   f"{_dec(leak['correlated_auc'], 2)}, and an independent one with AUC "
                   f"{_dec(leak['independent_auc'], 2)} (95% CI {_dec(lo, 2)}–{_dec(hi, 2)}; chance is 0.5).</p>")
    out.append(_fair_types(doc.get("fair_types") or {}))
    fg = doc.get("forget")
    if fg:
        diff, before = f"{fg['max_abs_diff']:.1e}", f"{fg['max_abs_diff_before_forget']:.1e}"
        out.append(f"<h3>Forgetting</h3><p>After forgetting {_num(len(fg['forgotten']))} users in the service's "
                   f"store, the refit differs from a fit that never saw them by at most {_e(diff)} (it differed "
                   f"by {_e(before)} before forgetting).</p>")
    return "".join(out)


def responsible_section(doc: Mapping[str, Any]) -> str:
    """The report's section from ``responsible.json``: the lead, the targets, and each part the run measured.

    >>> section = responsible_section({"dp": {"epsilon": 1.0, "delta": 1e-6, "gain_kept": 0.93}})  # one part
    >>> section.startswith("<p>Inferring"), "<h3>Privacy</h3>" in section, "switch" in section  # no drift
    (True, True, False)
    >>> "Fair types" in _fair_types({"fair_auc": 0.52, "fair_ci95": [0.49, 0.55]})   # the fair-types part
    True
    """
    return _lead(doc) + _targets(doc) + _fairness(doc) + _drift(doc) + _others(doc)
