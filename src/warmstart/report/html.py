"""Assemble the benchmark results in a folder into one self-contained HTML page.

:func:`write_report` reads ``coldstart.json`` (required) and, when present, ``coldstart-hard.json``,
``speed.json``, ``targets.json``, ``kt.json`` (knowledge tracing) and ``tutoring.json`` from a folder and writes
``index.html`` next to them; an absent file leaves no trace on the page, except that the steps a run says it
skipped (``skipped.json``, written by ``warmstart demo``) are listed at the top. The page has no
external assets and no JavaScript: the CSS is inline and every figure is a base64 PNG ``data:`` URI, so the
file can be mailed, attached to a CI run or opened offline. All text taken from the JSON is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warmstart.report import figures
from warmstart.report._page import _e, _flatten, _img, _kv_table, _load, _num, _policy_name, _section, _table
from warmstart.report.dynamics import dynamics_section
from warmstart.report.learning import _extra_tiles, _kt, _refine, _replay, _tutoring
from warmstart.report.responsible import responsible_section
from warmstart.report.scale import scale_section
from warmstart.report.sparse import sparse_section
from warmstart.report.style import CSS

__all__ = ["render_report", "write_report"]

COLDSTART = "coldstart.json"
COLDSTART_HARD = "coldstart-hard.json"
SPEED = "speed.json"
TARGETS = "targets.json"
KT = "kt.json"
TUTORING = "tutoring.json"
REPLAY = "replay.json"
RESPONSIBLE = "responsible.json"
SCALE = "scale.json"
SPARSE = "sparse.json"
DYNAMICS = "dynamics.json"
REFINE = "refine.json"
SKIPPED = "skipped.json"
INDEX = "index.html"

_STATUS = {True: ("met", "✓ met"), False: ("not-met", "✗ not met"), None: ("not-measured", "– not measured")}
_ORACLES = ("oracle", "oracle_type")
# Known speed.json measures, in display order: key -> (label, unit).
_SPEED_LABELS = {
    "act_update_us": ("act + update, one user, one decision", "µs"),
    "vw_predict_learn_us": ("Vowpal Wabbit predict + learn, same setting", "µs"),
    "batch_decisions_per_s": ("batched decisions, one core", "per s"),
    "batch_decisions_per_s_one_draw": ("batched decisions, one core, one posterior draw", "per s"),
    "em_fit_s_100k": ("EM population fit, 100k users", "s"),
    "em_fit_s": ("EM population fit", "s"),
    "belief_bytes": ("belief state of one user, serialised", "bytes"),
}
# speed.json keys that describe a measure (shown as its note) or the run (shown under the details).
_SPEED_CONTEXT = {"version", "seed", "quick", "machine", "config", "act_update_policy", "act_update_us_by_policy",
                  "vw_note", "batch_users", "batch_chunk", "batch_policy", "em_fit_users", "em_fit_iterations",
                  "em_fit_settings"}


def _horizons(policies: Mapping[str, Any], key: str) -> list[str]:
    keys: set[str] = set()
    for p in policies.values():
        keys.update(str(h) for h in ((p or {}).get(key) or {}))
    return sorted(keys, key=lambda h: (not h.isdigit(), int(h) if h.isdigit() else 0, h))


# ---------------------------------------------------------------------------------------------- page parts


def _summary(doc: Mapping[str, Any]) -> str:
    """One paragraph, in plain language, of what the cold-start benchmark ran."""
    cfg = dict(doc.get("config") or {})
    sim_cfg = cfg.get("sim")
    sim: Mapping[str, Any] = sim_cfg if isinstance(sim_cfg, Mapping) else {}
    cfg = {**sim, **cfg}  # simulator settings (dim, n_actions, n_types) may be nested under "sim"
    fit = doc.get("fit") or {}
    policies = doc.get("policies") or {}

    def n(key: str) -> str | None:
        value = cfg.get(key)
        return _num(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    preset = f", on the <strong>{_e(cfg['preset'])}</strong> preset of the simulator" if cfg.get("preset") else ""
    lead = f"This benchmark compares {len(policies)} policies on how quickly they serve a brand-new user well"
    parts = [f"{lead}{preset}."]
    pop = "A training population of " + (f"{n('n_train_users')} users" if n("n_train_users") else "users")
    pop += f" with {n('n_train_events')} logged events each" if n("n_train_events") else ""
    pop += f" was simulated from {n('n_types')} hidden user types" if n("n_types") else " was simulated"
    detail = [x for x in (f"{n('n_actions')} candidate actions" if n("n_actions") else None,
                          f"{n('dim')}-dimensional features" if n("dim") else None) if x]
    parts.append(pop + (f" ({', '.join(detail)})" if detail else "") + ".")
    if fit.get("selected_k") is not None:
        raw_fit = cfg.get("fit")
        fit_cfg: Mapping[str, Any] = raw_fit if isinstance(raw_fit, Mapping) else {}
        rule = "held-out log likelihood" if fit_cfg.get("selection") == "heldout" else "BIC"
        parts.append(f"A mixture of types was fitted to that log, and {rule} selected K = "
                     f"{_e(fit['selected_k'])}.")
    test = "Each policy then met " + (f"{n('n_test_users')} new users from the population" if
                                      n("n_test_users") else "new users from the population")
    extra = [x for x in (f"{n('n_minority_users')} from a rare minority type" if n("n_minority_users") else None,
                         f"{n('n_outlier_users')} outliers who match no type" if n("n_outlier_users") else None)
             if x]
    test += f", plus {' and '.join(extra)}," if extra else ""
    test += " knowing nothing about them" + (f", and served each for {n('steps')} steps" if n("steps") else "")
    parts.append(test + ".")
    parts.append("Regret is the expected reward lost against an oracle that knows each user's true preferences "
                 "(lower is better), averaged over the population users; the minority and outliers are shown "
                 "separately. Bands and brackets are 95% confidence intervals.")
    if doc.get("ours"):
        parts.append(f"Our default policy is <strong>{_e(doc['ours'])}</strong>.")
    return f'<p class="summary">{" ".join(parts)}</p>'


def _tiles(doc: Mapping[str, Any], speed: Mapping[str, Any] | None, targets: Mapping[str, Any] | None,
           kt: Mapping[str, Any] | None = None, tutoring: Mapping[str, Any] | None = None) -> str:
    """Headline numbers: our regret at step 20 against the best other policy, steps to 90%, K, speed, the
    knowledge-tracing AUC, tutoring steps to mastery and targets."""
    ours = doc.get("ours")
    policies = doc.get("policies") or {}
    tiles: list[tuple[str, str, str]] = []
    mine = policies.get(ours) or {}
    measured = list(mine.get("regret_at") or {})
    h = "20" if "20" in measured else (measured[0] if measured else None)
    r = (mine.get("regret_at") or {}).get(h) if h else None
    if isinstance(r, int | float):
        rivals = {n: ((p or {}).get("regret_at") or {}).get(h) for n, p in policies.items()
                  if n != ours and n not in _ORACLES and n != "random"}
        rivals_num: dict[str, float] = {n: float(v) for n, v in rivals.items() if isinstance(v, int | float)}
        sub = _e(ours)
        if rivals_num:
            best = min(rivals_num, key=lambda k: rivals_num[k])
            sub += f"; best other: {_e(best)} {_num(rivals_num[best])}"
        tiles.append((f"regret at step {h}", _num(r), sub))
    if "steps_to_90" in mine:
        s90 = mine["steps_to_90"]
        tiles.append(("steps to 90% of oracle reward", _num(s90) if s90 is not None else "not reached", _e(ours)))
    fit = doc.get("fit") or {}
    if fit.get("selected_k") is not None:
        sub = f"fit in {_num(fit['fit_s'])} s" if isinstance(fit.get("fit_s"), int | float) else ""
        tiles.append(("types found (K)", _e(fit["selected_k"]), sub))
    if speed and isinstance(speed.get("act_update_us"), int | float):
        vw = speed.get("vw_predict_learn_us")
        sub = f"VW predict + learn: {_num(vw)} µs" if isinstance(vw, int | float) else ""
        tiles.append(("act + update", f"{_num(speed['act_update_us'])} µs", sub))
    tiles += _extra_tiles(kt, tutoring)
    rows = (targets or {}).get("rows") or []
    if rows:
        met = sum(1 for r in rows if r.get("met") is True)
        tiles.append(("targets met", f"{met} / {len(rows)}", ""))
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><div class="k">{_e(k)}</div><div class="v">{v}</div><div class="s">{s}</div></div>'
        for k, v, s in tiles) + "</div>"


def _targets(targets: Mapping[str, Any]) -> str:
    rows = [r for r in (targets.get("rows") or []) if isinstance(r, Mapping)]
    counts = {state: sum(1 for r in rows if r.get("met") is state) for state in (True, False, None)}
    lead = (f'<p>{counts[True]} of {len(rows)} targets met, {counts[False]} not met, '
            f"{counts[None]} not measured.</p>")
    out = []
    for r in rows:
        met = r.get("met") if r.get("met") in (True, False) else None
        cls, text = _STATUS[met]
        cmd = f"<code>{_e(r['command'])}</code>" if r.get("command") else ""
        out.append(f"<tr><td>{_e(r.get('target', ''))}</td><td>{_e(r.get('threshold', ''))}</td>"
                   f"<td>{_e(r.get('measured', ''))}</td><td><span class=\"status {cls}\">{_e(text)}</span></td>"
                   f"<td>{cmd}</td><td>{_e(r.get('note', ''))}</td></tr>")
    head = [("Target", ""), ("Threshold", ""), ("Measured", ""), ("Status", ""), ("Command", ""), ("Note", "")]
    return lead + _table(head, out)


def _results_table(doc: Mapping[str, Any]) -> str:
    """Regret at each horizon with CI, steps to 90%, late regret, type accuracy and run time per policy."""
    policies = doc.get("policies") or {}
    ours = doc.get("ours")
    names = figures.policy_order(policies, ours)
    colors = figures.policy_colors(names)
    hs = _horizons(policies, "regret_at")
    accs = _horizons(policies, "type_accuracy_at")
    rivals = [n for n in names if n not in _ORACLES]
    best = {}
    for h in hs:
        vals = [(policies[n] or {}).get("regret_at", {}).get(h) for n in rivals]
        vals = [v for v in vals if isinstance(v, int | float) and math.isfinite(v)]
        best[h] = min(vals) if vals else None
    rows = []
    for name in names:
        p = policies[name] or {}
        cells = [f'<td class="name">{_policy_name(name, ours, colors)}</td>']
        for h in hs:
            v = (p.get("regret_at") or {}).get(h)
            ci = (p.get("regret_ci95") or {}).get(h)
            ci_txt = f'<span class="ci">[{_num(ci[0])}, {_num(ci[1])}]</span>' if isinstance(ci, list) and \
                len(ci) == 2 else ""
            bold = " best" if v is not None and v == best[h] and name in rivals else ""
            cells.append(f'<td class="n{bold}">{_num(v)}{ci_txt}</td>')
        s90 = p.get("steps_to_90", "—")
        cells.append(f'<td class="n">{"not reached" if s90 is None else _num(s90)}</td>')
        cells.append(f'<td class="n">{_num(p.get("late_regret_per_step"))}</td>')
        acc = p.get("type_accuracy_at") or {}
        if accs:
            shown = [f"{acc[a]:.0%}" if isinstance(acc.get(a), int | float) else "—" for a in accs]
            cells.append(f'<td class="n">{" / ".join(shown) if acc else "—"}</td>')
        cells.append(f'<td class="n">{_num(_run_time(p))}</td>')
        rows.append(f'<tr class="{"ours" if name == ours else ""}">{"".join(cells)}</tr>')
    head = ([("Policy", "")] + [(f"Regret @{h}", "n") for h in hs] +
            [("Steps to 90%", "n"), ("Late regret / step", "n")] +
            ([("Type accuracy @" + " / @".join(accs), "n")] if accs else []) + [("Run time (s)", "n")])
    window = (policies.get(ours) or {}).get("late_window")
    late = (f"steps {_e(window[0])}–{_e(window[1])}" if isinstance(window, list) and len(window) == 2
            else "the end of the run")
    note = ('<p class="note">Regret is cumulative, averaged over the population test users, with its 95% '
            "confidence interval in brackets; bold marks the lowest among non-oracle policies. Steps to 90% is "
            "the first step at which a policy's expected reward (5-step moving average) is 90% of the way from "
            f"random to the oracle; late regret is the mean regret per step over {late}; type accuracy is how "
            "often the most probable type is the user's true type.</p>")
    return _table(head, rows) + note


def _run_time(p: Mapping[str, Any]) -> float | None:
    """Wall time of a policy's run: ``elapsed_s``, else ``build_s + serve_s``."""
    if isinstance(p.get("elapsed_s"), int | float):
        return float(p["elapsed_s"])
    parts = [p.get(k) for k in ("build_s", "serve_s")]
    nums = [float(v) for v in parts if isinstance(v, int | float)]
    return sum(nums) if nums else None


def _settings(doc: Mapping[str, Any]) -> str:
    policies = doc.get("policies") or {}
    ours = doc.get("ours")
    names = figures.policy_order(policies, ours)
    colors = figures.policy_colors(names)
    cards = []
    for name in names:
        pairs = _flatten((policies[name] or {}).get("settings") or {})
        body = _kv_table(pairs) if pairs and pairs != [("", {})] else '<p class="note">no settings</p>'
        cards.append(f'<div class="card"><h4>{_policy_name(name, ours, colors)}</h4>{body}</div>')
    return ('<p class="note">Every policy as it ran, baselines included, so their tuning can be checked.</p>'
            f'<div class="cards">{"".join(cards)}</div>')


def _fit(doc: Mapping[str, Any]) -> str:
    fit = doc.get("fit") or {}
    facts = []
    if fit.get("selected_k") is not None:
        facts.append(f"Chosen K = <strong>{_e(fit['selected_k'])}</strong>")
    if isinstance(fit.get("fit_s"), int | float):
        facts.append(f"fit time {_num(fit['fit_s'])} s")
    if fit.get("minority_recovered") is not None:
        facts.append("minority type recovered: " + ("yes" if fit["minority_recovered"] else "<strong>no</strong>"))
    lead = f"<p>{'; '.join(facts)}.</p>" if facts else ""
    return lead + _img(figures.k_path_png(fit), "BIC against number of types",
                       "Model selection over the number of types K; the marked point is the chosen K.")


def _coldstart(doc: Mapping[str, Any], prefix: str) -> list[tuple[str, str, str]]:
    """The (anchor, title, body) sections of one cold-start result file."""
    ours = doc.get("ours") or "ours"
    sections = [
        ("regret", "Cumulative regret", _img(
            figures.regret_curves_png(doc), "Cumulative regret against step",
            f"Mean cumulative regret of the population test users against step, with 95% bands; {ours} is the "
            "thick line. Lower and flatter is better.")),
    ]
    gain = figures.gain_captured_png(doc)
    if gain is not None:
        sections.append(("gain", "Gain captured", _img(
            gain, "Gain captured G(t)",
            f"G(t) = (R_scratch − R_ours) / (R_scratch − R_oracle_type): the share of the regret gap between "
            f"learning each user from scratch (from_scratch_ts) and knowing their type (oracle_type) that {ours} "
            "closes by step t. Dashed and dotted lines mark 0.9 and 0.85.")))
    posterior = figures.type_posterior_png(doc.get("type_posterior_examples") or [])
    if posterior is not None:
        sections.append(("posterior", "Type posterior of example users", _img(
            posterior, "Posterior over types for example users",
            f"How {ours}'s belief over the fitted types evolves as each user acts. The fitted type matching "
            "the user's true type is in red; for an outlier the right answer is 'novel'.")))
    horizons = figures.group_horizons(doc)
    sections.append(("groups", "Regret by user group", _img(
        figures.group_regret_png(doc), "Regret per true type, minority and outliers",
        f"Cumulative regret at step {' and '.join(horizons) or '—'} for users of each true type, the minority "
        "type and the outliers; the oracle (zero regret) is omitted, off-scale bars are clipped and labelled.")))
    sections.append(("results", "Results by policy", _results_table(doc)))
    if prefix:  # a second preset: its settings are usually the same, so keep them folded
        folded = f"<details><summary>Settings of every policy</summary>{_settings(doc)}</details>"
        sections.append(("settings", "Policy settings", folded))
    else:
        sections.append(("settings", "Policy settings", _settings(doc)))
    if doc.get("fit"):
        sections.append(("fit", "Population fit", _fit(doc)))
    return [(f"{prefix}{a}", t, b) for a, t, b in sections]


def _speed_note(speed: Mapping[str, Any], key: str) -> str:
    """The context speed.json gives for one measure, as plain text."""
    get = speed.get
    if key == "act_update_us":
        return f"policy {get('act_update_policy')}" if get("act_update_policy") else ""
    if key == "vw_predict_learn_us":
        return "" if get(key) is not None else str(get("vw_note") or "vowpalwabbit not installed?")
    if key.startswith("batch_decisions"):
        sizes = f"{_num(get('batch_users'))} users in chunks of {_num(get('batch_chunk'))}" if get(
            "batch_users") else ""
        policy = get("batch_policy") if key == "batch_decisions_per_s" else ""
        return "; ".join(str(x) for x in (policy, sizes) if x)
    if key == "em_fit_s_100k" and get(key) is None:
        return "not run at this size (quick run?)" + ("; see the row below" if get("em_fit_s") else "")
    if key.startswith("em_fit"):
        users = f"{_num(get('em_fit_users'))} users" if key == "em_fit_s" and get("em_fit_users") else ""
        iters = f"{_num(get('em_fit_iterations'))} iterations" if get("em_fit_iterations") else ""
        return "; ".join(str(x) for x in (users, get("em_fit_settings"), iters) if x)
    return ""


def _speed(speed: Mapping[str, Any]) -> str:
    """Speed table: our act + update next to Vowpal Wabbit's, then throughput, fit time and belief size."""
    keys = [k for k in _SPEED_LABELS if k in speed]
    keys += [k for k, v in speed.items() if k not in _SPEED_LABELS and k not in _SPEED_CONTEXT
             and (v is None or isinstance(v, int | float | str))]
    rows = []
    for key in keys:
        label, unit = _SPEED_LABELS.get(key, (key.replace("_", " "), ""))
        value = speed[key]
        shown = "not measured" if value is None else _num(value)
        rows.append(f'<tr><td>{_e(label)}</td><td class="n">{_e(shown)}</td><td>{_e(unit)}</td>'
                    f'<td class="muted">{_e(_speed_note(speed, key))}</td></tr>')
        if key == "act_update_us":
            for name, us in (speed.get("act_update_us_by_policy") or {}).items():
                if name != speed.get("act_update_policy"):
                    rows.append(f"<tr><td>{_e(label)}, {_e(name)}</td><td class=\"n\">{_e(_num(us))}</td>"
                                f'<td>µs</td><td class="muted">policy {_e(name)}</td></tr>')
    ours, vw = speed.get("act_update_us"), speed.get("vw_predict_learn_us")
    ratio = ""
    if isinstance(ours, int | float) and isinstance(vw, int | float) and ours > 0 and vw > 0:
        word = "faster" if vw >= ours else "slower"
        ratio = (f"<p>One act + update takes {_num(ours)} µs against {_num(vw)} µs for Vowpal Wabbit's "
                 f"predict + learn: {max(vw, ours) / min(vw, ours):.1f}× {word}.</p>")
    return ratio + _table([("Measure", ""), ("Value", "n"), ("Unit", ""), ("Note", "")], rows)


# ------------------------------------------------------------------------------ knowledge tracing, tutoring

def _details(coldstart: Mapping[str, Any], hard: Mapping[str, Any] | None, speed: Mapping[str, Any] | None,
             kt: Mapping[str, Any] | None = None, tutoring: Mapping[str, Any] | None = None) -> str:
    blocks = []
    for label, doc in (("Benchmark config", coldstart), ("Hard preset config", hard)):
        if doc:
            pairs = [("version", doc.get("version")), ("seed", doc.get("seed"))]
            blocks.append(f"<details><summary>{_e(label)}</summary>"
                          f"{_kv_table(pairs + _flatten(doc.get('config') or {}))}</details>")
    for label, doc in (("Speed benchmark config", speed), ("Knowledge-tracing benchmark config", kt),
                       ("Tutoring benchmark config", tutoring)):
        if doc:
            pairs = [(k, doc.get(k)) for k in ("version", "seed", "quick") if k in doc]
            pairs += _flatten(doc.get("config") or {})
            if pairs:
                blocks.append(f"<details><summary>{_e(label)}</summary>{_kv_table(pairs)}</details>")
    machines = [("Machine (cold-start run)", coldstart.get("machine")),
                ("Machine (speed run)", (speed or {}).get("machine")),
                ("Machine (knowledge-tracing run)", (kt or {}).get("machine")),
                ("Machine (tutoring run)", (tutoring or {}).get("machine"))]
    for label, machine in machines:
        if machine:
            blocks.append(f"<details><summary>{_e(label)}</summary>{_kv_table(_flatten(machine))}</details>")
    return "".join(blocks)


def _skipped(doc: Mapping[str, Any] | None) -> str:
    """A visible box naming each step the run skipped and why (nothing when none was)."""
    steps = (doc or {}).get("skipped") or []
    if not steps:
        return ""
    items = "".join(f"<li><strong>{_e(s.get('step'))}</strong>: {_e(s.get('reason'))}</li>" for s in steps)
    return f'<div class="skipped"><strong>Steps skipped in this run</strong><ul>{items}</ul></div>'


def render_report(coldstart: Mapping[str, Any], *, hard: Mapping[str, Any] | None = None,
                  speed: Mapping[str, Any] | None = None, targets: Mapping[str, Any] | None = None,
                  kt: Mapping[str, Any] | None = None, tutoring: Mapping[str, Any] | None = None,
                  replays: Mapping[str, Mapping[str, Any]] | None = None,
                  responsible: Mapping[str, Any] | None = None, scale: Mapping[str, Any] | None = None,
                  skipped: Mapping[str, Any] | None = None, sparse: Mapping[str, Any] | None = None,
                  dynamics: Mapping[str, Any] | None = None, refine: Mapping[str, Any] | None = None) -> str:
    """Render the parsed benchmark results as one HTML page (a string); absent results leave no section, and
    the steps listed in ``skipped`` (``{"skipped": [{"step": ..., "reason": ...}]}``) are named at the top.

    >>> page = render_report({"seed": 0, "config": {"preset": "default"}})   # a nearly empty coldstart.json
    >>> page.startswith("<!DOCTYPE html>"), "seed 0" in page, 'id="speed"' in page
    (True, True, False)
    >>> 'id="speed"' in render_report({"seed": 0}, speed={"act_update_us": 20.0, "belief_bytes": 350})
    True
    """
    sections: list[tuple[str, str, str]] = []
    if targets and targets.get("rows"):
        sections.append(("targets", "Targets", _targets(targets)))
    sections += _coldstart(coldstart, "")
    if hard:
        inner = "".join(_section(a, t, b, level=3) for a, t, b in _coldstart(hard, "hard-"))
        sections.append(("hard", "Hard preset", _summary(hard) + inner))
    if speed:
        sections.append(("speed", "Speed", _speed(speed)))
    if kt:
        sections.append(("kt", "Knowledge tracing on unseen ASSISTments 2009 students", _kt(kt)))
    if tutoring:
        sections.append(("tutoring", "Tutoring (warmstart/Tutoring-v0)", _tutoring(tutoring)))
    if replays:
        sections.append(("replay", "New-user replay on logs", _replay(replays)))
    if refine:
        sections.append(("refine", "Items refined by the types", _refine(refine)))
    if responsible:
        sections.append(("responsible", "Responsible personalization", responsible_section(responsible)))
    if scale:
        sections.append(("scale", "Scale", scale_section(scale)))
    if sparse:
        sections.append(("sparse", "Sparse and noisy training histories", sparse_section(sparse)))
    if dynamics:
        sections.append(("dynamics", "Learned response dynamics", dynamics_section(dynamics)))
    sections.append(("details", "Machine and configuration", _details(coldstart, hard, speed, kt, tutoring)))

    toc = "".join(f'<a href="#{_e(a)}">{_e(t)}</a>' for a, t, _ in sections)
    version = coldstart.get("version")
    meta = " · ".join(x for x in (f"warmstart {_e(version)}" if version else "",
                                  f"seed {_e(coldstart['seed'])}" if coldstart.get("seed") is not None else "",
                                  f"preset {_e((coldstart.get('config') or {}).get('preset'))}"
                                  if (coldstart.get("config") or {}).get("preset") else "") if x)
    body = "".join(_section(a, t, b) for a, t, b in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>warmstart benchmark report</title><style>{CSS}</style></head><body><main>"
        f'<header><h1>warmstart benchmark report</h1><p class="meta">{meta}</p>'
        f'<nav class="toc">{toc}</nav></header>'
        f"{_skipped(skipped)}{_summary(coldstart)}{_tiles(coldstart, speed, targets, kt, tutoring)}{body}"
        f"<footer>Generated by <code>warmstart.report.write_report</code> from the JSON files next to this "
        f"page.</footer></main></body></html>\n"
    )


def write_report(out_dir: str | Path) -> Path:
    """Read the benchmark JSON files in ``out_dir`` and write ``out_dir/index.html``; return its path.

    ``coldstart.json`` is required; ``coldstart-hard.json``, ``speed.json``, ``targets.json``, ``kt.json``,
    ``tutoring.json``, ``responsible.json``, ``scale.json``, ``sparse.json``, ``dynamics.json``, ``refine.json``, ``skipped.json`` and
    ``replay.json`` (in the folder or in its sub-folders, one per replayed log) are used when present. Raises :class:`FileNotFoundError` if ``coldstart.json`` is missing and :class:`ValueError`
    (or :class:`TypeError`) if a file is not valid JSON (or not a JSON object).

    >>> import json, pathlib
    >>> bench = pathlib.Path("bench")
    >>> bench.mkdir(exist_ok=True)
    >>> _ = (bench / "coldstart.json").write_text(json.dumps({"seed": 0, "config": {"preset": "default"}}))
    >>> index = write_report(bench)
    >>> index.name, index.read_text().count("<h1>")
    ('index.html', 1)
    >>> write_report("elsewhere")
    Traceback (most recent call last):
    ...
    FileNotFoundError: cannot build the report: coldstart.json not found in elsewhere (run the cold-start ...
    """
    folder = Path(out_dir)
    source = folder / COLDSTART
    if not source.is_file():
        raise FileNotFoundError(f"cannot build the report: {COLDSTART} not found in {folder} "
                                "(run the cold-start benchmark into that folder first)")
    optional: dict[str, dict[str, Any] | None] = {}
    for name in (COLDSTART_HARD, SPEED, TARGETS, KT, TUTORING, RESPONSIBLE, SCALE, SKIPPED, SPARSE, DYNAMICS,
                 REFINE):
        path = folder / name
        optional[name] = _load(path) if path.is_file() else None
    replays = {path.parent.name if path.parent != folder else "replay": _load(path)
               for path in [folder / REPLAY, *sorted(folder.glob(f"*/{REPLAY}"))] if path.is_file()}
    page = render_report(_load(source), hard=optional[COLDSTART_HARD], speed=optional[SPEED],
                         targets=optional[TARGETS], kt=optional[KT], tutoring=optional[TUTORING],
                         replays=replays or None, responsible=optional[RESPONSIBLE], scale=optional[SCALE],
                         skipped=optional[SKIPPED], sparse=optional[SPARSE], dynamics=optional[DYNAMICS],
                         refine=optional[REFINE])
    index = folder / INDEX
    index.write_text(page, encoding="utf-8")
    return index

