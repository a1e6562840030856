"""MovieLens ``ml-latest-small`` (GroupLens, generated 2018-09-26): 100,836 star ratings (0.5 to 5.0 in half
stars) of 9,724 movies by 610 users, with Unix timestamps, and the 9,742 movies' titles and genres.

F. Maxwell Harper and Joseph A. Konstan, "The MovieLens Datasets: History and Context", ACM TiiS 5(4), 2015.
``ratings.csv`` and ``movies.csv`` ship with warmstart, gzipped, in
``warmstart/data/datasets/movielens-latest-small/`` with GroupLens's ``README.txt`` (its licence: research use
only, no commercial use without permission, no implied endorsement, cite the paper above; redistribution under
the same conditions) and ``SOURCE.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from warmstart.data._columns import read_columns
from warmstart.data._paths import data_file, find_dataset, has_files
from warmstart.data.events import EventData, load_events

MOVIELENS_DIR = "movielens-latest-small"
MOVIELENS_FILES = ("ratings.csv", "movies.csv")
MOVIE_COLUMNS = ("movieId", "title", "genres")
#: the genre of a movie with none
NO_GENRE = "(no genres listed)"


@dataclass(frozen=True, eq=False)
class Movies:
    """The movies of ``movies.csv`` in file order: id, title (with the year), genres (``|``-split); an example
    is ``load_movielens_movies``'s.

    >>> Movies(movie_id=np.array([1]), title=["Toy Story (1995)"], genres=[("Animation", "Children")]).title
    ['Toy Story (1995)']
    """

    movie_id: np.ndarray  # (n,) int64
    title: list[str]
    genres: list[tuple[str, ...]]  # ("(no genres listed)",) for a movie without genres, as in the file


def movielens_root(root: str | os.PathLike[str] | None = None, *, search_shipped: bool = True) -> Path:
    """The folder holding ``ratings.csv`` and ``movies.csv`` (plain or ``.gz``): ``root`` (or its
    ``movielens-latest-small`` subfolder), else ``$WARMSTART_DATA/movielens-latest-small`` or
    ``../shared/data/movielens-latest-small`` next to the repository (or the working directory), else the copy
    shipped with warmstart (not with ``search_shipped=False``).

    >>> movielens_root("nowhere")
    Traceback (most recent call last):
    ...
    ValueError: root: expected a folder with the MovieLens ml-latest-small files (...), got none at nowhere ...
    """
    return find_dataset(MOVIELENS_DIR, root, lambda c: has_files(c, MOVIELENS_FILES),
                        "the MovieLens ml-latest-small files (ratings.csv, movies.csv; plain or .gz)",
                        search_shipped=search_shipped)


def load_movielens(root: str | os.PathLike[str] | None = None) -> EventData:
    """The ratings as events: user ``userId``, item ``movieId`` (as text, like every event log's items), reward
    the rating in stars, time the Unix timestamp in seconds (``time_kind == "number"``); see
    ``load_movielens_movies`` for an example of both.

    >>> load_movielens("nowhere")
    Traceback (most recent call last):
    ...
    ValueError: root: expected a folder with the MovieLens ml-latest-small files (...), got none at nowhere ...
    """
    path = data_file(movielens_root(root), "ratings.csv")
    assert path is not None  # movielens_root checked it
    return load_events(path, user="userId", time="timestamp", item="movieId", reward="rating", propensity=None,
                       feature_prefix=None)


def movielens_genre_features(events: EventData, movies: Movies) -> tuple[np.ndarray, tuple[str, ...]]:
    """Content features of the rated movies: a constant 1 and one 0/1 flag per genre (the genres named in
    ``movies``, sorted; ``(no genres listed)`` is no genre), one row per item of ``events``. Returns the
    ``(n_items, 1 + n_genres)`` features and the genre names.

    >>> events = EventData.from_rows(["u", "u"], [0, 1], ["20", "10"], [4.0, 2.0])
    >>> movies = Movies(movie_id=np.array([10, 20]), title=["Heat (1995)", "Up (2009)"],
    ...                 genres=[("Action", "Crime"), ("(no genres listed)",)])
    >>> features, names = movielens_genre_features(events, movies)
    >>> names, events.item_ids.tolist(), features.tolist()                # items in id order: 10, then 20
    (('Action', 'Crime'), ['10', '20'], [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    """
    names = tuple(sorted({g for gs in movies.genres for g in gs} - {NO_GENRE}))
    column = {g: j for j, g in enumerate(names)}
    by_id = {str(int(m)): gs for m, gs in zip(movies.movie_id, movies.genres)}
    features = np.zeros((events.n_items, 1 + len(names)))
    features[:, 0] = 1.0
    missing = [str(i) for i in events.item_ids if str(i) not in by_id]
    if missing:
        raise ValueError(f"movies: expected every rated movie, got none for movieId {', '.join(missing[:5])}"
                         + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    for i, item in enumerate(events.item_ids):
        for g in by_id[str(item)]:
            if g in column:
                features[i, 1 + column[g]] = 1.0
    return features, names


def load_movielens_movies(root: str | os.PathLike[str] | None = None) -> Movies:
    """``movies.csv``: every movie's id, title and genres (read by ``warmstart.data``'s one table reader).

    >>> import gzip, pathlib
    >>> folder = pathlib.Path("ml")
    >>> folder.mkdir()
    >>> _ = (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\\n1,10,4.0,5\\n1,20,2.5,9\\n2,10,5.0,7\\n")
    >>> _ = (folder / "movies.csv.gz").write_bytes(gzip.compress(
    ...     b'movieId,title,genres\\n10,"Heat (1995)",Action|Crime\\n20,Up (2009),Animation\\n'))
    >>> movies = load_movielens_movies("ml")
    >>> movies.movie_id.tolist(), movies.title[0], movies.genres[0]
    ([10, 20], 'Heat (1995)', ('Action', 'Crime'))
    >>> events = load_movielens("ml")
    >>> events.user_ids.tolist(), events.item_ids.tolist(), events.reward.tolist()
    ([1, 2], ['10', '20'], [4.0, 2.5, 5.0])
    """
    path = data_file(movielens_root(root), "movies.csv")
    assert path is not None  # movielens_root checked it
    cols = read_columns(path, {name: name for name in MOVIE_COLUMNS})
    ids = cols["movieId"]
    bad = next((i for i, v in enumerate(ids) if not str(v).isdigit()), None)
    if bad is not None:
        raise ValueError(f"{path}: line {bad + 2}, column movieId: expected an integer movie id, got {str(ids[bad])!r}")
    return Movies(movie_id=ids.astype(np.int64), title=[str(t) for t in cols["title"]],
                  genres=[tuple(str(g).split("|")) for g in cols["genres"]])
