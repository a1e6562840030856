"""The one table reader (``warmstart.data._columns.read_columns``): every loader of a table reads the same arrays
(values and dtypes; text may differ
only in its width) from a CSV file, the same file gzipped, and the same data as Parquet with the types pyarrow
infers from the CSV (integers, floats, timestamps), as a user converting their CSV would write it."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from warmstart.data._columns import read_columns
from warmstart.data.events import load_events
from warmstart.data.kt import load_kt
from warmstart.governance.audit import load_audit_log
from warmstart.ope.logs import load_ope_log
from warmstart.ope.obd import load_obd

SUFFIXES = (".csv", ".csv.gz", ".parquet")


def write_table(path_stem: Path, text: str, suffix: str) -> Path:
    """``text`` (a CSV) as ``path_stem + suffix``: the CSV itself, gzipped, or Parquet typed as pyarrow reads it."""
    csv_path = path_stem.with_name(path_stem.name + ".csv")
    csv_path.write_text(text)
    if suffix == ".csv":
        return csv_path
    out = path_stem.with_name(path_stem.name + suffix)
    if suffix == ".csv.gz":
        out.write_bytes(gzip.compress(text.encode()))
    else:
        pq.write_table(pcsv.read_csv(csv_path), out)
    csv_path.unlink()
    return out


def arrays(record: object) -> dict[str, object]:
    """A loaded record's fields (its source path left out) for comparison."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name != "source"}  # type: ignore[arg-type]


def assert_same_record(a: object, b: object) -> None:
    fa, fb = arrays(a), arrays(b)
    assert fa.keys() == fb.keys()
    for name, x in fa.items():
        y = fb[name]
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray), name
            # text is text: a Parquet integer column turned into ids is wider (<U21) than the CSV's (<U2)
            same = x.dtype.kind == y.dtype.kind == "U" or x.dtype == y.dtype
            assert same, (name, x.dtype, y.dtype)
            np.testing.assert_array_equal(x, y, err_msg=name)
        elif isinstance(x, dict):
            assert x.keys() == y.keys(), name  # type: ignore[union-attr]
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=f"{name}[{k}]")  # type: ignore[index]
        else:
            assert x == y, name


def rows(rng: np.random.Generator, n: int, fmt) -> str:  # type: ignore[no-untyped-def]
    return "".join(fmt(rng) + "\n" for _ in range(n))


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


EVENTS_HEADER = "user,time,item,reward,propensity,f_0,f_1,region\n"


def event_row(rng: np.random.Generator) -> str:
    u, it = int(rng.integers(25)), int(rng.integers(12))
    return (f"u{u},2021-03-{1 + rng.integers(9):02d}T{rng.integers(24):02d}:{rng.integers(60):02d}:07,i{it},"
            f"{rng.normal():.17g},{rng.uniform(0.05, 1):.6f},{it / 7:.17g},{-it * 0.3:.17g},r{u % 3}")


def numeric_event_row(rng: np.random.Generator) -> str:
    return f"{rng.integers(40)},{rng.normal() * 100:.17g},{rng.integers(15)},{rng.integers(2)}"


@pytest.mark.parametrize("suffix", SUFFIXES[1:])
def test_events_read_the_same_from_every_format(tmp_path, rng, suffix):
    text = EVENTS_HEADER + rows(rng, 400, event_row)
    assert_same_record(load_events(write_table(tmp_path / "a", text, ".csv")),
                       load_events(write_table(tmp_path / "b", text, suffix)))
    text = "user,time,item,reward\n" + rows(rng, 300, numeric_event_row)
    assert_same_record(load_events(write_table(tmp_path / "c", text, ".csv")),
                       load_events(write_table(tmp_path / "d", text, suffix)))


@pytest.mark.parametrize("suffix", SUFFIXES[1:])
def test_audit_columns_read_the_same_from_every_format(tmp_path, rng, suffix):
    lines = rows(rng, 300, event_row)
    text = EVENTS_HEADER + lines
    a = load_audit_log(write_table(tmp_path / "a", text, ".csv"), ["region"])
    b = load_audit_log(write_table(tmp_path / "b", text, suffix), ["region"])
    assert_same_record(a.events, b.events)
    assert a.columns.keys() == b.columns.keys() == {"region"}
    np.testing.assert_array_equal(a.columns["region"], b.columns["region"])
    assert a.columns["region"].dtype == b.columns["region"].dtype


def kt_row(rng: np.random.Generator) -> str:
    return (f"{100 + rng.integers(30)},{rng.integers(10_000)},skill{rng.integers(6)},p{rng.integers(50)},"
            f"{rng.integers(2)}")


@pytest.mark.parametrize("suffix", SUFFIXES[1:])
def test_kt_responses_read_the_same_from_every_format(tmp_path, rng, suffix):
    text = "student,order,skill,item,correct\n" + rows(rng, 500, kt_row)
    for kwargs in ({}, {"item": "item"}, {"item": "item", "skill_names": ["skill5", "skill0"]}):
        assert_same_record(load_kt(write_table(tmp_path / "a", text, ".csv"), **kwargs),
                           load_kt(write_table(tmp_path / "b", text, suffix), **kwargs))


def ope_row(rng: np.random.Generator) -> str:
    p = rng.uniform(0.05, 0.95)
    return (f"{'ab'[rng.integers(2)]},{rng.integers(2)},{rng.uniform(0.1, 1):.6f},{rng.integers(2)},"
            f"{p:.17g},{1 - p:.17g},{rng.uniform():.6f},{rng.uniform():.6f},{rng.normal():.17g}")


@pytest.mark.parametrize("suffix", SUFFIXES[1:])
def test_ope_logs_read_the_same_from_every_format(tmp_path, rng, suffix):
    body = rows(rng, 200, ope_row)
    rounds = rng.permutation(200)
    text = "round,action,reward,propensity,position,eval_prob_a,eval_prob_b,q_a,q_b,x1\n" + "".join(
        f"{r},{line}\n" for r, line in zip(rounds, body.splitlines()))
    assert_same_record(load_ope_log(write_table(tmp_path / "a", text, ".csv"), context_cols=["x1"]),
                       load_ope_log(write_table(tmp_path / "b", text, suffix), context_cols=["x1"]))


def write_obd(root: Path, suffix: str, rng: np.random.Generator) -> Path:
    """A tiny Open Bandit Dataset folder (random policy, campaign all) in the sample's columns."""
    folder = root / "random" / "all"
    folder.mkdir(parents=True)
    n_items = 6
    lines = [",timestamp,item_id,position,click,propensity_score,user_feature_0"]
    for r in range(300):
        lines.append(f"{r},2019-11-24 {rng.integers(24):02d}:{rng.integers(60):02d}:{rng.integers(60):02d}."
                     f"{rng.integers(1_000_000):06d}+00:00,{rng.integers(n_items)},{1 + rng.integers(3)},"
                     f"{rng.integers(2)},{1 / (3 * n_items)!r},ab{rng.integers(9)}")
    write_table(folder / "all", "\n".join(lines) + "\n", suffix)
    items = [",item_id,item_feature_0"] + [f"{i},{i},{rng.normal()!r}" for i in rng.permutation(n_items)]
    write_table(folder / "item_context", "\n".join(items) + "\n", suffix)
    return root


@pytest.mark.parametrize("suffix", SUFFIXES[1:])
def test_obd_reads_the_same_from_every_format(tmp_path, suffix):
    a = load_obd("random", "all", write_obd(tmp_path / "a", ".csv", np.random.default_rng(3)))
    b = load_obd("random", "all", write_obd(tmp_path / "b", suffix, np.random.default_rng(3)))
    assert a.timestamp.dtype == np.dtype("datetime64[ns]") and a.n == 300
    assert_same_record(a, b)


def test_obd_timestamps_are_those_pyarrow_reads(tmp_path):
    """The sample's own reading (obp's, through pandas/pyarrow): ``+00:00`` timestamps to the microsecond."""
    root = write_obd(tmp_path, ".csv", np.random.default_rng(4))
    log = load_obd("random", "all", root)
    table = pcsv.read_csv(root / "random" / "all" / "all.csv")
    expected = np.sort(table.column("timestamp").to_numpy().astype("datetime64[ns]"), kind="stable")
    np.testing.assert_array_equal(log.timestamp, expected)


@pytest.mark.parametrize(
    ("text", "select", "match"),
    [
        ("a,b\n1,2\n", {"x": "c"}, r"t\.csv: expected columns x='c', got columns \['a', 'b'\]"),
        ("a,b\n1,2\n3\n", {"x": "a"}, r"t\.csv: line 3: expected 2 fields, got 1"),
        ("", {"x": "a"}, r"t\.csv: expected a header row, got an empty file"),
        ("a,b\n1,2\n", lambda header: {"x": header[5]}, r"list index out of range"),
    ],
)
def test_reader_errors_name_the_file_the_line_and_the_column(tmp_path, text, select, match):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises((ValueError, IndexError), match=match):
        read_columns(path, select)


def test_a_selection_that_rejects_the_header_is_named_with_the_file(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")

    def select(header: list[str]) -> dict[str, str]:
        raise ValueError(f"eval: expected a column eval, got {header}")

    with pytest.raises(ValueError, match=r"^.*t\.csv: eval: expected a column eval, got \['a', 'b'\]$"):
        read_columns(path, select)
    with pytest.raises(ValueError, match=r"path: expected a \.csv, \.csv\.gz, \.parquet or \.pq file, got 't\.txt'"):
        read_columns(tmp_path / "t.txt", {})
    with pytest.raises(ValueError, match="path: expected a readable file"):
        read_columns(tmp_path / "missing.csv.gz", {})
