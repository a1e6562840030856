"""Knowledge-tracing response data: one flat record of who answered which skill, in order, and its loaders.

``KTData`` holds one row per response, sorted by student and then by the order the student answered in.
``load_kt`` / ``save_kt_csv`` read and write the generic format (CSV, or Parquet through pyarrow);
``warmstart.data.assistments.load_assistments2009`` reads the ASSISTments 2009-2010 data into a ``KTData``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmstart._io import atomic_write
from warmstart.data._columns import (
    _as_text,
    _is_number,
    _numeric,
    _starts,
    _subset_rows,
    _user_ids,
    check_blocks,
    file_errors,
    read_columns,
)


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
    >>> d.lengths().tolist(), d.subset([1]).student_ids.tolist(), d.subset([1]).correct.tolist()
    ([1, 2], ['b'], [1, 1])
    >>> d.summary()["correct_rate"], d.summary()["n_skills_used"]
    (0.6666666666666666, 2)
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
        lens, new_starts, rows = _subset_rows(self.starts, self.lengths(), idx, "student")
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
        """Check shapes, ranges and the sorted-by-student layout; raise ``ValueError`` naming the field.
        Construction calls it:

        >>> KTData(student=[0, 0], skill=[0, 2], item=[-1, -1], correct=[1, 0], student_ids=["a"],
        ...        skill_names=["add", "sub"], starts=[0, 2])
        Traceback (most recent call last):
        ...
        ValueError: skill: expected values in [0, 1], got 2
        """
        n = self.correct.shape[0]
        for name in ("student", "skill", "item", "correct"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},) like correct, got shape {arr.shape}")
        lens = check_blocks(self.student, self.starts, n, "student", "KTData.from_responses")
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


def _check_range(name: str, arr: np.ndarray, lo: int, hi: int) -> None:
    if arr.size and (arr.min() < lo or arr.max() > hi):
        bad = arr[(arr < lo) | (arr > hi)][0]
        raise ValueError(f"{name}: expected values in [{lo}, {hi}], got {int(bad)}")


# ---------------------------------------------------------------------------------------------------------
# the generic CSV / Parquet format


def load_kt(path: str | os.PathLike[str], *, student: str = "student", order: str = "order",
            skill: str = "skill", item: str | None = None, correct: str = "correct",
            skill_names: Sequence[str] | None = None, item_names: Sequence[str] | None = None) -> KTData:
    """Read responses from CSV (``.csv`` or ``.csv.gz``) or Parquet (``.parquet``/``.pq``, needs pyarrow).

    One row per response. ``student``: any id; ``order``: numbers, or strings that sort in time order (ISO
    timestamps); ``skill``: a name; ``item``: optional, a name or empty for unknown; ``correct``: 0 or 1.
    Students are numbered in sorted order of their ids (numeric when every id is an integer); each student's
    rows are sorted by ``order``, ties keeping file order. Skill and item ids follow ``skill_names`` /
    ``item_names`` when given (names not in them are appended, sorted), else the sorted distinct names.

    >>> import pathlib
    >>> _ = pathlib.Path("responses.csv").write_text("student,order,skill,correct\\n"
    ...                                              "12,2,add,1\\n12,1,sub,0\\n7,1,add,1\\n")
    >>> d = load_kt("responses.csv")
    >>> d.student_ids.tolist(), d.skill_names, d.skill.tolist(), d.correct.tolist()  # 12: sub, then add
    ([7, 12], ['add', 'sub'], [0, 1, 0], [1, 0, 1])
    """
    path = Path(path)
    wanted = {"student": student, "order": order, "skill": skill, "correct": correct}
    if item is not None:
        wanted["item"] = item
    cols = read_columns(path, wanted)
    with file_errors(path):
        return _from_columns(cols, wanted, skill_names, item_names)


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
    if corr is None or not np.isin(corr, (0.0, 1.0)).all():
        r = (next(i for i, v in enumerate(_as_text(cols["correct"]).tolist()) if not _is_number(v))
             if corr is None else int(np.argmax(~np.isin(corr, (0.0, 1.0)))))
        raise ValueError(f"{wanted['correct']}: expected 0 or 1 in every row, got {cols['correct'].tolist()[r]!r} "
                         f"in row {r + 1}")
    order_num = _numeric(cols["order"])
    if order_num is not None:
        if not np.all(np.isfinite(order_num)):
            raise ValueError(f"{wanted['order']}: expected sortable values, got a missing or NaN order in row "
                             f"{int(np.argmax(~np.isfinite(order_num))) + 1}")
        order_key: np.ndarray = order_num
    else:
        order_key = _as_text(cols["order"])
        empty = (order_key == "") | (order_key == "nan")
        if np.any(empty):
            raise ValueError(f"{wanted['order']}: expected sortable values, got an empty order in row "
                             f"{int(np.argmax(empty)) + 1}")
        numeric_like = np.array([_is_number(v) for v in order_key.tolist()])
        if numeric_like.any():
            raise ValueError(f"{wanted['order']}: expected all numbers or all sortable strings (ISO "
                             f"timestamps), got a mix such as {str(order_key[numeric_like][0])!r} and "
                             f"{str(order_key[~numeric_like][0])!r}")
    ids = _user_ids(cols["student"], wanted["student"])  # "007" and "7" are different students
    skill_text = _as_text(cols["skill"])
    if np.any(skill_text == ""):
        raise ValueError(f"{wanted['skill']}: expected a skill name in every row, got an empty name in row "
                         f"{int(np.argmax(skill_text == '')) + 1}")
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


def save_kt_csv(data: KTData, path: str | os.PathLike[str]) -> Path:
    """Write ``data`` as CSV with columns ``student, order, skill, item, correct``: original student ids,
    0-based position as the order, skill names, item names (empty when unknown). Written atomically.
    ``load_kt(path, item="item", skill_names=data.skill_names, item_names=data.item_names)`` reads it back
    to the same arrays.

    >>> d = KTData.from_responses(["b", "a", "b"], [0, 1, 1], [1, 0, 1], skill_names=["add", "sub"])
    >>> print(save_kt_csv(d, "responses.csv").read_text(), end="")
    student,order,skill,item,correct
    a,0,sub,,0
    b,0,add,,1
    b,1,sub,,1
    >>> load_kt("responses.csv", item="item", skill_names=d.skill_names).correct.tolist()
    [0, 1, 1]
    """
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
