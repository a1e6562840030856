import csv

import numpy as np
import pytest

from warmstart.data.kt import KTData
from warmstart.peers.pybkt import (
    PyBKTUnavailableError,
    _resolve_python,
    run_pybkt,
    start_pybkt,
    write_pybkt_csv,
)

# names a regular expression would misread, and a comma: pyBKT selects skills by regex, the runner aliases them
SKILLS = ["Order of Operations +,-,/,* () positive reals", "Mean + Median", "Area"]


def tiny(n_students=40, length=12, seed=0, n_skills=3):
    rng = np.random.default_rng(seed)
    students = np.repeat(np.arange(n_students), length)
    skill = rng.integers(0, n_skills, students.size)
    positions = np.tile(np.arange(length), n_students)
    correct = (rng.random(students.size) < 0.35 + 0.04 * positions).astype(int)
    return KTData.from_responses(students + 1000, skill, correct, skill_names=SKILLS)


def bkt_forward(data, params):
    """Online P(correct) of each row from the fitted parameters: an independent two-state filter per
    (student, skill), updated on each response after its prediction."""
    out = np.empty(data.n_responses)
    belief = {}
    for r in range(data.n_responses):
        name = data.skill_names[data.skill[r]]
        if name not in params:
            out[r] = 0.5
            continue
        q = params[name]
        key = (int(data.student[r]), name)
        known = belief.get(key, q["prior"])
        p_right = known * (1 - q["slip"]) + (1 - known) * q["guess"]
        out[r] = p_right
        if data.correct[r]:
            post = known * (1 - q["slip"]) / p_right
        else:
            post = known * q["slip"] / (1 - p_right)
        belief[key] = post * (1 - q["forget"]) + (1 - post) * q["learn"]
    return out


def test_missing_environment_says_how_to_make_it(tmp_path):
    with pytest.raises(PyBKTUnavailableError, match="make pybkt-venv"):
        run_pybkt(tiny(4, 3), tiny(2, 3), python=tmp_path / "nope" / "python")
    with pytest.raises(ImportError):  # a missing peer is an ImportError, as for Vowpal Wabbit
        start_pybkt(tiny(4, 3), tiny(2, 3), python=tmp_path / "nope" / "python")
    with pytest.raises(ValueError, match="num_fits"):
        start_pybkt(tiny(4, 3), tiny(2, 3), num_fits=0)


def test_write_pybkt_csv(tmp_path):
    d = tiny(3, 2)
    write_pybkt_csv(d, tmp_path / "t.csv")
    with open(tmp_path / "t.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["order_id", "user_id", "skill_name", "correct"]
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(6)]
    assert [r[1] for r in rows[1:]] == ["0", "0", "1", "1", "2", "2"]
    assert [r[2] for r in rows[1:]] == [SKILLS[k] for k in d.skill]


def have_pybkt():
    try:
        _resolve_python(None)
    except PyBKTUnavailableError:
        return False
    return True


needs_pybkt = pytest.mark.skipif(not have_pybkt(), reason="pyBKT environment missing: make pybkt-venv")


@needs_pybkt
def test_pybkt_predictions_are_online_and_aligned(tmp_path, monkeypatch):
    data = tiny()
    train, test = data.subset(np.arange(30)), data.subset(np.arange(30, 40))
    # a skill the training students never saw gets pyBKT's default of 0.5 (run at the same time as the first)
    unseen = tiny(5, 6, seed=2)
    unseen = KTData(student=unseen.student, skill=np.full(unseen.n_responses, 2), item=unseen.item,
                    correct=unseen.correct, student_ids=unseen.student_ids, skill_names=SKILLS, starts=unseen.starts)
    keep = train.skill != 2
    two_skills = KTData.from_responses(train.student_ids[train.student[keep]], train.skill[keep], train.correct[keep],
                                       skill_names=SKILLS)
    monkeypatch.chdir(tmp_path)  # a relative workdir is taken from the caller's working directory
    handle = start_pybkt(train, test, workdir="work", seed=1, num_fits=2, parallel=False)
    handle2 = start_pybkt(two_skills, unseen, seed=0, num_fits=1, parallel=False)
    res = handle.result()
    assert handle.done() and handle.result() is res
    assert res.predictions.shape == (test.n_responses,)
    assert res.settings["forgets"] is True and res.settings["num_fits"] == 2
    assert res.fit_seconds > 0 and res.info["n_skills_fitted"] == 3 and res.info["n_test_unseen_skill"] == 0
    assert set(res.info["params"]) == set(SKILLS)
    # the same numbers from the fitted parameters by an independent forward filter, row by row
    expected = bkt_forward(test, res.info["params"])
    assert np.allclose(res.predictions, expected, atol=1e-6)
    assert (tmp_path / "work" / "info.json").exists()  # a given workdir is kept

    res2 = handle2.result()
    assert np.all(res2.predictions == 0.5) and res2.info["n_test_unseen_skill"] == unseen.n_responses


@needs_pybkt
def test_timeout_stops_the_runner():
    handle = start_pybkt(tiny(), tiny(5, 5), num_fits=1, parallel=False, timeout=0.05)
    with pytest.raises(TimeoutError, match="timeout"):
        handle.result()
    assert handle.done()
    assert not handle.workdir.exists()  # a temporary workdir is removed
