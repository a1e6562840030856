import builtins
import gzip
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmstart.data import _paths
from warmstart.data.assistments import assistments2009_counts, assistments2009_root, load_assistments2009
from warmstart.data.kt import KTData, load_kt, save_kt_csv

# --- KTData ------------------------------------------------------------------------------------------------


def small() -> KTData:
    return KTData.from_responses(["u2", "u1", "u2", "u3", "u1", "u2"], [0, 1, 1, 2, 0, 0], [1, 0, 1, 1, 0, 0],
                                 item=[3, -1, 0, 1, 2, 3], skill_names=["a", "b", "c"])


def test_from_responses_sorts_by_student_and_keeps_order():
    d = small()
    assert d.student_ids.tolist() == ["u1", "u2", "u3"]
    assert d.student.tolist() == [0, 0, 1, 1, 1, 2]
    assert d.skill.tolist() == [1, 0, 0, 1, 0, 2]
    assert d.item.tolist() == [-1, 2, 3, 0, 3, 1]
    assert d.correct.dtype == np.int8 and d.skill.dtype == np.int64
    assert d.starts.tolist() == [0, 2, 5, 6]
    assert d.positions().tolist() == [0, 1, 0, 1, 2, 0]
    assert (d.n_students, d.n_skills, d.n_responses, len(d)) == (3, 3, 6, 6)
    assert d.summary()["n_skills_used"] == 3


def test_subset_keeps_vocabulary_and_order():
    d = small()
    s = d.subset([2, 0])
    assert s.student_ids.tolist() == ["u3", "u1"]
    assert s.student.tolist() == [0, 1, 1]
    assert s.skill.tolist() == [2, 1, 0]
    assert s.skill_names == d.skill_names
    m = d.subset(np.array([False, True, False]))
    assert m.correct.tolist() == [1, 1, 0]
    assert d.subset([]).n_responses == 0
    with pytest.raises(ValueError, match="student_indices"):
        d.subset([3])
    with pytest.raises(ValueError, match="distinct"):
        d.subset([1, 1])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"correct": np.array([1, 0, 2, 1, 0, 0])}, "correct"),
        ({"skill": np.array([0, 0, 0, 0, 0, 3])}, "skill"),
        ({"student": np.array([0, 1, 0, 1, 1, 2])}, "student"),
        ({"starts": np.array([0, 2, 5, 7])}, "starts"),
        ({"student_ids": np.array(["a", "a", "b"])}, "student_ids"),
        ({"skill_names": ["a", "a", "c"]}, "skill_names"),
        ({"item": np.array([0, -2, 0, 0, 0, 0])}, "item"),
        ({"skill": np.zeros(6)}, "skill"),
    ],
)
def test_validate_names_the_field(change, field):
    d = small()
    kw = {k: getattr(d, k) for k in ("student", "skill", "item", "correct", "student_ids", "skill_names", "starts")}
    kw.update(change)
    with pytest.raises(ValueError, match=field):
        KTData(**kw)


# --- generic CSV / Parquet ---------------------------------------------------------------------------------


def write(path, text):
    path.write_text(text)
    return path


def test_load_kt_csv_sorts_by_student_then_order(tmp_path):
    p = write(tmp_path / "r.csv", "student,order,skill,correct,extra\n"
              "10,5,add,1,x\n9,2,sub,0,x\n10,1,sub,0,x\n10,3,add,1,x\n9,1,add,1,x\n")
    d = load_kt(p)
    assert d.student_ids.tolist() == [9, 10]  # integer ids sort numerically
    assert d.skill_names == ["add", "sub"]
    assert d.skill.tolist() == [0, 1, 1, 0, 0]
    assert d.correct.tolist() == [1, 0, 0, 1, 1]
    assert d.item.tolist() == [-1] * 5


def test_load_kt_string_orders_ties_and_items(tmp_path):
    p = write(tmp_path / "r.csv", "user,time,kc,problem,ok\n"
              "b,2020-01-02T00:00,x,p1,1\nb,2020-01-01T00:00,y,,0\nb,2020-01-02T00:00,x,p2,0\n")
    d = load_kt(p, student="user", order="time", skill="kc", item="problem", correct="ok")
    assert d.correct.tolist() == [0, 1, 0]  # tie at 2020-01-02 keeps file order
    assert d.item_names == ["p1", "p2"]
    assert d.item.tolist() == [-1, 0, 1]


def test_ids_that_only_look_alike_stay_apart(tmp_path):
    p = write(tmp_path / "r.csv", "student,order,skill,correct\n007,1,a,1\n7,1,a,0\n")
    assert load_kt(p).student_ids.tolist() == ["007", "7"]


def test_load_kt_uses_given_vocabulary(tmp_path):
    p = write(tmp_path / "r.csv", "student,order,skill,correct\n1,1,zeta,1\n1,2,alpha,0\n")
    d = load_kt(p, skill_names=["zeta", "beta"])
    assert d.skill_names == ["zeta", "beta", "alpha"]
    assert d.skill.tolist() == [0, 2]


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("student,order,correct\n1,1,1\n", {}, "skill='skill'"),
        ("student,order,skill,correct\n1,1,a,2\n", {}, "correct: expected 0 or 1.*'2'"),
        ("student,order,skill,correct\n1,1,a,1\n1,2,a,yes\n", {}, "correct: expected 0 or 1.*'yes'"),
        ("student,order,skill,correct\n1,1,a,1\n1,2,a,\n", {}, "correct: expected 0 or 1.*''"),
        ("student,order,skill,correct\n1,,a,1\n", {}, "order: expected sortable"),
        ("student,order,skill,correct\n1,3,a,1\n1,x,a,1\n", {}, "order: expected all numbers"),
        ("student,order,skill,correct\n,1,a,1\n", {}, "student: expected an id"),
        ("student,order,skill,correct\n1,1,,1\n", {}, "skill: expected a skill name"),
        ("student,order,skill,correct\n1,1\n", {}, "expected 4 fields"),
        ("student,order,skill,correct\n1,1,a,1\n", {"item": "problem"}, "item='problem'"),
    ],
)
def test_load_kt_errors_name_the_problem(tmp_path, text, kwargs, match):
    p = write(tmp_path / "r.csv", text)
    with pytest.raises(ValueError, match=match):
        load_kt(p, **kwargs)


def test_load_kt_rejects_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="expected a .csv"):
        load_kt(tmp_path / "r.txt")
    with pytest.raises(ValueError, match="readable file"):
        load_kt(tmp_path / "missing.csv")


def test_save_and_load_round_trip(tmp_path):
    d = small()
    save_kt_csv(d, tmp_path / "out" / "r.csv")
    back = load_kt(tmp_path / "out" / "r.csv", item="item", skill_names=d.skill_names,
                   item_names=[str(i) for i in range(4)])
    for name in ("student", "skill", "item", "correct", "starts", "student_ids"):
        assert np.array_equal(getattr(back, name), getattr(d, name)), name


def test_csv_gz_is_read(tmp_path):
    import gzip

    with gzip.open(tmp_path / "r.csv.gz", "wt") as fh:
        fh.write("student,order,skill,correct\n1,1,a,1\n")
    assert load_kt(tmp_path / "r.csv.gz").n_responses == 1


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ValueError, match="pip install pyarrow"):
        load_kt(tmp_path / "r.parquet")


def test_parquet_round_trip(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"student": ["b", "a", "b"], "order": [2.0, 1.0, 1.0], "skill": ["x", "y", "x"],
                      "correct": [1, 0, 0]})
    pq.write_table(table, tmp_path / "r.parquet")
    d = load_kt(tmp_path / "r.parquet")
    assert d.student_ids.tolist() == ["a", "b"]
    assert d.correct.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match="item='problem'"):
        load_kt(tmp_path / "r.parquet", item="problem")


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 40))
def test_row_order_of_the_file_does_not_change_the_data(tmp_path_factory, seed, n):
    rng = np.random.default_rng(seed)
    rows = [(int(rng.integers(5)), int(o), f"k{rng.integers(3)}", int(rng.integers(2)))
            for o in rng.permutation(1000)[:n]]
    folder = tmp_path_factory.mktemp("perm")
    datas = []
    for k, perm in enumerate((np.arange(n), rng.permutation(n))):
        text = "student,order,skill,correct\n" + "".join("{},{},{},{}\n".format(*rows[i]) for i in perm)
        datas.append(load_kt(write(folder / f"{k}.csv", text)))
    a, b = datas
    for name in ("student", "skill", "correct", "starts", "student_ids"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert a.skill_names == b.skill_names


# --- ASSISTments 2009 format on made-up files --------------------------------------------------------------


def fake_assist(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "skill.json").write_text(json.dumps({"Mean": 1, "Median": 2, "Area": 3}))
    (folder / "problems.json").write_text(json.dumps({str(500 + k): k for k in range(1, 10)}))
    for split, students in files.items():
        lines = []
        for uid, problems, skills, correct in students:
            lines += [f"1,{uid}", ",".join(map(str, problems)) + ",", ",".join(map(str, skills)),
                      ",".join(map(str, correct)) + ","]
        (folder / f"assist2009_pid_{split}1.csv").write_text("\n".join(lines) + "\n")
    return folder


FAKE = {
    # problem 4 has skills (Mean, Median); problem 5 was answered twice with skills (Area, Mean) each time
    "train": [(77, [4, 4, 2, 5, 5, 5, 5], [1, 2, 2, 3, 1, 1, 3], [1, 1, 0, 0, 0, 1, 1])],
    "valid": [(12, [3, 3], [3, 1], [1, 1]), (90, [1], [1], [0])],
    "test": [(5, [6, 6, 6], [3, 2, 1], [0, 0, 0])],
}


def test_collapse_rule_on_made_up_files(tmp_path):
    root = fake_assist(tmp_path / "data" / "assistments2009-akt", FAKE)
    train = load_assistments2009(root, "train")
    # vocabulary: the 3 single skills, then the combinations found in any file, sorted by name
    assert train.skill_names == ["Mean", "Median", "Area", "Area + Mean", "Area + Mean + Median", "Mean + Median"]
    assert train.item.tolist() == [3, 1, 4, 4]
    assert train.skill.tolist() == [5, 1, 3, 3]
    assert train.correct.tolist() == [1, 0, 0, 1]
    assert train.item_names[3] == "504"
    valid = load_assistments2009(tmp_path / "data", "valid")  # the parent folder works too
    assert valid.student_ids.tolist() == [12, 90]
    assert valid.skill.tolist() == [3, 0]
    everything = load_assistments2009(root, "all")
    assert everything.student_ids.tolist() == [5, 12, 77, 90]
    assert everything.n_responses == 4 + 2 + 1
    raw = load_assistments2009(root, "train", collapse=False)
    assert raw.n_responses == 7 and raw.skill_names == ["Mean", "Median", "Area"]
    assert load_assistments2009(root, "all", skills=["Area + Mean", 0]).student_ids.tolist() == [12, 77, 90]
    with pytest.raises(ValueError, match="skills: .*unknown"):
        load_assistments2009(root, "train", skills=["Geometry"])
    with pytest.raises(ValueError, match="split"):
        load_assistments2009(root, "train2")


def test_env_var_and_missing_folder(tmp_path, monkeypatch):
    fake_assist(tmp_path / "assistments2009-akt", FAKE)
    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path))
    assert assistments2009_root() == tmp_path / "assistments2009-akt"
    with pytest.raises(ValueError, match=str(tmp_path / "nowhere")):
        load_assistments2009(tmp_path / "nowhere")


def test_missing_everywhere_names_each_place_once(tmp_path, monkeypatch):
    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="^root: expected a folder with the ASSISTments 2009 files") as err:
        assistments2009_root(search_shipped=False)
    msg = str(err.value)
    assert f"got none at {tmp_path / 'assistments2009-akt'} or {tmp_path};" in msg
    assert "search_shipped=False" in msg and "datasets" not in msg
    # without WARMSTART_DATA: ../shared/data next to the repository (here: none), then the shipped copy, which
    # the environment variable leaves out; the repository and the working directory are one place, named once
    monkeypatch.delenv("WARMSTART_DATA")
    monkeypatch.setattr(_paths, "REPO", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    assert assistments2009_root().parent == _paths.SHIPPED
    monkeypatch.setenv("WARMSTART_NO_SHIPPED_DATA", "1")
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    with pytest.raises(ValueError) as err:
        assistments2009_root()
    place = tmp_path / "shared" / "data" / "assistments2009-akt"
    assert f"got none at {place};" in str(err.value) and "WARMSTART_NO_SHIPPED_DATA set" in str(err.value)


def test_gzipped_files_load_like_plain_ones(tmp_path):
    plain = fake_assist(tmp_path / "plain", FAKE)
    packed = tmp_path / "packed"
    packed.mkdir()
    for f in plain.iterdir():
        (packed / f"{f.name}.gz").write_bytes(gzip.compress(f.read_bytes()))
    assert assistments2009_root(packed) == packed
    a, b = load_assistments2009(plain, "all"), load_assistments2009(packed, "all")
    for name in ("student", "skill", "item", "correct", "starts", "student_ids"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.skill_names == b.skill_names and a.item_names == b.item_names and a.n_responses == 7


def test_malformed_file_names_the_file(tmp_path):
    root = fake_assist(tmp_path / "x", FAKE)
    (root / "assist2009_pid_test1.csv").write_text("1,5\n1,2\n1\n1,1\n")
    with pytest.raises(ValueError, match="test1.csv.*same length"):
        load_assistments2009(root, "test")


# --- the real data -----------------------------------------------------------------------------------------


def test_the_shipped_copy_is_the_fallback_and_equals_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("WARMSTART_DATA", str(tmp_path))  # nothing there: the shipped copy answers
    root = assistments2009_root()
    assert root.name == "assistments2009-akt" and root.parent.name == "datasets"
    assert (root / "SOURCE.md").is_file() and sorted(p.name for p in root.glob("*.gz")) == sorted(
        f"{n}.gz" for n in ["assist2009_pid_train1.csv", "assist2009_pid_valid1.csv", "assist2009_pid_test1.csv",
                            "problems.json", "skill.json", "user.json"])
    assert assistments2009_counts(root)["train"]["entries"] == 203_442  # the tests below read it the same way


def test_assistments2009_counts():
    counts = assistments2009_counts()
    assert counts == {
        "train": {"entries": 203_442, "responses": 170_851, "students": 2_491},
        "valid": {"entries": 61_280, "responses": 51_736, "students": 830},
        "test": {"entries": 60_915, "responses": 52_003, "students": 830},
    }


def test_assistments2009_splits_share_one_vocabulary():
    train, test, everything = (load_assistments2009(split=s) for s in ("train", "test", "all"))
    assert train.skill_names == test.skill_names == everything.skill_names
    assert everything.n_skills == 150 and everything.n_students == 4151
    assert everything.n_responses == 274_590
    assert set(train.student_ids.tolist()).isdisjoint(test.student_ids.tolist())
    # the whole data set, restricted to the training students, is the training split
    idx = np.searchsorted(everything.student_ids, train.student_ids)
    sub = everything.subset(idx)
    for name in ("skill", "item", "correct", "starts"):
        assert np.array_equal(getattr(sub, name), getattr(train, name)), name
    raw = load_assistments2009(split="all", collapse=False)
    assert raw.n_responses == 325_637 and raw.n_skills == 110
    assert abs(raw.correct.mean() - 0.6585) < 5e-4  # 65.85 % in SOURCE.md


def test_assistments2009_first_student_is_collapsed():
    train = load_assistments2009(split="train")
    s = int(np.flatnonzero(train.student_ids == 82295)[0])  # the file's first student
    rows = slice(train.starts[s], train.starts[s + 1])
    assert train.item[rows].tolist() == [1365, 1423, 1412, 2984, 2975, 2992, 2974]
    names = [train.skill_names[k] for k in train.skill[rows]]
    combo = " + ".join(sorted([train.skill_names[6], train.skill_names[8]]))
    assert names[:3] == [combo] * 3 and names[3:] == [train.skill_names[14]] * 4
    assert train.correct[rows].tolist() == [1, 0, 1, 0, 1, 1, 1]
