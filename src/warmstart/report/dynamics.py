"""The report's section on learned response dynamics, from ``dynamics.json`` (``warmstart bench dynamics``):
planning on ``Satiation-v0`` with the learned dynamics against the given ones and the oracle, the structure
chosen against the simulator's, parameter recovery per type, and next-rating prediction on MovieLens by
position (the dynamic model minus the static one, with paired CIs) with its figure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib

from warmstart.report import _plot
from warmstart.report._page import _ci, _dec, _e, _finite, _img, _num, _table

#: the planners' rows, in order, with what each one is
PLANNERS = (("mixture_plan", "plans with the learned dynamics"),
            ("mixture_plan_given", "plans with the simulator's dynamics given"),
            ("mixture_ts_learned", "myopic, on the learned model"),
            ("mixture_ts", "myopic (the gain's zero)"),
            ("oracle_plan", "knows each user's parameters (the gain's one)"))


def _planning(sat: Mapping[str, Any]) -> str:
    shares = sat.get("gain_shares") or {}
    policies = sat.get("policies") or {}
    head = [("Policy", ""), ("What it is", ""), ("Long-term reward", "n"), ("Short-term reward", "n"),
            ("Late clickbait share", "n"), ("Share of the oracle's gain (95% CI)", "n")]
    rows = []
    for name, what in PLANNERS:
        if name not in policies:
            continue
        p, s = policies[name], shares.get(name) or {}
        share = f"{_dec(s.get('share'))} {_ci(s.get('ci95'), _dec)}" if s else "—"
        rows.append(f"<tr><td><strong>{_e(name)}</strong></td><td>{_e(what)}</td>"
                    f"<td class=\"n\">{_dec(p.get('long_term'))}</td><td class=\"n\">{_dec(p.get('short_term'))}</td>"
                    f"<td class=\"n\">{_dec(p.get('late_clickbait_share'))}</td><td class=\"n\">{share}</td></tr>")
    return _table(head, rows)


def _structure(sat: Mapping[str, Any]) -> str:
    chosen = sat.get("chosen") or {}
    spec, true = chosen.get("spec") or {}, chosen.get("true") or {}
    half = chosen.get("half_lives") or [None, None]
    head = [("", ""), ("Learned", "n"), ("Simulator", "n")]
    pairs = [("exposure decay", _dec(spec.get("exposure_decay")), _dec(true.get("exposure_decay"))),
             ("habit decay", _dec(spec.get("habit_decay")), _dec(true.get("habit_decay"))),
             ("half-lives (exposure, habit)", f"{_num(half[0])}, {_num(half[1])}", "—"),
             ("their 95% CIs (the recovery's bootstrap)", _decay_cis((sat.get("recovery") or {}).get("decay_bootstrap")),
              "—"),
             ("habit categories", _e(spec.get("habit_categories")), _e(true.get("habit_categories"))),
             ("practice", _e(spec.get("practice")), _e(true.get("practice"))),
             ("K (BIC)", _e((sat.get("fit") or {}).get("selected_k")), "—")]
    rows = [f"<tr><td>{_e(a)}</td><td class=\"n\">{b}</td><td class=\"n\">{c}</td></tr>" for a, b, c in pairs]
    return f"<p>Chosen by: {_e(chosen.get('criterion'))}.</p>" + _table(head, rows)


def _decay_cis(boot: Mapping[str, Any] | None) -> str:
    """The bootstrap's half-life CIs of the two decays, ``—`` for one not re-chosen.

    >>> _decay_cis({"exposure_decay": {"half_life_ci95": [1.8, 2.05]}}), _decay_cis(None)
    ('<span class="ci">[1.80, 2.05]</span>, —', '—')
    """
    if not boot:
        return "—"
    cis = [(boot.get(k) or {}).get("half_life_ci95") for k in ("exposure_decay", "habit_decay")]
    return ", ".join(_ci(ci, lambda v: _dec(v, 2)) if ci else "—" for ci in cis)


def _recovery(rec: Mapping[str, Any]) -> str:
    per_type = rec.get("per_type") or {}
    head = [("True type", "n"), ("Training users", "n"), ("Fitted type", "n"), ("CIs covering", "n"),
            ("Simultaneous band covering", "n"), ("Parameters not covered: true, fitted [95% CI]", "")]
    rows = []
    for t, r in sorted(per_type.items(), key=lambda kv: int(kv[0])):
        covers, ci = r.get("covers") or {}, r.get("ci95") or {}
        missed = [f"{_e(name)}: {_dec((r.get('true') or {}).get(name), 2)}, "
                  f"{_dec((r.get('fitted') or {}).get(name), 2)} {_ci(ci.get(name), lambda v: _dec(v, 2))}"
                  for name, ok in covers.items() if not ok]
        found = r.get("fitted_type") if r.get("found") else "not found"
        rows.append(f"<tr><td class=\"n\">{_e(t)}</td><td class=\"n\">{_num(r.get('n_train_users'))}</td>"
                    f"<td class=\"n\">{_e(found)}</td>"
                    f"<td class=\"n\">{_e(r.get('n_covered'))} of {_e(r.get('n_params'))}</td>"
                    f"<td class=\"n\">{_e(r.get('n_covered_simultaneous', '—'))}</td>"
                    f"<td>{'; '.join(missed) or 'none'}</td></tr>")
    note = f"<p class=\"note\">{_e(rec.get('ci_note'))}</p>" if rec.get("ci_note") else ""
    def verdict(met: Any) -> str:
        return "met" if met else ("<strong>not met</strong>" if met is not None else "not measured")

    band = ""
    if "met_simultaneous" in rec:
        band = (f" With the simultaneous 95% band over all of them (+-{_dec(rec.get('simultaneous_c'), 2)} bootstrap "
                f"SDs): {verdict(rec.get('met_simultaneous'))}.")
    return (f"<p>Target: every type with at least 200 training users has every parameter inside its 95% CI: "
            f"{verdict(rec.get('met'))} ({_e(rec.get('n_covered', '—'))} of {_e(rec.get('n_params', '—'))} "
            f"covered; {_e(rec.get('n_bootstrap'))} bootstrap fits).{band}</p>" + _table(head, rows) + note)


def _positions(by_position: Mapping[str, Any]) -> list[str]:
    return sorted(by_position, key=lambda p: int(str(p).split("-")[0]))


def movielens_png(by_position: Mapping[str, Any]) -> bytes | None:
    """Two panels over the positions of the new users' ratings: the dynamic model's log likelihood per
    rating minus the static one's, and its RMSE minus the static one's, with 95% CIs (paired, over users).

    >>> row = {"loglik_diff": {"value": 0.01, "ci95": [-0.01, 0.03]}, "rmse_diff": {"value": -0.02}}
    >>> movielens_png({"1-5": row, "6-10": row})[1:4], movielens_png({})
    (b'PNG', None)
    """
    positions = _positions(by_position)
    if not positions:
        return None
    with matplotlib.rc_context(_plot._STYLE):
        fig = _plot._new_figure(7.2, 2.8)
        axes = fig.subplots(1, 2)
        for ax, key, label in ((axes[0], "loglik_diff", "log likelihood: dynamic - static (higher: better)"),
                               (axes[1], "rmse_diff", "RMSE: dynamic - static (lower: better)")):
            x = list(range(len(positions)))
            diffs = [by_position[p].get(key) or {} for p in positions]
            y = [float(d["value"]) if _finite(d.get("value")) else float("nan") for d in diffs]
            cis: list[list[float]] = [d["ci95"] if isinstance(d.get("ci95"), list) else [v, v]
                                      for d, v in zip(diffs, y, strict=True)]
            err = [[v - ci[0] for v, ci in zip(y, cis, strict=True)], [ci[1] - v for v, ci in zip(y, cis, strict=True)]]
            ax.errorbar(x, y, yerr=err, fmt="o", color="#1f6feb", capsize=3)
            ax.axhline(0.0, color="#666", lw=0.8)
            ax.set_xticks(x, positions)
            ax.set_xlabel("position of the rating in the new user's history")
            ax.set_title(label, fontsize=9)
            _plot._style_axes(ax)
        return _plot._png(fig)


def _movielens(ml: Mapping[str, Any]) -> str:
    by_position = ml.get("by_position") or {}
    head = [("Positions", ""), ("Ratings", "n"), ("Log likelihood, static", "n"), ("dynamic", "n"),
            ("Difference (95% CI)", "n"), ("RMSE, static", "n"), ("dynamic", "n"), ("Difference (95% CI)", "n")]

    def diff(d: Mapping[str, Any] | None) -> str:
        d = d or {}
        return f"{_dec(d.get('value'), 4)} {_ci(d.get('ci95'), lambda v: _dec(v, 4))}"

    rows = []
    for p in _positions(by_position):
        r = by_position[p]
        s, d = r.get("static") or {}, r.get("dynamic") or {}
        rows.append(f"<tr><td>{_e(p)}</td><td class=\"n\">{_num(r.get('n_events'))}</td>"
                    f"<td class=\"n\">{_dec(s.get('loglik'), 4)}</td><td class=\"n\">{_dec(d.get('loglik'), 4)}</td>"
                    f"<td class=\"n\">{diff(r.get('loglik_diff'))}</td><td class=\"n\">{_dec(s.get('rmse'), 4)}</td>"
                    f"<td class=\"n\">{_dec(d.get('rmse'), 4)}</td><td class=\"n\">{diff(r.get('rmse_diff'))}</td></tr>")
    dyn = ml.get("dynamic") or {}
    spec = dyn.get("spec") or {}
    lead = (f"<p>Next-rating prediction for the {_num((ml.get('data') or {}).get('n_test_users'))} later users of "
            f"MovieLens, each rating predicted from the user's earlier ones, by the static family and by the "
            f"dynamic one (columns {_e(', '.join(dyn.get('columns') or []))}; habit genres "
            f"{_e(spec.get('habit_categories'))}, practice {_e(spec.get('practice'))}).</p>")
    figure = _img(movielens_png(by_position), "dynamic minus static next-rating prediction by position",
                  "The dynamic model minus the static one, per rating, by its position in the new user's "
                  "history, with 95% CIs over users.")
    return lead + _table(head, rows) + figure


def dynamics_section(doc: Mapping[str, Any]) -> str:
    """The report's section from ``dynamics.json``: planning, the structure chosen, recovery and MovieLens
    (each part when the file has it).

    >>> dynamics_section({"satiation": {"gain_shares": {}, "policies": {}}})[:42]
    '<p>Response dynamics learned from logs: a '
    >>> "MovieLens" in dynamics_section({"movielens": {"by_position": {}}})
    True
    """
    lead = ("<p>Response dynamics learned from logs: a user's reward depends on their recent history "
            "(satiation per category decaying in time, a habit stock, practice), the structure chosen on the "
            "training users and the per-type coefficients fitted by EM (<code>warmstart bench dynamics</code>)."
            "</p>")
    parts: list[str] = [lead]
    sat = doc.get("satiation")
    if sat:
        parts += ["<h3 id=\"dynamics-planning\">Planning on Satiation-v0</h3>", _planning(sat),
                  "<h3 id=\"dynamics-structure\">The structure chosen</h3>", _structure(sat)]
        if sat.get("recovery"):
            parts += ["<h3 id=\"dynamics-recovery\">Parameter recovery</h3>", _recovery(sat["recovery"])]
    ml = doc.get("movielens")
    if ml:
        parts += ["<h3 id=\"dynamics-movielens\">MovieLens: does the history help predict the next rating?</h3>",
                  _movielens(ml)]
    return "".join(parts)
