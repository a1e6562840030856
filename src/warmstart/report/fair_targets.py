"""Issue 18's fair-types targets, from the ``fair_types`` part of ``responsible.json`` (``warmstart bench
responsible --part fair``): the fair fit's leakage AUC on the planted type-attribute link and its G(50) against the
unconstrained fit's; with an independent attribute, nothing should change (the same K, G(50) within 0.02 of the
unconstrained fit's, the leakage CI containing chance)."""

from __future__ import annotations

from typing import Any

from warmstart.report._rows import _fmt, _row

#: how far the fair fit's G(50) may move from the unconstrained fit's when the attribute is independent
NOTHING_CHANGES_G50 = 0.02


def fair_type_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows (none when the part was not run).

    >>> doc = {"quick": False, "fair_types": {
    ...     "fair_auc": 0.52, "fair_ci95": [0.48, 0.55], "unconstrained_auc": 0.9, "unconstrained_ci95": [0.88, 0.92],
    ...     "fair_G50": 0.88, "unconstrained_G50": 0.94, "G50_ratio": 0.936, "independent_fair_auc": 0.5,
    ...     "independent_fair_ci95": [0.46, 0.54], "independent_fair_G50": 0.93, "independent_n_types": [8, 8],
    ...     "fits": {"unconstrained": {"n_types": 8}, "fair_planted": {"n_types": 3}}}}
    >>> [(row["measured"][:40], row["met"]) for row in fair_type_rows(doc)]
    [('leakage AUC 0.520 (CI 0.480-0.550; uncon', True), ('K 8 vs 8; G(50) 0.930 vs 0.940; leakage ', True)]
    >>> fair_type_rows({})
    []
    """
    f = doc.get("fair_types")
    if f is None:
        return []
    cmd = f"warmstart bench responsible{' --quick' if doc.get('quick') else ''} --part fair --merge --out DIR"
    lo, hi = f["fair_ci95"]
    ulo, uhi = f["unconstrained_ci95"]
    k = {name: (f.get("fits", {}).get(name) or {}).get("n_types") for name in ("unconstrained", "fair_planted")}
    rows = [_row("fair types (planted type-attribute link): leakage AUC; G(50) kept",
                 "AUC 95% CI contains 0.5; G(50) >= 90% of the unconstrained fit's",
                 f"leakage AUC {_fmt(f['fair_auc'], 3)} (CI {_fmt(lo, 3)}-{_fmt(hi, 3)}; unconstrained "
                 f"{_fmt(f['unconstrained_auc'])}, CI {_fmt(ulo)}-{_fmt(uhi)}); G(50) {_fmt(f['fair_G50'], 3)} vs "
                 f"{_fmt(f['unconstrained_G50'], 3)} ({f['G50_ratio']:.1%}); K {k['fair_planted']} vs "
                 f"{k['unconstrained']}", lo <= 0.5 <= hi and f["G50_ratio"] >= 0.9, cmd)]
    ilo, ihi = f["independent_fair_ci95"]
    k_base, k_fair = f["independent_n_types"]
    g_fair, g_base = f["independent_fair_G50"], f["unconstrained_G50"]
    rows.append(_row("fair types, independent attribute: nothing changes",
                     f"same K; G(50) within {NOTHING_CHANGES_G50} of the unconstrained fit's; AUC CI contains 0.5",
                     f"K {k_fair} vs {k_base}; G(50) {_fmt(g_fair, 3)} vs {_fmt(g_base, 3)}; leakage AUC "
                     f"{_fmt(f['independent_fair_auc'], 3)} (CI {_fmt(ilo, 3)}-{_fmt(ihi, 3)})",
                     k_fair == k_base and abs(g_fair - g_base) <= NOTHING_CHANGES_G50 and ilo <= 0.5 <= ihi, cmd))
    return rows
