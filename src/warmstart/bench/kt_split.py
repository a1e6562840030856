"""The students of the knowledge-tracing benchmark: which data, and how it is split into training, validation
and test students.

- ``assistments2009``: the data set's own train / valid / test files.
- a path to a file in the generic format (``warmstart.data.kt.load_kt``, docs/kt-format.md): its students split
  at random, seeded: a share ``test_fraction`` for the test, then a share ``valid_fraction`` of the rest for
  validation (the choice of K and of the item prior), the others for training;
- a path and ``test_data``, a second file: the given test students; the validation students are a seeded share
  ``valid_fraction`` of the first file's. The test file reads its skills and items with the first file's
  vocabulary (names only in the test file are appended: unseen in training).

Item ids are optional: a file without its item column (or with every item empty) is read with unknown items,
and the benchmark then skips the item-difficulty model and says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from warmstart.data._columns import read_header
from warmstart.data.assistments import load_assistments2009
from warmstart.data.kt import KTData, load_kt

DATASETS = ("assistments2009",)
#: the columns of the generic format, and their default names in a file
COLUMNS = {"student": "student", "order": "order", "skill": "skill", "item": "item", "correct": "correct"}


@dataclass(frozen=True, kw_only=True)
class KTSource:
    """Where the responses come from and how they are split (module docstring). ``columns`` renames the
    generic format's columns (``{"student": "user", ...}``); with ``items=False`` the item column is ignored
    even when the file has one."""

    data: str = "assistments2009"
    test_data: str | None = None
    test_fraction: float | None = None  # with a single file; 0.2 when not given
    valid_fraction: float = 0.15
    columns: dict[str, str] = field(default_factory=dict)
    items: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(COLUMNS))
        if unknown:
            raise ValueError(f"columns: expected names from {', '.join(COLUMNS)}, got {', '.join(unknown)}")
        if not 0 < self.valid_fraction < 1:
            raise ValueError(f"valid_fraction: expected a share in (0, 1), got {self.valid_fraction}")
        if self.test_fraction is not None and not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction: expected a share in (0, 1), got {self.test_fraction}")
        if self.is_named:
            extra = [name for name, given in (("test_data", self.test_data), ("test_fraction", self.test_fraction))
                     if given is not None] + (["columns"] if self.columns else [])
            if extra:
                raise ValueError(f"{', '.join(extra)}: expected only with a file as data; {self.data} has its own "
                                 f"split")
            return
        for name in ("data", "test_data"):
            value = getattr(self, name)
            if value is None:
                continue
            path = Path(value)
            if not path.is_file():
                raise ValueError(f"{name}: expected {' or '.join(DATASETS) + ' or ' if name == 'data' else ''}"
                                 f"a knowledge-tracing file (CSV or Parquet: student, order, skill, [item], "
                                 f"correct; docs/kt-format.md), got {value!r}, which is not a file")
        if self.test_data is not None and self.test_fraction is not None:
            raise ValueError("test_fraction: expected either a test file (test_data) or a test share, not both")

    @property
    def is_named(self) -> bool:
        """Whether ``data`` names a data set with its own split rather than a file."""
        return self.data in DATASETS

    def split_method(self) -> str:
        if self.is_named:
            return f"{self.data}'s own train / valid / test split"
        if self.test_data is not None:
            return (f"the given test file; validation: a seeded {self.valid_fraction:.0%} of the training file's "
                    f"students")
        return (f"students at random (seed {self.seed}): {self.effective_test_fraction:.0%} test, then "
                f"{self.valid_fraction:.0%} of the rest validation")

    @property
    def effective_test_fraction(self) -> float:
        return 0.2 if self.test_fraction is None else self.test_fraction


def split_students(data: KTData, fraction: float, rng: np.random.Generator, what: str) -> tuple[KTData, KTData]:
    """``(rest, held_out)``: a random share ``fraction`` of the students held out (at least one, and at least
    one left)."""
    n = data.n_students
    if n < 2:
        raise ValueError(f"{what}: expected at least 2 students to split, got {n}")
    k = min(max(round(fraction * n), 1), n - 1)
    chosen = np.zeros(n, dtype=bool)
    chosen[rng.choice(n, size=k, replace=False)] = True
    return data.subset(~chosen), data.subset(chosen)


def first_responses(data: KTData, n: int) -> KTData:
    """Each student's first ``n`` responses (all of those of a student with fewer): a sparse training history.

    >>> d = KTData.from_responses(["a", "a", "a", "b"], [0, 1, 1, 0], [1, 0, 1, 1])
    >>> short = first_responses(d, 2)
    >>> short.lengths().tolist(), short.correct.tolist()
    ([2, 1], [1, 0, 1])
    """
    if n < 1:
        raise ValueError(f"n: expected at least 1 response per student, got {n}")
    keep = data.positions() < n
    lengths = np.minimum(data.lengths(), n)
    return dataclasses.replace(data, student=data.student[keep], skill=data.skill[keep], item=data.item[keep],
                               correct=data.correct[keep], starts=np.concatenate([[0], np.cumsum(lengths)]))


def _read(source: KTSource, path: Path, vocabulary: KTData | None = None) -> KTData:
    names = {**COLUMNS, **source.columns}
    item = names["item"] if source.items and names["item"] in read_header(path) else None
    kwargs: dict[str, Any] = {k: names[k] for k in ("student", "order", "skill", "correct")}
    if vocabulary is not None:
        kwargs.update(skill_names=vocabulary.skill_names, item_names=vocabulary.item_names)
    return load_kt(path, item=item, **kwargs)


def load_students(source: KTSource) -> tuple[KTData, KTData, KTData, dict[str, Any]]:
    """Train, validation and test students of ``source``, and a description of the split for the JSON."""
    if source.is_named:
        train, valid, test = (load_assistments2009(split=s) for s in ("train", "valid", "test"))
        return train, valid, test, {"method": source.split_method()}
    rng = np.random.default_rng([source.seed, 17])
    first = _read(source, Path(source.data))
    if source.test_data is None:
        rest, test = split_students(first, source.effective_test_fraction, rng, "data")
    else:
        test = _read(source, Path(source.test_data), vocabulary=first)
        # the test file may add names to the vocabulary: the training side gets the same (its ids keep their
        # meaning), so a skill seen only in the test is a skill the fit has no responses of
        rest = dataclasses.replace(first, skill_names=test.skill_names, item_names=test.item_names)
    train, valid = split_students(rest, source.valid_fraction, rng, "data (training students)")
    shared = np.intersect1d(rest.student_ids.astype(str), test.student_ids.astype(str)).size
    split = {"method": source.split_method(), "test_fraction": None if source.test_data else
             source.effective_test_fraction, "valid_fraction": source.valid_fraction,
             "students_in_training_and_test": int(shared),
             "item_column": "read" if np.any(first.item >= 0) else "none (no item column, or every item empty)"}
    return train, valid, test, split
