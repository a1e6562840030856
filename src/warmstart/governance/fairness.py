"""The fairness audit's statistics and report: per segment of users, the outcomes with their 95% bootstrap CIs
over users and the disparity flags; the table, markdown and files written from them.

``warmstart.governance.audit.fairness_audit`` (importable from there, with everything of this module a user
calls) picks the segments: each MAP inferred type, each type weighted by responsibility, each value of a
user-supplied group column, each true type on the simulator. Per segment: the number of users, the mean reward
per user (each user's mean over their events, averaged over users), per event (total reward over total
events), in each user's first ``first_events`` events (the cold-start experience) and after them, each with a
95% percentile bootstrap CI over users (``warmstart.stats.bootstrap``: the same resamples for every segment).
A segment is flagged on a metric when it has at least ``min_users`` users and its whole CI lies below the
overall mean by more than ``margin`` times the overall mean's magnitude: ``ci_high < overall - margin *
|overall|``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmstart import stats
from warmstart._version import __version__
from warmstart.data.events import EventData

DEFAULT_MARGIN = 0.1
FIRST_EVENTS = 10
METRICS = ("per_user", "per_event", "first_events", "later_events")
FAIRNESS_COLUMNS = ("segment", "users", "reward/user [95% CI]", "reward/event [95% CI]", "first events [95% CI]",
                    "later events [95% CI]", "inferred as", "disparity")


@dataclass(frozen=True)
class Stat:
    """A mean and its 95% bootstrap CI (``None`` where undefined: no user in the segment has the events).

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> W, o = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), user_outcomes(events, first_n=2)  # all; a; b
    >>> point = segment_stats(W, o, np.ones((1, 2)))[0]              # 4 metrics x 3 segments; CI = point here
    >>> segments = build_segments([("all", "all users"), ("group", "a"), ("group", "b")], W, o, point, point,
    ...                           point, np.ones(2), np.zeros(2, dtype=int), 1, ["type 0", "novel"], 0.1, 1)
    >>> segments[2].per_user, segments[2].later_events           # user b has no event after the first 2
    (Stat(mean=0.5, ci95=(0.5, 0.5)), Stat(mean=None, ci95=(None, None)))
    """

    mean: float | None
    ci95: tuple[float | None, float | None]


@dataclass(frozen=True)
class Segment:
    """Outcomes of one segment of users. ``n_users`` is a count, or the summed responsibilities of a
    responsibility-weighted type; ``disparity`` names the metrics on which it is flagged.

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> W, o = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), user_outcomes(events, first_n=2)  # all; a; b
    >>> point = segment_stats(W, o, np.ones((1, 2)))[0]              # 4 metrics x 3 segments; CI = point here
    >>> segments = build_segments([("all", "all users"), ("group", "a"), ("group", "b")], W, o, point, point,
    ...                           point, np.ones(2), np.zeros(2, dtype=int), 1, ["type 0", "novel"], 0.1, 1)
    >>> b = segments[2]
    >>> b.label, b.n_users, b.disparity, b.to_dict()["per_event"]   # below the overall 0.625 by more than 10%
    ('group: b', 1.0, ('per_user', 'per_event'), {'mean': 0.5, 'ci95': [0.5, 0.5]})
    """

    kind: str
    name: str
    n_users: float
    n_events: float
    per_user: Stat
    per_event: Stat
    first_events: Stat
    later_events: Stat
    mean_confidence: float | None
    novel_share: float | None
    disparity: tuple[str, ...] = ()
    inferred_as: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name if self.kind == "all" else f"{self.kind}: {self.name}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "n_users": self.n_users,
                               "n_events": self.n_events}
        for m in METRICS:
            s: Stat = getattr(self, m)
            out[m] = {"mean": s.mean, "ci95": list(s.ci95)}
        out.update(mean_confidence=self.mean_confidence, novel_share=self.novel_share,
                   inferred_as=self.inferred_as, disparity=list(self.disparity))
        return out


@dataclass(frozen=True)
class FairnessReport:
    """What ``fairness_audit`` found; ``to_dict()`` is ``fairness.json``.

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> W, o = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), user_outcomes(events, first_n=2)  # all; a; b
    >>> point = segment_stats(W, o, np.ones((1, 2)))[0]              # 4 metrics x 3 segments; CI = point here
    >>> segments = build_segments([("all", "all users"), ("group", "a"), ("group", "b")], W, o, point, point,
    ...                           point, np.ones(2), np.zeros(2, dtype=int), 1, ["type 0", "novel"], 0.1, 1)
    >>> rule, config = rule_and_config(group="group", true_type=None, margin=0.1, n_boot=0, first_events=2,
    ...                                min_users=1, weighted=False, seed=0, feature_source="log")
    >>> report = FairnessReport(segments[0], segments[1:], config, rule, "memory", 2, 4, {})
    >>> [s.label for s in report.flagged], sorted(report.to_dict())[:5]
    (['group: b'], ['audit', 'config', 'flagged', 'n_events', 'n_users'])
    """

    overall: Segment
    segments: list[Segment]
    config: dict[str, Any]
    rule: str
    source: str
    n_users: int
    n_events: int
    population: dict[str, Any]

    @property
    def flagged(self) -> list[Segment]:
        return [s for s in self.segments if s.disparity]

    def to_dict(self) -> dict[str, Any]:
        return {"audit": "fairness", "version": __version__, "source": self.source, "n_users": self.n_users,
                "n_events": self.n_events, "population": self.population, "config": self.config,
                "rule": self.rule, "overall": self.overall.to_dict(),
                "segments": [s.to_dict() for s in self.segments],
                "flagged": [{"kind": s.kind, "name": s.name, "metrics": list(s.disparity)} for s in self.flagged]}


# ---------------------------------------------------------------------------------------------- statistics
def user_outcomes(events: EventData, first_n: int) -> dict[str, np.ndarray]:
    """Per user: number of events, total reward, mean reward, mean over the first ``first_n`` events, mean
    after them (0 where there is none) and whether there is any.

    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> o = user_outcomes(events, first_n=2)
    >>> o["n"].tolist(), o["first"].tolist(), o["late"].tolist(), o["has_late"].tolist()
    ([3.0, 1.0], [0.5, 0.5], [1.0, 0.0], [True, False])
    """
    n = events.lengths().astype(float)
    total = np.bincount(events.user, weights=events.reward, minlength=events.n_users)
    pos = np.arange(events.n_events) - events.starts[events.user]
    early = pos < first_n
    n_first = np.bincount(events.user[early], minlength=events.n_users).astype(float)
    s_first = np.bincount(events.user[early], weights=events.reward[early], minlength=events.n_users)
    n_late = n - n_first
    s_late = total - s_first
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"n": n, "total": total, "mean": np.where(n > 0, total / np.maximum(n, 1), 0.0),
                "first": np.where(n_first > 0, s_first / np.maximum(n_first, 1), 0.0),
                "late": np.where(n_late > 0, s_late / np.maximum(n_late, 1), 0.0), "has_late": n_late > 0,
                "has": n > 0}


def segment_stats(W: np.ndarray, o: dict[str, np.ndarray], counts: np.ndarray) -> np.ndarray:
    """The four metrics of every segment (columns of ``W``, per-user weights) under every row of ``counts``
    (bootstrap multiplicities of users, or ones): ``(n_rows, 4, n_segments)``.

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> W = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])               # segments: everyone; a; b
    >>> segment_stats(W, user_outcomes(events, 2), np.ones((1, 2)))[0].round(3).tolist()  # rows: METRICS
    [[0.583, 0.667, 0.5], [0.625, 0.667, 0.5], [0.5, 0.5, 0.5], [1.0, 1.0, nan]]
    """
    has = o["has"].astype(float)[:, None]
    late = o["has_late"].astype(float)[:, None]
    Wh = W * has
    blocks = [Wh * o["mean"][:, None], Wh, Wh * o["total"][:, None], Wh * o["n"][:, None], Wh * o["first"][:, None],
              W * late * o["late"][:, None], W * late]
    S = counts @ np.hstack(blocks)
    k = W.shape[1]
    num_u, den_u, num_e, den_e, num_f, num_l, den_l = (S[:, j * k : (j + 1) * k] for j in range(7))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.stack([num_u / den_u, num_e / den_e, num_f / den_u, num_l / den_l], axis=1)
    out[~np.isfinite(out)] = np.nan
    return out


def bootstrap_stats(W: np.ndarray, o: dict[str, np.ndarray], n_boot: int, rng: np.random.Generator,
                    report: Callable[[str, float], None]) -> np.ndarray:
    """``(n_boot, 4, n_segments)``: the metrics on users resampled with replacement (the same resamples for
    every segment), in blocks of resamples to bound memory.

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> boots = bootstrap_stats(np.ones((2, 1)), user_outcomes(events, 2), 200, np.random.default_rng(0),
    ...                         lambda message, fraction: None)
    >>> boots.shape, sorted(set(boots[:, 0, 0].round(3).tolist()))  # per user: a twice, a and b, b twice
    ((200, 4, 1), [0.5, 0.583, 0.667])
    """
    return stats.bootstrap(lambda counts: segment_stats(W, o, counts), W.shape[0], n_boot, rng, counts=True,
                           progress=lambda lo: report("bootstrap", lo / n_boot))


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def build_segments(meta: Sequence[tuple[str, str]], W: np.ndarray, o: dict[str, np.ndarray], point: np.ndarray,
                   lo: np.ndarray, hi: np.ndarray, confidence: np.ndarray, map_type: np.ndarray, novel_index: int,
                   names: list[str], margin: float, min_users: int) -> list[Segment]:
    """One ``Segment`` per column of ``W`` (``meta``: its kind and name; the first column is every user): the
    metrics ``point`` with their CI ``lo``-``hi`` (``(4, n_segments)`` each), the disparity flags against the
    first column, and what the segment's users are inferred as (their MAP types ``map_type``).

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> W, o = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), user_outcomes(events, first_n=2)  # all; a; b
    >>> point = segment_stats(W, o, np.ones((1, 2)))[0]              # 4 metrics x 3 segments; CI = point here
    >>> segments = build_segments([("all", "all users"), ("group", "a"), ("group", "b")], W, o, point, point,
    ...                           point, np.ones(2), np.zeros(2, dtype=int), 1, ["type 0", "novel"], 0.1, 1)
    >>> [(s.label, s.n_users, round(s.per_user.mean, 3), s.disparity) for s in segments]
    [('all users', 2.0, 0.583, ()), ('group: a', 1.0, 0.667, ()),
     ('group: b', 1.0, 0.5, ('per_user', 'per_event'))]
    """
    n_users = (W * o["has"][:, None]).sum(0)
    n_ev = (W * o["n"][:, None]).sum(0)
    conf = (W * confidence[:, None]).sum(0)
    novel = (W * (map_type == novel_index)[:, None]).sum(0)
    composition = W.T @ np.eye(len(names))[map_type]  # (segments, K + 1): users of each MAP type
    segments: list[Segment] = []
    for j, (kind, name) in enumerate(meta):
        seg = [Stat(_num(point[m, j]), (_num(lo[m, j]), _num(hi[m, j]))) for m in range(4)]
        flags: tuple[str, ...] = ()
        if j > 0 and n_users[j] >= min_users:
            flags = tuple(METRICS[m] for m in range(4)
                          if np.isfinite(hi[m, j]) and np.isfinite(point[m, 0])
                          and hi[m, j] < point[m, 0] - margin * abs(point[m, 0]))
        w_sum = max(float(W[:, j].sum()), 1e-12)
        share = composition[j] / w_sum
        top = np.argsort(-share, kind="stable")[:3]
        segments.append(Segment(kind, name, float(n_users[j]), float(n_ev[j]), per_user=seg[0],
                                per_event=seg[1], first_events=seg[2], later_events=seg[3],
                                mean_confidence=float(conf[j] / w_sum), novel_share=float(novel[j] / w_sum),
                                disparity=flags,
                                inferred_as={names[k]: float(share[k]) for k in top if share[k] > 0}))
    return segments


def rule_and_config(*, group: str | None, true_type: str | None, margin: float, n_boot: int, first_events: int,
                    min_users: int, weighted: bool, seed: int, feature_source: str) -> tuple[str, dict[str, Any]]:
    """The flagging rule in words and the ``config`` of ``fairness.json``.

    >>> rule, config = rule_and_config(group="group", true_type=None, margin=0.1, n_boot=100,
    ...                                first_events=10, min_users=5, weighted=True, seed=0,
    ...                                feature_source="log")
    >>> rule
    'a segment with at least 5 users is flagged on a metric when its whole 95% CI lies below the overall ...'
    >>> config["metrics"]["first_events"]
    'mean over users of their mean reward in their first 10 events (the cold-start experience)'
    """
    rule = (f"a segment with at least {min_users} users is flagged on a metric when its whole 95% CI lies below "
            f"the overall mean by more than {margin:g} x |overall mean| (ci_high < overall - {margin:g} x "
            "|overall|)")
    config = {"group": group, "true_type": true_type, "margin": margin, "margin_relative_to": "|overall mean|",
              "n_boot": n_boot, "first_events": first_events, "min_users": min_users, "weighted": weighted,
              "seed": seed, "feature_source": feature_source,
              "metrics": {"per_user": "mean over users of each user's mean reward per event",
                          "per_event": "total reward / total events",
                          "first_events": f"mean over users of their mean reward in their first {first_events} "
                                          "events (the cold-start experience)",
                          "later_events": f"the same after their first {first_events} events (users with more)"}}
    return rule, config


# ---------------------------------------------------------------------------------------------- output
def _fmt(s: Stat, digits: int = 3) -> str:
    if s.mean is None:
        return "n/a"
    lo, hi = s.ci95
    ci = "" if lo is None or hi is None else f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{s.mean:.{digits}f}{ci}"


def fairness_rows(report: FairnessReport, weighted: bool = False) -> list[list[str]]:
    """Table rows (overall first): segment, users, reward per user [CI], per event [CI], first events [CI],
    later events [CI], most common inferred types, flagged metrics. Responsibility-weighted rows only with
    ``weighted``.

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> W, o = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), user_outcomes(events, first_n=2)  # all; a; b
    >>> point = segment_stats(W, o, np.ones((1, 2)))[0]              # 4 metrics x 3 segments; CI = point here
    >>> segments = build_segments([("all", "all users"), ("group", "a"), ("group", "b")], W, o, point, point,
    ...                           point, np.ones(2), np.zeros(2, dtype=int), 1, ["type 0", "novel"], 0.1, 1)
    >>> rule, config = rule_and_config(group="group", true_type=None, margin=0.1, n_boot=0, first_events=2,
    ...                                min_users=1, weighted=False, seed=0, feature_source="log")
    >>> report = FairnessReport(segments[0], segments[1:], config, rule, "memory", 2, 4, {})
    >>> for row in fairness_rows(report):           # segment, users, reward per user, ..., flagged metrics
    ...     print(row[:3], row[-3:])
    ['all users', '2', '0.583 [0.583, 0.583]'] ['1.000 [1.000, 1.000]', 'type 0 100%', '']
    ['group: a', '1', '0.667 [0.667, 0.667]'] ['1.000 [1.000, 1.000]', 'type 0 100%', '']
    ['group: b', '1', '0.500 [0.500, 0.500]'] ['n/a', 'type 0 100%', 'per_user, per_event']
    """
    rows = []
    for s in [report.overall, *report.segments]:
        if s.kind == "inferred type (weighted)" and not weighted:
            continue
        users = f"{s.n_users:.0f}" if s.kind != "inferred type (weighted)" else f"{s.n_users:.1f}"
        inferred = ", ".join(f"{k} {v:.0%}" for k, v in list(s.inferred_as.items())[:2])
        rows.append([s.label, users, _fmt(s.per_user), _fmt(s.per_event), _fmt(s.first_events),
                     _fmt(s.later_events), inferred, ", ".join(s.disparity)])
    return rows


def fairness_markdown(report: FairnessReport) -> str:
    """The fairness table as markdown, with the rule and the flagged segments.

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> W, o = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), user_outcomes(events, first_n=2)  # all; a; b
    >>> point = segment_stats(W, o, np.ones((1, 2)))[0]              # 4 metrics x 3 segments; CI = point here
    >>> segments = build_segments([("all", "all users"), ("group", "a"), ("group", "b")], W, o, point, point,
    ...                           point, np.ones(2), np.zeros(2, dtype=int), 1, ["type 0", "novel"], 0.1, 1)
    >>> rule, config = rule_and_config(group="group", true_type=None, margin=0.1, n_boot=0, first_events=2,
    ...                                min_users=1, weighted=False, seed=0, feature_source="log")
    >>> report = FairnessReport(segments[0], segments[1:], config, rule, "memory", 2, 4, {})
    >>> print(fairness_markdown(report))
    # Fairness audit of memory
    <BLANKLINE>
    2 users, 4 events; first events = each user's first 2.
    <BLANKLINE>
    | segment | users | reward/user [95% CI] | reward/event [95% CI] | first events [95% CI] | ...
    |---|---|---|---|---|---|---|---|
    | all users | 2 | 0.583 [0.583, 0.583] | 0.625 [0.625, 0.625] | 0.500 [0.500, 0.500] | ...
    ...
    Flagged: group b (per_user, per_event)
    <BLANKLINE>
    """
    head = "| " + " | ".join(FAIRNESS_COLUMNS) + " |\n|" + "---|" * len(FAIRNESS_COLUMNS) + "\n"
    body = "".join("| " + " | ".join(r) + " |\n" for r in fairness_rows(report, weighted=True))
    flagged = report.flagged
    tail = ("\nFlagged: " + "; ".join(f"{s.kind} {s.name} ({', '.join(s.disparity)})" for s in flagged)
            if flagged else "\nNo segment flagged.")
    return (f"# Fairness audit of {report.source}\n\n{report.n_users} users, {report.n_events} events; first "
            f"events = each user's first {report.config['first_events']}.\n\n{head}{body}\nRule: {report.rule}."
            f"{tail}\n")


def write_fairness(report: FairnessReport, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``fairness.json`` and ``fairness.md`` to ``out_dir``; return their paths.

    >>> import numpy as np
    >>> events = EventData.from_rows(["a", "a", "a", "b"], [0, 1, 2, 0], ["x", "y", "x", "y"], [1, 0, 1, 0.5])
    >>> W, o = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), user_outcomes(events, first_n=2)  # all; a; b
    >>> point = segment_stats(W, o, np.ones((1, 2)))[0]              # 4 metrics x 3 segments; CI = point here
    >>> segments = build_segments([("all", "all users"), ("group", "a"), ("group", "b")], W, o, point, point,
    ...                           point, np.ones(2), np.zeros(2, dtype=int), 1, ["type 0", "novel"], 0.1, 1)
    >>> rule, config = rule_and_config(group="group", true_type=None, margin=0.1, n_boot=0, first_events=2,
    ...                                min_users=1, weighted=False, seed=0, feature_source="log")
    >>> report = FairnessReport(segments[0], segments[1:], config, rule, "memory", 2, 4, {})
    >>> [p.as_posix() for p in write_fairness(report, "audit")]
    ['audit/fairness.json', 'audit/fairness.md']
    """
    import json

    from warmstart._io import atomic_write

    out = Path(out_dir)
    j = atomic_write(out / "fairness.json", json.dumps(report.to_dict(), indent=1, allow_nan=False).encode())
    m = atomic_write(out / "fairness.md", fairness_markdown(report).encode())
    return j, m
