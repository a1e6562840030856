"""ASSISTments 2009-2010 skill-builder responses from the AKT "4 lines per student" files (split 1), with
multi-skill duplicates collapsed into one response each (see ``docs/kt-format.md`` and ``load_assistments2009``).

Feng, Heffernan and Koedinger, "Addressing the assessment challenge in an Intelligent Tutoring System that tutors
as it assesses", User Modeling and User-Adapted Interaction 19, 2009; files from the AKT repository (Ghosh,
Heffernan and Lan, KDD 2020). The files ship with warmstart, gzipped, in
``warmstart/data/datasets/assistments2009-akt/`` with their provenance and terms (``SOURCE.md``); a plain copy
elsewhere is read first (``assistments2009_root``).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from warmstart.data._columns import _starts
from warmstart.data._paths import find_dataset, has_files, read_text
from warmstart.data.kt import KTData

SPLITS = ("train", "valid", "test", "all")
ASSIST2009_DIR = "assistments2009-akt"
ASSIST2009_FILES = {
    "train": "assist2009_pid_train1.csv",
    "valid": "assist2009_pid_valid1.csv",
    "test": "assist2009_pid_test1.csv",
}
SKILL_JOIN = " + "


def assistments2009_root(root: str | os.PathLike[str] | None = None, *, search_shipped: bool = True) -> Path:
    """The folder holding the ASSISTments 2009 files (plain or ``.gz``): ``root`` (or its
    ``assistments2009-akt`` subfolder), else ``$WARMSTART_DATA/assistments2009-akt`` or
    ``../shared/data/assistments2009-akt`` next to the repository (or the working directory), else the copy
    shipped with warmstart (not with ``search_shipped=False``).

    >>> assistments2009_root("nowhere")
    Traceback (most recent call last):
    ...
    ValueError: root: expected a folder with the ASSISTments 2009 files (...), got none at nowhere ...
    """
    names = ", ".join(ASSIST2009_FILES.values())
    return find_dataset(ASSIST2009_DIR, root, lambda c: has_files(c, ASSIST2009_FILES.values()),
                        f"the ASSISTments 2009 files ({names}; plain or .gz)", search_shipped=search_shipped)


def _read_four_lines(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per student: original user id and length; flat: problem, skill, correct (1-based ids as in the file;
    ``path`` or ``path.gz``)."""
    lines = [ln.strip().rstrip(",") for ln in read_text(path.parent, path.name).splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) % 4:
        raise ValueError(f"{path}: expected 4 lines per student, got {len(lines)} non-empty lines")
    users, lens, cols = [], [], ([], [], [])  # type: ignore[var-annotated]
    for i in range(0, len(lines), 4):
        head = lines[i].split(",")
        try:
            users.append(int(head[-1]))
            seqs = [np.array(lines[i + k].split(","), dtype=np.int64) for k in (1, 2, 3)]
        except ValueError as exc:
            raise ValueError(f"{path}: line {i + 1}-{i + 4}: expected comma-separated integers ({exc})") from exc
        if not seqs[0].size == seqs[1].size == seqs[2].size:
            raise ValueError(f"{path}: line {i + 2}-{i + 4}: expected problem, skill and correct lines of the "
                             f"same length, got {[s.size for s in seqs]}")
        lens.append(seqs[0].size)
        for col, s in zip(cols, seqs):
            col.append(s)
    problem, skill, correct = (np.concatenate(c) for c in cols)
    return np.array(users, dtype=np.int64), np.array(lens, dtype=np.int64), problem, skill, correct


def _response_groups(student: np.ndarray, problem: np.ndarray, skill: np.ndarray) -> np.ndarray:
    """Group id of each entry: consecutive entries of one student on one problem are one response, except that
    a skill seen again within the run starts a new response (the problem was answered twice)."""
    n = student.shape[0]
    new = np.ones(n, dtype=bool)
    new[1:] = (student[1:] != student[:-1]) | (problem[1:] != problem[:-1])
    run = np.cumsum(new) - 1
    order = np.lexsort((skill, run))
    dup = (run[order][1:] == run[order][:-1]) & (skill[order][1:] == skill[order][:-1])
    run_starts = np.flatnonzero(new)
    for r in np.unique(run[order][1:][dup]):  # a few dozen runs in ASSISTments 2009: a loop is fine
        seen: set[int] = set()
        for j in range(run_starts[r], run_starts[r + 1] if r + 1 < run_starts.shape[0] else n):
            if int(skill[j]) in seen:
                new[j] = True
                seen = set()
            seen.add(int(skill[j]))
    return np.cumsum(new) - 1


def _padded_components(group: np.ndarray, skill: np.ndarray, width: int) -> np.ndarray:
    """One row per group: its distinct component skills sorted ascending, padded with -1."""
    n_groups = int(group[-1]) + 1 if group.size else 0
    order = np.lexsort((skill, group))
    g, s = group[order], skill[order]
    keep = np.ones(g.shape[0], dtype=bool)
    keep[1:] = (g[1:] != g[:-1]) | (s[1:] != s[:-1])
    g, s = g[keep], s[keep]
    first = np.searchsorted(g, np.arange(n_groups))
    rank = np.arange(g.shape[0]) - first[g]
    out = np.full((n_groups, width), -1, dtype=np.int64)
    out[g, rank] = s
    return out


@functools.lru_cache(maxsize=2)
def _assist2009(root: str, collapse: bool) -> tuple[dict[str, dict[str, np.ndarray]], list[str], list[str]]:
    """Parse the three files once: per split the response arrays; the shared skill and item vocabularies."""
    folder = Path(root)
    try:
        skill_index = json.loads(read_text(folder, "skill.json"))
        problem_index = json.loads(read_text(folder, "problems.json"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"root: expected skill.json and problems.json in {folder}, got {exc}") from exc
    base = [""] * len(skill_index)
    for name, k in skill_index.items():
        base[int(k) - 1] = str(name)
    item_names = [""] * len(problem_index)
    for pid, k in problem_index.items():
        item_names[int(k) - 1] = str(pid)
    parsed, rows = {}, []
    for split, fname in ASSIST2009_FILES.items():
        users, lens, problem, skill, correct = _read_four_lines(folder / fname)
        student = np.repeat(np.arange(users.shape[0]), lens)
        skill = skill - 1
        if skill.size and (skill.min() < 0 or skill.max() >= len(base)):
            raise ValueError(f"{folder / fname}: expected skill indices in [1, {len(base)}], "
                             f"got {skill.max() + 1}")
        group = _response_groups(student, problem, skill) if collapse else np.arange(student.shape[0])
        first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        parsed[split] = {"users": users, "student": student[first], "item": problem[first] - 1,
                         "correct": correct[first].astype(np.int8), "n_entries": np.array(student.shape[0])}
        rows.append(_padded_components(group, skill, int(np.bincount(group).max(initial=1))))
    width = max(r.shape[1] for r in rows)
    padded = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1])), constant_values=-1) for r in rows])
    combos, inverse = np.unique(padded, axis=0, return_inverse=True)
    multi = combos[:, 1] >= 0 if width > 1 else np.zeros(combos.shape[0], dtype=bool)
    multi_names = [SKILL_JOIN.join(sorted(base[k] for k in c if k >= 0)) for c in combos[multi]]
    order = np.argsort(np.array(multi_names, dtype=object), kind="stable")
    combo_id = np.empty(combos.shape[0], dtype=np.int64)
    combo_id[~multi] = combos[~multi, 0]
    combo_id[np.flatnonzero(multi)[order]] = len(base) + np.arange(order.shape[0])
    skill_names = base + [multi_names[i] for i in order]
    offset = 0
    for split in ASSIST2009_FILES:
        n = parsed[split]["student"].shape[0]
        parsed[split]["skill"] = combo_id[inverse.ravel()[offset:offset + n]]
        offset += n
    for arrays in parsed.values():
        for arr in arrays.values():
            if isinstance(arr, np.ndarray):
                arr.setflags(write=False)
    return parsed, skill_names, item_names


def load_assistments2009(root: str | os.PathLike[str] | None = None, split: str = "train",
                         skills: Iterable[str | int] | None = None, *, collapse: bool = True) -> KTData:
    """ASSISTments 2009-2010 skill-builder responses from the AKT files (split 1: train, valid, test or all).

    In the files, a response to a problem tagged with k skills appears as k consecutive entries (same problem,
    one skill each, same correctness). With ``collapse=True`` (the default) such a run is **one response**
    whose skill is the combination of its skills: a skill of its own, named by joining the sorted component
    names with ``" + "`` (for example ``"Addition and Subtraction Integers + Multiplication and Division
    Integers"``). A skill that appears again within a run starts a new response (the student saw the problem
    twice; this happens in 24 runs). Counts, responses after collapsing (entries in the file):
    train 170,851 (203,442), valid 51,736 (61,280), test 52,003 (60,915), all 274,590 (325,637).

    Skill ids are shared by all splits: ids ``0..109`` are the 110 single skills in ``skill.json`` order
    (file index minus one), then the combinations found in any of the three files, sorted by name (136
    skills in all, 40 of them combinations). A model fitted on one split can therefore score another.
    ``item`` is the problem index minus one and ``item_names`` holds the original ASSISTments problem ids;
    ``student_ids`` are the original user ids, and students are numbered in ascending order of them. ``collapse=False`` keeps every entry as
    its own response, with its single skill (the inflated count most papers report); the vocabulary is
    then the 110 single skills.

    ``skills`` keeps only responses whose (combined) skill name or id is listed; students left with no
    response are dropped. The vocabulary is unchanged.

    >>> import json, pathlib
    >>> root = pathlib.Path("assistments2009-akt")                 # a tiny copy of the AKT files' layout
    >>> root.mkdir(exist_ok=True)
    >>> _ = (root / "skill.json").write_text(json.dumps({"Area": 1, "Mean": 2}))
    >>> _ = (root / "problems.json").write_text(json.dumps({"p10": 1, "p11": 2}))
    >>> for split, user in (("train", 7), ("valid", 8), ("test", 9)):  # length,user/problems/skills/correct
    ...     _ = (root / f"assist2009_pid_{split}1.csv").write_text(f"3,{user}\\n1,2,2\\n1,1,2\\n1,0,0\\n")
    >>> train = load_assistments2009(root, "train")      # problem p11 tagged with both skills: one response
    >>> train.student_ids.tolist(), train.skill_names, [train.skill_names[k] for k in train.skill]
    ([7], ['Area', 'Mean', 'Area + Mean'], ['Area', 'Area + Mean'])
    >>> load_assistments2009(root, "all", collapse=False).n_responses    # 3 students, 3 entries each
    9
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {', '.join(SPLITS)}, got {split!r}")
    folder = assistments2009_root(root)
    parsed, skill_names, item_names = _assist2009(str(folder.resolve()), bool(collapse))
    parts = list(ASSIST2009_FILES) if split == "all" else [split]
    users = np.concatenate([parsed[p]["users"] for p in parts])
    cols = {c: np.concatenate([parsed[p][c] for p in parts]) for c in ("skill", "item", "correct")}
    offsets = np.cumsum([0] + [parsed[p]["users"].shape[0] for p in parts])
    student = np.concatenate([parsed[p]["student"] + offsets[i] for i, p in enumerate(parts)])
    keep = np.ones(student.shape[0], dtype=bool)
    if skills is not None:
        keep = np.isin(cols["skill"], _skill_ids(skills, skill_names))
    rank = np.empty(users.shape[0], dtype=np.int64)
    rank[np.argsort(users, kind="stable")] = np.arange(users.shape[0])
    order = np.argsort(rank[student[keep]], kind="stable")
    kept_students = np.unique(rank[student[keep]])
    renum = np.full(users.shape[0], -1, dtype=np.int64)
    renum[kept_students] = np.arange(kept_students.shape[0])
    new_student = renum[rank[student[keep]][order]]
    return KTData(student=new_student, skill=cols["skill"][keep][order], item=cols["item"][keep][order],
                  correct=cols["correct"][keep][order], student_ids=np.sort(users)[kept_students],
                  skill_names=list(skill_names),
                  starts=_starts(np.bincount(new_student, minlength=kept_students.shape[0])),
                  item_names=list(item_names))


def assistments2009_counts(root: str | os.PathLike[str] | None = None) -> dict[str, dict[str, int]]:
    """Entries in each file and responses after collapsing, per split (the numbers in the docs).

    >>> import json, pathlib
    >>> root = pathlib.Path("assistments2009-akt")                 # a tiny copy of the AKT files' layout
    >>> root.mkdir(exist_ok=True)
    >>> _ = (root / "skill.json").write_text(json.dumps({"Area": 1, "Mean": 2}))
    >>> _ = (root / "problems.json").write_text(json.dumps({"p10": 1, "p11": 2}))
    >>> for split, user in (("train", 7), ("valid", 8), ("test", 9)):  # length,user/problems/skills/correct
    ...     _ = (root / f"assist2009_pid_{split}1.csv").write_text(f"3,{user}\\n1,2,2\\n1,1,2\\n1,0,0\\n")
    >>> assistments2009_counts(root)["train"]
    {'entries': 3, 'responses': 2, 'students': 1}
    """
    folder = str(assistments2009_root(root).resolve())
    parsed, _, _ = _assist2009(folder, True)
    return {s: {"entries": int(parsed[s]["n_entries"]), "responses": int(parsed[s]["student"].shape[0]),
                "students": int(parsed[s]["users"].shape[0])} for s in ASSIST2009_FILES}


def _skill_ids(skills: Iterable[str | int], names: list[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    out, unknown = [], []
    for s in skills:
        if isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= int(s) < len(names):
            out.append(int(s))
        elif isinstance(s, str) and s in index:
            out.append(index[s])
        else:
            unknown.append(s)
    if unknown:
        raise ValueError(f"skills: expected skill names or ids of the vocabulary ({len(names)} skills), got "
                         f"unknown {unknown[:5]!r}")
    return np.array(out, dtype=np.int64)

