"""Tutoring benchmark: every tutoring policy teaches the same simulated students until it declares every skill
mastered.

Students come from ``warmstart.sim.tutoring`` (learner types fitted on ASSISTments 2009; see that module for the
skills and the simulator's choices). Every policy meets the same students with the same random numbers (common
random numbers): the same type and initial knowledge, and for the ``n``-th practice of a skill the same answer
and learning draws, so two policies that practise a skill equally often see identical answers on it.

Definitions
-----------
- An **episode** ends when the policy has declared every skill mastered, or after ``budget`` practice steps.
- ``steps_to_mastery``: the mean number of practice steps used per student (``budget`` for a student whose
  policy never declared every skill). ``steps_ci95``: 95% percentile bootstrap CI over students.
- ``false_mastery_rate``: the share of all declarations (over all students) made while the skill was not truly
  known at that moment (declarations are checked when they are made, including at the start, before any
  practice). ``false_mastery_ci95``: bootstrap over students (a ratio of sums).
- ``true_mastery_rate``: the share of students whose every skill is truly known at the end of their episode.
- ``declared_all_rate``: the share of students whose policy declared every skill within the budget.
- ``per_type``: the same per true type (keys are type indices; the population section describes them).
- ``targets``: ours / bkt_mastery steps overall (<= 0.8) and per type (<= 1.0), false mastery rate of ours
  against bkt_mastery's, ours / oracle_type steps (<= 1.2); ratios of means with paired bootstrap CIs.

Returns ``{config, version, machine, population, policies: {NAME: {...}}, targets}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from warmstart import stats
from warmstart._version import __version__
from warmstart.bench.machine import machine_info
from warmstart.policies.tutoring import TutoringSetup, make_tutoring_policy, tutoring_policy_names
from warmstart.sim.tutoring import (
    DEFAULT_BUDGET,
    TUTORING_SKILLS,
    StudentBatch,
    tutoring_population,
    tutoring_single_type,
)

Progress = Callable[[str, float], None]
POLICIES = ("ours", "bkt_mastery", "round_robin", "random", "oracle_type")
QUICK_STUDENTS = 300


def simulate_policy(policy_name: str, setup: TutoringSetup, students: StudentBatch, seed: int = 0
                    ) -> dict[str, np.ndarray]:
    """Run one policy on (a copy of) ``students`` until it declares every skill or the budget ends.

    Returns per-student arrays: ``steps``, ``declarations``, ``false_declarations``, ``declared_all``,
    ``true_mastery`` (every skill truly known at the end).
    """
    st = students.copy()
    policy = make_tutoring_policy(policy_name, setup, seed=seed)
    n = st.n_students
    state = policy.new_batch(n, true_types=st.types)
    declared = state.declared.copy()
    n_decl = declared.sum(1).astype(np.int64)
    n_false = (declared & ~st.known).sum(1).astype(np.int64)
    steps = np.zeros(n, dtype=np.int64)
    active = np.logical_not(declared.all(1))
    for _ in range(st.budget):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        skills = policy.choose_many(state, rows)
        correct = st.answer(rows, skills)
        policy.observe_many(state, rows, skills, correct)
        steps[rows] += 1
        now = state.declared[rows]
        new = now & ~declared[rows]
        n_decl[rows] += new.sum(1)
        n_false[rows] += (new & ~st.known[rows]).sum(1)
        declared[rows] = now
        active[rows] = ~now.all(1)
    return {"steps": steps, "declarations": n_decl, "false_declarations": n_false,
            "declared_all": declared.all(1), "true_mastery": st.known.all(1)}


def _ratio(num: np.ndarray, den: np.ndarray) -> float | None:
    d = float(den.sum())
    return float(num.sum()) / d if d > 0 else None


def _summary(res: dict[str, np.ndarray], mask: np.ndarray, boot: np.ndarray) -> dict[str, Any]:
    """Metrics of the students in ``mask``; ``boot`` holds the uniforms ``(n_boot, n_students)`` every bootstrap
    of the benchmark resamples from (``warmstart.stats``, ``draw="uniforms"``: the same draws for every policy,
    so policy comparisons are paired)."""
    idx = np.flatnonzero(mask)
    steps = res["steps"][idx].astype(float)
    decl, false = res["declarations"][idx], res["false_declarations"][idx]
    out: dict[str, Any] = {"n_students": int(idx.size)}
    if idx.size == 0:
        return {**out, "steps_to_mastery": None, "steps_ci95": None, "false_mastery_rate": None,
                "false_mastery_ci95": None, "true_mastery_rate": None, "declared_all_rate": None,
                "n_declarations": 0}

    def steps_and_false_mastery(b: np.ndarray) -> np.ndarray:
        return np.stack([steps[b].mean(1), false[b].sum(1) / np.maximum(decl[b].sum(1), 1)], axis=1)

    both = stats.bootstrap(steps_and_false_mastery, idx.size, boot.shape[0], draw="uniforms", uniforms=boot)
    steps_ci, fm_ci = stats.interval(both, axis=0).T.tolist()
    return {**out,
            "steps_to_mastery": float(steps.mean()),
            "steps_ci95": steps_ci,
            "false_mastery_rate": _ratio(false, decl),
            "false_mastery_ci95": fm_ci if decl.sum() else None,
            "true_mastery_rate": float(res["true_mastery"][idx].mean()),
            "declared_all_rate": float(res["declared_all"][idx].mean()),
            "n_declarations": int(decl.sum())}


def _paired_ratio(a: np.ndarray, b: np.ndarray, boot: np.ndarray) -> dict[str, Any]:
    """Ratio of mean steps of two policies on the same students, with a paired bootstrap CI."""
    if a.size == 0 or b.mean() == 0:
        return {"ratio": None, "ci95": None}
    return {"ratio": float(a.mean() / b.mean()),
            "ci95": stats.paired_ratio_ci(a, b, None, boot.shape[0], draw="uniforms", uniforms=boot)}


def _targets(results: dict[str, dict[str, np.ndarray]], types: np.ndarray, n_types: int,
             boot: np.ndarray, policies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    have = set(results)
    if {"ours", "bkt_mastery"} <= have:
        steps_o, steps_b = results["ours"]["steps"].astype(float), results["bkt_mastery"]["steps"].astype(float)
        overall = _paired_ratio(steps_o, steps_b, boot)
        out["steps_ours_over_bkt_mastery"] = {**overall, "threshold": 0.8,
                                              "met": None if overall["ratio"] is None else overall["ratio"] <= 0.8}
        per_type = {str(k): _paired_ratio(steps_o[types == k], steps_b[types == k], boot) for k in range(n_types)}
        worst = max((v["ratio"] for v in per_type.values() if v["ratio"] is not None), default=None)
        out["steps_ours_over_bkt_mastery_per_type"] = {"per_type": per_type, "worst": worst, "threshold": 1.0,
                                                       "met": None if worst is None else worst <= 1.0}
        fo, fb = policies["ours"]["false_mastery_rate"], policies["bkt_mastery"]["false_mastery_rate"]
        out["false_mastery_ours_vs_bkt_mastery"] = {
            "ours": fo, "bkt_mastery": fb,
            "met": None if fo is None or fb is None else fo <= fb}
    if {"ours", "oracle_type"} <= have:
        r = _paired_ratio(results["ours"]["steps"].astype(float), results["oracle_type"]["steps"].astype(float),
                          boot)
        out["steps_ours_over_oracle_type"] = {**r, "threshold": 1.2,
                                              "met": None if r["ratio"] is None else r["ratio"] <= 1.2}
    return out


def run_tutoring(n_students: int | None = None, seed: int = 0, budget: int = DEFAULT_BUDGET, quick: bool = False,
                 progress: Progress | None = None, *, forgets: bool = False, population_seed: int = 0,
                 policies: Sequence[str] = POLICIES, n_boot: int | None = None, threshold: float = 0.95,
                 streak: int = 3, sweep: bool = True) -> dict[str, Any]:
    """Run the tutoring benchmark (see the module docstring for what is measured) and return its JSON document.

    ``n_students`` defaults to 2,000 (``quick``: 300); ``seed`` draws the students, the bootstrap and the
    random policy's choices; ``population_seed`` seeds the fits of the simulator's types and of the single-type
    BKT; ``forgets`` fits both with forgetting. ``n_boot`` defaults to 1,000 (``quick``: 200). ``sweep`` adds
    ``frontier``: ours and bkt_mastery over a range of mastery thresholds (``_frontier``).
    """
    report = progress or (lambda msg, frac: None)
    n = (QUICK_STUDENTS if quick else 2000) if n_students is None else n_students
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n_students: expected a positive integer, got {n_students!r}")
    if isinstance(budget, (bool, np.bool_)) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget: expected a positive integer number of steps, got {budget!r}")
    nb = (200 if quick else 1000) if n_boot is None else n_boot
    if isinstance(nb, (bool, np.bool_)) or not isinstance(nb, (int, np.integer)) or nb < 1:
        raise ValueError(f"n_boot: expected a positive integer, got {n_boot!r}")
    names = tuple(policies)
    unknown = [p for p in names if p not in tutoring_policy_names()]
    if unknown or not names:
        raise ValueError(f"policies: expected names among {', '.join(tutoring_policy_names())}, got {list(names)}")
    t0 = time.perf_counter()
    report("fitting the simulator's learner types and single-type BKT", 0.0)
    pop = tutoring_population(population_seed, forgets=forgets)
    single = tutoring_single_type(population_seed, forgets=forgets)
    setup = TutoringSetup(population=pop, single_type=single, threshold=threshold, streak=streak)
    fit_s = time.perf_counter() - t0
    rng = np.random.default_rng([seed, 5])
    students = StudentBatch.sample(pop, int(n), rng, int(budget))
    boot = np.random.default_rng([seed, 6]).random((int(nb), int(n)))
    results: dict[str, dict[str, np.ndarray]] = {}
    docs: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(names):
        report(f"policy {name}", 0.1 + 0.85 * i / len(names))
        t1 = time.perf_counter()
        res = simulate_policy(name, setup, students, seed=seed)
        results[name] = res
        doc = _summary(res, np.ones(int(n), dtype=bool), boot)
        doc["per_type"] = {str(k): _summary(res, students.types == k, boot) for k in range(pop.n_types)}
        doc["wall_s"] = time.perf_counter() - t1
        docs[name] = doc
    targets = _targets(results, students.types, pop.n_types, boot, docs)
    frontier = None
    if sweep and {"ours", "bkt_mastery"} <= set(names):
        report("threshold sweep (steps against false mastery)", 0.95)
        frontier = _frontier(pop, single, students, seed, streak, docs["bkt_mastery"])
    report("done", 1.0)
    diag = pop.diagnostics
    return {
        "version": __version__,
        "machine": machine_info(),
        "config": {"n_students": int(n), "seed": seed, "budget": int(budget), "quick": quick, "forgets": forgets,
                   "population_seed": population_seed, "n_boot": int(nb), "threshold": threshold,
                   "streak": streak, "policies": list(names), "grid": asdict(setup.grid) if setup.grid else None,
                   "skills": {"ids": list(TUTORING_SKILLS), "names": list(pop.skill_names)},
                   "data": "ASSISTments 2009 (AKT split 1): types fitted on train, K chosen on valid"},
        "population": {
            "n_types": pop.n_types,
            "weights": pop.weights.tolist(),
            "selected_k": diag.selected_k,
            "selection": [{k: e.get(k) for k in ("K", "heldout_loglik", "heldout_gap", "heldout_gap_se")}
                          for e in diag.selection or []],
            "slow_minority": diag.slow_minority,
            "types": [{"index": t.index, "weight": t.weight, "summary": t.summary} for t in pop.describe()],
            "params": {name: getattr(pop, name).tolist() for name in ("L0", "T", "F", "G", "S")},
            "single_type": {name: getattr(single, name).tolist() for name in ("L0", "T", "F", "G", "S")},
            "student_type_counts": np.bincount(students.types, minlength=pop.n_types).tolist(),
            "fit_s": fit_s,
        },
        "policies": docs,
        "targets": targets,
        "frontier": frontier,
        "wall_s": time.perf_counter() - t0,
    }


SWEEP = (0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.98)


def _frontier(pop: Any, single: Any, students: StudentBatch, seed: int, streak: int,
              bkt_doc: dict[str, Any]) -> dict[str, Any]:
    """Steps and false mastery of ours and bkt_mastery for every mastery threshold in ``SWEEP`` (same
    students), and ours' steps at bkt_mastery's own false-mastery rate (at its 0.95 threshold), interpolated
    along ours' curve: the comparison at equal error, since a laxer threshold trades errors for steps."""
    curve: dict[str, list[dict[str, float]]] = {"ours": [], "bkt_mastery": []}
    for th in SWEEP:
        setup = TutoringSetup(population=pop, single_type=single, threshold=th, streak=streak)
        for name, points in curve.items():
            res = simulate_policy(name, setup, students, seed=seed)
            steps, declared, false = res["steps"], res["declarations"], res["false_declarations"]
            points.append({"threshold": th, "steps_to_mastery": float(steps.mean()),
                                "false_mastery_rate": float(false.sum() / max(declared.sum(), 1))})
    fm = bkt_doc["false_mastery_rate"]
    pts = sorted((c["false_mastery_rate"], c["steps_to_mastery"]) for c in curve["ours"])
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    inside = xs.min() <= fm <= xs.max()
    at = float(np.interp(fm, xs, ys)) if inside else None
    return {"thresholds": list(SWEEP), "curve": curve, "bkt_false_mastery_rate": fm,
            "ours_steps_at_bkt_false_mastery": at,
            "ratio_to_bkt_steps": None if at is None else at / bkt_doc["steps_to_mastery"]}
