"""Figures of the knowledge-tracing and tutoring benchmarks (``kt.json``, ``tutoring.json``), drawn like every
figure of the report (``warmstart.report._plot``) and returned as PNG bytes, or ``None`` when the input holds
nothing to draw."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import matplotlib

from warmstart.report._plot import (
    _STYLE,
    KT_MODELS,
    TUTORING_POLICIES,
    _finite,
    _label,
    _new_figure,
    _png,
    _style_axes,
    policy_colors,
    policy_order,
)


def _bucket_start(bucket: str) -> tuple[int, str]:
    """Sort key of a history bucket such as ``"1-5"`` or ``"51+"``: its first position, then the name."""
    digits = ""
    for ch in bucket:
        if not ch.isdigit():
            break
        digits += ch
    return (int(digits) if digits else 10**9, bucket)


def _as_float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def kt_buckets_png(doc: Mapping[str, Any]) -> bytes | None:
    """AUC of every knowledge-tracing model by position in the student's own history (``by_bucket``).

    One line per model over the buckets ("1-5", "6-10", ... "51+"), ``ours`` thick and on top; the tick labels
    carry the number of test responses in each bucket.

    >>> def buckets(*aucs):                                  # AUC on responses 1-5, 6-10 and 51+
    ...     return {"by_bucket": {b: {"auc": a} for b, a in zip(("1-5", "6-10", "51+"), aucs)}}
    >>> doc = {"models": {"ours": buckets(0.70, 0.74, 0.80), "bkt": buckets(0.66, 0.70, 0.78)}}
    >>> kt_buckets_png(doc)[1:4], kt_buckets_png({})
    (b'PNG', None)
    """
    raw = doc.get("models")
    models: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    buckets: set[str] = set()
    for m in models.values():
        buckets.update(str(b) for b in ((m or {}).get("by_bucket") or {}))
    order = sorted(buckets, key=_bucket_start)
    lines = {}
    for name, m in models.items():
        per = (m or {}).get("by_bucket") or {}
        ys = [_as_float((per.get(b) or {}).get("auc")) for b in order]
        if _finite(ys):
            lines[name] = ys
    if not lines:
        return None
    names = policy_order(lines, "ours", known=KT_MODELS)
    colors = policy_colors(names, known=KT_MODELS)
    labels = []
    for b in order:
        counts = {((models[n] or {}).get("by_bucket") or {}).get(b, {}).get("n") for n in lines} - {None}
        labels.append(f"{b}\nn={counts.pop():,}" if len(counts) == 1 else b)
    with matplotlib.rc_context(_STYLE):
        fig = _new_figure(9.0, 3.6)
        ax = fig.add_subplot()
        _style_axes(ax)
        xs = list(range(len(order)))
        for name in reversed(names):
            mine = name == "ours"
            ax.plot(xs, lines[name], color=colors[name], linewidth=2.6 if mine else 1.5, marker="o",
                    markersize=5 if mine else 3.5, label=_label(name, "ours"), zorder=4 if mine else 2,
                    linestyle=(0, (1, 1.5)) if name == "skill_mean" else "-")
        ax.set_xticks(xs, labels)
        ax.set_xlim(-0.3, len(order) - 0.7)
        ax.set_xlabel("position of the response in the student's own history")
        ax.set_ylabel("AUC (higher is better)")
        handles, legend = ax.get_legend_handles_labels()
        fig.legend(handles[::-1], legend[::-1], loc="outside right upper", frameon=False)
        return _png(fig)


def _wrap(text: str, width: int = 24) -> str:
    """Break ``text`` at spaces into lines of at most about ``width`` characters."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def _tutoring_groups(doc: Mapping[str, Any], policies: Mapping[str, Any]) -> list[tuple[str | None, str]]:
    """(per_type key or ``None`` for all students, tick label) of every group of the tutoring figure."""
    pop = doc.get("population") or {}
    described = {str(t.get("index")): t for t in (pop.get("types") or []) if isinstance(t, Mapping)}
    keys: set[str] = set()
    for p in policies.values():
        keys.update(str(k) for k in ((p or {}).get("per_type") or {}))
    ordered = sorted(keys, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    totals = {(p or {}).get("n_students") for p in policies.values()} - {None}
    groups: list[tuple[str | None, str]] = [(None, "all students" + (f"\nn={totals.pop():,}" if len(totals) == 1
                                                                       else ""))]
    for key in ordered:
        counts = {((p or {}).get("per_type") or {}).get(key, {}).get("n_students") for p in policies.values()}
        counts -= {None}
        t = described.get(key, {})
        parts = [f"type {key}"]
        if t.get("summary"):
            parts.append(_wrap(str(t["summary"])))
        share = t.get("weight")
        tail = ", ".join(x for x in (f"{share:.0%} of students" if isinstance(share, float) else "",
                                     f"n={counts.pop():,}" if len(counts) == 1 else "") if x)
        groups.append((key, "\n".join(parts + ([tail] if tail else []))))
    return groups


def _error_bar(ci: Any, y: float, scale: float) -> tuple[float, float]:
    """Distances below and above ``y`` of a JSON ``[lo, hi]`` interval times ``scale``; zeros when unusable."""
    if not (isinstance(ci, list) and len(ci) == 2 and math.isfinite(y)):
        return 0.0, 0.0
    lo, hi = _as_float(ci[0]) * scale, _as_float(ci[1]) * scale
    return (max(y - lo, 0.0) if math.isfinite(lo) else 0.0), (max(hi - y, 0.0) if math.isfinite(hi) else 0.0)


def tutoring_png(doc: Mapping[str, Any]) -> bytes | None:
    """Steps to mastery (top) and false mastery rate (bottom) of every tutoring policy, for all students and
    per true type, as grouped bars with their 95% confidence intervals; the budget is a dashed line.

    >>> doc = {"budget": 200,
    ...        "policies": {"ours": {"steps_to_mastery": 40.0, "false_mastery_rate": 0.05},
    ...                     "bkt_mastery": {"steps_to_mastery": 55.0, "false_mastery_rate": 0.08}}}
    >>> tutoring_png(doc)[1:4], tutoring_png({})
    (b'PNG', None)
    """
    raw = doc.get("policies")
    policies: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    names = [n for n in policy_order(policies, "ours", known=TUTORING_POLICIES)
             if isinstance(policies[n], Mapping)]
    groups = _tutoring_groups(doc, policies)
    if not names:
        return None

    def block(name: str, key: str | None) -> Mapping[str, Any]:
        p = policies[name]
        b = p if key is None else (p.get("per_type") or {}).get(key)
        return b if isinstance(b, Mapping) else {}

    colors = policy_colors(names, known=TUTORING_POLICIES)
    budget = _as_float((doc.get("config") or {}).get("budget"))
    panels = (("steps_to_mastery", "steps_ci95", 1.0, "practice steps to mastery"),
              ("false_mastery_rate", "false_mastery_ci95", 100.0, "false mastery rate (%)"))
    with matplotlib.rc_context(_STYLE):
        fig = _new_figure(9.5, 6.4)
        axes = fig.subplots(2, 1, sharex=True)
        width = 0.8 / len(names)
        for ax, (key, ci_key, scale, ylabel) in zip(axes, panels, strict=True):
            _style_axes(ax)
            ax.grid(axis="x", visible=False)
            for j, name in enumerate(names):
                xs = [g + (j - (len(names) - 1) / 2) * width for g in range(len(groups))]
                ys = [_as_float(block(name, g).get(key)) * scale for g, _ in groups]
                spans = [_error_bar(block(name, g).get(ci_key), y, scale) for (g, _), y in zip(groups, ys, strict=True)]
                errs = [[lo for lo, _ in spans], [hi for _, hi in spans]]
                ax.bar(xs, [y if math.isfinite(y) else 0.0 for y in ys], width=width * 0.92, color=colors[name],
                       label=_label(name, "ours"), edgecolor="#222222" if name == "ours" else "none",
                       linewidth=0.8, yerr=errs, error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333333"})
            ax.set_ylabel(ylabel)
        if math.isfinite(budget):
            axes[0].axhline(budget, color="#666666", linewidth=1.0, linestyle=(0, (5, 2)), zorder=1)
            axes[0].annotate(f"budget {budget:g}", xy=(1.0, budget), xycoords=("axes fraction", "data"),
                             xytext=(-2, 3), textcoords="offset points", ha="right", va="bottom", fontsize=8,
                             color="#555555")
        axes[0].set_title("Practice steps until every skill is declared mastered (lower is better)", loc="left")
        axes[1].set_title("Share of mastery declarations made while the skill was not yet known (lower is better)",
                          loc="left")
        axes[1].set_xticks(range(len(groups)), [label for _, label in groups])
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(names), 5), frameon=False)
        return _png(fig)
