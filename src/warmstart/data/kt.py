"""Knowledge-tracing response data: one flat record of who answered which skill, in order, and its loaders.

``KTData`` holds one row per response, sorted by student and then by the order the student answered in.
``load_kt`` / ``save_kt_csv`` read and write the generic format (CSV, or Parquet through pyarrow);
``load_assistments2009`` reads the ASSISTments 2009-2010 skill-builder data in the AKT "4 lines per
student" files and collapses multi-skill duplicates (see ``docs/kt-format.md``).
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._io import atomic_write

SPLITS = ("train", "valid", "test", "all")
ASSIST2009_DIR = "assistments2009-akt"
ASSIST2009_FILES = {
    "train": "assist2009_pid_train1.csv",
    "valid": "assist2009_pid_valid1.csv",
    "test": "assist2009_pid_test1.csv",
}
SKILL_JOIN = " + "


@dataclass(frozen=True, eq=False)
class KTData:
    """Responses of many students, one row each, sorted by student and then by answer order.

    ``student[r]`` is the student's index (``0 .. n_students - 1``; rows of one student are contiguous, the
    block of student ``s`` is ``starts[s]:starts[s + 1]``), ``skill[r]`` an index into ``skill_names``,
    ``item[r]`` an index into ``item_names`` or ``-1`` when the item is unknown, ``correct[r]`` 0 or 1.
    ``student_ids`` holds the original id of each student. Arrays are coerced to their dtypes and the whole
    record is checked at construction (``validate``).

    >>> d = KTData.from_responses(["b", "a", "b"], [0, 1, 1], [1, 0, 1], skill_names=["add", "sub"])
    >>> d.n_students, d.student.tolist(), d.student_ids.tolist(), d.positions().tolist()
    (2, [0, 1, 1], ['a', 'b'], [0, 0, 1])
    """

    student: np.ndarray
    skill: np.ndarray
    item: np.ndarray
    correct: np.ndarray
    student_ids: np.ndarray
    skill_names: list[str]
    starts: np.ndarray
    item_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, dtype in (("student", np.int64), ("skill", np.int64), ("item", np.int64),
                            ("correct", np.int8), ("starts", np.int64)):
            arr = np.asarray(getattr(self, name))
            if arr.dtype != dtype:
                if arr.size and not np.issubdtype(arr.dtype, np.integer):
                    raise ValueError(f"{name}: expected integers, got dtype {arr.dtype}")
                arr = arr.astype(dtype)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "student_ids", np.asarray(self.student_ids))
        object.__setattr__(self, "skill_names", [str(s) for s in self.skill_names])
        object.__setattr__(self, "item_names", [str(s) for s in self.item_names])
        self.validate()

    @classmethod
    def from_responses(cls, student_ids: Sequence[Any] | np.ndarray, skill: Sequence[int] | np.ndarray,
                       correct: Sequence[int] | np.ndarray, *, item: Sequence[int] | np.ndarray | None = None,
                       skill_names: Sequence[str] | None = None) -> KTData:
        """Build from responses listed in answer order (students may interleave). Students are numbered in
        sorted order of their ids; each student's rows keep their relative order."""
        ids = np.asarray(student_ids)
        n = ids.shape[0]
        skill_arr, correct_arr = np.asarray(skill), np.asarray(correct)
        item_arr = np.full(n, -1, dtype=np.int64) if item is None else np.asarray(item)
        for name, arr in (("skill", skill_arr), ("correct", correct_arr), ("item", item_arr)):
            if arr.shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},) like student_ids, got shape {arr.shape}")
        uniq, student = np.unique(ids, return_inverse=True)
        order = np.argsort(student, kind="stable")
        if skill_names is None:
            skill_names = [str(k) for k in range(int(skill_arr.max()) + 1 if n else 0)]
        return cls(student=student[order], skill=skill_arr[order], item=item_arr[order],
                   correct=correct_arr[order], student_ids=uniq, skill_names=list(skill_names),
                   starts=_starts(np.bincount(student, minlength=uniq.shape[0])))

    @property
    def n_students(self) -> int:
        return int(self.starts.shape[0] - 1)

    @property
    def n_skills(self) -> int:
        return len(self.skill_names)

    @property
    def n_responses(self) -> int:
        return int(self.correct.shape[0])

    def __len__(self) -> int:
        return self.n_responses

    def lengths(self) -> np.ndarray:
        """Number of responses of each student."""
        return np.diff(self.starts)

    def positions(self) -> np.ndarray:
        """0-based position of each response within its own student's history."""
        return np.arange(self.n_responses, dtype=np.int64) - self.starts[self.student]

    def subset(self, student_indices: Sequence[int] | np.ndarray) -> KTData:
        """The responses of the given students (indices, in the order given, or a boolean mask), renumbered
        ``0 .. len - 1``. Vocabularies are kept, so skill and item ids mean the same thing."""
        idx = np.asarray(student_indices)
        if idx.dtype == bool:
            if idx.shape != (self.n_students,):
                raise ValueError(f"student_indices: expected a mask of shape ({self.n_students},), "
                                 f"got shape {idx.shape}")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_students):
            bad = idx[(idx < 0) | (idx >= self.n_students)][0]
            raise ValueError(f"student_indices: expected indices in [0, {self.n_students - 1}], got {bad}")
        if np.unique(idx).size != idx.size:
            raise ValueError("student_indices: expected distinct students, got repeated indices")
        lens = self.lengths()[idx]
        new_starts = _starts(lens)
        rows = np.repeat(self.starts[idx] - new_starts[:-1], lens) + np.arange(new_starts[-1])
        return KTData(student=np.repeat(np.arange(idx.size, dtype=np.int64), lens), skill=self.skill[rows],
                      item=self.item[rows], correct=self.correct[rows], student_ids=self.student_ids[idx],
                      skill_names=list(self.skill_names), starts=new_starts, item_names=list(self.item_names))

    def summary(self) -> dict[str, Any]:
        """Counts for benchmark JSON: students, responses, skills (in the vocabulary and used), correct rate."""
        lens = self.lengths()
        return {"n_students": self.n_students, "n_responses": self.n_responses, "n_skills": self.n_skills,
                "n_skills_used": int(np.unique(self.skill).size),
                "correct_rate": float(self.correct.mean()) if self.n_responses else float("nan"),
                "median_length": float(np.median(lens)) if lens.size else float("nan")}

    def validate(self) -> None:
        """Check shapes, ranges and the sorted-by-student layout; raise ``ValueError`` naming the field."""
        n = self.correct.shape[0]
        for name in ("student", "skill", "item", "correct"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},) like correct, got shape {arr.shape}")
        starts = self.starts
        if starts.ndim != 1 or starts.shape[0] < 1 or starts[0] != 0 or starts[-1] != n:
            raise ValueError(f"starts: expected offsets from 0 to {n} (n_students + 1 values), got "
                             f"{starts[:3].tolist()}...{starts[-1:].tolist()} of shape {starts.shape}")
        lens = np.diff(starts)
        if np.any(lens < 0):
            raise ValueError(f"starts: expected non-decreasing offsets, got a drop at student "
                             f"{int(np.argmax(lens < 0))}")
        if not np.array_equal(self.student, np.repeat(np.arange(lens.shape[0]), lens)):
            raise ValueError("student: expected rows sorted by student index 0..n_students-1 matching starts, "
                             "got another order (build with KTData.from_responses to sort)")
        if self.student_ids.shape != (lens.shape[0],):
            raise ValueError(f"student_ids: expected shape ({lens.shape[0]},), got {self.student_ids.shape}")
        if np.unique(self.student_ids).size != lens.shape[0]:
            raise ValueError("student_ids: expected distinct ids, got repeated ids")
        _check_range("skill", self.skill, 0, self.n_skills - 1)
        if self.item_names:
            _check_range("item", self.item, -1, len(self.item_names) - 1)
        elif n and self.item.min() < -1:
            raise ValueError(f"item: expected an index >= 0 or -1 (unknown), got {int(self.item.min())}")
        _check_range("correct", self.correct, 0, 1)
        for name in ("skill_names", "item_names"):
            names = getattr(self, name)
            if len(set(names)) != len(names):
                raise ValueError(f"{name}: expected distinct names, got duplicates")


def _starts(lengths: np.ndarray) -> np.ndarray:
    out = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _check_range(name: str, arr: np.ndarray, lo: int, hi: int) -> None:
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr[(arr < lo) | (arr > hi)][0]
        raise ValueError(f"{name}: expected values in [{lo}, {hi}], got {int(bad)}")


# ---------------------------------------------------------------------------------------------------------
# ASSISTments 2009-2010 (AKT copy)


def assistments2009_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the ASSISTments 2009 files: ``root`` (or its ``assistments2009-akt`` subfolder),
    else ``$WARMSTART_DATA/assistments2009-akt``, else ``../shared/data/assistments2009-akt`` next to the
    repository (or the working directory)."""
    if root is not None:
        candidates = [Path(root), Path(root) / ASSIST2009_DIR]
    elif os.environ.get("WARMSTART_DATA"):
        candidates = [Path(os.environ["WARMSTART_DATA"]) / ASSIST2009_DIR, Path(os.environ["WARMSTART_DATA"])]
    else:
        repo = Path(__file__).resolve().parents[3]
        candidates = [repo.parent / "shared" / "data" / ASSIST2009_DIR,
                      Path.cwd().parent / "shared" / "data" / ASSIST2009_DIR]
    for c in candidates:
        if all((c / f).is_file() for f in ASSIST2009_FILES.values()):
            return c
    names = ", ".join(ASSIST2009_FILES.values())
    raise ValueError(f"root: expected a folder with the ASSISTments 2009 files ({names}), got none at "
                     f"{' or '.join(str(c) for c in candidates)}; pass root= or set WARMSTART_DATA to the folder "
                     f"that holds {ASSIST2009_DIR}/")


def _read_four_lines(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per student: original user id and length; flat: problem, skill, correct (1-based ids as in the file)."""
    lines = [ln.strip().rstrip(",") for ln in path.read_text().splitlines()]
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
        skill_index = json.loads((folder / "skill.json").read_text())
        problem_index = json.loads((folder / "problems.json").read_text())
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
    """Entries in each file and responses after collapsing, per split (the numbers in the docs)."""
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


# ---------------------------------------------------------------------------------------------------------
# Generic CSV / Parquet format


def load_kt(path: str | os.PathLike[str], *, student: str = "student", order: str = "order",
            skill: str = "skill", item: str | None = None, correct: str = "correct",
            skill_names: Sequence[str] | None = None, item_names: Sequence[str] | None = None) -> KTData:
    """Read responses from CSV (``.csv`` or ``.csv.gz``) or Parquet (``.parquet``/``.pq``, needs pyarrow).

    One row per response. ``student``: any id; ``order``: numbers, or strings that sort in time order (ISO
    timestamps); ``skill``: a name; ``item``: optional, a name or empty for unknown; ``correct``: 0 or 1.
    Students are numbered in sorted order of their ids (numeric when every id is an integer); each student's
    rows are sorted by ``order``, ties keeping file order. Skill and item ids follow ``skill_names`` /
    ``item_names`` when given (names not in them are appended, sorted), else the sorted distinct names.
    """
    path = Path(path)
    wanted = {"student": student, "order": order, "skill": skill, "correct": correct}
    if item is not None:
        wanted["item"] = item
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        cols = _read_csv_columns(path, wanted)
    elif name.endswith((".parquet", ".pq")):
        cols = _read_parquet_columns(path, wanted)
    else:
        raise ValueError(f"path: expected a .csv, .csv.gz, .parquet or .pq file, got {path.name!r}")
    return _from_columns(cols, wanted, skill_names, item_names)


def _read_csv_columns(path: Path, wanted: dict[str, str]) -> dict[str, np.ndarray]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{path}: expected a header row, got an empty file")
            where = _column_positions(path, header, wanted)
            data: dict[str, list[str]] = {k: [] for k in wanted}
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) < len(header):
                    raise ValueError(f"{path}: line {lineno}: expected {len(header)} fields, got {len(row)}")
                for k, j in where.items():
                    data[k].append(row[j])
    except OSError as exc:
        raise ValueError(f"path: expected a readable file, got {path} ({exc.strerror})") from exc
    return {k: np.array(v, dtype=str) for k, v in data.items()}


def _read_parquet_columns(path: Path, wanted: dict[str, str]) -> dict[str, np.ndarray]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ValueError(f"path: reading Parquet ({path.name}) needs pyarrow; pip install pyarrow, "
                         "or use CSV") from exc
    try:
        schema = pq.read_schema(path)
    except OSError as exc:
        raise ValueError(f"path: expected a readable Parquet file, got {path} ({exc})") from exc
    _column_positions(path, list(schema.names), wanted)
    table = pq.read_table(path, columns=sorted(set(wanted.values())))
    return {k: np.asarray(table.column(c).to_numpy(zero_copy_only=False)) for k, c in wanted.items()}


def _column_positions(path: Path, header: list[str], wanted: dict[str, str]) -> dict[str, int]:
    missing = [f"{k}={c!r}" for k, c in wanted.items() if c not in header]
    if missing:
        raise ValueError(f"{path}: expected columns {', '.join(missing)}, got columns {header}")
    return {k: header.index(c) for k, c in wanted.items()}


def _numeric(values: np.ndarray) -> np.ndarray | None:
    if values.dtype.kind in "biuf":
        return values.astype(float)
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]").astype(np.int64).astype(float)
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        return None


def _as_text(values: np.ndarray) -> np.ndarray:
    out = values.astype(str)
    if values.dtype.kind == "O":
        out[np.array([v is None for v in values], dtype=bool)] = ""
    return out


def _vocabulary(values: np.ndarray, given: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    vocab = [str(v) for v in given] if given is not None else []
    seen = set(vocab)
    vocab += sorted({v for v in np.unique(values).tolist() if v not in seen and v != ""})
    index = {v: i for i, v in enumerate(vocab)}
    uniq, inv = np.unique(values, return_inverse=True)
    codes = np.array([index.get(v, -1) for v in uniq.tolist()], dtype=np.int64)
    return codes[inv.ravel()], vocab


def _from_columns(cols: dict[str, np.ndarray], wanted: dict[str, str], skill_names: Sequence[str] | None,
                  item_names: Sequence[str] | None) -> KTData:
    n = cols["correct"].shape[0]
    corr = _numeric(cols["correct"])
    if corr is None or not np.all(np.isin(corr, (0.0, 1.0))):
        bad = (cols["correct"][~np.isin(corr, (0.0, 1.0))][0] if corr is not None
               else next(v for v in cols["correct"].tolist() if not _is_number(str(v))))
        raise ValueError(f"{wanted['correct']}: expected 0 or 1 in every row, got {bad!r}")
    order_num = _numeric(cols["order"])
    if order_num is not None:
        if not np.all(np.isfinite(order_num)):
            raise ValueError(f"{wanted['order']}: expected sortable values, got a missing or NaN order")
        order_key: np.ndarray = order_num
    else:
        order_key = _as_text(cols["order"])
        if np.any(order_key == "") or np.any(order_key == "nan"):
            raise ValueError(f"{wanted['order']}: expected sortable values, got an empty order")
        numeric_like = np.array([_is_number(v) for v in order_key.tolist()])
        if numeric_like.any():
            raise ValueError(f"{wanted['order']}: expected all numbers or all sortable strings (ISO "
                             f"timestamps), got a mix such as {order_key[numeric_like][0]!r} and "
                             f"{order_key[~numeric_like][0]!r}")
    sid = _as_text(cols["student"])
    if np.any(sid == ""):
        raise ValueError(f"{wanted['student']}: expected an id in every row, got an empty id")
    try:
        ids: np.ndarray = sid.astype(np.int64)
        if not np.array_equal(ids.astype(str), sid):  # "007" and "7" are different students
            ids = sid
    except (TypeError, ValueError, OverflowError):
        ids = sid
    skill_text = _as_text(cols["skill"])
    if np.any(skill_text == ""):
        raise ValueError(f"{wanted['skill']}: expected a skill name in every row, got an empty name")
    skill_ids, skill_vocab = _vocabulary(skill_text, skill_names)
    if "item" in cols:
        item_ids, item_vocab = _vocabulary(_as_text(cols["item"]), item_names)
    else:
        item_ids, item_vocab = np.full(n, -1, dtype=np.int64), [str(v) for v in item_names or []]
    uniq, student = np.unique(ids, return_inverse=True)
    student = student.ravel()
    perm = np.lexsort((np.arange(n), order_key, student))
    return KTData(student=student[perm], skill=skill_ids[perm], item=item_ids[perm],
                  correct=corr.astype(np.int8)[perm], student_ids=uniq, skill_names=skill_vocab,
                  starts=_starts(np.bincount(student, minlength=uniq.shape[0])), item_names=item_vocab)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def save_kt_csv(data: KTData, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as CSV with columns ``student, order, skill, item, correct``: original student ids,
    0-based position as the order, skill names, item names (empty when unknown). Written atomically.
    ``load_kt(path, item="item", skill_names=data.skill_names, item_names=data.item_names)`` reads it back
    to the same arrays."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "order", "skill", "item", "correct"])
    skills = np.array(data.skill_names, dtype=object)
    if data.item_names:
        names = np.array(data.item_names + [""], dtype=object)
        items = names[np.where(data.item >= 0, data.item, len(data.item_names))]
    else:
        items = np.where(data.item >= 0, data.item.astype(str), "")
    writer.writerows(zip(data.student_ids[data.student].tolist(), data.positions().tolist(),
                         skills[data.skill].tolist() if data.n_responses else [], items.tolist(),
                         data.correct.tolist()))
    return atomic_write(path, buf.getvalue().encode("utf-8"))
