"""Knowledge-tracing benchmark on real students: next-response prediction for students unseen in training.

Models, all fitted on the training students and scored online on the test students (each response predicted
from that student's earlier responses only, before it is seen):

- ``ours``: learner types (``warmstart.families.learner.fit``), K chosen by held-out likelihood on the validation
  students, with forgetting and the per-student multiplier grid (type posterior, then personal rates), and
  one difficulty offset per item (``warmstart.families.learner.items``; its prior chosen on the validation students).
- ``ours_no_items``: the same without item difficulties (what the types alone give, on the information
  pyBKT's standard model uses).
- ``bkt``: our single-type BKT with forgetting (K = 1, no personal rates): what the types add.
- ``skill_mean``: the training accuracy of the response's skill (smoothed), with no student state.
- ``pybkt``: pyBKT (Badrinath et al. 2021) with forgetting, in its own environment, fitted in parallel with
  ours (``warmstart.peers.pybkt``).

The students are ASSISTments 2009's (its own split) or a file of the user's in the generic format, split by
student (``warmstart.bench.kt_split``). Without item ids in the training students the item-difficulty model is
skipped: ``ours`` is then the learner types alone, ``ours_no_items`` is not reported (it would be the same
model) and ``items.skipped`` says why.

Writes ``kt.json``: ``{config, version, machine, models: {NAME: {auc, log_loss, rmse, auc_ci95, fit_s,
by_bucket, auc_first10, ...}}, items: {...}, population: {...}}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from warmstart._version import __version__
from warmstart.bench.kt_metrics import auc, score_predictions
from warmstart.bench.kt_split import DATASETS, KTSource, first_responses, load_students
from warmstart.bench.machine import machine_info
from warmstart.data.kt import KTData
from warmstart.families.learner.belief import DEFAULT_GRID, predict_online
from warmstart.families.learner.fit import LearnerFitConfig, fit_learner_types
from warmstart.families.learner.items import ItemOffsets, choose_prior_sd, has_items
from warmstart.families.learner.population import LearnerPopulation

Progress = Callable[[str, float], None]
__all__ = ["DATASETS", "KTBenchConfig", "KTSource", "run_kt", "skill_mean_predictions"]


@dataclass(frozen=True, kw_only=True)
class KTBenchConfig:
    """The benchmark's settings; ``source`` says which students and how they are split (by default
    ASSISTments 2009's own split; its seed is the split's, ``seed`` the fits')."""

    source: KTSource = field(default_factory=KTSource)
    seed: int = 0
    k_range: tuple[int, int] = (1, 5)
    n_init: int = 3
    forgets: bool = True
    pybkt: bool = True
    pybkt_num_fits: int = 5
    n_boot: int = 200
    quick: bool = False  # a seeded subset of students (400 train, 150 validation, 300 test), K in 1..2
    #: fit on the training and validation students' first ``history`` responses only (a sparse history; the
    #: test students are scored on all of theirs); None: every response
    history: int | None = None

    def __post_init__(self) -> None:
        if self.n_boot < 1 or self.pybkt_num_fits < 1 or self.n_init < 1:
            raise ValueError("n_boot, pybkt_num_fits, n_init: expected positive integers")
        if self.history is not None and self.history < 1:
            raise ValueError(f"history: expected None or at least 1 response per training student, got "
                             f"{self.history}")


def skill_mean_predictions(train: KTData, test: KTData, prior: float = 10.0) -> np.ndarray:
    """Training accuracy per skill, shrunk to the overall accuracy with ``prior`` pseudo-responses."""
    overall = float(train.correct.mean())
    hits = np.bincount(train.skill, weights=train.correct, minlength=train.n_skills)
    n = np.bincount(train.skill, minlength=train.n_skills)
    return ((hits + prior * overall) / (n + prior))[test.skill]


def _score(test: KTData, p: np.ndarray, cfg: KTBenchConfig, fit_s: float | None) -> dict[str, Any]:
    pos = test.positions()
    doc = score_predictions(test.correct, p, test.student, pos, seed=cfg.seed, n_boot=cfg.n_boot)
    first = pos < 10
    doc["auc_first10"] = auc(test.correct[first], p[first])
    doc["n_first10"] = int(first.sum())
    doc["fit_s"] = fit_s
    return doc


def run_kt(cfg: KTBenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    report = progress or (lambda msg, frac: None)
    report("loading the data", 0.0)
    train, valid, test, split = load_students(cfg.source)
    if cfg.quick:
        rng = np.random.default_rng(cfg.seed)
        train, valid, test = (d.subset(np.sort(rng.choice(d.n_students, min(n, d.n_students), replace=False)))
                              for d, n in ((train, 400), (valid, 150), (test, 300)))
    if cfg.history is not None:
        train, valid = first_responses(train, cfg.history), first_responses(valid, cfg.history)
    handle = None
    pybkt_note = None
    if cfg.pybkt:
        from warmstart.peers.pybkt import start_pybkt

        report("starting pyBKT in its own environment (runs alongside our fit)", 0.02)
        handle = start_pybkt(train, test, seed=cfg.seed, num_fits=cfg.pybkt_num_fits, forgets=True,
                             parallel=True)
    models: dict[str, dict[str, Any]] = {}
    try:
        report("fitting single-type BKT", 0.05)
        t0 = time.perf_counter()
        bkt = fit_learner_types(train.student, train.skill, train.correct, train.n_skills,
                                LearnerFitConfig(n_types=1, forgets=cfg.forgets, seed=cfg.seed),
                                skill_names=train.skill_names)
        bkt_s = time.perf_counter() - t0
        models["bkt"] = _score(test, predict_online(bkt, test.student, test.skill, test.correct, grid=None),
                               cfg, bkt_s)
        pop, types_s, items, item_scores, ours_s = _fit_ours(cfg, train, valid, report)
        report("predicting the test students online", 0.5)
        if items is None:  # no item ids: ours is the types alone
            models["ours"] = _score(test, predict_online(pop, test.student, test.skill, test.correct,
                                                         grid=DEFAULT_GRID), cfg, types_s)
        else:
            models["ours"] = _score(test, predict_online(pop, test.student, test.skill, test.correct,
                                                         grid=DEFAULT_GRID,
                                                         item_offset=items.for_responses(test.item)), cfg, ours_s)
            models["ours_no_items"] = _score(test, predict_online(pop, test.student, test.skill, test.correct,
                                                                  grid=DEFAULT_GRID), cfg, types_s)
        models["skill_mean"] = _score(test, skill_mean_predictions(train, test), cfg, None)
        if handle is not None:
            report("waiting for pyBKT", 0.6)
            res = handle.result()
            models["pybkt"] = _score(test, res.predictions, cfg, res.fit_seconds)
            models["pybkt"]["settings"] = res.settings
            models["pybkt"]["wall_s"] = res.wall_seconds
            models["pybkt"]["predict_s"] = res.predict_seconds
    except BaseException:
        if handle is not None:
            handle.cancel()
        raise
    if not cfg.pybkt:
        pybkt_note = "skipped (--skip-pybkt): a quick run, not a comparison"
    models["ours"]["fit_s_ratio_to_pybkt"] = (
        models["ours"]["fit_s"] / models["pybkt"]["fit_s"] if "pybkt" in models else None)
    report("done", 1.0)
    return {
        "version": __version__,
        "machine": machine_info(),
        "config": {**asdict(cfg), "data": cfg.source.data, "grid": asdict(DEFAULT_GRID), "split": split,
                   "data_counts": {name: {"students": d.n_students, "responses": d.n_responses}
                                   for name, d in (("train", train), ("valid", valid), ("test", test))},
                   "fit_timing_note": "our fits ran while pyBKT fitted in a parallel process (2 cores)"
                   if cfg.pybkt else "pyBKT skipped"},
        "models": models,
        "pybkt_note": pybkt_note,
        "items": _items_view(train, test, items, item_scores),
        "population": _population_view(pop),
    }


def _items_view(train: KTData, test: KTData, items: ItemOffsets | None, scores: dict[str, float]
                ) -> dict[str, Any]:
    """What the JSON says about the item-difficulty model: its prior and coverage, or why it was skipped."""
    if items is None:
        return {"n_items": len(train.item_names), "skipped": "the training students' responses have no item ids "
                "(no item column, or every item empty): the item-difficulty model is skipped, and ours is the "
                "learner types alone", "prior_sd": None, "validation_log_loss_by_prior_sd": {},
                "test_responses_on_items_seen_in_training": None}
    known = test.item >= 0
    return {"n_items": len(train.item_names), "skipped": None, "prior_sd": items.prior_sd,
            "validation_log_loss_by_prior_sd": scores,
            "test_responses_on_items_seen_in_training": float(
                (items.count[np.maximum(test.item, 0)] > 0)[known].sum() / max(test.n_responses, 1))}


def _fit_ours(cfg: KTBenchConfig, train: KTData, valid: KTData, report: Progress
              ) -> tuple[LearnerPopulation, float, ItemOffsets | None, dict[str, float], float]:
    """Our model: learner types with K chosen on the validation students, then item difficulties with their
    prior chosen on them too. Returns the population, the seconds of its fit, the item offsets (``None`` when
    the training students have no item ids), the validation score of each prior and the seconds of both
    fits."""
    heldout = (valid.student, valid.skill, valid.correct)
    report("fitting learner types (K chosen on the validation students)", 0.15)
    t0 = time.perf_counter()
    pop = fit_learner_types(train.student, train.skill, train.correct, train.n_skills,
                            LearnerFitConfig(k_range=(1, 2) if cfg.quick else cfg.k_range,
                                             n_init=1 if cfg.quick else cfg.n_init, forgets=cfg.forgets,
                                             seed=cfg.seed),
                            heldout=heldout, skill_names=train.skill_names)
    types_s = time.perf_counter() - t0
    if not has_items(train.item):
        report("no item ids: item difficulties skipped", 0.4)
        return pop, types_s, None, {}, types_s
    report("fitting item difficulties (prior chosen on the validation students)", 0.4)
    t1 = time.perf_counter()
    items, item_scores = choose_prior_sd(
        pop, (train.student, train.skill, train.item, train.correct),
        (valid.student, valid.skill, valid.item, valid.correct), len(train.item_names))
    ours_s = types_s + time.perf_counter() - t1
    return pop, types_s, items, item_scores, ours_s


def _population_view(pop: LearnerPopulation) -> dict[str, Any]:
    """The fitted learner types as reported: weights, the choice of K, each type's summary and skill words."""
    diag = pop.diagnostics
    return {
        "n_types": pop.n_types,
        "weights": pop.weights.tolist(),
        "selection": diag.selection,
        "selected_k": diag.selected_k,
        "types": [{"index": t.index, "weight": t.weight, "summary": t.summary} for t in pop.describe()],
        "skill_words": {str(t.index): t.skills for t in pop.describe()},
        "skill_responses": dict(zip(pop.skill_names, diag.skill_responses or [], strict=False)),
    }
