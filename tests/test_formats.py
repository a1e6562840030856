"""Every stored format, read from files written before ``warmstart._persist`` (tests/data/formats) and written
again byte for byte, and every way ``_persist`` rejects a file or byte string."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from warmstart._persist import Array, ByteHeader, FormatError, NpzFormat, check_meta
from warmstart._version import __version__
from warmstart.data.bandit_log import LogFormatError, load_log, load_truth
from warmstart.families.learner.belief import LearnerBeliefBatch, LearnerBeliefFormatError
from warmstart.families.learner.population import LearnerPopulation, LearnerPopulationFormatError
from warmstart.families.linear.belief import Belief, BeliefFormatError
from warmstart.families.linear.changepoint import ChangePointBelief
from warmstart.families.linear.incremental import EMSums, EMSumsFormatError
from warmstart.families.linear.item_features import (
    ItemFeaturesFormatError,
    load_item_features,
)
from warmstart.families.linear.population import Population, PopulationFormatError

FIXTURES = Path(__file__).resolve().parent / "data" / "formats"


def _fixtures_module() -> Any:
    spec = importlib.util.spec_from_file_location("warmstart_format_fixtures", FIXTURES / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


mf = _fixtures_module()
OBJ = mf.objects()


def fixture(name: str) -> Path:
    return FIXTURES / mf.FILES[name]


# ------------------------------------------------------------------------------- the stored files still load
def test_population_file_reads_the_same_values():
    want, back = OBJ["population"], Population.load(fixture("population"))
    for name in ("mu", "cov", "noise_var"):
        assert np.array_equal(getattr(back.components, name), getattr(want.components, name))
    assert np.array_equal(back.weights, want.weights) and back.weights.dtype == np.float64
    assert back.diagnostics == want.diagnostics and back.family == want.family
    assert back.fingerprint() == want.fingerprint()
    assert Population.from_bytes(fixture("population").read_bytes()).fingerprint() == want.fingerprint()


def test_learner_population_file_reads_the_same_values():
    want, back = OBJ["learner_population"], LearnerPopulation.load(fixture("learner_population"))
    assert np.array_equal(back.weights, want.weights)
    for x, y in zip(back.tables(), want.tables(), strict=True):
        assert np.array_equal(x, y)
    assert back.skill_names == want.skill_names and back.diagnostics == want.diagnostics
    assert back.fingerprint() == want.fingerprint()


def test_item_features_file_reads_the_same_values():
    ids, X, info = OBJ["item_features"]
    back_ids, back_X, meta = load_item_features(fixture("item_features"))
    assert back_ids.tolist() == ids.tolist() and back_ids.dtype.kind == "U"
    assert np.array_equal(back_X, X) and back_X.dtype == np.float64
    assert meta["info"] == info and meta["dim"] == 3 and meta["n_items"] == 4


def test_em_sums_file_reads_the_same_values():
    want, back = OBJ["em_sums"], EMSums.load(fixture("em_sums"))
    for x, y in zip(back.arrays(), want.arrays(), strict=True):
        assert np.array_equal(x, y)
    assert back.n_users == want.n_users and back.fingerprint == want.fingerprint


def test_bandit_log_file_reads_the_same_values():
    want, back = OBJ["bandit_log"], load_log(fixture("bandit_log"))
    for name in ("candidates", "action", "propensity", "reward"):
        x, y = getattr(back, name), np.asarray(getattr(want, name))
        assert np.array_equal(x, y) and x.dtype == y.dtype, name
    truth = load_truth(fixture("bandit_log"))
    assert sorted(truth) == ["theta", "type"]
    assert np.array_equal(truth["theta"], want.theta) and np.array_equal(truth["type"], want.type_id)


def _same_belief(back: Belief, want: Belief) -> None:
    for name in ("A", "b", "mean", "cov", "log_evidence"):
        assert np.array_equal(getattr(back, name), getattr(want, name)), name
    assert (back.c, back.n, back.discount) == (want.c, want.n, want.discount)


def test_belief_bytes_read_the_same_values():
    want = OBJ["belief"]
    _same_belief(Belief.from_bytes(fixture("belief").read_bytes(), want.population), want)


def test_changepoint_belief_bytes_read_the_same_values():
    want = OBJ["changepoint_belief"]
    back = ChangePointBelief.from_bytes(fixture("changepoint_belief").read_bytes(), want.population)
    for name in ("hazard", "max_runs", "min_prob", "alarm_prob", "starts", "t", "anchor", "alarms"):
        assert getattr(back, name) == getattr(want, name), name
    assert np.array_equal(back.log_w, want.log_w)
    assert len(back.runs) == len(want.runs)
    for b, w in zip(back.runs, want.runs, strict=True):
        _same_belief(b, w)


def test_learner_belief_bytes_read_the_same_values():
    want = OBJ["learner_belief"]
    back = LearnerBeliefBatch.from_bytes(fixture("learner_belief").read_bytes(), want.population)
    assert back.grid == want.grid
    for name in ("known", "log_evidence", "seen", "n_observed"):
        assert np.array_equal(getattr(back, name), getattr(want, name)), name


def test_summary_shards_read_the_same_values():
    from warmstart.families.linear.shards import SummaryShards

    summary, ids = OBJ["summary_shards"]
    shards = SummaryShards.open(fixture("summary_shards"))
    back = shards.read_all()
    for name in ("A", "b", "c", "n"):
        assert np.array_equal(getattr(back, name), getattr(summary, name)), name
    assert np.concatenate([shards.user_ids(i) for i in range(len(shards.shards))]).tolist() == ids.tolist()


# ------------------------------------------------------------------------------- the same bytes are written
def _members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def assert_same_npz(new: bytes, old: bytes) -> None:
    """The same bytes; or, when the old file was written by another warmstart release, the same bytes in every
    array and the same metadata but for ``warmstart_version``."""
    if new == old:
        return
    new_members, old_members = _members(new), _members(old)
    assert [n for n, _ in new_members] == [n for n, _ in old_members]
    for (name, x), (_, y) in zip(new_members, old_members, strict=True):
        if name != "meta.npy":
            assert x == y, name
    new_meta, old_meta = (json.loads(str(np.load(io.BytesIO(m)))) for m in (dict(new_members)["meta.npy"],
                                                                             dict(old_members)["meta.npy"]))
    assert old_meta.get("warmstart_version") != __version__, "same release, different bytes"
    assert list(new_meta) == list(old_meta)
    assert {**new_meta, "warmstart_version": None} == {**old_meta, "warmstart_version": None}


@pytest.mark.parametrize("name", ["population", "learner_population", "item_features", "em_sums", "bandit_log"])
def test_npz_files_are_written_byte_for_byte_as_before(name, tmp_path):
    written = mf.write(tmp_path)[name]
    assert_same_npz(written.read_bytes(), fixture(name).read_bytes())
    assert not list(tmp_path.glob("*.tmp"))  # written atomically: nothing left behind


def test_the_population_bytes_a_store_keeps_are_the_same():
    assert_same_npz(OBJ["population"].to_bytes(), fixture("population").read_bytes())


@pytest.mark.parametrize("name", ["belief", "changepoint_belief", "learner_belief"])
def test_belief_bytes_are_written_byte_for_byte_as_before(name, tmp_path):
    written = mf.write(tmp_path)[name]
    assert written.read_bytes() == fixture(name).read_bytes()


def test_shards_manifest_is_written_as_before(tmp_path):
    written = mf.write(tmp_path)["summary_shards"]
    assert (written / "manifest.json").read_bytes() == (fixture("summary_shards") / "manifest.json").read_bytes()


# ------------------------------------------------------------------------------- .npz formats: every error path
#: per format: (reader, error class, an array that must be finite, an array that must be numeric)
NPZ: dict[str, tuple[Callable[[Path], Any], type[Exception], str, str]] = {
    "population": (Population.load, PopulationFormatError, "mu", "cov"),
    "learner_population": (LearnerPopulation.load, LearnerPopulationFormatError, "T", "G"),
    "item_features": (load_item_features, ItemFeaturesFormatError, "features", "features"),
    "em_sums": (EMSums.load, EMSumsFormatError, "Sm", "W"),
    "bandit_log": (load_log, LogFormatError, "reward", "propensity"),
}
NPZ_NAMES = sorted(NPZ)


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _rewrite(name: str, dst: Path, change: Callable[[dict[str, np.ndarray]], None]) -> Path:
    arrays = _arrays(fixture(name))
    change(arrays)
    np.savez(dst, **arrays)
    return dst


def _with_meta(**fields: Any) -> Callable[[dict[str, np.ndarray]], None]:
    def change(arrays: dict[str, np.ndarray]) -> None:
        meta = json.loads(str(arrays["meta"]))
        meta.update(fields)
        arrays["meta"] = np.array(json.dumps(meta))

    return change


def _read(name: str, path: Path, match: str) -> FormatError:
    reader, error, _, _ = NPZ[name]
    with pytest.raises(error, match=match) as info:
        reader(path)
    assert isinstance(info.value, FormatError) and isinstance(info.value, ValueError)
    assert str(path) in str(info.value)  # every message names the file
    return info.value


@pytest.mark.parametrize("name", NPZ_NAMES)
def test_wrong_format_name(name, tmp_path):
    path = _rewrite(name, tmp_path / "f.npz", _with_meta(format="warmstart.something_else"))
    _read(name, path, r"expected format 'warmstart\.[a-z_]+', got 'warmstart\.something_else'")


@pytest.mark.parametrize("name", NPZ_NAMES)
def test_future_version_says_upgrade(name, tmp_path):
    path = _rewrite(name, tmp_path / "v.npz", _with_meta(format_version=2))
    _read(name, path, r"format_version 2 is not supported by warmstart .* \(reads version 1\); upgrade warmstart")
    path = _rewrite(name, tmp_path / "v0.npz", _with_meta(format_version="1"))
    _read(name, path, r"format_version '1' is not supported")


@pytest.mark.parametrize("name", NPZ_NAMES)
def test_missing_array(name, tmp_path):
    _, _, _, numeric = NPZ[name]

    def drop(arrays: dict[str, np.ndarray]) -> None:
        del arrays[numeric]

    _read(name, _rewrite(name, tmp_path / "d.npz", drop), rf"expected arrays meta, .*; missing \['{numeric}'\]")
    _read(name, _rewrite(name, tmp_path / "m.npz", lambda a: a.pop("meta")), "expected a 'meta' array")


@pytest.mark.parametrize("name", NPZ_NAMES)
def test_non_finite_values(name, tmp_path):
    _, _, finite, _ = NPZ[name]

    def poison(arrays: dict[str, np.ndarray]) -> None:
        arrays[finite] = arrays[finite].astype(float)
        arrays[finite].flat[0] = np.nan

    err = _read(name, _rewrite(name, tmp_path / "n.npz", poison), finite)
    assert "finite" in str(err)


@pytest.mark.parametrize("name", NPZ_NAMES)
def test_wrong_dtype(name, tmp_path):
    _, _, _, numeric = NPZ[name]

    def text(arrays: dict[str, np.ndarray]) -> None:
        arrays[numeric] = arrays[numeric].astype(str)

    _read(name, _rewrite(name, tmp_path / "t.npz", text), rf"array {numeric}: expected .*float.* values, got dtype <U")


@pytest.mark.parametrize("name", NPZ_NAMES)
def test_damaged_or_foreign_files(name, tmp_path):
    data = fixture(name).read_bytes()
    (tmp_path / "half.npz").write_bytes(data[: len(data) // 2])
    _read(name, tmp_path / "half.npz", "not a readable warmstart")
    (tmp_path / "text.npz").write_text("hello, not an archive")
    _read(name, tmp_path / "text.npz", r"not a readable warmstart .*expected an \.npz archive.*b'hello, n'")
    damaged = bytearray(data)
    first = data.index(b"meta.npy")  # a byte inside the first array's data: its CRC no longer matches
    damaged[first + 200] ^= 0xFF
    (tmp_path / "crc.npz").write_bytes(bytes(damaged))
    _read(name, tmp_path / "crc.npz", "not a readable warmstart .*BadZipFile")
    (tmp_path / "meta.npz").write_bytes(_rewrite(name, tmp_path / "x.npz", _meta_not_json).read_bytes())
    _read(name, tmp_path / "meta.npz", "array meta: expected JSON")


def _meta_not_json(arrays: dict[str, np.ndarray]) -> None:
    arrays["meta"] = np.array("{not json")


@pytest.mark.parametrize("name", NPZ_NAMES)
def test_missing_file(name, tmp_path):
    reader, error, _, _ = NPZ[name]
    expected = FileNotFoundError if name == "bandit_log" else error  # as before: a missing log is not found
    with pytest.raises(expected, match="expected an existing file"):
        reader(tmp_path / "nope.npz")


def test_format_specific_checks_still_apply(tmp_path):
    def tamper(arrays: dict[str, np.ndarray]) -> None:
        arrays["mu"] = arrays["mu"] + 1.0

    with pytest.raises(PopulationFormatError, match="fingerprint"):
        Population.load(_rewrite("population", tmp_path / "p.npz", tamper))

    def out_of_range(arrays: dict[str, np.ndarray]) -> None:
        arrays["G"] = arrays["G"] + 1.0

    with pytest.raises(LearnerPopulationFormatError, match="G: expected probabilities"):
        LearnerPopulation.load(_rewrite("learner_population", tmp_path / "l.npz", out_of_range))

    def bad_action(arrays: dict[str, np.ndarray]) -> None:
        arrays["action"] = arrays["action"] + 5

    with pytest.raises(LogFormatError, match="train_log.action: expected indices"):
        load_log(_rewrite("bandit_log", tmp_path / "a.npz", bad_action))

    def huge_reward(arrays: dict[str, np.ndarray]) -> None:
        arrays["reward"] = arrays["reward"].copy()
        arrays["reward"][1, 0] = 1e160

    with pytest.raises(LogFormatError, match=r"train_log.reward: .*1e\+06 \(max_reward\), got 1e\+160 at user 1, event 0"):
        load_log(_rewrite("bandit_log", tmp_path / "r.npz", huge_reward))

    def huge_feature(arrays: dict[str, np.ndarray]) -> None:
        arrays["candidates"] = arrays["candidates"].copy()
        arrays["candidates"][0, 1, 0, 0] = -1e308

    with pytest.raises(LogFormatError, match=r"train_log.candidates: .*at user 0, event 1, candidate 0, feature 0"):
        load_log(_rewrite("bandit_log", tmp_path / "c.npz", huge_feature))
    assert load_log(_rewrite("bandit_log", tmp_path / "c2.npz", huge_feature), bounds=None).candidates[0, 1, 0, 0] == -1e308

    def short(arrays: dict[str, np.ndarray]) -> None:
        arrays["features"] = arrays["features"][:2]

    with pytest.raises(ItemFeaturesFormatError, match=r"expected features of shape \(4, d\)"):
        load_item_features(_rewrite("item_features", tmp_path / "i.npz", short))


def test_em_sums_from_a_store_are_checked_the_same_way():
    data = OBJ["em_sums"].to_dict()
    back = EMSums.from_dict(data, source="version 3's EM sums")
    assert np.array_equal(back.Smm, OBJ["em_sums"].Smm)
    with pytest.raises(EMSumsFormatError, match="version 3's EM sums: format_version 2 is not supported"):
        EMSums.from_dict({**data, "format_version": 2}, source="version 3's EM sums")
    with pytest.raises(EMSumsFormatError, match="array W holds non-finite values"):
        EMSums.from_dict({**data, "W": [1.0, float("nan"), 2.0]}, source="version 3's EM sums")
    with pytest.raises(EMSumsFormatError, match="not readable"):
        EMSums.from_dict({k: v for k, v in data.items() if k != "W"}, source="version 3's EM sums")


# ------------------------------------------------------------------------------- byte formats: every error path
def _bytes_case(name: str) -> tuple[bytes, Callable[[bytes], Any], type[Exception], Any]:
    data = fixture(name).read_bytes()
    if name == "belief":
        pop = OBJ["belief"].population
        return data, lambda b: Belief.from_bytes(b, pop), BeliefFormatError, pop
    if name == "changepoint_belief":
        pop = OBJ["changepoint_belief"].population
        return data, lambda b: ChangePointBelief.from_bytes(b, pop), BeliefFormatError, pop
    pop = OBJ["learner_belief"].population
    return data, lambda b: LearnerBeliefBatch.from_bytes(b, pop), LearnerBeliefFormatError, pop


BYTES = ["belief", "changepoint_belief", "learner_belief"]


@pytest.mark.parametrize("name", BYTES)
def test_truncated_bytes(name):
    data, read, error, _ = _bytes_case(name)
    for cut in (data[:10], data[:0]):
        with pytest.raises(error, match=r"expected at least \d+ bytes \(the header\), got"):
            read(cut)
    with pytest.raises(error, match=rf"expected {len(data)} bytes.*, got {len(data) - 1}"):
        read(data[:-1])
    with pytest.raises(error, match=rf"expected {len(data)} bytes.*, got {len(data) + 8}"):
        read(data + bytes(8))


@pytest.mark.parametrize("name", BYTES)
def test_bad_magic_and_future_version(name):
    data, read, error, _ = _bytes_case(name)
    with pytest.raises(error, match=r"bad magic: expected b'W[A-Z]{2}', got b'XYZ'"):
        read(b"XYZ" + data[3:])
    with pytest.raises(error, match=r"format version 2 is not supported by warmstart .*\(reads version 1\); upgrade"):
        read(data[:3] + bytes([2]) + data[4:])


def test_each_belief_format_refuses_the_others_bytes():
    for name in BYTES:
        _, read, error, _ = _bytes_case(name)
        for other in BYTES:
            if other != name:
                with pytest.raises(error, match="magic"):
                    read(fixture(other).read_bytes())


def test_non_finite_belief_values():
    data, read, error, _ = _bytes_case("belief")
    with pytest.raises(error, match="non-finite values in A, b, c, n"):
        read(data[:-8] + np.array([np.nan], dtype="<f8").tobytes())
    cp = OBJ["changepoint_belief"]
    data, read, error, _ = _bytes_case("changepoint_belief")
    from warmstart.families.linear.changepoint import HEADER

    offset = HEADER.size + 8 * len(cp.starts)  # the header, the runs' starts, then their log weights
    bad = data[:offset] + np.array([np.inf], dtype="<f8").tobytes() + data[offset + 8:]
    with pytest.raises(error, match="non-finite values in run weights"):
        read(bad)
    data, read, error, _ = _bytes_case("learner_belief")
    with pytest.raises(error, match=r"P\(known\) values outside \[0, 1\]"):
        read(data[:-8] + np.array([np.nan], dtype="<f8").tobytes())


@pytest.mark.parametrize("name", BYTES)
def test_bytes_of_another_population(name):
    data, _, error, pop = _bytes_case(name)
    if name == "learner_belief":
        other: Any = LearnerPopulation(pop.weights[::-1], *pop.tables(), skill_names=pop.skill_names)
        with pytest.raises(error, match="another population"):
            LearnerBeliefBatch.from_bytes(data, other)
        return
    from warmstart.families.linear.model import GaussianTypes

    other = Population(GaussianTypes(pop.components.mu + 1, pop.components.cov, pop.components.noise_var),
                       pop.weights)
    with pytest.raises(error, match="another population"):
        (Belief.from_bytes if name == "belief" else ChangePointBelief.from_bytes)(data, other)


# ------------------------------------------------------------------------------- the helper itself
def test_error_classes_share_format_error():
    for cls in (PopulationFormatError, LearnerPopulationFormatError, ItemFeaturesFormatError, EMSumsFormatError,
                LogFormatError, BeliefFormatError, LearnerBeliefFormatError):
        assert issubclass(cls, FormatError) and issubclass(cls, ValueError)


class _DemoError(FormatError):
    pass


DEMO = NpzFormat("warmstart.demo", 3, (Array("x"), Array("k", kinds="iu", dtype=None, finite=False)), _DemoError,
                 "demo file")


def test_npz_format_writes_meta_in_order_and_reads_back(tmp_path):
    path = DEMO.save(tmp_path / "demo.npz", {"x": np.array([1, 2]), "k": np.array([3], dtype=np.int32)},
                     {"a": 1}, meta_tail={"z": [1]})
    meta, arrays = DEMO.load(path)
    assert list(meta) == ["format", "format_version", "a", "warmstart_version", "z"]
    assert meta["warmstart_version"] == __version__
    assert arrays["x"].dtype == np.float64 and arrays["k"].dtype == np.int32
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["meta.npy", "x.npy", "k.npy"]
    meta, arrays = DEMO.from_bytes(path.read_bytes(), "demo bytes", read=["k"])
    assert list(arrays) == ["k"]


def test_npz_format_refuses_what_it_cannot_write_without_pickle(tmp_path):
    with pytest.raises(ValueError, match="Python objects in \\['x'\\]"):
        DEMO.to_bytes({"x": np.array([{}, None], dtype=object), "k": np.array([1])})
    with pytest.raises(ValueError, match="arrays: expected x, k"):
        DEMO.to_bytes({"x": np.array([1.0])})


def test_pickled_arrays_are_not_read(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps({"format": "warmstart.demo", "format_version": 3})),
             x=np.array([1.0]), k=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(_DemoError, match="demo file b: not a readable warmstart demo: it holds pickled Python "
                                         "objects, which warmstart never loads") as caught:
        DEMO.from_bytes(buf.getvalue(), "b")
    assert "allow_pickle" not in str(caught.value)  # numpy's advice to load pickles is not ours to give


def test_meta_must_be_a_json_object():
    with pytest.raises(_DemoError, match=r"src: expected a JSON object naming format 'warmstart.demo'"):
        check_meta([1, 2], name="warmstart.demo", version=3, error=_DemoError, prefix="src")
    buf = io.BytesIO()
    np.savez(buf, meta=np.array([1.0]), x=np.array([1.0]), k=np.array([1]))
    with pytest.raises(_DemoError, match="array meta: expected a 0-d text array"):
        DEMO.from_bytes(buf.getvalue(), "b")


def test_byte_header_packs_magic_version_and_fields():
    header = ByteHeader(b"WSX", 4, "Hd", _DemoError, "demo bytes", "warmstart demo")
    data = header.pack(7, 0.5) + np.array([1.0, 2.0], dtype="<f8").tobytes()
    assert data[:4] == b"WSX\x04" and header.size == 14
    assert header.unpack(data) == (7, 0.5)
    body, end = header.body(data, [("values", "<f8", 2)])
    assert body["values"].tolist() == [1.0, 2.0] and end == len(data)
    with pytest.raises(_DemoError, match=r"demo bytes: expected 38 bytes for two values, got 30"):
        header.body(data, [("values", "<f8", 2)], rest=8, detail=" for two values")
    with pytest.raises(_DemoError, match=r"format version 3 is not supported by warmstart \S+ \(reads version 4\)$"):
        header.unpack(data[:3] + bytes([3]) + data[4:])


# ------------------------------------------------------------------------------- the shards' manifest
def test_shards_manifest_errors(tmp_path):
    import shutil

    from warmstart.families.linear.shards import ShardsFormatError, SummaryShards

    folder = tmp_path / "shards"
    shutil.copytree(fixture("summary_shards"), folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    for change, match in (({"format": "other"}, "expected format 'warmstart.summary_shards', got 'other'"),
                          ({"version": 2}, r"version 2 is not supported .*; upgrade warmstart"),
                          ({"n_users": 4}, "n_users: expected the shards' total 3, got 4")):
        (folder / "manifest.json").write_text(json.dumps({**manifest, **change}))
        with pytest.raises(ShardsFormatError, match=match) as info:
            SummaryShards.open(folder)
        assert "manifest.json" in str(info.value) and issubclass(ShardsFormatError, FormatError)
    (folder / "manifest.json").write_text("{damaged")
    with pytest.raises(ShardsFormatError, match="expected a JSON manifest"):
        SummaryShards.open(folder)
