"""`warmstart bench kt --data FILE`: a user's own responses in the generic format, with and without item ids,
split by student (seeded) or given as train and test files; the JSON it writes."""

import json

import pytest
from support.cli import run
from support.kt_files import write_kt_csv


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("kt")
    return {"with": write_kt_csv(root / "with-items.csv"), "without": write_kt_csv(root / "no-items.csv", items=False),
            "test": write_kt_csv(root / "test.csv", n_students=60, seed=5, first_student=500), "root": root}


def _bench(files, name, *extra):
    out = files["root"] / name
    proc = run("bench", "kt", "--skip-pybkt", "--out", out, *extra)
    return json.loads((out / "kt.json").read_text()), proc.stdout


def _check_models(doc):
    for m in doc["models"].values():
        lo, hi = m["auc_ci95"]
        assert 0 < lo <= m["auc"] <= hi < 1 and m["log_loss"] > 0
    # the two learner types (fast and slow learners) are worth something over a per-skill mean
    assert doc["models"]["ours"]["auc"] > doc["models"]["skill_mean"]["auc"] + 0.05


def test_own_file_with_items_split_by_student(files):
    doc, _ = _bench(files, "with", "--data", files["with"], "--test-fraction", "0.25", "--seed", "3")
    assert doc["config"]["data"] == str(files["with"])
    split = doc["config"]["split"]
    assert split["test_fraction"] == 0.25 and split["valid_fraction"] == 0.15 and "seed 3" in split["method"]
    counts = doc["config"]["data_counts"]
    assert sum(c["students"] for c in counts.values()) == 160 and counts["test"]["students"] == 40
    assert sum(c["responses"] for c in counts.values()) == 160 * 25
    assert {"ours", "ours_no_items", "bkt", "skill_mean"} == set(doc["models"])
    items = doc["items"]
    assert items["skipped"] is None and items["n_items"] == 24 and items["prior_sd"] in (0.25, 0.5, 1.0, 2.0)
    assert items["test_responses_on_items_seen_in_training"] == 1.0
    _check_models(doc)
    # the planted hard items: item difficulties help
    assert doc["models"]["ours"]["log_loss"] < doc["models"]["ours_no_items"]["log_loss"]


def test_own_file_without_items_skips_the_item_model_and_says_so(files):
    """The format's item column is optional: without it the item-difficulty model is skipped (it used to crash
    with an IndexError in fit_item_offsets), ours is the learner types alone, and the JSON and the output say
    so. Same students, same seed: ours is exactly ours_no_items of the file with items."""
    doc, stdout = _bench(files, "without", "--data", files["without"], "--test-fraction", "0.25", "--seed", "3")
    assert {"ours", "bkt", "skill_mean"} == set(doc["models"])
    assert doc["items"]["n_items"] == 0 and "item-difficulty model is skipped" in doc["items"]["skipped"]
    assert doc["items"]["prior_sd"] is None and doc["items"]["validation_log_loss_by_prior_sd"] == {}
    assert "item-difficulty model is skipped" in " ".join(stdout.split())
    _check_models(doc)
    with_items, _ = _bench(files, "with-again", "--data", files["with"], "--test-fraction", "0.25", "--seed", "3")
    assert doc["models"]["ours"]["auc"] == pytest.approx(with_items["models"]["ours_no_items"]["auc"], abs=1e-12)
    assert doc["config"]["data_counts"] == with_items["config"]["data_counts"]


def test_given_train_and_test_files_and_other_column_names(files):
    renamed = {}
    for key, header in (("without", "user_id,time,kc,ok"), ("test", "user_id,time,kc,item,ok")):
        renamed[key] = files["root"] / f"renamed-{key}.csv"
        renamed[key].write_text("\n".join([header, *files[key].read_text().splitlines()[1:]]) + "\n")
    doc, _ = _bench(files, "given", "--data", renamed["without"], "--test-data", renamed["test"],
                    "--columns", "student=user_id,order=time,skill=kc,correct=ok")
    split = doc["config"]["split"]
    assert "given test file" in split["method"] and split["students_in_training_and_test"] == 0
    counts = doc["config"]["data_counts"]
    assert counts["test"]["students"] == 60 and counts["train"]["students"] + counts["valid"]["students"] == 160
    # the test file has items, the training file none: no item model, and the test items are simply unknown
    assert doc["items"]["skipped"] is not None
    _check_models(doc)


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "no-such-file.csv"], "--data: expected assistments2009 or a knowledge-tracing file"),
    (["--test-fraction", "0.3"], "--test-fraction: expected only with a file as data"),
    (["--data", "{with}", "--test-data", "{test}", "--test-fraction", "0.3"], "--test-fraction: expected either"),
    (["--data", "{with}", "--test-fraction", "1.5"], "--test-fraction: expected a share in (0, 1)"),
    (["--data", "{with}", "--columns", "student"], "--columns: expected name=column pairs"),
    (["--data", "{with}", "--columns", "learner=user"], "--columns: expected names from student"),
    (["--data", "{with}", "--columns", "student=user_id"], "expected columns student='user_id'"),
])
def test_bad_options_are_one_line_errors(files, args, message):
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    proc = run("bench", "kt", "--skip-pybkt", "--out", files["root"] / "bad", *args, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
