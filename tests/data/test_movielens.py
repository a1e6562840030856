"""MovieLens ml-latest-small: the shipped copy (counts of its README.txt and SOURCE.md), the search order and
the errors."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from warmstart.data import _paths
from warmstart.data.movielens import load_movielens, load_movielens_movies, movielens_root


def test_shipped_copy_has_the_readme_counts(tmp_path, monkeypatch):
    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path))  # nothing there: the shipped copy answers
    root = movielens_root()
    assert root == _paths.SHIPPED / "movielens-latest-small"
    assert (root / "README.txt").is_file() and "Usage License" in (root / "README.txt").read_text()
    # SOURCE.md: the md5 of ratings.csv
    assert hashlib.md5(gzip.decompress((root / "ratings.csv.gz").read_bytes())).hexdigest() == (
        "ac0cf1d26aed3a5b6777a295231976ad")
    ev = load_movielens()
    assert (ev.n_events, ev.n_users, ev.n_items) == (100_836, 610, 9_724)
    assert set(np.unique(ev.reward).tolist()) == {x / 2 for x in range(1, 11)}
    assert ev.time.min() == 828124615  # 1996-03-29, the first rating (README.txt)
    movies = load_movielens_movies()
    assert len(movies.title) == movies.movie_id.shape[0] == 9_742
    assert movies.title[0] == "Toy Story (1995)" and "Animation" in movies.genres[0]
    assert set(ev.item_ids.tolist()) <= {str(m) for m in movies.movie_id.tolist()}


def test_plain_files_are_read_first_and_bad_ones_named(tmp_path, monkeypatch):
    folder = tmp_path / "movielens-latest-small"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n2,10,4.5,5\n1,10,3.0,7\n1,20,1.0,6\n")
    (folder / "movies.csv").write_text('movieId,title,genres\n10,"Heat, The (1995)",Crime|Thriller\n')
    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path))
    assert movielens_root() == folder
    ev = load_movielens()
    assert ev.user_ids.tolist() == [1, 2] and ev.item_ids[ev.item].tolist() == ["20", "10", "10"]
    assert ev.reward.tolist() == [1.0, 3.0, 4.5]
    movies = load_movielens_movies(tmp_path)
    assert movies.title == ["Heat, The (1995)"] and movies.genres == [("Crime", "Thriller")]
    (folder / "movies.csv").write_text("movieId,title,genres\nten,Heat,Crime\n")
    with pytest.raises(ValueError, match=r"movies.csv: line 2, column movieId: expected an integer movie id, got 'ten'"):
        load_movielens_movies(folder)
    (folder / "movies.csv").write_text("id,title\n")
    with pytest.raises(ValueError, match=r"movies.csv: expected columns movieId='movieId', genres='genres', got columns \['id', 'title'\]"):
        load_movielens_movies(folder)


def test_missing_everywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path))
    with pytest.raises(ValueError, match=r"^root: expected a folder with the MovieLens ml-latest-small files .*"
                                         r"search_shipped=False"):
        movielens_root(search_shipped=False)
    with pytest.raises(ValueError, match=f"got none at {tmp_path / 'x'} or "):
        load_movielens(tmp_path / "x")
