"""MovieLens ``ml-latest-small`` (GroupLens, generated 2018-09-26): 100,836 star ratings (0.5 to 5.0 in half
stars) of 9,724 movies by 610 users, with Unix timestamps, and the 9,742 movies' titles and genres.

F. Maxwell Harper and Joseph A. Konstan, "The MovieLens Datasets: History and Context", ACM TiiS 5(4), 2015.
``ratings.csv`` and ``movies.csv`` ship with warmstart, gzipped, in
``warmstart/data/datasets/movielens-latest-small/`` with GroupLens's ``README.txt`` (its licence: research use
only, no commercial use without permission, no implied endorsement, cite the paper above; redistribution under
the same conditions) and ``SOURCE.md``.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warmstart.data._paths import data_file, find_dataset, has_files, read_text
from warmstart.data.events import EventData, load_events

MOVIELENS_DIR = "movielens-latest-small"
MOVIELENS_FILES = ("ratings.csv", "movies.csv")
MOVIE_COLUMNS = ("movieId", "title", "genres")


@dataclass(frozen=True, eq=False)
class Movies:
    """The movies of ``movies.csv`` in file order: id, title (with the year), genres (``|``-split)."""

    movie_id: np.ndarray  # (n,) int64
    title: list[str]
    genres: list[tuple[str, ...]]  # ("(no genres listed)",) for a movie without genres, as in the file


def movielens_root(root: str | os.PathLike[str] | None = None, *, search_shipped: bool = True) -> Path:
    """The folder holding ``ratings.csv`` and ``movies.csv`` (plain or ``.gz``): ``root`` (or its
    ``movielens-latest-small`` subfolder), else ``$WARMSTART_DATA/movielens-latest-small`` or
    ``../shared/data/movielens-latest-small`` next to the repository (or the working directory), else the copy
    shipped with warmstart (not with ``search_shipped=False``)."""
    return find_dataset(MOVIELENS_DIR, root, lambda c: has_files(c, MOVIELENS_FILES),
                        "the MovieLens ml-latest-small files (ratings.csv, movies.csv; plain or .gz)",
                        search_shipped=search_shipped)


def load_movielens(root: str | os.PathLike[str] | None = None) -> EventData:
    """The ratings as events: user ``userId``, item ``movieId`` (as text, like every event log's items), reward
    the rating in stars, time the Unix timestamp in seconds (``time_kind == "number"``)."""
    path = data_file(movielens_root(root), "ratings.csv")
    assert path is not None  # movielens_root checked it
    return load_events(path, user="userId", time="timestamp", item="movieId", reward="rating", propensity=None,
                       feature_prefix=None)


def load_movielens_movies(root: str | os.PathLike[str] | None = None) -> Movies:
    """``movies.csv``: every movie's id, title and genres."""
    folder = movielens_root(root)
    rows = list(csv.reader(io.StringIO(read_text(folder, "movies.csv"))))
    if not rows or tuple(rows[0]) != MOVIE_COLUMNS:
        raise ValueError(f"{folder / 'movies.csv'}: expected the header {','.join(MOVIE_COLUMNS)}, "
                         f"got {','.join(rows[0]) if rows else 'an empty file'}")
    body = rows[1:]
    bad = next((i for i, r in enumerate(body) if len(r) != 3 or not r[0].isdigit()), None)
    if bad is not None:
        raise ValueError(f"{folder / 'movies.csv'}: line {bad + 2}: expected an integer movieId, a title and "
                         f"genres, got {body[bad]!r}")
    return Movies(movie_id=np.array([int(r[0]) for r in body], dtype=np.int64), title=[r[1] for r in body],
                  genres=[tuple(r[2].split("|")) for r in body])
