import doctest
import itertools
import json
import zipfile

import numpy as np
import pytest

import warmstart.families.learner.fit as learner_module
from warmstart.bench.metrics import adjusted_rand_index
from warmstart.families.learner.fit import (
    LearnerFitConfig,
    LearnerPopulation,
    LearnerPopulationFormatError,
    fit_learner_types,
    refit_learner_types,
)
from warmstart.families.learner.model import student_log_likelihood, type_responsibilities
from warmstart.sim.learners import simulate_learners
from warmstart.testing import random_response_log


def planted(n_skills: int = 8) -> LearnerPopulation:
    """Three types: fast and careful, careless, and a slow-learning minority of 10%."""
    k = 3

    def rows(*vals):
        return np.array([[v] * n_skills for v in vals], dtype=float)

    return LearnerPopulation(np.array([0.5, 0.4, 0.1]), L0=rows(0.2, 0.25, 0.15), T=rows(0.35, 0.25, 0.03),
                             F=np.zeros((k, n_skills)), G=rows(0.2, 0.2, 0.2), S=rows(0.06, 0.3, 0.1))


def random_population(rng, k, n_skills, forgets=True) -> LearnerPopulation:
    u = lambda lo, hi: rng.uniform(lo, hi, (k, n_skills))
    F = u(0.01, 0.2) if forgets else np.zeros((k, n_skills))
    return LearnerPopulation(rng.dirichlet(np.ones(k)) + 0.05, L0=u(0.05, 0.9), T=u(0.02, 0.5), F=F,
                             G=u(0.05, 0.45), S=u(0.05, 0.45))


# --------------------------------------------------------------------------- slow, obvious references
def naive_forward(p, obs):
    """Log likelihood of one sequence under one parameter tuple, one response at a time."""
    L0, T, F, G, S = p
    known, ll = L0, 0.0
    for o in obs:
        pc = known * (1 - S) + (1 - known) * G
        c = pc if o else 1 - pc
        ll += np.log(c)
        post = known * ((1 - S) if o else S) / c
        known = post * (1 - F) + (1 - post) * T
    return ll


def paths(p, obs):
    """Every hidden path of one sequence with its joint probability with the responses."""
    L0, T, F, G, S = p
    for z in itertools.product((0, 1), repeat=len(obs)):
        pr = L0 if z[0] else 1 - L0
        for t, o in enumerate(obs):
            e = (1 - S if o else S) if z[t] else (G if o else 1 - G)
            pr *= e
            if t + 1 < len(obs):
                a, b = z[t], z[t + 1]
                pr *= (1 - F if b else F) if a else (T if b else 1 - T)
        yield z, pr


def sequences(student, skill, correct):
    seqs: dict[tuple[int, int], list[int]] = {}
    for s, k, c in zip(student, skill, correct):
        seqs.setdefault((int(s), int(k)), []).append(int(c))
    return seqs


def params(pop, k, s):
    return tuple(float(x[k, s]) for x in pop.tables())


# --------------------------------------------------------------------------- likelihood
def test_vectorised_forward_pass_equals_a_naive_per_sequence_loop():
    rng = np.random.default_rng(0)
    pop = random_population(rng, 3, 5, forgets=True)
    student, skill, correct = random_response_log(rng, 30, 5, 60)
    # ragged extremes: a length-1 history and one long single-skill run
    student = np.concatenate([student, [30], np.full(700, 31)])
    skill = np.concatenate([skill, [2], np.full(700, 4)])
    correct = np.concatenate([correct, [1], rng.integers(0, 2, 700)])
    got = student_log_likelihood(pop, student, skill, correct)
    want = np.zeros((32, 3))
    for (s, k), obs in sequences(student, skill, correct).items():
        for t in range(3):
            want[s, t] += naive_forward(params(pop, t, k), obs)
    assert np.allclose(got, want, rtol=1e-10, atol=1e-9)


def test_single_type_model_equals_brute_force_bkt_likelihood():
    rng = np.random.default_rng(1)
    pop = random_population(rng, 1, 3, forgets=False)
    student, skill, correct = random_response_log(rng, 12, 3, 9)
    got = student_log_likelihood(pop, student, skill, correct)[:, 0]
    want = np.zeros(12)
    for (s, k), obs in sequences(student, skill, correct).items():
        want[s] += np.log(sum(pr for _, pr in paths(params(pop, 0, k), obs)))
    assert np.allclose(got, want, rtol=1e-12)


def test_long_runs_of_correct_answers_do_not_underflow():
    pop = LearnerPopulation(np.ones(1), L0=np.full((1, 1), 0.5), T=np.full((1, 1), 0.3), F=np.zeros((1, 1)),
                            G=np.full((1, 1), 0.01), S=np.full((1, 1), 0.01))
    n = 3000  # P(unknown) falls far below the smallest double
    correct = np.ones(n, dtype=int)
    correct[-1] = 0
    refit = refit_learner_types(pop, np.zeros(n, int), np.zeros(n, int), correct, max_iter=3)
    assert all(np.all(np.isfinite(x)) for x in refit.tables())
    assert np.isfinite(refit.diagnostics.refit["loglik"])


# --------------------------------------------------------------------------- EM
def test_one_em_step_equals_expected_counts_by_path_enumeration():
    rng = np.random.default_rng(2)
    pop = random_population(rng, 2, 3, forgets=True)
    student, skill, correct = random_response_log(rng, 10, 3, 10)
    cfg = LearnerFitConfig(n_types=2, forgets=True)
    got = refit_learner_types(pop, student, skill, correct, cfg, max_iter=1)
    seqs = sequences(student, skill, correct)
    ll = np.zeros((10, 2))
    for (s, k), obs in seqs.items():
        for t in range(2):
            ll[s, t] += np.log(sum(pr for _, pr in paths(params(pop, t, k), obs)))
    joint = ll + np.log(pop.weights)
    resp = np.exp(joint - joint.max(1, keepdims=True))
    resp /= resp.sum(1, keepdims=True)
    # counts[t, skill]: first-known, known, unknown, known&right, unknown&right, learn, forget, stay-from-*
    c = {name: np.zeros((2, 3)) for name in ("n", "first", "know", "unk", "kr", "ur", "learn", "forget", "fromk",
                                             "fromu")}
    for (s, k), obs in seqs.items():
        for t in range(2):
            ps = list(paths(params(pop, t, k), obs))
            total = sum(pr for _, pr in ps)
            r = resp[s, t]
            c["n"][t, k] += r
            for z, pr in ps:
                w = r * pr / total
                c["first"][t, k] += w * z[0]
                for i, o in enumerate(obs):
                    c["know"][t, k] += w * z[i]
                    c["unk"][t, k] += w * (1 - z[i])
                    c["kr"][t, k] += w * z[i] * o
                    c["ur"][t, k] += w * (1 - z[i]) * o
                    if i + 1 < len(obs):
                        c["learn"][t, k] += w * (1 - z[i]) * z[i + 1]
                        c["forget"][t, k] += w * z[i] * (1 - z[i + 1])
                        c["fromk"][t, k] += w * z[i]
                        c["fromu"][t, k] += w * (1 - z[i])

    def map_(num, den, prior, hi=1 - cfg.min_prob):
        a, b = prior
        return np.clip((num + a - 1) / (den + a + b - 2), cfg.min_prob, hi)

    want = {
        "L0": map_(c["first"], c["n"], cfg.prior_L0),
        "T": map_(c["learn"], c["fromu"], cfg.prior_learn),
        "F": map_(c["forget"], c["fromk"], cfg.prior_forget),
        "G": map_(c["ur"], c["unk"], cfg.prior_guess, cfg.max_guess),
        "S": map_(c["know"] - c["kr"], c["know"], cfg.prior_slip, cfg.max_slip),
    }
    w = resp.sum(0) / resp.sum()
    order = np.argsort(-w)  # neither function reorders in a refit; compare as fitted
    assert np.allclose(got.weights, w, atol=1e-10) or np.allclose(got.weights, w[order], atol=1e-10)
    for name, arr in want.items():
        assert np.allclose(getattr(got, name), arr, atol=1e-9), name


def test_em_recovers_planted_types_including_a_ten_percent_slow_minority():
    truth = planted()
    log = simulate_learners(truth, 700, 80, rng=7)
    pop = fit_learner_types(log.student, log.skill, log.correct, truth.n_skills,
                            LearnerFitConfig(n_types=3, n_init=2, seed=0))
    lab = type_responsibilities(pop, log.student, log.skill, log.correct).argmax(1)
    assert adjusted_rand_index(log.types, lab) >= 0.8
    # match fitted types to planted ones by majority of MAP labels
    match = np.array([np.bincount(log.types[lab == j], minlength=3).argmax() for j in range(3)])
    assert sorted(match) == [0, 1, 2]
    inv = np.argsort(match)
    assert np.allclose(pop.weights[inv], truth.weights, atol=0.04)
    assert np.abs(pop.T[inv] - truth.T).mean() < 0.05
    assert np.abs(pop.S[inv] - truth.S).mean() < 0.04
    assert np.abs(pop.G[inv] - truth.G).mean() < 0.06
    trace = np.array(pop.diagnostics.objective_trace)
    assert np.all(np.diff(trace) >= -1e-6 * np.abs(trace[1:]))  # the MAP objective never decreases
    words = {d.index: d.summary for d in pop.describe()}
    assert "slow learner" in words[int(inv[2])]
    assert "careless" in words[int(inv[1])]


def test_forgetting_is_fitted_when_asked():
    n_skills = 3
    truth = LearnerPopulation(np.ones(1), L0=np.full((1, n_skills), 0.3), T=np.full((1, n_skills), 0.3),
                              F=np.full((1, n_skills), 0.1), G=np.full((1, n_skills), 0.2),
                              S=np.full((1, n_skills), 0.1))
    log = simulate_learners(truth, 400, 60, rng=3, skills_per_student=n_skills)
    pop = fit_learner_types(log.student, log.skill, log.correct, n_skills, LearnerFitConfig(n_types=1, forgets=True))
    assert np.abs(pop.F - 0.1).max() < 0.04
    assert np.abs(pop.T - 0.3).max() < 0.08
    plain = fit_learner_types(log.student, log.skill, log.correct, n_skills, LearnerFitConfig(n_types=1))
    assert np.all(plain.F == 0) and not plain.forgets


@pytest.fixture(scope="module")
def selection_data():
    truth = planted(6)
    return truth, simulate_learners(truth, 800, 70, rng=12), simulate_learners(truth, 300, 70, rng=13)


def test_heldout_selection_picks_the_planted_number_of_types(selection_data):
    truth, log, _ = selection_data
    cfg = LearnerFitConfig(k_range=(1, 4), n_init=2, tol=1e-5, seed=1)
    pop = fit_learner_types(log.student, log.skill, log.correct, truth.n_skills, cfg)
    d = pop.diagnostics
    assert d.selected_k == pop.n_types == 3
    assert [e["K"] for e in d.selection] == [1, 2, 3, 4]
    sel = d.selection
    # one-standard-error rule: K = 3 is within one SE of the best held-out fit, K = 2 is far below it
    assert sel[2]["heldout_gap"] <= sel[2]["heldout_gap_se"]
    assert sel[1]["heldout_gap"] > 3 * sel[1]["heldout_gap_se"] and sel[0]["heldout_gap"] > sel[1]["heldout_gap"]
    assert d.selection_method == "heldout" and d.n_heldout_students == 160
    assert d.fit_seconds > 0 and d.n_iter >= 1 and len(d.loglik_trace) >= 1
    assert all(len(e["restart_objectives"]) == (1 if e["K"] == 1 else 2) for e in d.selection)


def test_heldout_students_can_be_given_separately(selection_data):
    truth, log, other = selection_data
    cfg = LearnerFitConfig(k_range=(2, 4), n_init=1, tol=1e-5)
    pop = fit_learner_types(log.student, log.skill, log.correct, truth.n_skills, cfg,
                            heldout=(other.student, other.skill, other.correct))
    assert pop.diagnostics.selected_k == 3 and pop.diagnostics.n_heldout_students == 300
    fixed = fit_learner_types(log.student, log.skill, log.correct, truth.n_skills, LearnerFitConfig(n_types=2),
                              heldout=(other.student, other.skill, other.correct))
    assert fixed.diagnostics.selection_method == "fixed"
    assert fixed.diagnostics.selection[0]["heldout_loglik"] < pop.diagnostics.selection[1]["heldout_loglik"]


def test_fit_is_deterministic_for_a_seed():
    truth = planted(4)
    log = simulate_learners(truth, 150, 40, rng=5)
    cfg = LearnerFitConfig(k_range=(1, 3), n_init=2, max_iter=30, seed=4)
    a = fit_learner_types(log.student, log.skill, log.correct, 4, cfg)
    b = fit_learner_types(log.student, log.skill, log.correct, 4, cfg)
    assert a.fingerprint() == b.fingerprint()


def test_student_ids_need_not_be_contiguous():
    truth = planted(3)
    log = simulate_learners(truth, 20, 10, rng=2)
    a = student_log_likelihood(truth, log.student, log.skill, log.correct)
    b = student_log_likelihood(truth, log.student * 7 + 100, log.skill, log.correct)
    assert np.array_equal(a, b)


# --------------------------------------------------------------------------- simulation
def test_simulation_is_seeded_and_sorted():
    truth = planted(5)
    a = simulate_learners(truth, 50, np.arange(1, 51), rng=9)
    b = simulate_learners(truth, 50, np.arange(1, 51), rng=9)
    assert np.array_equal(a.correct, b.correct) and np.array_equal(a.skill, b.skill)
    assert np.array_equal(a.types, b.types) and a.correct.dtype == np.int8
    assert np.all(np.diff(a.student) >= 0) and np.array_equal(np.bincount(a.student), np.arange(1, 51))
    assert not np.array_equal(a.correct, simulate_learners(truth, 50, np.arange(1, 51), rng=10).correct)
    # a known student answers right with 1 - slip, an unknown one with the guess rate
    big = simulate_learners(truth, 400, 50, rng=1)
    s_true = truth.S[big.types[big.student], big.skill]
    assert abs(np.mean(big.correct[big.known] == 0) - np.mean(s_true[big.known])) < 0.01
    assert abs(np.mean(big.correct[~big.known]) - 0.2) < 0.01


# --------------------------------------------------------------------------- persistence
def test_save_load_round_trip(tmp_path):
    pop = LearnerPopulation(planted(3).weights, *planted(3).tables(), skill_names=("add", "sub", "mul"),
                            diagnostics={"loglik_trace": [1.0, 2.0], "n_iter": np.int64(2)})
    path = pop.save(tmp_path / "types.npz")
    back = LearnerPopulation.load(path)
    assert back.fingerprint() == pop.fingerprint()
    assert back.skill_names == ("add", "sub", "mul") and back.diagnostics.n_iter == 2
    for x, y in zip(back.tables(), pop.tables()):
        assert np.array_equal(x, y)


def _rewrite(src, dst, change):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(dst, **arrays)


def test_damaged_or_foreign_files_are_rejected(tmp_path):
    path = planted(3).save(tmp_path / "p.npz")
    data = path.read_bytes()
    cases = {}
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    cases["trunc.npz"] = "not a readable"
    (tmp_path / "text.npz").write_text("hello")
    cases["text.npz"] = "not a readable"

    def version(a):
        meta = json.loads(str(a["meta"]))
        meta["format_version"] = 99
        a["meta"] = np.array(json.dumps(meta))

    def foreign(a):
        meta = json.loads(str(a["meta"]))
        meta["format"] = "warmstart.population"
        a["meta"] = np.array(json.dumps(meta))

    def tamper(a):
        a["T"] = a["T"] * 0.5

    def drop(a):
        del a["S"]

    def out_of_range(a):
        a["G"] = a["G"] + 1.0

    for name, change, msg in [("v.npz", version, "format_version 99"), ("f.npz", foreign, "expected format"),
                              ("t.npz", tamper, "fingerprint"), ("d.npz", drop, "missing"),
                              ("r.npz", out_of_range, "G")]:
        _rewrite(path, tmp_path / name, change)
        cases[name] = msg
    for name, msg in cases.items():
        with pytest.raises(LearnerPopulationFormatError, match=msg):
            LearnerPopulation.load(tmp_path / name)
    with pytest.raises(LearnerPopulationFormatError, match="existing file"):
        LearnerPopulation.load(tmp_path / "nope.npz")
    assert zipfile.is_zipfile(path)


# --------------------------------------------------------------------------- errors
def test_bad_inputs_raise_clear_errors():
    truth = planted(3)
    ok = (np.array([0, 0, 1]), np.array([0, 1, 2]), np.array([1, 0, 1]))
    with pytest.raises(ValueError, match=r"skill: expected skill indices in \[0, 2\], got 3 \(unknown skill\)"):
        student_log_likelihood(truth, ok[0], np.array([0, 1, 3]), ok[2])
    with pytest.raises(ValueError, match="correct: expected 0 or 1 for every response, got 2"):
        student_log_likelihood(truth, ok[0], ok[1], np.array([1, 2, 0]))
    with pytest.raises(ValueError, match="grouped by student"):
        student_log_likelihood(truth, np.array([1, 0, 1]), ok[1], ok[2])
    with pytest.raises(ValueError, match="equal lengths"):
        student_log_likelihood(truth, ok[0], ok[1][:2], ok[2])
    with pytest.raises(ValueError, match="student: expected integers"):
        student_log_likelihood(truth, np.array(["a", "b", "c"]), ok[1], ok[2])
    with pytest.raises(ValueError, match="n_skills"):
        fit_learner_types(*ok, 0)
    with pytest.raises(ValueError, match="at least one response"):
        fit_learner_types(np.array([], int), np.array([], int), np.array([], int), 3)
    with pytest.raises(ValueError, match="skill_names: expected 3 names, got 1"):
        fit_learner_types(*ok, 3, LearnerFitConfig(n_types=1), skill_names=["a"])
    with pytest.raises(ValueError, match="heldout.skill"):
        fit_learner_types(*ok, 3, LearnerFitConfig(k_range=(1, 2)), heldout=(ok[0], np.array([5, 0, 0]), ok[2]))
    with pytest.raises(ValueError, match="heldout: expected a"):
        fit_learner_types(*ok, 3, LearnerFitConfig(k_range=(1, 2)), heldout=ok[:2])
    with pytest.raises(ValueError, match="at least 4 students"):
        fit_learner_types(*ok, 3, LearnerFitConfig(k_range=(1, 2)))


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [({"k_range": (3, 2)}, "k_range"), ({"n_types": 0}, "n_types"), ({"prior_slip": (0.5, 2.0)}, "prior_slip"),
     ({"max_guess": 0.5}, "max_guess"), ({"tol": 0}, "tol"), ({"n_init": 0}, "n_init"),
     ({"heldout_fraction": 1.0}, "heldout_fraction"), ({"min_prob": 0.2}, "min_prob")],
)
def test_config_validates_itself(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        LearnerFitConfig(**kwargs)


def test_population_validates_itself():
    p = planted(3)
    with pytest.raises(ValueError, match="G: expected probabilities strictly inside"):
        LearnerPopulation(p.weights, p.L0, p.T, p.F, np.zeros_like(p.G), p.S)
    with pytest.raises(ValueError, match=r"T: expected shape \(3, n_skills\)"):
        LearnerPopulation(p.weights, p.L0, p.T[:, :2], p.F, p.G, p.S)
    with pytest.raises(ValueError, match="weights: expected positive"):
        LearnerPopulation(np.array([1.0, 0.0, 1.0]), *p.tables())
    with pytest.raises(ValueError, match="skill_names"):
        LearnerPopulation(p.weights, *p.tables(), skill_names=("a",))
    assert np.isclose(LearnerPopulation(np.array([2.0, 2.0, 4.0]), *p.tables()).weights.sum(), 1.0)
    one = LearnerPopulation(np.ones(1), *(x[:1] for x in p.tables()))
    assert [d.summary for d in one.describe()] == ["typical"]


def test_docstring_examples_run():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE  # as tests/test_doctests.py
    assert doctest.testmod(learner_module, optionflags=flags).failed == 0
