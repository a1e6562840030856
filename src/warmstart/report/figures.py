"""Figures of the benchmark report, drawn with matplotlib's Agg backend and returned as PNG bytes.

Every function takes the parsed benchmark JSON (plain dicts and lists, as written by the benchmarks) and
returns the encoded PNG, or ``None`` when the input holds nothing to draw. Figures are built with the
object-oriented :class:`matplotlib.figure.Figure` API rather than ``pyplot``, so nothing is left in pyplot's
global figure registry and no interactive window can open.

Colours are fixed per policy name (:func:`policy_colors`, with one table per benchmark: ``KNOWN_POLICIES``
for the cold-start bandits, ``KT_MODELS`` for knowledge tracing, ``TUTORING_POLICIES`` for tutoring) so a
policy looks the same in every figure, and the policy we ship (``ours``) is drawn thicker and on top.

This module holds the figures of the cold-start and replay benchmarks and is the report's one entry point to
all figures; the knowledge-tracing and tutoring figures are drawn in ``learning_figures``, and the colours,
style and PNG encoding every figure shares are in ``_plot``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from warmstart.report._plot import (
    _STYLE,
    KNOWN_POLICIES,
    KT_MODELS,
    TUTORING_POLICIES,
    _finite,
    _floats,
    _label,
    _new_figure,
    _png,
    _style_axes,
    policy_colors,
    policy_order,
)
from warmstart.report.learning_figures import kt_buckets_png, tutoring_png

__all__ = [
    "KNOWN_POLICIES",
    "KT_MODELS",
    "TUTORING_POLICIES",
    "gain_captured_png",
    "group_regret_png",
    "k_path_png",
    "kt_buckets_png",
    "policy_colors",
    "policy_order",
    "regret_curves_png",
    "tutoring_png",
    "type_posterior_png",
]

_DASHED = {"oracle_type": (0, (5, 2)), "oracle": (0, (2, 2)), "random": (0, (1, 1.5))}
_OFF_SCALE = 2.5  # a policy whose values exceed this multiple of the others' range is drawn clipped


def _step_axis(ax: Axes, last: float) -> None:
    """Log-scale step axis with plain tick labels (1, 2, 5, 10, ...) once there are 20 steps or more."""
    if last < 20:
        ax.set_xlabel("step t")
        return
    ax.set_xscale("log")
    ticks = [m * 10**e for e in range(7) for m in (1, 2, 5) if m * 10**e <= last]
    ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("step t (log scale)")


def _policies(doc: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    policies = doc.get("policies") or {}
    return (policies if isinstance(policies, dict) else {}), doc.get("ours")


def regret_curves_png(doc: Mapping[str, Any]) -> bytes | None:
    """Cumulative regret against step for every policy, with shaded 95% confidence bands.

    The x axis is logarithmic (early steps are the cold start) once there are at least 20 steps. A policy
    far above the others (usually ``random``) is clipped at the top and labelled with its final value.

    >>> def policy(cum_regret, at_20):                  # what coldstart.json holds of one policy, in small
    ...     return {"curve": {"cum_regret": cum_regret}, "per_type": {"0": {"regret_at": {"20": at_20}}},
    ...             "minority": {"regret_at": {"20": 2 * at_20}}}
    >>> doc = {"ours": "mixture_ids", "policies": {"mixture_ids": policy([0.9, 1.2, 1.3], 1.3),
    ...                                            "from_scratch_ts": policy([1.0, 1.9, 2.7], 2.7)}}
    >>> regret_curves_png(doc)[1:4], regret_curves_png({"policies": {}})   # a PNG; nothing to draw: None
    (b'PNG', None)
    """
    policies, ours = _policies(doc)
    curves = {}
    for name, p in policies.items():
        curve = (p or {}).get("curve") or {}
        y = _floats(curve.get("cum_regret"))
        if _finite(y):
            curves[name] = (y, _floats(curve.get("cum_regret_lo")), _floats(curve.get("cum_regret_hi")))
    if not curves:
        return None
    colors = policy_colors(curves)
    tops = {n: max(_finite(hi) or _finite(y)) for n, (y, _, hi) in curves.items()}
    others = [v for n, v in tops.items() if n != "random"] or list(tops.values())
    ceiling = max(max(others), 1e-9) * 1.08
    clip = max(tops.values()) > _OFF_SCALE * ceiling

    with matplotlib.rc_context(_STYLE):
        fig = _new_figure(9.5, 4.4)
        ax = fig.add_subplot()
        _style_axes(ax)
        for name in reversed(policy_order(curves, ours)):
            y, lo, hi = curves[name]
            t = list(range(1, len(y) + 1))
            mine = name == ours
            color = colors[name]
            if len(lo) == len(y) and len(hi) == len(y):
                ax.fill_between(t, lo, hi, color=color, alpha=0.22 if mine else 0.12, linewidth=0,
                                zorder=3 if mine else 1)
            label = _label(name, ours)
            if clip and tops[name] > ceiling:
                label += f"\n(off scale: {_finite(y)[-1]:.3g} at t={len(y)})"
            ax.plot(t, y, color=color, linewidth=2.6 if mine else 1.4, linestyle=_DASHED.get(name, "-"),
                    label=label, zorder=4 if mine else 2)
        last = max(len(y) for y, _, _ in curves.values())
        _step_axis(ax, last)
        ax.set_xlim(1, last)
        ax.set_ylim(bottom=0, top=ceiling if clip else None)
        ax.set_ylabel("cumulative regret (mean over test users)")
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles[::-1], labels[::-1], loc="outside right upper", frameon=False, ncols=1)
        return _png(fig)


def gain_captured_png(doc: Mapping[str, Any]) -> bytes | None:
    """The gain-captured curve G(t) of ``ours``, with reference lines at 0.85 and 0.9.

    >>> png = gain_captured_png({"ours": "mixture_ids", "gain_captured": {"G": [0.5, 0.8, 0.92, 0.95]}})
    >>> png[1:4], gain_captured_png({})
    (b'PNG', None)
    """
    gain = doc.get("gain_captured") or {}
    g = _floats(gain.get("G"))
    if not _finite(g):
        return None
    t = _floats(gain.get("t")) or [float(i) for i in range(1, len(g) + 1)]
    if len(t) != len(g):
        t = [float(i) for i in range(1, len(g) + 1)]
    ours = doc.get("ours")
    color = policy_colors([ours])[ours] if isinstance(ours, str) else KNOWN_POLICIES["mixture_ids"]
    with matplotlib.rc_context(_STYLE):
        fig = _new_figure(9.0, 3.4)
        ax = fig.add_subplot()
        _style_axes(ax)
        for level, style in ((0.9, (0, (5, 2))), (0.85, (0, (1, 2)))):
            ax.axhline(level, color="#666666", linewidth=1.0, linestyle=style, zorder=1)
            ax.annotate(f"{level:g}", xy=(1.0, level), xycoords=("axes fraction", "data"), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=8, color="#555555")
        ax.plot(t, g, color=color, linewidth=2.4, label=f"G(t), {ours}", zorder=3)
        reached = next((ti for ti, gi in zip(t, g, strict=True) if math.isfinite(gi) and gi >= 0.9), None)
        if reached is not None:
            ax.axvline(reached, color=color, linewidth=0.9, linestyle=(0, (2, 2)), alpha=0.7)
            right_half = reached > (max(t) ** 0.5 if len(g) >= 20 else max(t) / 2)
            ax.annotate(f"G ≥ 0.9 from t = {reached:g}", xy=(reached, 0.02), xycoords=("data", "axes fraction"),
                        xytext=(-4 if right_half else 4, 0), textcoords="offset points", fontsize=8, color=color,
                        ha="right" if right_half else "left")
        _step_axis(ax, max(t))
        finite = _finite(g)
        ax.set_ylim(min(0.0, min(finite)) - 0.03, max(1.05, max(finite) + 0.03))
        ax.set_xlim(min(t), max(t))
        ax.set_ylabel("gain captured G(t)")
        ax.legend(loc="center right", frameon=False)
        return _png(fig)


def _truth(example: Mapping[str, Any], names: Sequence[str]) -> tuple[list[int], str]:
    """Indices of the fitted components that are the right answer for this user, and a title naming them.

    Fitted components are numbered by the fit, not by the simulator, so ``fitted_to_true`` (fitted index to
    true type, -1 for the novel component) is used when present; without it, indices are taken as true types.
    An outlier (true type -1) is rightly recognised by the novel component.
    """
    true_type = example.get("true_type")
    if not isinstance(true_type, int):
        return [], "true type unknown"
    novel = [i for i, n in enumerate(names) if n == "novel"]
    mapping = example.get("fitted_to_true")
    if isinstance(mapping, list) and mapping:
        right = [i for i, m in enumerate(mapping[: len(names)]) if m == true_type]
    else:
        right = [true_type] if 0 <= true_type < len(names) else []
    if true_type < 0:
        return sorted(set(right) | set(novel)), "true: outlier (right answer: novel)"
    if not right:
        return [], f"true type {true_type}: no fitted type matches"
    fitted = ", ".join(str(names[i]) for i in right)
    return right, (f"true type {true_type} → fitted {fitted}" if mapping else f"true: {fitted}")


def type_posterior_png(examples: Sequence[Mapping[str, Any]], max_examples: int = 6) -> bytes | None:
    """Posterior over types of a few test users, step by step, one small stacked-area panel per user.

    The fitted type(s) matching the user's true type (``novel`` for an outlier) are drawn in a strong colour
    and named in the panel title; the other types are pale, so the belief on the right answer reads at a
    glance.

    >>> user = {"user": 3, "group": "population", "true_type": 0, "type_names": ["type 0", "type 1", "novel"],
    ...         "probs": [[0.45, 0.45, 0.1], [0.8, 0.15, 0.05], [0.95, 0.04, 0.01]]}   # 3 steps
    >>> type_posterior_png([user])[1:4], type_posterior_png([])
    (b'PNG', None)
    """
    examples = [e for e in examples if e.get("probs")][:max_examples]
    if not examples:
        return None
    ncols = min(3, len(examples))
    nrows = math.ceil(len(examples) / ncols)
    true_c, novel_c, other_cs = "#c0392b", "#f0b27a", ("#c9d6e3", "#a9bccf")
    with matplotlib.rc_context(_STYLE):
        fig = _new_figure(3.2 * ncols, 2.35 * nrows + 0.35)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
        for ax in axes.flat[len(examples):]:
            ax.set_visible(False)
        for ax, ex in zip(axes.flat, examples, strict=False):
            _style_axes(ax)
            probs = [_floats(row) for row in ex["probs"]]
            k = max(len(r) for r in probs)
            names = list(ex.get("type_names") or [f"type {i}" for i in range(k)])
            names += [f"type {i}" for i in range(len(names), k)]
            right, truth = _truth(ex, names)
            cols = [[(r[i] if i < len(r) and math.isfinite(r[i]) else 0.0) for r in probs] for i in range(k)]
            order = right + [i for i in range(k) if i not in right]
            colors = []
            for j, i in enumerate(order):
                if i in right:
                    colors.append(true_c)
                elif names[i] == "novel":
                    colors.append(novel_c)
                else:
                    colors.append(other_cs[j % 2])
            steps = list(range(1, len(probs) + 1))
            ax.stackplot(steps, [cols[i] for i in order], colors=colors, linewidth=0.3, edgecolor="white")
            ax.set_title(f"user {ex.get('user', '?')} ({ex.get('group', '?')})\n{truth}", fontsize=9)
            ax.set_xlim(1, max(len(steps), 2))
            ax.set_ylim(0, 1)
            ax.grid(False)
        for i, ax in enumerate(axes.flat[: len(examples)]):
            if i + ncols >= len(examples):  # nothing drawn below it
                ax.set_xlabel("step")
        for ax in axes[:, 0]:
            ax.set_ylabel("posterior probability")
        legend = [Patch(color=true_c, label="true type"), Patch(color=other_cs[0], label="other types"),
                  Patch(color=novel_c, label="novel (no known type)")]
        fig.legend(handles=legend, loc="outside lower center", ncols=3, frameon=False)
        return _png(fig)


def _group_block(p: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The metrics block of one user group (``type:<k>``, ``minority`` or ``outliers``) of a policy."""
    block = (p.get("per_type") or {}).get(key[5:]) if key.startswith("type:") else p.get(key)
    return block if isinstance(block, Mapping) else {}


def _group_keys(policies: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, label) of every user group found: per true type, then minority and outliers; labels carry n."""
    types: set[str] = set()
    for p in policies.values():
        types.update(str(k) for k in ((p or {}).get("per_type") or {}))
    ordered = sorted(types, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))
    keys = [(f"type:{k}", f"type {k}") for k in ordered]
    keys += [(g, g) for g in ("minority", "outliers") if any((p or {}).get(g) for p in policies.values())]
    labelled = []
    for key, label in keys:
        counts = {_group_block(p or {}, key).get("n_users") for p in policies.values()} - {None}
        labelled.append((key, f"{label}\nn={counts.pop()}" if len(counts) == 1 else label))
    return labelled


def _group_regret(p: Mapping[str, Any], key: str, horizon: str) -> float:
    value = (_group_block(p, key).get("regret_at") or {}).get(horizon)
    return float(value) if isinstance(value, int | float) else math.nan


def group_horizons(doc: Mapping[str, Any], wanted: Sequence[str] = ("20", "200")) -> list[str]:
    """The horizons of the per-group figure: ``wanted`` where measured, plus the longest one if any is not.

    >>> def policy(cum_regret, at_20):                  # what coldstart.json holds of one policy, in small
    ...     return {"curve": {"cum_regret": cum_regret}, "per_type": {"0": {"regret_at": {"20": at_20}}},
    ...             "minority": {"regret_at": {"20": 2 * at_20}}}
    >>> doc = {"ours": "mixture_ids", "policies": {"mixture_ids": policy([0.9, 1.2, 1.3], 1.3),
    ...                                            "from_scratch_ts": policy([1.0, 1.9, 2.7], 2.7)}}
    >>> group_horizons(doc)                              # 200 was not measured, and 20 is the longest
    ['20']
    """
    policies, _ = _policies(doc)
    have: set[str] = set()
    for p in policies.values():
        for block in [*((p or {}).get("per_type") or {}).values(), (p or {}).get("minority") or {}]:
            have.update(str(h) for h in ((block or {}).get("regret_at") or {}))
    numeric = sorted((h for h in have if h.isdigit()), key=int)
    chosen = [h for h in wanted if h in have]
    if len(chosen) < len(wanted) and numeric and numeric[-1] not in chosen:
        chosen.append(numeric[-1])  # e.g. a short run: the longest horizon measured stands in for 200
    return sorted(chosen, key=int)


def group_regret_png(doc: Mapping[str, Any]) -> bytes | None:
    """Grouped bars of regret at steps 20 and 200 for each true type, the minority and the outliers.

    One panel per horizon, one bar per policy within each group. ``oracle`` (regret 0 by definition) is left
    out; a bar far above the rest is clipped and labelled with its value.

    >>> def policy(cum_regret, at_20):                  # what coldstart.json holds of one policy, in small
    ...     return {"curve": {"cum_regret": cum_regret}, "per_type": {"0": {"regret_at": {"20": at_20}}},
    ...             "minority": {"regret_at": {"20": 2 * at_20}}}
    >>> doc = {"ours": "mixture_ids", "policies": {"mixture_ids": policy([0.9, 1.2, 1.3], 1.3),
    ...                                            "from_scratch_ts": policy([1.0, 1.9, 2.7], 2.7)}}
    >>> group_regret_png(doc)[1:4], group_regret_png({"policies": {}})
    (b'PNG', None)
    """
    policies, ours = _policies(doc)
    names = [n for n in policy_order(policies, ours) if n != "oracle"]
    groups = _group_keys(policies)
    horizons = group_horizons(doc)
    if not names or not groups or not horizons:
        return None
    colors = policy_colors(names)
    with matplotlib.rc_context(_STYLE):
        fig = _new_figure(9.0, 2.9 * len(horizons) + 0.4)
        axes = fig.subplots(len(horizons), 1, squeeze=False)[:, 0]
        width = 0.8 / len(names)
        for ax, h in zip(axes, horizons, strict=True):
            _style_axes(ax)
            ax.grid(axis="x", visible=False)
            values = {n: [_group_regret(policies[n] or {}, key, h) for key, _ in groups] for n in names}
            everything = _finite(v for n in names for v in values[n]) or [1.0]
            rest = _finite(v for n in names if n != "random" for v in values[n]) or everything
            clip = max(everything) > _OFF_SCALE * max(rest)
            ceiling = max(max(rest if clip else everything), 1e-9) * 1.1
            for j, name in enumerate(names):
                xs = [g + (j - (len(names) - 1) / 2) * width for g in range(len(groups))]
                ys = [0.0 if not math.isfinite(v) else (min(v, ceiling) if clip else v) for v in values[name]]
                ax.bar(xs, ys, width=width * 0.92, color=colors[name], label=_label(name, ours),
                       edgecolor="#222222" if name == ours else "none", linewidth=0.8)
                for x, v in zip(xs, values[name], strict=True):
                    if clip and math.isfinite(v) and v > ceiling:
                        ax.annotate(f"{v:.3g}", xy=(x, ceiling), ha="center", va="bottom", fontsize=7,
                                    color="#333333", rotation=90, xytext=(0, 2), textcoords="offset points")
            ax.set_xticks(range(len(groups)), [label for _, label in groups])
            ax.set_ylim(0, ceiling * (1.12 if clip else 1.0))
            ax.set_ylabel(f"regret at step {h}")
            ax.set_title(f"Cumulative regret at step {h}, by true type of user", loc="left")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(names), 5), frameon=False)
        return _png(fig)


def k_path_png(fit: Mapping[str, Any]) -> bytes | None:
    """BIC (and log likelihood, if present) against the number of types K, marking the chosen K.

    >>> fit = {"k_path": [{"K": 1, "bic": 900.0}, {"K": 2, "bic": 700.0}, {"K": 3, "bic": 720.0}],
    ...        "selected_k": 2}
    >>> k_path_png(fit)[1:4], k_path_png({})
    (b'PNG', None)
    """
    path = [row for row in (fit.get("k_path") or []) if isinstance(row, dict) and "K" in row]
    path = sorted(path, key=lambda r: r["K"])
    ks = [int(r["K"]) for r in path]
    bic = _floats([r.get("bic") for r in path])
    if not _finite(bic):
        return None
    loglik = _floats([r.get("loglik") for r in path])
    chosen = fit.get("selected_k")
    with matplotlib.rc_context(_STYLE):
        fig = _new_figure(9.0, 3.2)
        axes = fig.subplots(1, 2 if _finite(loglik) else 1, squeeze=False)[0]
        for ax, ys, label, note in ((axes[0], bic, "BIC (lower is better)", "BIC"),
                                    (axes[-1], loglik, "training log likelihood", "log likelihood"))[
                                        : len(axes)]:
            _style_axes(ax)
            ax.plot(ks, ys, color="#34495e", marker="o", markersize=4, linewidth=1.5)
            if chosen in ks:
                i = ks.index(chosen)
                ax.axvline(chosen, color=KNOWN_POLICIES["mixture_ids"], linewidth=1, linestyle=(0, (3, 2)))
                ax.plot([chosen], [ys[i]], marker="o", markersize=8, color=KNOWN_POLICIES["mixture_ids"],
                        zorder=5)
            ax.set_xlabel("number of types K")
            ax.set_ylabel(label)
            ax.set_title(f"{note} against K" + (f" (chosen K = {chosen})" if chosen in ks else ""), loc="left")
            ax.set_xticks(ks)
        return _png(fig)



def replay_png(doc: Mapping[str, Any]) -> bytes | None:
    """Mean logged reward per replayed step of every policy (``mean_reward_by_step``; later steps average over
    the users who still have items left) with its 95% band over users (``ci95_by_step``), ours (``ours`` of
    the paired differences, else ``mixture_ids``) thick, and the ``oracle_user`` ceiling dotted."""
    policies, _ = _policies(doc)
    lines = {n: _floats((p or {}).get("mean_reward_by_step")) for n, p in policies.items()}
    lines = {n: ys for n, ys in lines.items() if _finite(ys)}
    if not lines:
        return None
    wanted = (doc.get("paired") or {}).get("ours") or "mixture_ids"
    ours = wanted if wanted in lines else None
    names = policy_order(lines, ours)
    colors = policy_colors(names)
    oracle = _floats(((doc.get("reference") or {}).get("oracle_user") or {}).get("mean_reward_by_step"))
    with matplotlib.rc_context(_STYLE):
        fig = _new_figure(9.0, 3.4)
        ax = fig.add_subplot()
        _style_axes(ax)
        for name in reversed(names):
            ys = lines[name]
            mine = name == ours
            t = range(1, len(ys) + 1)
            bands = (policies[name] or {}).get("ci95_by_step") or []
            if len(bands) == len(ys):
                ax.fill_between(t, [b[0] for b in bands], [b[1] for b in bands], color=colors[name],
                                alpha=0.2 if mine else 0.1, linewidth=0, zorder=3 if mine else 1)
            ax.plot(t, ys, color=colors[name], linewidth=2.6 if mine else 1.5,
                    label=_label(name, ours), zorder=4 if mine else 2)
        if _finite(oracle):
            ax.plot(range(1, len(oracle) + 1), oracle, color="#555555", linestyle=":", linewidth=1.5,
                    label="oracle_user (reference)", zorder=2)
        ax.set_xlabel("replayed step of a new user")
        ax.set_ylabel("mean logged reward")
        handles, legend = ax.get_legend_handles_labels()
        fig.legend(handles[::-1], legend[::-1], loc="outside right upper", frameon=False)
        return _png(fig)
