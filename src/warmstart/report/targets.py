"""The issue's targets, evaluated from benchmark JSON: one row per target with the measured figure, whether it
is met, and the command that measured it. Written as ``targets.json`` (for the report) and ``targets.md``
(for the results tables: every row in docs/results.md, the ``HEADLINE`` rows in the README)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warmstart.report._rows import _cmd, _fmt, _load, _ratio, _row
from warmstart.report.coldstart_targets import (  # noqa: F401  (_example_coldstart: the examples')
    BASELINES,
    _example_coldstart,
    coldstart_rows,
)
from warmstart.report.dynamics_targets import dynamics_rows
from warmstart.report.fair_targets import fair_type_rows
from warmstart.report.replay_targets import fit_log_rows, replay_rows
from warmstart.report.sparse_targets import sparse_rows

__all__ = ["BASELINES", "HEADLINE", "coldstart_rows", "headline_table", "kt_rows", "markdown_table", "merge_repeated",
           "ope_rows", "responsible_rows", "scale_rows", "service_rows", "speed_rows", "tutoring_rows",
           "write_targets"]


def speed_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The speed targets (``speed.json``).

    >>> speed = {"act_update_us": 20.0, "vw_predict_learn_us": 60.0, "act_update_policy": "mixture_ids",
    ...          "batch_decisions_per_s": 250_000.0, "em_fit_s": 3.0, "em_fit_users": 10_000,
    ...          "belief_bytes": 350}
    >>> for row in speed_rows(speed):
    ...     print(row["target"], "|", row["measured"], "|", row["met"])
    act+update one user (mixture_ids) | 20.0 us; VW 60.0 us (3.00x) | True
    batched decisions, one core | 250,000/s (one draw, no propensity: 0/s) | True
    EM fit, 100k users x 50 events, K = 8 | 3.0 s on 10000 users | None
    serialised belief (d = 10, K = 8) | 350 bytes | True
    """
    cmd = _cmd(doc, "speed")
    us, vw = doc["act_update_us"], doc.get("vw_predict_learn_us")
    speedup = _ratio(vw, us)
    backend = f"kernels: {doc.get('kernels', 'numpy')}"
    rows = [
        _row(f"act+update one user ({doc.get('act_update_policy')})", "<= 50 us and >= 2x faster than VW",
             f"{us:.1f} us; VW {_fmt(vw, 1)} us ({_fmt(speedup)}x)",
             None if vw is None else (us <= 50 and speedup is not None and speedup >= 2), cmd,
             f"{backend}; by policy: "
             f"{', '.join(f'{k} {v:.1f} us' for k, v in doc.get('act_update_us_by_policy', {}).items())}"
             f"; numpy path (no numba) {_fmt(doc.get('act_update_us_numpy'), 1)} us"),
        _row("batched decisions, one core", ">= 100,000 per second",
             f"{doc['batch_decisions_per_s']:,.0f}/s (one draw, no propensity: "
             f"{doc.get('batch_decisions_per_s_one_draw', 0):,.0f}/s)",
             doc["batch_decisions_per_s"] >= 100_000, cmd,
             f"{backend}; {doc.get('batch_policy', '')}; numpy path "
             f"{_fmt(doc.get('batch_decisions_per_s_numpy'), 0)}/s"),
    ]
    em = doc.get("em_fit_s_100k")
    rows.append(_row("EM fit, 100k users x 50 events, K = 8", "<= 30 s",
                     f"{em:.1f} s" if em is not None else f"{doc['em_fit_s']:.1f} s on {doc['em_fit_users']} users",
                     None if em is None else em <= 30, cmd, doc.get("em_fit_settings", "")))
    rows.append(_row("serialised belief (d = 10, K = 8)", "<= 2 KB", f"{doc['belief_bytes']} bytes",
                     doc["belief_bytes"] <= 2048, cmd))
    return rows


def kt_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 5's knowledge-tracing targets (unseen ASSISTments 2009 students).

    >>> ours = {"auc": 0.77, "auc_first10": 0.72, "log_loss": 0.52, "fit_s": 12.0}
    >>> kt = {"config": {}, "models": {"ours": ours, "bkt": {"log_loss": 0.55}}}       # pyBKT did not run
    >>> [(row["measured"], row["met"]) for row in kt_rows(kt)][:3]
    [('pyBKT not run', None), ('0.7700', True), ('0.5200 vs bkt 0.5500', None)]
    """
    cmd = _cmd(doc, "kt")
    M = doc["models"]
    ours = M["ours"]
    rows = []
    py = M.get("pybkt")
    if py is None:
        rows.append(_row("AUC ours - pyBKT (unseen ASSIST2009 students)", ">= +0.02", "pyBKT not run", None, cmd))
    else:
        d = ours["auc"] - py["auc"]
        rows.append(_row("AUC ours - pyBKT (unseen ASSIST2009 students)", ">= +0.02",
                         f"{ours['auc']:.4f} - {py['auc']:.4f} = {d:+.5f}", d >= 0.02, cmd, _no_items(M, py, "auc")))
        d10 = ours["auc_first10"] - py["auc_first10"]
        rows.append(_row("AUC ours - pyBKT on responses 1-10 of each student", ">= +0.03",
                         f"{ours['auc_first10']:.4f} - {py['auc_first10']:.4f} = {d10:+.5f}", d10 >= 0.03, cmd,
                         _no_items(M, py, "auc_first10")))
    rows.append(_row("stretch: AUC ours", ">= 0.75", f"{ours['auc']:.4f}", ours["auc"] >= 0.75, cmd))
    others = {k: M[k]["log_loss"] for k in ("pybkt", "bkt") if k in M}
    rows.append(_row("log loss ours below pyBKT and bkt", "below both",
                     f"{ours['log_loss']:.4f} vs " + ", ".join(f"{k} {v:.4f}" for k, v in others.items()),
                     all(ours["log_loss"] < v for v in others.values()) if "pybkt" in others else None, cmd))
    ratio = ours.get("fit_s_ratio_to_pybkt")
    rows.append(_row("fit time ours (2 cores)", "<= 60 s; ratio to pyBKT reported",
                     f"{ours['fit_s']:.1f} s" + ("" if ratio is None else
                                                 f"; pyBKT {py['fit_s']:.0f} s (ratio {ratio:.3f})"),
                     ours["fit_s"] <= 60, cmd, doc["config"].get("fit_timing_note", "")))
    return rows


def _no_items(M: dict[str, Any], py: dict[str, Any], key: str) -> str:
    if "ours_no_items" not in M:
        return ""
    return f"without item difficulties (pyBKT's information): {M['ours_no_items'][key] - py[key]:+.5f}"


def tutoring_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 5's tutoring targets (warmstart/Tutoring-v0).

    >>> per_type = {"per_type": {"0": {"ratio": 0.8}, "1": {"ratio": 0.6}}, "met": True}
    >>> targets = {"steps_ours_over_bkt_mastery": {"ratio": 0.7, "ci95": [0.6, 0.8], "met": True},
    ...            "steps_ours_over_bkt_mastery_per_type": per_type,
    ...            "false_mastery_ours_vs_bkt_mastery": {"ours": 0.04, "bkt_mastery": 0.05, "met": True},
    ...            "steps_ours_over_oracle_type": {"ratio": 1.1, "met": True}}
    >>> [row["measured"] for row in tutoring_rows({"targets": targets})]
    ['0.70 (CI 0.60-0.80)', 'type 0 0.80, type 1 0.60', '0.040 vs 0.050', '1.10']
    """
    cmd = _cmd(doc, "tutoring")
    T = doc["targets"]
    s = T["steps_ours_over_bkt_mastery"]
    per = T["steps_ours_over_bkt_mastery_per_type"]
    fm = T["false_mastery_ours_vs_bkt_mastery"]
    o = T["steps_ours_over_oracle_type"]
    fr = doc.get("frontier") or {}
    at = fr.get("ratio_to_bkt_steps")
    sweep_note = ("" if at is None else f"at bkt_mastery's false-mastery rate ({fr['bkt_false_mastery_rate']:.3f}) "
                  f"ours needs {at:.2f}x its steps (threshold sweep)")
    return [
        _row("tutoring: practice steps to mastery, ours / bkt_mastery", "<= 0.8",
             f"{s['ratio']:.2f} (CI {s['ci95'][0]:.2f}-{s['ci95'][1]:.2f})", s["met"], cmd, sweep_note),
        _row("tutoring: every type, ours / bkt_mastery", "<= 1.0",
             ", ".join(f"type {k} {v['ratio']:.2f}" for k, v in per["per_type"].items()), per["met"], cmd),
        _row("tutoring: false mastery rate, ours vs bkt_mastery", "<= bkt_mastery's",
             f"{fm['ours']:.3f} vs {fm['bkt_mastery']:.3f}", fm["met"], cmd),
        _row("tutoring: steps, ours / oracle_type", "<= 1.2", f"{o['ratio']:.2f}", o["met"], cmd),
    ]


def service_rows(doc: dict[str, Any], obp: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Issue 6's service targets (``warmstart bench service``) and the obp cross-check of the estimators.

    >>> service = {"sqlite_one_worker": {"round_trips_per_s": 1500.0, "p99_ms": 8.0, "errors": 0},
    ...            "probes": {"malformed": {"probes": 40, "server_errors": 0},
    ...                       "unauthenticated": {"probes": 10, "server_errors": 0},
    ...                       "schemathesis": {"requests": 900, "server_errors": 0}},
    ...            "rank_overhead_ms": 1.2, "rank_p50_ms": 1.5, "inprocess_act_us": 30.0}
    >>> for row in service_rows(service):                  # no PostgreSQL, kill -9 or obp parts: no rows
    ...     print(row["measured"], "|", row["met"])
    1500/s, p99 8.0 ms (0 errors) | True
    0 of 900 generated + 50 probe requests | True
    1.2 ms (HTTP rank p50 1.5 ms; in-process act 30 us) | True
    """
    cmd = _cmd(doc, "service")
    s = doc["sqlite_one_worker"]
    rows = [_row("rank + reward round trips, SQLite, one worker, loopback", ">= 1,000 per second, p99 <= 20 ms",
                 f"{s['round_trips_per_s']:.0f}/s, p99 {s['p99_ms']:.1f} ms ({s['errors']} errors)",
                 s["round_trips_per_s"] >= 1000 and s["p99_ms"] <= 20, cmd)]
    pg = doc.get("postgresql_two_workers")
    if pg is not None:
        rows.append(_row("PostgreSQL, two workers: no lost update (log replayed against the beliefs)",
                         "reported; 0 lost updates",
                         f"{pg['round_trips_per_s']:.0f}/s, p99 {pg['p99_ms']:.1f} ms; {pg['users_checked']} users "
                         f"checked, {pg['lost_updates']} lost updates, {pg['mismatched_beliefs']} mismatched",
                         pg["lost_updates"] == 0 and pg["mismatched_beliefs"] == 0 and pg["errors"] == 0, cmd))
    k = doc.get("kill9")
    if k is not None:
        c = k["check"]
        rows.append(_row("acknowledged rewards lost across 20 kill -9 under load", "0",
                         f"{k['lost_acknowledged_rewards']} of {k['round_trips_acknowledged']:,} in {k['kills_done']} "
                         f"kills; {c['mismatched_beliefs']} beliefs differ from the log",
                         k["kills_done"] >= 20 and k["lost_acknowledged_rewards"] == 0
                         and c["mismatched_beliefs"] == 0 and c["rewards_in_log_not_in_belief"] == 0, cmd))
    p = doc["probes"]
    fuzz = p.get("schemathesis", {})
    probe_n = p["malformed"]["probes"] + p["unauthenticated"]["probes"]
    fives = p["malformed"]["server_errors"] + p["unauthenticated"]["server_errors"] + fuzz.get("server_errors", 0)
    rows.append(_row("5xx answers under schemathesis and the malformed-input probe", "0",
                     f"{fives} of {fuzz.get('requests', 0):,} generated + {probe_n} probe requests", fives == 0
                     and "requests" in fuzz, cmd))
    rows.append(_row("rank latency overhead over the policy in-process", "reported",
                     f"{doc['rank_overhead_ms']:.1f} ms (HTTP rank p50 {doc['rank_p50_ms']:.1f} ms; in-process act "
                     f"{doc['inprocess_act_us']:.0f} us)", True, cmd))
    if obp is not None:
        cases = obp["estimators"]
        worst = max(c["max_abs_diff"] for c in cases.values())
        rows.append(_row("IPS, SNIPS, DM, DR equal obp's on the same inputs", "to 1e-6",
                         f"largest difference {worst:.1e} over {len(cases)} cases (OBD random campaign, synthetic, "
                         f"--log files); obp {obp['obp_version']}", worst <= 1e-6 and obp["ok"],
                         "benchmarks/peers/obp_check.py --json FILE (in .venv-obp)"))
    return rows


def ope_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The Bernoulli-TS policy estimated from the Open Bandit Dataset's random campaign (``warmstart ope``).

    >>> estimate = {"estimate": 0.005, "ci95": [0.004, 0.006]}
    >>> row = ope_rows({"campaign": "all", "ips": estimate, "snips": estimate, "dr": estimate,
    ...                 "on_policy_ctr_bts": estimate})[0]
    >>> row["measured"][:48], row["command"]
    ('IPS 0.00500 [0.00400, 0.00600], SNIPS 0.00500 [0', 'warmstart ope --campaign all --out FILE')
    """
    ci = {k: f"{doc[k]['estimate']:.5f} [{doc[k]['ci95'][0]:.5f}, {doc[k]['ci95'][1]:.5f}]"
          for k in ("ips", "snips", "dr", "on_policy_ctr_bts")}
    covered = all(doc[k]["ci95"][0] <= doc["on_policy_ctr_bts"]["estimate"] <= doc[k]["ci95"][1]
                  for k in ("ips", "snips", "dr"))
    return [_row(f"OBD ({doc['campaign']}): BTS estimated from the random campaign, next to its on-policy CTR",
                 "reported", f"IPS {ci['ips']}, SNIPS {ci['snips']}, DR {ci['dr']}; on-policy {ci['on_policy_ctr_bts']}"
                 f"{'' if covered else ' (not every interval covers it)'}", True,
                 f"warmstart ope --campaign {doc['campaign']} --out FILE")]


def responsible_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 7's responsible-personalization targets (``warmstart bench responsible``); parts not run are left
    out.

    >>> responsible_rows({})                                # nothing measured
    []
    >>> row = responsible_rows({"dp": {"epsilon": 1.0, "delta": 1e-6, "gain_kept": 0.93}})[0]
    >>> row["target"], row["measured"], row["met"]
    ('DP fit at epsilon = 1, delta = 1e-06: gain kept', '93.0%', True)
    """
    cmd = _cmd(doc, "responsible")
    rows = []
    fair = (doc.get("fairness") or {}).get(doc.get("ours", ""))
    if fair is not None:
        per = fair["per_type_G50"]
        rows.append(_row("every type: G_k(50); minority type", ">= 0.7; minority >= 0.7",
                         f"worst type {fair['worst_type']} {_fmt(fair['worst_type_gain'])} (types "
                         f"{', '.join(_fmt(per[k]) for k in sorted(per, key=int))}); minority "
                         f"{_fmt(fair['minority_gain'])} ({fair['minority_users']} users)",
                         fair["worst_type_gain"] >= 0.7 and fair["minority_gain"] >= 0.7, cmd))
        rows.append(_row("outliers: regret at 200, ours / from_scratch", "<= 1.05", _fmt(fair["outlier_ratio"]),
                         fair["outlier_ratio"] <= 1.05, cmd))
    if "switch_recovery_ratio" in doc:
        plain = doc["drift"]["policies"].get("mixture_ids", {})
        rows.append(_row("type switch at step 100: recovery ratio; detection within 15 steps; false alarms per 200 "
                         "steps", "<= 1.5; >= 90%; <= 5%",
                         f"{_fmt(doc['switch_recovery_ratio'])}; {doc['switch_detect_rate']:.0%}; "
                         f"{doc['false_alarm_rate']:.0%} (without change detection: recovery "
                         f"{_fmt(plain.get('switch_recovery_ratio'))})",
                         doc["switch_recovery_ratio"] <= 1.5 and doc["switch_detect_rate"] >= 0.9
                         and doc["false_alarm_rate"] <= 0.05, cmd))
        rows.append(_row("misleading start (5 responses of another type): regret at 100", "<= +20%",
                         f"+{doc['misleading_start_excess']:.0%} (a policy told when the misleading responses end: "
                         f"+{doc['misleading_start_floor']:.0%})", doc["misleading_start_excess"] <= 0.2, cmd))
        told = _ratio(doc["misleading_start_excess"], doc["misleading_start_floor"])
        late = doc.get("misleading_start_floor_late")
        rows.append(_row("stretch: misleading start, excess over that of a policy told when it ends", "<= 1.25x",
                         f"+{doc['misleading_start_excess']:.0%} / +{doc['misleading_start_floor']:.0%} = "
                         f"{_fmt(told)}x" + ("" if late is None else f" (a policy told one response late: "
                                             f"+{late:.0%}, {_fmt(_ratio(late, doc['misleading_start_floor']))}x)"),
                         None if told is None else told <= 1.25, cmd))
    sat = doc.get("satiation")
    if sat is not None:
        detail = doc.get("satiation_detail") or {}
        ci = detail.get("ratio_ci95")
        pol = detail.get("policies") or {}
        ceiling = _ratio((pol.get("oracle_plan") or {}).get("long_term"), sat["myopic_long_term"])
        per = {("outliers" if k == "-1" else f"type {k}"): v
               for k, v in (detail.get("per_type_long_term_ratio") or {}).items()}
        extra = (f" (CI {_fmt(ci[0])}-{_fmt(ci[1])})" if ci else "") + (
            f"; a planner knowing each user: {_fmt(ceiling)}" if ceiling is not None else "") + (
            "; per type " + ", ".join(f"{k} {_fmt(v)}" for k, v in per.items()) if per else "")
        rows.append(_row("satiation: long-term satisfaction, planning / myopic", ">= 1.15, short-term reported",
                         f"{_fmt(sat['ratio'])}{extra}; long-term {_fmt(sat['planning_long_term'])} vs "
                         f"{_fmt(sat['myopic_long_term'])}, short-term {_fmt(sat['planning_short_term'])} vs "
                         f"{_fmt(sat['myopic_short_term'])}", sat["ratio"] >= 1.15, cmd))
    dp = doc.get("dp")
    if dp is not None:
        detail = doc.get("dp_detail") or {}
        g = (f" (G(50) {_fmt(detail['G50_dp'], 3)} vs {_fmt(detail['G50_nonprivate'], 3)}, "
             f"{detail['n_train_users']:,} users, K = {detail['n_types']})") if "G50_dp" in detail else ""
        rows.append(_row(f"DP fit at epsilon = {dp['epsilon']:g}, delta = {dp['delta']:g}: gain kept", ">= 90%",
                         f"{dp['gain_kept']:.1%}{g}", dp["gain_kept"] >= 0.9, cmd))
    leak = doc.get("leakage")
    if leak is not None:
        lo, hi = leak["independent_ci95"]
        rows.append(_row("leakage audit: planted link found; chance when independent", "AUC >= 0.8; CI contains 0.5",
                         f"{_fmt(leak['correlated_auc'])}; {_fmt(leak['independent_auc'])} (CI {_fmt(lo)}-{_fmt(hi)})",
                         leak["correlated_auc"] >= 0.8 and lo <= 0.5 <= hi, cmd))
    fg = doc.get("forget")
    if fg is not None:
        rows.append(_row("forget: refit after forget vs a fit that never saw the users", "equal to 1e-9",
                         f"largest difference {fg['max_abs_diff']:.1e} ({len(fg['forgotten'])} users forgotten; "
                         f"{fg['max_abs_diff_before_forget']:.1e} before forgetting)", fg["max_abs_diff"] <= 1e-9, cmd))
    return rows + fair_type_rows(doc)


def scale_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 8's scale targets (``warmstart bench scale``); a step the run skipped is a row marked not
    measured.

    >>> scale = {"config": {"n_events": 50}, "stats_users": 1_000_000, "stats_1m_s": 40.0,  # the statistics
    ...          "stats_peak_gb": 2.5, "stats_sample_max_abs_diff": 1e-12,                 # step only
    ...          "stats_sample_users": 1000}
    >>> [(row["measured"][:10], row["met"]) for row in scale_rows(scale)]
    [('40.0 s, 2.', True), ('not measur', None), ('not measur', None), ('not measur', None)]
    """
    cmd = _cmd(doc, "scale")
    n = doc["stats_users"]
    rows = [_row(f"{n:,} users x {doc['config']['n_events']} events: log -> per-user statistics",
                 "<= 60 s, <= 4 GB peak",
                 f"{doc['stats_1m_s']:.1f} s, {doc['stats_peak_gb']:.2f} GB peak (DuckDB; equal to numpy to "
                 f"{doc['stats_sample_max_abs_diff']:.0e} on {doc['stats_sample_users']} users)",
                 n >= 1_000_000 and doc["stats_1m_s"] <= 60 and doc["stats_peak_gb"] <= 4, cmd)]
    em = doc.get("em")
    if em is not None:
        rows.append(_row(f"EM fit on {n:,} users, K = 8, d = 10", "<= 5 min, <= 8 GB peak",
                         f"{doc['em_1m_s']:.0f} s ({em['n_iter']} iterations"
                         f"{'' if em['converged'] else ', not converged'}), {doc['inproc_peak_gb']:.2f} GB peak",
                         n >= 1_000_000 and doc["em_1m_s"] <= 300 and doc["inproc_peak_gb"] <= 8, cmd))
    else:
        rows.append(_row("EM fit on 1M users, K = 8, d = 10", "<= 5 min, <= 8 GB peak", "not measured yet", None,
                         cmd))
    ray = doc.get("ray")
    if ray is None or em is None or doc.get("ray_speedup") is None:
        rows.append(_row("Ray, 2 workers, vs in-process one core", ">= 1.5x, same population to 1e-8",
                         "not measured", None, cmd))
    else:
        diff = doc["ray_max_abs_diff"]
        rows.append(_row(f"Ray, {ray['workers']} workers, vs in-process one core ({n:,} users, same fit)",
                         ">= 1.5x, same population to 1e-8",
                         f"{doc['ray_speedup']:.2f}x ({doc['ray_2w_s']:.0f} s vs {doc['inproc_s']:.0f} s; Ray's "
                         f"start-up {ray['start_s']:.1f} s apart; one pass over all users {ray['pass_s']:.1f} s vs "
                         f"{em['pass_s']:.1f} s); largest difference {diff:.1e}"
                         + (" (equal to the last bit)" if diff == 0 else ""),
                         n >= 1_000_000 and doc["ray_speedup"] >= 1.5 and diff <= 1e-8, cmd))
    inc = doc.get("incremental")
    if inc is None:
        rows.append(_row("incremental fit with 10% new users",
                         "<= 20% of a full fit's time, held-out likelihood within 1%", "not measured yet", None, cmd))
    else:
        h = inc["heldout_loglik_per_user"]
        side = "higher" if h["incremental"] >= h["full_refit"] else "lower"
        rows.append(_row(f"incremental fit with 10% new users ({inc['new_users']:,} on {n:,})",
                         "<= 20% of a full fit's time, held-out likelihood within 1%",
                         f"{inc['time_ratio']:.1%} ({inc['incremental_s']:.1f} s vs a full refit's "
                         f"{inc['full_refit_s']:.0f} s; the earlier users' sums took {inc['earlier_sums_s']:.0f} s "
                         f"once, at the end of their fit); held-out likelihood {inc['heldout_relative_diff']:.2%} "
                         f"from the full refit's ({side})", inc["time_ratio"] <= 0.2 and inc["heldout_relative_diff"] <= 0.01,
                         cmd))
    return rows


def write_targets(bench_dir: str | Path) -> list[dict[str, Any]]:
    """Every target row of the benchmark JSON in ``bench_dir`` (``coldstart.json`` required, the others when
    there), written as ``targets.json`` and ``targets.md`` there too.

    >>> import json, pathlib
    >>> coldstart = _example_coldstart()     # a small coldstart.json: ours and from_scratch_ts
    >>> speed = {"act_update_us": 20.0, "vw_predict_learn_us": 60.0, "act_update_policy": "mixture_ids",
    ...          "batch_decisions_per_s": 250_000.0, "em_fit_s": 3.0, "em_fit_users": 10_000,
    ...          "belief_bytes": 350}
    >>> bench = pathlib.Path("bench")
    >>> bench.mkdir(exist_ok=True)
    >>> _ = (bench / "coldstart.json").write_text(json.dumps(coldstart))
    >>> _ = (bench / "speed.json").write_text(json.dumps(speed))
    >>> len(write_targets(bench)), sorted(p.name for p in bench.iterdir())
    (11, ['coldstart.json', 'speed.json', 'targets.json', 'targets.md'])
    """
    bench_dir = Path(bench_dir)
    doc = _load(bench_dir / "coldstart.json")
    if doc is None:
        raise FileNotFoundError(f"targets: expected {bench_dir / 'coldstart.json'}")
    rows = coldstart_rows(doc, _load(bench_dir / "coldstart-hard.json"))
    optional: list[tuple[str, Any]] = [
        ("speed.json", speed_rows), ("kt.json", kt_rows), ("tutoring.json", tutoring_rows),
        ("service.json", lambda d: service_rows(d, _load(bench_dir / "obp-check.json"))),
        ("ope-obd.json", ope_rows), ("responsible.json", responsible_rows), ("scale.json", scale_rows),
        ("sparse.json", sparse_rows),
        ("dynamics.json", dynamics_rows), ("fit-log.json", fit_log_rows),
    ]
    for name, make_rows in optional:  # each benchmark's rows when its JSON is there
        found = _load(bench_dir / name)
        if found is not None:
            rows += make_rows(found)
    for path in sorted(bench_dir.glob("*/replay.json")):  # each replayed log's rows (issue 16)
        rows += replay_rows(path.parent.name, json.loads(path.read_text()))
    rows = merge_repeated(rows)
    (bench_dir / "targets.json").write_text(json.dumps({"rows": rows}, indent=1))
    (bench_dir / "targets.md").write_text(markdown_table(rows))
    return rows


def merge_repeated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per target. A target two benchmarks measure (the outliers' regret ratio: ``bench coldstart`` and
    ``bench responsible``) keeps its first row, in its place, with the other measurement added to the measured
    text and the note; it is met when every measurement meets it.

    >>> rows = merge_repeated([
    ...     {"target": "outliers", "command": "warmstart bench coldstart", "measured": "1.2", "met": True, "note": ""},
    ...     {"target": "outliers", "command": "warmstart bench responsible", "measured": "1.4", "met": False,
    ...      "note": ""},
    ...     {"target": "size", "command": "warmstart bench speed", "measured": "3", "met": True, "note": ""}])
    >>> [(r["target"], r["measured"], r["met"]) for r in rows]
    [('outliers', '1.2 (warmstart bench responsible: 1.4)', False), ('size', '3', True)]
    >>> rows[0]["note"]
    'also measured by `warmstart bench responsible`'
    """
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        first = merged.get(row["target"])
        if first is None:
            merged[row["target"]] = dict(row)
            continue
        source = " ".join(row["command"].split()[:3])  # e.g. "warmstart bench responsible"
        first["measured"] = f"{first['measured']} ({source}: {row['measured']})"
        first["note"] = "; ".join(n for n in (first["note"], f"also measured by `{row['command']}`") if n)
        mets = [first["met"], row["met"]]
        first["met"] = False if False in mets else (None if None in mets else True)
    return list(merged.values())


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table (``targets.md``: docs/results.md shows all of it).

    >>> print(markdown_table([{"target": "belief size", "threshold": "<= 2 KB", "measured": "350 bytes",
    ...                        "met": True}]), end="")
    | target | threshold | measured | status |
    |---|---|---|---|
    | belief size | <= 2 KB | 350 bytes | met |
    """
    mark = {True: "met", False: "**not met**", None: "not measured"}
    lines = ["| target | threshold | measured | status |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['target']} | {r['threshold']} | {r['measured']} | {mark[r['met']]} |")
    return "\n".join(lines) + "\n"


#: The targets the README's short results table shows (docs/results.md has every row): the cold-start gain and
#: what the exploration floor costs of it, no harm, the hard preset, finding the type, knowledge tracing against
#: pyBKT (overall and on each student's first responses) and the service's round trips.
HEADLINE = (
    "gain captured G(20) / G(200)",
    "exploration floor (epsilon 0.01): G(20) / G(200) of floored mixture_ids",
    "no harm: R_ours(t) <= R_pooled(t), t = 10, 20, 50, 200 (default)",
    "hard preset: G(20)",
    "type accuracy at step 10 (non-outliers)",
    "AUC ours - pyBKT (unseen ASSIST2009 students)",
    "AUC ours - pyBKT on responses 1-10 of each student",
    "rank + reward round trips, SQLite, one worker, loopback",
    # types on real logs (issue 16)
    *(f"replay replay-{log}: {what}" for log, pooled in (("movielens-rating", "pooled_ts"),
                                                          ("movielens-liked", "logistic_pooled"),
                                                          ("assistments2009", "logistic_pooled"))
      for what in ("ours not significantly worse than any peer, best at 1-10 and 1-20",
                   f"types add (ours - {pooled})",
                   "ours captures of the best peer -> oracle_user distance at 1-20")),
    "replay replay-movielens-genres: content features only, ours >= popularity",
    "fit --log on ml-latest-small, the whole choice (2 cores)",
    # how people change (issue 18)
    "learned dynamics: share of the oracle planner's long-term gain (Satiation-v0)",
    "learned dynamics: 95% CIs cover the simulator's parameters (types >= 200 users)",
    "sparse: G(20) at 10 events per training user (5,000 users, noise x1)",
    "noisy: G(20) at noise x2 (50 events, 5,000 users)",
    "no cell of the grid worse than pooled TS at 20 or 200 steps",
    "fair types (planted type-attribute link): leakage AUC; G(50) kept",
    "fair types, independent attribute: nothing changes",
    "stretch: the identification itself, G(10) (default preset)",
    "stretch: misleading start, excess over that of a policy told when it ends",
)


def headline_table(table: str, names: Sequence[str] = HEADLINE) -> str:
    """The header and the rows of ``table`` (``markdown_table``'s output) whose target is one of ``names``, in
    the table's order. A name the table lacks is a ``ValueError``, so a renamed target cannot drop out of the
    README unnoticed.

    >>> table = markdown_table([{"target": t, "threshold": "-", "measured": "1", "met": t != "b"} for t in "abc"])
    >>> print(headline_table(table, ["c", "b"]), end="")
    | target | threshold | measured | status |
    |---|---|---|---|
    | b | - | 1 | **not met** |
    | c | - | 1 | met |
    >>> headline_table(table, ["a", "d"])
    Traceback (most recent call last):
    ValueError: names: expected targets of the table, got ['d'] (the table has ['a', 'b', 'c'])
    """
    header, rows = table.splitlines()[:2], table.splitlines()[2:]
    targets = [row.removeprefix("| ").split(" | ", 1)[0] for row in rows]
    missing = [name for name in names if name not in targets]
    if missing:
        raise ValueError(f"names: expected targets of the table, got {missing} (the table has {targets})")
    return "\n".join(header + [row for row, target in zip(rows, targets, strict=True) if target in names]) + "\n"
